"""The audit trail's one model: an append-only entry per action or read."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone as tz


class AuditEvent(models.Model):
    """Append-only: who did what to which record, when, and from where."""

    # An entry outlives what it names: no cascade and no database constraint, so
    # deleting a user, patient or clinic leaves their entries exactly as written
    # (actor_email keeps who acted). SET_NULL would be a path that rewrites entries
    # (PostgreSQL's append-only trigger refused it, so such a delete failed there,
    # and on SQLite it rewrote them), and each constraint cost a check per entry.
    at = models.DateTimeField(default=tz.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_email = models.CharField(max_length=254, blank=True)
    # The (clinic, patient, at) index below serves lookups by clinic.
    clinic = models.ForeignKey(
        "accounts.Clinic",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # The (patient, at) index below serves lookups by patient.
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "patient", "at"]),
            # A patient's recent entries (the check-in rate limit counts them on every
            # check-in) as a range, however long their history.
            models.Index(fields=["patient", "at"], name="audit_patient_at"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only")
