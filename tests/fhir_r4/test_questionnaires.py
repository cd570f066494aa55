"""The questionnaires through FHIR (issue 20 on issue 18): Questionnaire, QuestionnaireResponse and
the score Observations, read and searched, in $everything, scoped like the rest, their references
resolving within the server and their definitions shared with the API's own FHIR export."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from fhir_r4.selectors import RESOURCE_TYPES
from questionnaires.fhir import response_bundle
from questionnaires.models import Instrument
from tests.fhir_r4.conftest import OddClinic, fhir_get, owner_client
from tests.fhir_r4.test_search import ids, outcome
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

PSFS_URL = "https://plinth.example/fhir/Questionnaire/psfs"


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    Bundle.model_validate(response.json())
    return [entry["resource"] for entry in response.json().get("entry", [])]


def test_the_responses_are_searched_by_status_patient_plan_questionnaire_and_date(odd: OddClinic) -> None:
    client = owner_client(odd)
    both = sorted([odd.psfs.pk, odd.peg_draft.pk])
    assert ids(fhir_get(client, "QuestionnaireResponse")) == both
    assert ids(fhir_get(client, "QuestionnaireResponse", patient=odd.zoe.pk)) == both
    assert ids(fhir_get(client, "QuestionnaireResponse", subject=f"Patient/{odd.li.pk}")) == []
    assert ids(fhir_get(client, "QuestionnaireResponse", status="completed")) == [odd.psfs.pk]
    assert ids(fhir_get(client, "QuestionnaireResponse", status="in-progress")) == [odd.peg_draft.pk]
    assert (
        ids(fhir_get(client, "QuestionnaireResponse", **{"based-on": f"CarePlan/{odd.zoe_plan.pk}"})) == both
    )
    assert ids(fhir_get(client, "QuestionnaireResponse", **{"based-on": odd.li_plan.pk})) == []
    assert ids(fhir_get(client, "QuestionnaireResponse", questionnaire=PSFS_URL)) == [odd.psfs.pk]
    assert ids(fhir_get(client, "QuestionnaireResponse", questionnaire=f"{PSFS_URL}|1")) == [odd.psfs.pk]
    assert ids(fhir_get(client, "QuestionnaireResponse", questionnaire=f"{PSFS_URL}|2")) == []
    by_id = f"Questionnaire/{odd.psfs.instrument_id}"
    assert ids(fhir_get(client, "QuestionnaireResponse", questionnaire=by_id)) == [odd.psfs.pk]
    sent = odd.psfs.completed_at
    assert sent is not None
    stamp = sent.isoformat().replace("+00:00", "Z")
    assert odd.psfs.pk in ids(fhir_get(client, "QuestionnaireResponse", authored=f"ge{stamp}"))
    assert ids(fhir_get(client, "QuestionnaireResponse", authored=f"lt{stamp}", status="completed")) == []
    # Bad values are OperationOutcomes naming the parameter, never ignored.
    for params in ({"status": "sent"}, {"questionnaire": "psfs"}, {"authored": "yesterday"}):
        issue = outcome(fhir_get(client, "QuestionnaireResponse", **params), 400)
        assert issue["expression"] == [next(iter(params))]


def test_the_questionnaires_are_the_shared_ones_and_found_by_url(odd: OddClinic) -> None:
    client = owner_client(odd)
    shipped = sorted(Instrument.objects.filter(clinic=None).values_list("pk", flat=True))
    assert ids(fhir_get(client, "Questionnaire")) == shipped
    psfs = Instrument.objects.get(code="psfs", clinic=None)
    assert ids(fhir_get(client, "Questionnaire", url=PSFS_URL)) == [psfs.pk]
    assert ids(fhir_get(client, "Questionnaire", status="active")) == shipped
    assert ids(fhir_get(client, "Questionnaire", status="retired")) == []
    resource = fhir_get(client, f"Questionnaire/{psfs.pk}").json()
    assert (resource["id"], resource["url"], resource["version"]) == (str(psfs.pk), PSFS_URL, "1")
    assert [item["linkId"] for item in resource["item"]] == [
        item["linkId"] for item in psfs.definition["item"]
    ]
    assert resource["meta"]["lastUpdated"]
    outcome(fhir_get(client, "Questionnaire", url="psfs"), 400)


def test_a_response_and_its_score_say_what_the_api_export_says(odd: OddClinic) -> None:
    """One definition: the server's QuestionnaireResponse and score Observation are the API's
    export's resources, with meta.lastUpdated (when it was sent) and literal references that resolve."""
    client = owner_client(odd)
    served = fhir_get(client, f"QuestionnaireResponse/{odd.psfs.pk}").json()
    score = fhir_get(client, f"Observation/{odd.psfs.pk}-score").json()
    exported = [entry["resource"] for entry in response_bundle(odd.psfs)["entry"]]
    stamp = served.pop("meta")["lastUpdated"]
    assert score.pop("meta")["lastUpdated"] == stamp
    assert stamp.replace("Z", "+00:00") == odd.psfs.completed_at.isoformat()  # type: ignore[union-attr]
    assert served == exported[0]
    assert score["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{odd.psfs.pk}"}]
    assert {k: v for k, v in score.items() if k != "derivedFrom"} == {
        k: v for k, v in exported[1].items() if k != "derivedFrom"
    }
    answers = {item["linkId"]: item["answer"][0] for item in served["item"]}
    assert answers["activity-2"] == {"valueString": "抱孩子"}
    assert score["valueQuantity"]["value"] == 4.5
    for reference in (served["basedOn"][0], served["subject"], score["basedOn"][0], score["derivedFrom"][0]):
        assert fhir_get(client, reference["reference"]).status_code == 200
    # The canonical reference to the Questionnaire resolves through a url search.
    url, _, version = served["questionnaire"].partition("|")
    assert [q["version"] for q in entries(fhir_get(client, "Questionnaire", url=url))] == [version]
    # A draft is in-progress, unscored: no score Observation.
    draft = fhir_get(client, f"QuestionnaireResponse/{odd.peg_draft.pk}").json()
    assert draft["status"] == "in-progress" and [i["linkId"] for i in draft["item"]] == ["pain"]
    assert fhir_get(client, f"Observation/{odd.peg_draft.pk}-score").status_code == 404


def test_everything_holds_the_responses_their_questionnaires_and_scores(odd: OddClinic) -> None:
    bundle = fhir_get(owner_client(odd), f"Patient/{odd.zoe.pk}/$everything").json()
    Bundle.model_validate(bundle)
    found = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert ("QuestionnaireResponse", str(odd.psfs.pk)) in found
    assert ("QuestionnaireResponse", str(odd.peg_draft.pk)) in found
    assert ("Observation", f"{odd.psfs.pk}-score") in found
    answered = {odd.psfs.instrument_id, odd.peg_draft.instrument_id}
    assert {int(i) for kind, i in found if kind == "Questionnaire"} == answered
    assert len(found) == len(set(found))


def test_tenancy_a_patient_reads_their_own_responses_and_another_clinic_nothing(odd: OddClinic) -> None:
    zoe = as_user(odd.zoe.user)
    assert ids(fhir_get(zoe, "QuestionnaireResponse")) == sorted([odd.psfs.pk, odd.peg_draft.pk])
    assert ids(fhir_get(zoe, "Observation", code="psfs")) == [f"{odd.psfs.pk}-score"]
    li = as_user(odd.li.user)
    assert ids(fhir_get(li, "QuestionnaireResponse")) == []
    for path in (f"QuestionnaireResponse/{odd.psfs.pk}", f"Observation/{odd.psfs.pk}-score"):
        assert outcome(fhir_get(li, path), 404)["code"] == "not-found"
    other = as_user(odd.p.outsider.user)
    assert ids(fhir_get(other, "QuestionnaireResponse")) == []
    assert ids(fhir_get(other, "Observation", code="psfs")) == []
    assert fhir_get(other, f"Observation/{odd.psfs.pk}-score").status_code == 404
    # Ids of the wrong shape are a 404 like any unknown id; a bad _id is a 400.
    for path in ("Observation/12-scores", "Observation/-score", "QuestionnaireResponse/1-score"):
        assert outcome(fhir_get(owner_client(odd), path), 404)["code"] == "not-found"
    issue = outcome(fhir_get(owner_client(odd), "Observation", _id="12-x-score"), 400)
    assert issue["expression"] == ["_id"]
    assert set(RESOURCE_TYPES) >= {"Questionnaire", "QuestionnaireResponse"}
