"""Reads of the audit trail."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEvent


def clinic_audit_events(*, clinic: models.Model) -> QuerySet[AuditEvent]:
    """The clinic's own audit trail (entries written with ``clinic``'s id), patients' users loaded."""
    return AuditEvent.objects.filter(clinic_id=clinic.pk).select_related("patient__user")
