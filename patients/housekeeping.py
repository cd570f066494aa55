"""Nightly clean-up of records that have outlived their use."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from patients.audit import audit_log
from patients.models import Invitation


def invitations_purge_expired(*, now: datetime | None = None) -> int:
    """Delete invitation links that expired unused; a used one stays as the record
    of how the account was set up. Returns how many were deleted."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = Invitation.objects.filter(expires_at__lt=now, used_at__isnull=True)
        by_patient = list(expired.values_list("patient_id", flat=True))
        deleted, _ = expired.delete()
        if deleted:
            audit_log(
                action="invitations.purged", data={"count": deleted, "patients": sorted(set(by_patient))}
            )
    return deleted
