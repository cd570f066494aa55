"""Writing the audit trail: every state change, and every read of patient data by someone else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from audit.models import AuditEvent


def _is_patient(obj: models.Model) -> bool:
    return PATIENT_OF.get(obj._meta.label_lower) == ""


def _is_clinic(obj: models.Model) -> bool:
    # The clinic model is whatever AuditEvent.clinic points at: the audit app names no app above it.
    return obj._meta.model is AuditEvent._meta.get_field("clinic").related_model


def audit_log(
    *,
    action: str,
    actor: Any = None,
    obj: models.Model | None = None,
    patient: models.Model | None = None,
    clinic: models.Model | None = None,
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event, e.g. ``audit_log(action="careplan.activated", actor=user, obj=plan)``.

    ``actor``: a user (``AUTH_USER_MODEL``), or anything else (an anonymous user, None),
    stored as no one. ``obj``: the record acted on; its patient is taken from it when it
    has one (``obj.patient``, or ``obj`` itself for a patient), so the trail can be searched
    by patient. ``clinic``: unless given, the patient's as it is now (tenancy has one
    source), else ``obj``'s own. ``ip``: the client's address. Returns the saved entry.
    """
    if patient is None and obj is not None:
        patient = obj if _is_patient(obj) else getattr(obj, "patient", None)
    # Ids, not objects: the patient's clinic need not be loaded to be named.
    if clinic is not None:
        clinic_id: int | None = clinic.pk
    elif obj is not None and _is_clinic(obj):
        clinic_id = obj.pk
    elif patient is not None:
        clinic_id = getattr(patient, "clinic_id", None)
    else:
        clinic_id = getattr(obj, "clinic_id", None)
    user = actor if isinstance(actor, get_user_model()) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_email=getattr(user, "email", "") if user else "",
        clinic_id=clinic_id,
        patient_id=patient.pk if patient is not None else None,
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
    "accounts.patient": "",
    "accounts.user": "patient",
    "checkins.paincheckin": "patient",
    "checkins.exercisesession": "patient",
    "accounts.invitation": "patient",
    "alerts.alert": "patient",
    "audit.auditevent": "patient",
    "accounts.apitoken": "user__patient",
    "careplans.careplan": "patient",
    "careplans.planexercise": "plan__patient",
    "careplans.planversion": "plan__patient",
    "outcomes.outcomesnapshot": "plan__patient",
    "questionnaires.instrumentresponse": "patient",
    "reminders.reminderdelivery": "patient",
    "conversations.conversation": "patient",
    "conversations.message": "conversation__patient",
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
            rows = [(obj.pk, obj.pk, getattr(obj, "clinic_id", None)) for obj in found]
        else:
            rows = list(
                model._default_manager.filter(pk__in=[obj.pk for obj in found]).values_list(
                    "pk", f"{path}__id", f"{path}__clinic_id"
                )
            )
        reads.update(
            Read(int(patient), int(clinic), label, str(pk))
            for pk, patient, clinic in rows
            if patient is not None and clinic is not None
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
    *, reads: Iterable[Read], actor: Any, ip: str | None, route: str, at: datetime | None = None
) -> int:
    """Write one ``<model>.viewed`` entry per read, in one INSERT. Returns the entries written.

    ``actor``: the signed-in user (``AUTH_USER_MODEL``); ``route``: the URL pattern's name.

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
