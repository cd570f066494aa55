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

    ``actor`` may be an anonymous user (stored as no one). The patient is taken
    from ``obj`` when it has one, so the trail can be searched by patient; the
    clinic, unless given, is the patient's as it is now (tenancy has one source),
    else ``obj``'s own.
    """
    if patient is None and obj is not None:
        patient = obj if isinstance(obj, Patient) else getattr(obj, "patient", None)
    # Ids, not objects: the patient's clinic need not be loaded to be named.
    if clinic is not None:
        clinic_id: int | None = clinic.pk
    elif isinstance(obj, Clinic):
        clinic_id = obj.pk
    elif patient is not None:
        clinic_id = patient.clinic_id
    else:
        clinic_id = getattr(obj, "clinic_id", None)
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_email=user.email if user else "",
        clinic_id=clinic_id,
        patient=patient,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=ip,
        data=data or {},
    )
