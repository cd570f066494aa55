"""A real FHIR client (fhirpy's SyncFHIRClient) against a live server: reads, paged searches, $everything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
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
    assert everything["total"] == len(everything["entry"])

    with pytest.raises(OperationOutcome) as refused:
        client.resources("Observation").search(colour="blue").fetch()
    assert "colour" in str(refused.value)
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "999999").to_resource()
