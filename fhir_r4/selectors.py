"""What a user may read through FHIR, as querysets ready for the builders of ``fhir.resources``.

Tenancy: a therapist reads their clinic (its patients, therapists, their plans, conditions and
check-ins) through the clinic-scoped selectors of the apps below; a patient reads their own
record: themselves, their clinic, the therapists named on it or on their plans, their plans
(not drafts: a draft is the therapist's work in progress, as in the API) and check-ins. Anyone
else reads nothing. Another clinic's or another patient's resource is simply not in the queryset,
so it is a 404 like an id that does not exist.

Every queryset carries ``fhir_last_updated`` (``LAST_UPDATED``), which the builders use for
``meta.lastUpdated`` and ``_lastUpdated`` searches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, Model, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce, Greatest

from accounts.models import Clinic, Patient, Therapist, User
from accounts.selectors import clinic_patients
from audit.models import AuditEvent
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.selectors import clinic_plans
from checkins.models import PainCheckIn
from checkins.selectors import clinic_checkins
from fhir_r4 import resources


@dataclass(frozen=True)
class Scope:
    """Whose data a request may read: a therapist's clinic, or one patient."""

    clinic: Clinic | None = None
    patient: Patient | None = None


def scope_of(user: User | Any) -> Scope | None:
    """The scope of a signed-in user: their clinic for a therapist, themselves for a patient;
    None for anyone else (staff, a user with no role), who reads nothing (404)."""
    therapist = getattr(user, "therapist", None)
    if therapist is not None:
        return Scope(clinic=therapist.clinic)
    patient = getattr(user, "patient", None)
    if patient is not None:
        return Scope(patient=patient)
    return None


#: Audit actions that record a read, not a change (everything else in the trail is a write).
_READ_ACTIONS = Q(action__endswith=".viewed") | Q(action="patient.exported")


def _last_written(label: str, patient_ref: str) -> Subquery:
    # The latest write the audit trail holds for the row (found through its patient's index).
    return Subquery(
        AuditEvent.objects.filter(
            patient_id=OuterRef(patient_ref), object_type=label, object_id=Cast(OuterRef("pk"), CharField())
        )
        .exclude(_READ_ACTIONS)
        .order_by("-at")
        .values("at")[:1]
    )


def _written_or_created(label: str, patient_ref: str) -> Greatest:
    return Greatest(F("created_at"), Coalesce(_last_written(label, patient_ref), F("created_at")))


#: meta.lastUpdated of each model: the audit trail's latest write for a patient or a plan (every
#: service that changes one logs it), the correction or receipt of a check-in, the creation of a
#: therapist's account or a clinic (no change to those is timed: they are edited in the admin).
LAST_UPDATED: dict[type[Model], Any] = {
    Patient: _written_or_created("accounts.patient", "pk"),
    CarePlan: _written_or_created("careplans.careplan", "patient_id"),
    PainCheckIn: Coalesce(F("corrected_at"), F("received_at")),
    Therapist: F("user__date_joined"),
    Clinic: F("created_at"),
}


def _stamped(queryset: QuerySet[Any]) -> QuerySet[Any]:
    stamped: QuerySet[Any] = queryset.annotate(fhir_last_updated=LAST_UPDATED[queryset.model])
    return stamped


def patients(scope: Scope) -> QuerySet[Patient]:
    if scope.clinic is not None:
        return _stamped(clinic_patients(clinic=scope.clinic))
    return _stamped(Patient.objects.filter(pk__in=_own_ids(scope)).select_related("user"))


def _own_ids(scope: Scope) -> list[int]:
    return [scope.patient.pk] if scope.patient is not None else []


def _plans(scope: Scope) -> QuerySet[CarePlan]:
    if scope.clinic is not None:
        return clinic_plans(clinic=scope.clinic)
    return CarePlan.objects.filter(patient__in=_own_ids(scope)).exclude(status=PlanStatus.DRAFT)


def practitioners(scope: Scope) -> QuerySet[Therapist]:
    if scope.clinic is not None:
        found = Therapist.objects.filter(clinic=scope.clinic)
    else:
        own = Patient.objects.filter(pk__in=_own_ids(scope)).values("therapist_id")
        found = Therapist.objects.filter(Q(pk__in=own) | Q(pk__in=_plans(scope).values("therapist_id")))
    return _stamped(found.select_related("user"))


def organizations(scope: Scope) -> QuerySet[Clinic]:
    if scope.clinic is not None:
        return _stamped(Clinic.objects.filter(pk=scope.clinic.pk))
    return _stamped(Clinic.objects.filter(patients__in=_own_ids(scope)))


def careplans(scope: Scope) -> QuerySet[CarePlan]:
    items = PlanExercise.objects.select_related("exercise", "phase")
    return _stamped(_plans(scope)).prefetch_related(Prefetch("exercises", queryset=items))


def conditions(scope: Scope) -> QuerySet[CarePlan]:
    """Plans with a condition: each is one Condition (with the plan's id)."""
    return _stamped(_plans(scope)).exclude(condition="")


def observations(scope: Scope) -> QuerySet[PainCheckIn]:
    if scope.clinic is not None:
        found = clinic_checkins(clinic=scope.clinic)
    else:
        found = PainCheckIn.objects.filter(patient=scope.patient)
    return _stamped(found)


@dataclass(frozen=True)
class ResourceType:
    """A FHIR resource type Plinth serves: the rows a scope may read, and the builder of one."""

    rows: Callable[[Scope], QuerySet[Any]]
    build: Callable[[Any], dict[str, Any]]


#: Every resource type served, by FHIR name (the CapabilityStatement lists these).
RESOURCE_TYPES: dict[str, ResourceType] = {
    "Patient": ResourceType(patients, resources.patient_resource),
    "Practitioner": ResourceType(practitioners, resources.practitioner_resource),
    "Organization": ResourceType(organizations, resources.organization_resource),
    "Condition": ResourceType(conditions, resources.condition_resource),
    "CarePlan": ResourceType(careplans, resources.careplan_resource),
    "Observation": ResourceType(observations, resources.observation_resource),
}


def everything(scope: Scope, patient_id: int) -> list[tuple[str, Any]] | None:
    """All that these resource types hold about one patient of the scope, as (type, row) pairs:
    the Patient, their Organization, the Practitioners named on their record or plans, their
    CarePlans, Conditions and Observations; None when the scope holds no such patient.
    Six queries, however much the patient has."""
    patient = patients(scope).filter(pk=patient_id).first()
    if patient is None:
        return None
    own = Scope(patient=patient)
    # A therapist's scope holds the patient's drafts too; the patient's own leaves them out.
    own_plans = list(careplans(scope).filter(patient=patient).order_by("pk"))
    found: list[tuple[str, Any]] = [("Patient", patient)]
    found += [("Organization", row) for row in organizations(own)]
    authors = {plan.therapist_id for plan in own_plans}
    if patient.therapist_id is not None:
        authors.add(patient.therapist_id)
    found += [("Practitioner", row) for row in practitioners(scope).filter(pk__in=authors).order_by("pk")]
    found += [("CarePlan", plan) for plan in own_plans]
    found += [("Condition", plan) for plan in own_plans if plan.condition]
    found += [("Observation", row) for row in observations(scope).filter(patient=patient).order_by("pk")]
    return found
