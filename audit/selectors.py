"""Reads of the audit trail."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEvent
from portal.errors import RateLimited


def clinic_audit_events(*, clinic: models.Model) -> QuerySet[AuditEvent]:
    """The clinic's own audit trail (entries written with ``clinic``'s id), patients' users loaded."""
    return AuditEvent.objects.filter(clinic_id=clinic.pk).select_related("patient__user")


def refuse_past_audited_limit(
    *, patient: models.Model, actions: Collection[str], limit: str, now: datetime, what: str
) -> None:
    """Raise ``RateLimited`` if ``patient`` already has as many ``actions`` in the audit trail in this
    window as ``settings.PLINTH_RATE_LIMITS[limit]`` allows ((count, period in seconds)).

    Windows are fixed, counted from the epoch; counting the audit trail, which records every save,
    needs nothing but the database. ``now``: an aware datetime. ``what``: the saved things, plural,
    for the message ("check-ins"). The error's ``retry_after`` is the seconds to the window's end
    (at least 1). Used by the check-ins' and the questionnaire drafts' limits.
    """
    count, period = settings.PLINTH_RATE_LIMITS[limit]
    start = int(now.timestamp()) // period * period
    saved = AuditEvent.objects.filter(
        patient_id=patient.pk, at__gte=datetime.fromtimestamp(start, tz=UTC), action__in=list(actions)
    ).count()
    if saved >= count:
        retry_after = max(1, math.ceil(start + period - now.timestamp()))
        raise RateLimited(
            f"Too many requests: {count} {what} were saved in the last {period} seconds. "
            f"Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )
