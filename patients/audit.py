"""Writing the audit trail. Every state change and every view of a patient record."""

from __future__ import annotations

from typing import Any

from django.db import models

from patients.models import AuditEvent, Clinic, Patient, User


def audit_log(
    *,
    action: str,
    actor: User | Any | None = None,
    obj: models.Model | None = None,
    patient: Patient | None = None,
    clinic: Clinic | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event, e.g. ``audit_log(action="careplan.activated", actor=user, obj=plan)``.

    ``actor`` may be an anonymous user (stored as no one). The patient and clinic
    are taken from ``obj`` when it has them, so the trail can be searched by patient.
    """
    if patient is None and obj is not None:
        patient = obj if isinstance(obj, Patient) else getattr(obj, "patient", None)
    if clinic is None:
        clinic = getattr(obj, "clinic", None) or (patient.clinic if patient else None)
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_email=user.email if user else "",
        clinic=clinic,
        patient=patient,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip,
        data=data or {},
    )
