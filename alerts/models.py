"""An alert on a patient (red flag, worsening, silence) until a therapist acknowledges it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone as tz

from accounts.models import Patient, User
from checkins.models import PainCheckIn


class AlertKind(models.TextChoices):
    RED_FLAG = "red_flag", "Red flag"
    WORSENING = "worsening", "Pain worsening"
    SILENCE = "silence", "No check-in for 3 days"


class Alert(models.Model):
    """Something a therapist must look at; open until acknowledged."""

    # No clinic of its own: an alert is seen by its patient's clinic, whichever that is now.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    plan = models.ForeignKey(
        "careplans.CarePlan", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    checkin = models.ForeignKey(
        PainCheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=tz.now)
    # The condition stopped (pain came back down, patient checked in again).
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the therapist did about it, in a line or two (optional): "Phoned; GP visit booked".
    acknowledged_note = models.CharField("what was done", max_length=500, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=AlertKind.values), name="alert_kind_valid"),
            # One running episode of worsening or silence per patient.
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(cleared_at__isnull=True) & ~models.Q(kind="red_flag"),
                name="alert_one_open_episode",
            ),
        ]
        indexes = [models.Index(fields=["patient", "acknowledged_at"], name="alert_patient_ack")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} alert of {self.opened_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
