"""A real FHIR client (fhirpy's SyncFHIRClient) against a live server: reads, paged searches, $everything;
and a bulk export round trip over HTTP (requests, as fhirpy has no Bulk Data client)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirQuestionnaireResponse
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from accounts.tokens import api_token_create
from tests.factories import PainCheckInFactory
from tests.fhir_r4.conftest import OddClinic
from tests.helpers import make_plan

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_fhirpy_reads_searches_pages_and_fetches_everything(odd: OddClinic, live_server: Any) -> None:
    key = api_token_create(user=odd.p.owner.user, name="fhirpy").key
    client = SyncFHIRClient(f"{live_server.url}/fhir/R4", authorization=f"Bearer {key}")
    plan = make_plan(odd.li, therapist=odd.p.owner)
    for day in range(23):
        PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day), nprs=day % 11)

    zoe = client.reference("Patient", str(odd.zoe.pk)).to_resource()
    assert zoe["name"][0]["text"] == "Zoë Ångström"
    FhirPatient.model_validate(zoe.serialize())
    organization = zoe["managingOrganization"].to_resource()
    assert organization["name"] == odd.p.clinic.name

    # 23 check-ins in pages of 5: fetch_all follows the next links to the end.
    pages = client.resources("Observation").search(patient=odd.li.pk).limit(5)
    found = pages.fetch_all()
    assert sorted(int(o["id"]) for o in found) == sorted(plan.checkins.values_list("pk", flat=True))
    assert [o["valueInteger"] for o in found] == [day % 11 for day in range(23)]
    for observation in found:
        Observation.model_validate(observation.serialize())
    assert len(pages.fetch()) == 5
    since = (plan.start_date + timedelta(days=20)).isoformat()
    late = client.resources("Observation").search(subject=f"Patient/{odd.li.pk}", date__ge=since).fetch_all()
    assert len(late) == 3

    plans = client.resources("CarePlan").search(patient=odd.li.pk, status="active").fetch_all()
    assert [p["id"] for p in plans] == [str(plan.pk)]
    FhirCarePlan.model_validate(plans[0].serialize())
    assert plans[0]["author"].to_resource()["name"][0]["text"] == odd.p.owner.user.full_name

    everything = client.execute(f"Patient/{odd.li.pk}/$everything", method="get")
    Bundle.model_validate(everything)
    kinds = {entry["resource"]["resourceType"] for entry in everything["entry"]}
    assert kinds == {"Patient", "Organization", "Practitioner", "CarePlan", "Condition", "Observation"}
    zoe_everything = client.execute(f"Patient/{odd.zoe.pk}/$everything", method="get")
    kinds = {entry["resource"]["resourceType"] for entry in zoe_everything["entry"]}
    assert {"Questionnaire", "QuestionnaireResponse"} <= kinds
    assert everything["total"] == len(everything["entry"])

    # The questionnaires: Zoë's PSFS and its score, the Questionnaire by its canonical URL.
    responses = client.resources("QuestionnaireResponse").search(patient=odd.zoe.pk).limit(1).fetch_all()
    assert [r["status"] for r in responses] == ["completed", "in-progress"]
    FhirQuestionnaireResponse.model_validate(responses[0].serialize())
    assert responses[0]["basedOn"][0].to_resource()["id"] == str(odd.zoe_plan.pk)
    url, _, version = responses[0]["questionnaire"].partition("|")
    questionnaire = client.resources("Questionnaire").search(url=url).get()
    assert questionnaire["version"] == version
    FhirQuestionnaire.model_validate(questionnaire.serialize())
    score = client.resources("Observation").search(patient=odd.zoe.pk, code="psfs").get()
    assert score["id"] == f"{odd.psfs.pk}-score" and score["valueQuantity"]["value"] == 4.5
    assert score["derivedFrom"][0].to_resource()["id"] == responses[0]["id"]

    with pytest.raises(OperationOutcome) as refused:
        client.resources("Observation").search(colour="blue").fetch()
    assert "colour" in str(refused.value)
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "999999").to_resource()


def test_a_bulk_export_round_trip_over_http(odd: OddClinic, live_server: Any) -> None:
    """Kick-off, poll, download and parse, as a Bulk Data client does, with a Bearer token.

    Tasks run eagerly in tests (tests/conftest.py), so the export is written by the live server's
    request thread once the kick-off commits; the poll loop would wait for a worker all the same."""
    key = api_token_create(user=odd.p.owner.user, name="bulk").key
    auth = {"Authorization": f"Bearer {key}", "Accept": "application/fhir+json"}
    kick_off = requests.get(
        f"{live_server.url}/fhir/R4/Group/{odd.p.clinic.pk}/$export",
        params={"_type": "Patient,CarePlan,Observation,QuestionnaireResponse"},
        headers={**auth, "Prefer": "respond-async"},
        timeout=30,
    )
    assert kick_off.status_code == 202, kick_off.text
    status_url = kick_off.headers["Content-Location"]
    for _ in range(50):
        status = requests.get(status_url, headers=auth, timeout=30)
        if status.status_code != 202:
            break
        time.sleep(0.1)
    assert status.status_code == 200, status.text
    manifest = status.json()
    assert [(f["type"], f["count"]) for f in manifest["output"]] == [
        ("Patient", 5),
        ("CarePlan", 4),
        ("Observation", 3),  # the 3 check-ins: a file of their own
        ("Observation", 1),  # the PSFS's score
        ("QuestionnaireResponse", 2),
    ]
    models = {
        "Patient": FhirPatient,
        "CarePlan": FhirCarePlan,
        "Observation": Observation,
        "QuestionnaireResponse": FhirQuestionnaireResponse,
    }
    for output in manifest["output"]:
        download = requests.get(
            output["url"], headers={**auth, "Accept": "application/fhir+ndjson"}, timeout=30
        )
        assert download.status_code == 200 and download.headers["Content-Type"] == "application/fhir+ndjson"
        resources = [models[output["type"]].model_validate_json(line) for line in download.text.splitlines()]
        assert len(resources) == output["count"]
    assert requests.get(status_url, timeout=30).status_code == 401  # the token is required
    assert requests.delete(status_url, headers=auth, timeout=30).status_code == 202
    assert requests.get(status_url, headers=auth, timeout=30).status_code == 404
