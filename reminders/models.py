"""One row per reminder: claimed once, sent once, with its attempts and lease."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Patient


class ReminderKind(models.TextChoices):
    CHECKIN = "checkin", "Daily check-in"


class DeliveryStatus(models.TextChoices):
    CLAIMED = "claimed", "Claimed"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ReminderDelivery(models.Model):
    """The claim, then the record, of one reminder to one patient on one local date."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reminders")
    local_date = models.DateField()
    kind = models.CharField(max_length=16, choices=ReminderKind.choices, default=ReminderKind.CHECKIN)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Which dispatch run inserted the row: lets a bulk insert that ignores
    # conflicts read back exactly the rows it won (reminders.services).
    claim_token = models.CharField(max_length=32, blank=True)
    # Nobody else may (re)start this delivery before then: the send lease while
    # sending, the back-off after a failure, the re-enqueue delay when claimed.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reminder deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "local_date", "kind"], name="reminder_one_per_patient_day_kind"
            )
        ]
        indexes = [
            models.Index(fields=["claim_token"], name="reminder_claim_token"),
            # The sweep only ever looks at deliveries that are not finished.
            models.Index(
                fields=["lease_until"],
                condition=Q(status__in=["claimed", "sending", "failed"]),
                name="reminder_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} reminder for {self.local_date:%Y-%m-%d} ({self.get_status_display()})"
        )
