"""Writing the audit trail: every state change, and every read of patient data by someone else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import models
from django.utils import timezone

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


# --- reads of patient data -------------------------------------------------------------
#
# Reads are noted where patient data is fetched for a user (the access functions and
# selectors, the API's object and page lookups, the admin) and written by one
# middleware, AuditReadMiddleware, once per request and only if the response
# succeeded. A read outside a request (a job, a command) notes nothing.

#: The path from each model that holds patient data to its patient ("" for Patient itself).
PATIENT_OF: dict[str, str] = {
    "patients.patient": "",
    "patients.user": "patient",
    "patients.paincheckin": "patient",
    "patients.exercisesession": "patient",
    "patients.invitation": "patient",
    "patients.alert": "patient",
    "patients.auditevent": "patient",
    "patients.apitoken": "user__patient",
    "careplans.careplan": "patient",
    "careplans.planexercise": "plan__patient",
    "careplans.planversion": "plan__patient",
    "careplans.outcomesnapshot": "plan__patient",
    "careplans.reminderdelivery": "patient",
}


@dataclass(frozen=True)
class Read:
    """One object of one patient shown to the user of the current request."""

    patient_id: int
    clinic_id: int
    object_type: str
    object_id: str


_reads: ContextVar[set[Read] | None] = ContextVar("plinth_audit_reads", default=None)


def audit_read(objects: Iterable[models.Model]) -> None:
    """Note that the current request shows these objects to its user.

    ``objects``: model instances of any model in PATIENT_OF (others are ignored),
    of one or many patients. Patients cost nothing; other models one query per
    model (their patient and the patient's clinic as they are now).
    AuditReadMiddleware writes one ``<model>.viewed`` entry per object after a
    successful response; outside a request this does nothing.
    """
    reads = _reads.get()
    if reads is None:
        return
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for obj in objects:
        if obj._meta.label_lower in PATIENT_OF:
            by_model.setdefault(type(obj), []).append(obj)
    for model, found in by_model.items():
        label = model._meta.label_lower
        path = PATIENT_OF[label]
        if not path:
            rows = [(obj.pk, obj.pk, cast(Patient, obj).clinic_id) for obj in found]
        else:
            rows = list(
                model._default_manager.filter(pk__in=[obj.pk for obj in found]).values_list(
                    "pk", f"{path}__id", f"{path}__clinic_id"
                )
            )
        reads.update(
            Read(int(patient), int(clinic), label, str(pk))
            for pk, patient, clinic in rows
            if patient is not None
        )


@contextmanager
def collecting_reads() -> Iterator[set[Read]]:
    """The reads noted inside the block (what AuditReadMiddleware writes)."""
    token = _reads.set(set())
    try:
        yield cast(set[Read], _reads.get())
    finally:
        _reads.reset(token)


def audit_reads_write(
    *, reads: Iterable[Read], actor: User, ip: str | None, route: str, at: datetime | None = None
) -> int:
    """Write one ``<model>.viewed`` entry per read, in one INSERT. Returns the entries written.

    A patient reading their own data writes nothing: the trail records who else
    looked. Each entry names the patient and the patient's clinic at the time of the read.
    """
    own = getattr(actor, "patient", None)
    wanted = sorted(
        (read for read in reads if own is None or read.patient_id != own.pk),
        key=lambda r: (r.patient_id, r.object_type, r.object_id),
    )
    if not wanted:
        return 0
    at = at or timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=at,
            actor=actor,
            actor_email=actor.email,
            clinic_id=read.clinic_id,
            patient_id=read.patient_id,
            action=f"{read.object_type.split('.')[1]}.viewed",
            object_type=read.object_type,
            object_id=read.object_id,
            ip_address=ip,
            data={"route": route},
        )
        for read in wanted
    )
    return len(wanted)
