"""One definition of each FHIR resource Plinth serves: a builder per resource type.

Each builder takes model instances as ``fhir_r4.selectors`` returns them (related rows loaded,
``fhir_last_updated`` annotated) and returns the resource as a JSON-ready dict that has passed
validation by ``fhir.resources`` (``portal.fhirjson.validated``). Read, search,
``Patient/$everything`` and the bulk export all use these builders. The questionnaires' resources
(Questionnaire, QuestionnaireResponse, score Observations) are built by ``questionnaires.fhir``,
which the API's own FHIR export uses too; ``fhir_r4.selectors`` serves them.

Which model package: R4B's, for the reasons in ``portal.fhirjson`` (fhir.resources has no R4
package; R4B's models accept exactly these resources as R4 writes them). The server states
``fhirVersion`` 4.0.1 (what clients of /fhir/R4/ expect).

``meta.lastUpdated``: no model has an "updated" timestamp of its own; each type's time is
``fhir_r4.selectors.LAST_UPDATED`` (a check-in's correction or receipt; a plan's or patient's
latest write in the audit trail, which records every state change; a therapist's account
creation; a clinic's creation: clinics and therapists are edited only in the admin, whose
changes are not timed, so theirs is the creation time).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from accounts.models import Clinic, Patient, Therapist
from careplans.models import CarePlan, PlanExercise, PlanStatus
from checkins.models import PainCheckIn, Side
from portal.fhirjson import instant, reference, validated
from questionnaires import fhir as fhir_questionnaires
from questionnaires.models import Instrument, InstrumentResponse

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
#: LOINC 72514-3: pain severity, 0-10 verbal numeric rating [Score], reported (the NPRS).
NPRS_LOINC = "72514-3"
NPRS_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
#: SNOMED CT 279039007 "Low back pain" (a finding), for a plan whose condition names it.
LOW_BACK_PAIN_SNOMED = "279039007"
#: A plan's condition is coded as low back pain when its text contains one of these (case aside):
#: the built-in template's "Non-specific low back pain, one side" is a kind of low back pain.
LOW_BACK_PAIN_WORDS = ("low back pain", "lower back pain", "low-back pain")

#: CarePlan.status (FHIR request-status) for each plan status: a stopped plan ended early, "revoked".
CAREPLAN_STATUS: dict[str, str] = {
    PlanStatus.DRAFT: "draft",
    PlanStatus.ACTIVE: "active",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.STOPPED: "revoked",
}
#: An activity's status while its plan is in each status (an active plan's phases refine it).
ACTIVITY_STATUS: dict[str, str] = {
    PlanStatus.DRAFT: "not-started",
    PlanStatus.ACTIVE: "in-progress",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.STOPPED: "stopped",
}
#: Observation.status: "amended" once the patient corrected the check-in, else "final".
OBSERVATION_STATUSES = ("final", "amended")

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def _last_updated(obj: Any) -> datetime:
    # The annotation every queryset of fhir_r4.selectors carries.
    stamp: datetime = obj.fhir_last_updated
    return stamp


def _meta(obj: Any) -> dict[str, str]:
    return {"lastUpdated": instant(_last_updated(obj))}


def _telecom(*, email: str = "", phone: str = "", use: str) -> list[dict[str, str]]:
    points = [("phone", phone.strip()), ("email", email.strip())]
    return [{"system": system, "value": value, "use": use} for system, value in points if value]


def organization_resource(clinic: Clinic) -> dict[str, Any]:
    """The clinic as an Organization: name, phone and email, address (its lines)."""
    data: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(clinic.pk),
        "meta": _meta(clinic),
        "active": True,
        "name": clinic.name,
        "telecom": _telecom(email=clinic.email, phone=clinic.phone, use="work") or None,
        "address": [{"line": clinic.address_lines, "text": ", ".join(clinic.address_lines)}]
        if clinic.address_lines
        else None,
    }
    return validated(data)


def _person(resource_type: str, obj: Therapist | Patient, *, use: str, phone: str = "") -> dict[str, Any]:
    # What a Practitioner and a Patient both say of the person: name as written, email, active.
    user = obj.user
    return {
        "resourceType": resource_type,
        "id": str(obj.pk),
        "meta": _meta(obj),
        "active": user.is_active,
        "name": [{"use": "usual", "text": user.full_name}] if user.full_name else None,
        "telecom": _telecom(email=user.email, phone=phone, use=use),
    }


def practitioner_resource(therapist: Therapist) -> dict[str, Any]:
    """A therapist as a Practitioner: name as written, work email, whether the account is active."""
    return validated(_person("Practitioner", therapist, use="work"))


def patient_resource(patient: Patient) -> dict[str, Any]:
    """A patient as a Patient: name as written (never split: "李雷" has no given/family order to
    guess), email and phone as telecom, whether the account is active, the clinic as
    managingOrganization, the therapist as generalPractitioner."""
    data = _person("Patient", patient, use="home", phone=patient.phone)
    data["managingOrganization"] = reference("Organization", patient.clinic_id)
    if patient.therapist_id:
        data["generalPractitioner"] = [reference("Practitioner", patient.therapist_id)]
    return validated(data)


def is_low_back_pain(condition: str) -> bool:
    """Whether a plan's condition text names low back pain (``LOW_BACK_PAIN_WORDS``)."""
    text = condition.lower()
    return any(words in text for words in LOW_BACK_PAIN_WORDS)


def condition_resource(plan: CarePlan) -> dict[str, Any]:
    """The condition a plan treats, as a Condition with the plan's id (only plans with a condition
    have one): SNOMED CT 279039007 "Low back pain" with the plan's words as text when they name low
    back pain, the text alone otherwise. Clinical status "active" while the plan is a draft or
    active; after it ends Plinth does not know, so none is given."""
    code: dict[str, Any] = {"text": plan.condition}
    if is_low_back_pain(plan.condition):
        code["coding"] = [{"system": SNOMED, "code": LOW_BACK_PAIN_SNOMED, "display": "Low back pain"}]
    ongoing = plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE)
    data = {
        "resourceType": "Condition",
        "id": str(plan.pk),
        "meta": _meta(plan),
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]} if ongoing else None,
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": code,
        "subject": reference("Patient", plan.patient_id),
        "recordedDate": instant(plan.created_at),
        "recorder": reference("Practitioner", plan.therapist_id),
    }
    return validated(data)


def _activity_status(plan: CarePlan, item: PlanExercise) -> str:
    phase = item.phase
    if plan.status == PlanStatus.ACTIVE and phase is not None:
        if phase.ended_on is not None:
            return "completed"
        if phase.began_on is None:
            return "not-started"
    return ACTIVITY_STATUS[plan.status]


def _timing(item: PlanExercise) -> dict[str, Any]:
    # Sessions a day on every day, or sessions a week on fewer days: Timing has one frequency.
    if item.days_per_week == 7:
        repeat = {"frequency": item.sessions_per_day, "period": 1, "periodUnit": "d"}
    else:
        repeat = {"frequency": item.sessions_per_day * item.days_per_week, "period": 1, "periodUnit": "wk"}
    return {"repeat": repeat, "code": {"text": item.dosage_text}}


def _activity(plan: CarePlan, item: PlanExercise) -> dict[str, Any]:
    exercise = item.exercise
    words = f"{exercise.name}: {item.dosage_text}." + (f" {item.note}" if item.note else "")
    detail = {
        "kind": "ServiceRequest",
        "code": {"text": exercise.name},
        "status": _activity_status(plan, item),
        "description": words,
        "scheduledTiming": _timing(item),
    }
    return {"detail": detail}


def careplan_resource(plan: CarePlan) -> dict[str, Any]:
    """A plan as a CarePlan: status (``CAREPLAN_STATUS``), period (start to the last day of its
    weeks), the therapist as author, each exercise as an activity with its dosage (words and a
    Timing) and note, the reason it was stopped or completed as a note, the Condition it addresses."""
    exercises = sorted(plan.exercises.all(), key=lambda item: (item.position, item.pk))
    data = {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "meta": _meta(plan),
        "status": CAREPLAN_STATUS[plan.status],
        "intent": "plan",
        "title": plan.title,
        "subject": reference("Patient", plan.patient_id),
        "period": {"start": plan.start_date.isoformat(), "end": plan.end_date.isoformat()},
        "created": instant(plan.created_at),
        "author": reference("Practitioner", plan.therapist_id),
        "addresses": [reference("Condition", plan.pk)] if plan.condition else None,
        "activity": [_activity(plan, item) for item in exercises] or None,
        "note": [{"text": f"{plan.get_status_display()}: {plan.status_reason}"}]
        if plan.status_reason
        else None,
    }
    return validated(data)


@cache
def _side_labels() -> dict[str, str]:
    # What get_side_display says of each side (the bulk export builds millions: a dict lookup).
    return {str(value): str(label) for value, label in Side.choices}


@cache
def _red_flag_labels() -> tuple[tuple[str, str], ...]:
    # (field, verbose name) of each red flag, as PainCheckIn.red_flags names them: looked up once.
    meta = PainCheckIn._meta
    return tuple((name, str(meta.get_field(name).verbose_name)) for name in PainCheckIn.RED_FLAG_FIELDS)  # type: ignore[union-attr]


def observation_resource(checkin: PainCheckIn) -> dict[str, Any]:
    """A pain check-in as an Observation: LOINC 72514-3 with the NPRS as valueInteger, dated the
    patient's local date, issued when received, based on its CarePlan; the side and each red-flag
    answer as components, and a note naming any red flag and holding the patient's own note.
    The labels (the side's display, the red flags' verbose names) come from the model's choices
    and fields, looked up once per process (the tests compare them with get_side_display and
    red_flags)."""
    side = checkin.side
    components: list[dict[str, Any]] = [
        {
            "code": {"text": "Side of the pain"},
            "valueCodeableConcept": {"text": _side_labels().get(side, side)},
        }
    ]
    flagged = []
    for name, label in _red_flag_labels():
        answer = getattr(checkin, name)
        components.append({"code": {"text": f"Red flag: {label}"}, "valueBoolean": answer})
        if answer:
            flagged.append(label)
    notes = []
    if flagged:
        notes.append({"text": "Red flags reported: " + ", ".join(flagged) + "."})
    if checkin.note:
        notes.append({"text": checkin.note})
    data = {
        "resourceType": "Observation",
        "id": str(checkin.pk),
        "meta": _meta(checkin),
        "status": "amended" if checkin.corrected_at else "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": NPRS_LOINC, "display": NPRS_DISPLAY}],
            "text": "Pain now",
        },
        "subject": reference("Patient", checkin.patient_id),
        "basedOn": [reference("CarePlan", checkin.plan_id)],
        "performer": [reference("Patient", checkin.patient_id)],
        "effectiveDateTime": checkin.local_date.isoformat(),
        "issued": instant(checkin.received_at),
        "valueInteger": checkin.nprs,
        "component": components,
        "note": notes or None,
    }
    return validated(data)


def questionnaire_resource(instrument: Instrument) -> dict[str, Any]:
    """An instrument as a Questionnaire (``questionnaires.fhir.questionnaire_resource``)."""
    return fhir_questionnaires.questionnaire_resource(instrument, last_updated=_last_updated(instrument))


def questionnaire_response_resource(response: InstrumentResponse) -> dict[str, Any]:
    """A patient's response as a QuestionnaireResponse (``questionnaires.fhir``), sent or a draft."""
    return fhir_questionnaires.questionnaire_response_resource(response, last_updated=_last_updated(response))


def score_observation_resource(response: InstrumentResponse) -> dict[str, Any]:
    """A sent response's score as an Observation (``questionnaires.fhir.score_observations``); the
    rows given are those with a score (``fhir_r4.selectors.score_observations``). Raises ValueError
    for a response with no score (a defect in the caller)."""
    built = fhir_questionnaires.score_observations(response, last_updated=_last_updated(response))
    if not built:
        raise ValueError(f"Response {response.pk} has no score to serve.")
    return built[0]
