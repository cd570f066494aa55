"""A response as FHIR R4 (``questionnaires.fhir``): a QuestionnaireResponse and a score Observation
in a collection Bundle, each validated again here with fhir.resources' R4B models, for the PSFS
with its activities, the PEG, the global rating of change, and responses with skipped items; and
the API's export (content type, access, audit)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from audit.models import AuditEvent
from careplans.models import CarePlan, PlanSchedule
from questionnaires.fhir import SCORE_SYSTEM, entry_url, response_bundle
from questionnaires.models import InstrumentResponse
from questionnaires.services import (
    instrument_load,
    questionnaires_load_shipped,
    response_save_draft,
    response_submit,
)
from tests.conftest import Personas
from tests.questionnaires.shapes import odi_shaped
from tests.questionnaires.test_responses import PEG, PSFS, START, entry, local, on_day, plan_in
from tests.world import api_as

pytestmark = pytest.mark.django_db

#: A LOINC-shaped code written for the test definition (the ODI-shaped one is not the real ODI).
TEST_LOINC = "99999-9"


@pytest.fixture
def plan(personas: Personas, library: None) -> CarePlan:
    questionnaires_load_shipped()
    return plan_in(personas.patient_a, personas)


def _on(day: int, hour: int = 19) -> Any:
    """The moment at ``hour`` on plan day ``day`` in London, where the patient lives."""
    when = START + timedelta(days=day)
    return local("Europe/London", when.year, when.month, when.day, hour, 0)


def _send(plan: CarePlan, code: str, occasion: str, answers: dict[str, Any], day: int) -> InstrumentResponse:
    return response_submit(
        patient=plan.patient, schedule_id=entry(plan, code, occasion).pk, answers=answers, now=_on(day)
    )


def _validated(response: InstrumentResponse) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The exported bundle, read back through JSON and validated again resource by resource:
    the QuestionnaireResponse and the list of Observations."""
    bundle = json.loads(json.dumps(response_bundle(response)))
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    QuestionnaireResponse.model_validate(resources[0])
    for observation in resources[1:]:
        Observation.model_validate(observation)
        assert observation["derivedFrom"] == [{"reference": bundle["entry"][0]["fullUrl"]}]
        assert observation["subject"] == resources[0]["subject"]
    return resources[0], resources[1:]


def _answers(resource: dict[str, Any]) -> dict[str, Any]:
    return {item["linkId"]: item["answer"][0] for item in resource.get("item", [])}


def test_the_psfs_with_its_activities(plan: CarePlan) -> None:
    response = _send(plan, "psfs", "intake", PSFS, day=2)
    qr, observations = _validated(response)
    assert qr["questionnaire"] == "https://plinth.example/fhir/Questionnaire/psfs|1"
    assert (qr["status"], qr["subject"], qr["authored"]) == (
        "completed",
        {"reference": f"Patient/{plan.patient.pk}"},
        "2026-03-04T19:00:00Z",
    )
    # The activities by name, their ratings; the three empty slots are not there.
    assert _answers(qr) == {
        "activity-1": {"valueString": "Climbing stairs"},
        "rating-1": {"valueInteger": 3},
        "activity-2": {"valueString": "Lifting my son"},
        "rating-2": {"valueInteger": 4},
    }
    [score] = observations
    assert score["code"]["coding"] == [
        {"system": SCORE_SYSTEM, "code": "psfs", "display": "Patient-Specific Functional Scale score"}
    ]
    assert score["valueQuantity"] == {
        "value": 3.5,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert (score["status"], score["effectiveDateTime"]) == ("final", "2026-03-04T19:00:00Z")
    assert score["category"][0]["coding"][0]["code"] == "survey"


def test_the_peg(plan: CarePlan) -> None:
    qr, [score] = _validated(_send(plan, "peg", "intake", {"pain": 5, "enjoyment": 4, "activity": 7}, day=1))
    assert _answers(qr) == {
        "pain": {"valueInteger": 5},
        "enjoyment": {"valueInteger": 4},
        "activity": {"valueInteger": 7},
    }
    assert "instructions" not in _answers(qr)  # a display item has no answer
    assert score["valueQuantity"]["value"] == pytest.approx(5.33)
    assert score["code"]["text"] == "PEG: pain, enjoyment of life and general activity score"


def test_the_global_rating_of_change_answers_with_its_coding(plan: CarePlan) -> None:
    qr, [score] = _validated(_send(plan, "groc", "week 12", {"change": 3}, day=78))
    assert _answers(qr) == {
        "change": {
            "valueCoding": {
                "system": "https://plinth.example/fhir/CodeSystem/groc",
                "code": "3",
                "display": "Somewhat better",
            }
        }
    }
    assert score["valueQuantity"]["value"] == 3


def _odi_on(plan: CarePlan, personas: Personas) -> PlanSchedule:
    definition = odi_shaped()
    definition["extension"][0]["extension"].append({"url": "loinc", "valueCode": TEST_LOINC})
    instrument_load(definition, clinic=personas.clinic)
    return PlanSchedule.objects.create(
        plan=plan, instrument_code="odi_shaped", occasion="intake", opens_day=0
    )


def test_a_response_with_skipped_items_and_a_loinc_code(plan: CarePlan, personas: Personas) -> None:
    odi = _odi_on(plan, personas)
    answers = {f"section-{n}": 2 for n in range(1, 9)}  # sections 9 and 10 skipped
    response = response_submit(patient=plan.patient, schedule_id=odi.pk, answers=answers, now=_on(3))
    qr, [score] = _validated(response)
    assert sorted(_answers(qr)) == sorted(answers)
    assert _answers(qr)["section-1"]["valueCoding"]["code"] == "s1-2"
    assert score["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": TEST_LOINC,
        "display": "A disability index shaped like the ODI (test wording) score",
    }
    # Percent of the maximum over the 8 answered items: 16 of 40.
    assert score["valueQuantity"] == {
        "value": 40.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }


def test_too_few_answers_to_score_and_a_draft_have_no_observation(plan: CarePlan, personas: Personas) -> None:
    odi = _odi_on(plan, personas)
    unscored = response_submit(
        patient=plan.patient,
        schedule_id=odi.pk,
        answers={f"section-{n}": 1 for n in range(1, 8)},  # 7 of 10: fewer than minAnswered 8
        now=_on(3),
    )
    assert unscored.score is None
    qr, observations = _validated(unscored)
    assert qr["status"] == "completed" and observations == [] and len(qr["item"]) == 7
    draft = response_save_draft(
        patient=plan.patient, schedule_id=entry(plan, "peg", "intake").pk, answers={"pain": 4}, now=_on(2, 8)
    )
    qr, observations = _validated(draft)
    assert (qr["status"], qr["authored"], observations) == ("in-progress", "2026-03-04T08:00:00Z", [])


def test_entry_urls_are_stable() -> None:
    assert entry_url("Observation", "7-score") == entry_url("Observation", "7-score")
    assert entry_url("Observation", "7-score").startswith("urn:uuid:")
    assert entry_url("Observation", "7-score") != entry_url("QuestionnaireResponse", "7")


def test_the_api_exports_the_bundle_as_fhir_json_to_those_who_may_read_it(
    plan: CarePlan, personas: Personas
) -> None:
    response = _send(plan, "peg", "intake", PEG, day=1)
    url = reverse("api-questionnaire-response-fhir", args=[response.pk])
    owner = api_as(personas.owner.user)
    with on_day(plan, 5):
        answer = owner.get(url)
        plain = owner.get(url, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/fhir+json"
    bundle = json.loads(answer.content)
    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "QuestionnaireResponse",
        "Observation",
    ]
    assert plain.status_code == 200 and plain["Content-Type"] == "application/json"
    viewed = AuditEvent.objects.filter(
        action="instrumentresponse.viewed", actor=personas.owner.user, object_id=str(response.pk)
    )
    assert {event.data["route"] for event in viewed} == {"api-questionnaire-response-fhir"}
    assert api_as(personas.outsider.user).get(url).status_code == 404
