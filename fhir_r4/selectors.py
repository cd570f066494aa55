"""What a user may read through FHIR, as querysets ready for the builders of ``fhir.resources``.

Tenancy: a therapist reads their clinic (its patients, therapists, their plans, conditions,
check-ins and questionnaire responses, the instruments it may use) through the clinic-scoped
selectors of the apps below; a patient reads their own record: themselves, their clinic, the
therapists named on it or on their plans, their plans (not drafts: a draft is the therapist's
work in progress, as in the API), check-ins and responses, and their clinic's instruments. Anyone
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
from fhir_r4.search_values import resource_pk
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoping import clinic_responses, instruments_for, own_responses


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


def _written_or_created(label: str, patient_ref: str, created: str = "created_at") -> Greatest:
    return Greatest(F(created), Coalesce(_last_written(label, patient_ref), F(created)))


#: meta.lastUpdated of each model: the audit trail's latest write for a patient or a plan (every
#: service that changes one logs it), the correction or receipt of a check-in, the creation of a
#: therapist's account or a clinic (no change to those is timed: they are edited in the admin).
LAST_UPDATED: dict[type[Model], Any] = {
    Patient: _written_or_created("accounts.patient", "pk"),
    CarePlan: _written_or_created("careplans.careplan", "patient_id"),
    PainCheckIn: Coalesce(F("corrected_at"), F("received_at")),
    Therapist: F("user__date_joined"),
    Clinic: F("created_at"),
    # Loaded once, never changed (a new version is a new instrument).
    Instrument: F("created_at"),
    # Sent: when it was sent (a sent response never changes; COALESCE stops there, so the audit
    # subquery runs only for drafts); a draft: its latest save in the audit trail.
    InstrumentResponse: Coalesce(
        F("completed_at"),
        _written_or_created("questionnaires.instrumentresponse", "patient_id", "started_at"),
    ),
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


def questionnaires(scope: Scope) -> QuerySet[Instrument]:
    """The instruments the scope's clinic may use: the shared ones and the clinic's own."""
    clinic = scope.clinic if scope.clinic is not None else getattr(scope.patient, "clinic", None)
    return _stamped(instruments_for(clinic=clinic))


def questionnaire_responses(scope: Scope) -> QuerySet[InstrumentResponse]:
    """The clinic's responses, or the patient's own; drafts too (FHIR's status in-progress), each
    with ``fhir_authored`` (when sent, or begun) for the ``authored`` search."""
    if scope.clinic is not None:
        found = clinic_responses(clinic=scope.clinic)
    elif scope.patient is not None:
        found = own_responses(patient=scope.patient)
    else:
        found = InstrumentResponse.objects.none()
    stamped: QuerySet[InstrumentResponse] = _stamped(found).annotate(
        fhir_authored=Coalesce(F("completed_at"), F("started_at"))
    )
    return stamped


def score_observations(scope: Scope) -> QuerySet[InstrumentResponse]:
    """The sent responses with a score: each is one score Observation (``questionnaires.fhir``)."""
    return questionnaire_responses(scope).filter(
        status=ResponseStatus.COMPLETED, score__isnull=False, completed_at__isnull=False
    )


@dataclass(frozen=True)
class Source:
    """Where resources of a type come from: the rows a scope may read, the builder of one row, and
    how a row's FHIR id is written: its pk followed by ``id_suffix`` ("41-score"). ``label`` names
    the source where a search parameter filters the sources of one type differently."""

    rows: Callable[[Scope], QuerySet[Any]]
    build: Callable[[Any], dict[str, Any]]
    id_suffix: str = ""
    label: str = ""

    def pk_of(self, resource_id: str) -> int | None:
        """The pk of the row ``resource_id`` names in this source, or None if it is not of it."""
        if self.id_suffix and not resource_id.endswith(self.id_suffix):
            return None
        return resource_pk(resource_id.removesuffix(self.id_suffix) if self.id_suffix else resource_id)


@dataclass(frozen=True)
class ResourceType:
    """A FHIR resource type Plinth serves, from one source or more (Observation: the pain check-ins,
    then the questionnaire scores); searches and exports read the sources in this order."""

    sources: tuple[Source, ...]

    def find(self, scope: Scope, resource_id: str) -> tuple[Source, Any] | None:
        """The row of the scope with FHIR id ``resource_id``, and its source; None if none."""
        for source in self.sources:
            pk = source.pk_of(resource_id)
            if pk is not None:
                row = source.rows(scope).filter(pk=pk).first()
                return (source, row) if row is not None else None
        return None


def _one(rows: Callable[[Scope], QuerySet[Any]], build: Callable[[Any], dict[str, Any]]) -> ResourceType:
    return ResourceType((Source(rows, build),))


PAIN = Source(observations, resources.observation_resource)
SCORES = Source(score_observations, resources.score_observation_resource, id_suffix="-score", label="score")

#: Every resource type served, by FHIR name (the CapabilityStatement lists these).
RESOURCE_TYPES: dict[str, ResourceType] = {
    "Patient": _one(patients, resources.patient_resource),
    "Practitioner": _one(practitioners, resources.practitioner_resource),
    "Organization": _one(organizations, resources.organization_resource),
    "Condition": _one(conditions, resources.condition_resource),
    "CarePlan": _one(careplans, resources.careplan_resource),
    "Observation": ResourceType((PAIN, SCORES)),
    "Questionnaire": _one(questionnaires, resources.questionnaire_resource),
    "QuestionnaireResponse": _one(questionnaire_responses, resources.questionnaire_response_resource),
}


def everything(scope: Scope, patient_id: int) -> list[tuple[Source, Any]] | None:
    """All that these resource types hold about one patient of the scope, as (source, row) pairs:
    the Patient, their Organization, the Practitioners named on their record or plans, their
    CarePlans, Conditions, pain Observations, the Questionnaires they answered, their
    QuestionnaireResponses and score Observations; None when the scope holds no such patient.
    Eight queries, however much the patient has."""
    patient = patients(scope).filter(pk=patient_id).first()
    if patient is None:
        return None
    own = Scope(patient=patient)
    # A therapist's scope holds the patient's drafts too; the patient's own leaves them out.
    own_plans = list(careplans(scope).filter(patient=patient).order_by("pk"))
    responses = list(questionnaire_responses(scope).filter(patient=patient).order_by("pk"))
    kind = {name: found.sources[0] for name, found in RESOURCE_TYPES.items()}
    rows: list[tuple[Source, Any]] = [(kind["Patient"], patient)]
    rows += [(kind["Organization"], row) for row in organizations(own)]
    authors = {plan.therapist_id for plan in own_plans}
    if patient.therapist_id is not None:
        authors.add(patient.therapist_id)
    rows += [
        (kind["Practitioner"], row) for row in practitioners(scope).filter(pk__in=authors).order_by("pk")
    ]
    rows += [(kind["CarePlan"], plan) for plan in own_plans]
    rows += [(kind["Condition"], plan) for plan in own_plans if plan.condition]
    rows += [(PAIN, row) for row in observations(scope).filter(patient=patient).order_by("pk")]
    used = {response.instrument_id for response in responses}
    rows += [(kind["Questionnaire"], row) for row in questionnaires(scope).filter(pk__in=used).order_by("pk")]
    rows += [(kind["QuestionnaireResponse"], row) for row in responses]
    scored = score_observations(scope).filter(patient=patient).order_by("pk")
    rows += [(SCORES, row) for row in scored]
    return rows
