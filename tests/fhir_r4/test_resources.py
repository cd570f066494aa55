"""Every resource the FHIR server produces validates as FHIR, for every kind of object, odd ones too."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from accounts.models import User
from checkins.models import PainCheckIn, Side
from fhir_r4.bundles import BULK_DATA, GROUP_EXPORT
from fhir_r4.resources import observation_resource
from fhir_r4.search import SEARCH_PARAMS
from fhir_r4.selectors import RESOURCE_TYPES, Scope
from portal.fhirjson import unchecked
from tests.conftest import record_figure
from tests.fhir_r4.conftest import OddClinic, fhir_get, owner_client
from tests.helpers import as_user

pytestmark = pytest.mark.django_db


def references(value: Any) -> list[str]:
    """Every literal reference ("Patient/12") anywhere in a resource."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for inner in value.values() for ref in references(inner)]
    if isinstance(value, list):
        return [ref for inner in value for ref in references(inner)]
    return []


def by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}


def test_every_resource_validates_is_read_alike_and_its_references_resolve(odd: OddClinic) -> None:
    client = owner_client(odd)
    validated = 0
    served: dict[str, dict[str, Any]] = {}
    for name in RESOURCE_TYPES:
        response = fhir_get(client, name, _count=100)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/fhir+json")
        bundle = response.json()
        Bundle.model_validate(bundle)  # the Bundle and every resource in it
        assert bundle["total"] == len(bundle["entry"]) > 0
        for key, resource in by_id(bundle).items():
            get_fhir_model_class(name).model_validate(resource)
            validated += 1
            # A read gives what the search gave: one definition of each resource.
            assert fhir_get(client, key).json() == resource
            served[key] = resource
    for patient in (odd.zoe, odd.li, odd.inactive):
        bundle = fhir_get(client, f"Patient/{patient.pk}/$everything").json()
        Bundle.model_validate(bundle)
        for key, resource in by_id(bundle).items():
            assert served[key] == resource
            validated += 1
    for key, resource in served.items():
        for ref in references(resource):
            assert ref in served, f"{key} refers to {ref}, which this server does not serve"
    record_figure(f"FHIR resources validated (fhir.resources R4B), odd clinic: {validated}")
    assert validated > 30


def test_the_odd_objects_say_what_they_hold(odd: OddClinic) -> None:
    client = owner_client(odd)
    zoe = fhir_get(client, f"Patient/{odd.zoe.pk}").json()
    assert zoe["name"] == [{"use": "usual", "text": "Zoë Ångström"}]
    assert {"system": "phone", "value": "+44 7700 900123", "use": "home"} in zoe["telecom"]
    assert zoe["managingOrganization"] == {"reference": f"Organization/{odd.p.clinic.pk}"}
    li = fhir_get(client, f"Patient/{odd.li.pk}").json()
    assert li["name"][0]["text"] == "李雷" and "generalPractitioner" not in li
    assert li["telecom"] == [{"system": "email", "value": odd.li.user.email, "use": "home"}]
    assert fhir_get(client, f"Patient/{odd.inactive.pk}").json()["active"] is False
    clinic = fhir_get(client, f"Organization/{odd.p.clinic.pk}").json()
    assert clinic["address"][0]["line"] == ["1 High Street", "Northtown", "NT1 1AA"]

    lbp = fhir_get(client, f"Condition/{odd.zoe_plan.pk}").json()
    assert lbp["code"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "279039007", "display": "Low back pain"}
    ]
    assert lbp["code"]["text"] == odd.zoe_plan.condition
    neck = fhir_get(client, f"Condition/{odd.li_plan.pk}").json()
    assert neck["code"] == {"text": "Neck pain"} and "clinicalStatus" not in neck
    assert fhir_get(client, f"Condition/{odd.draft.pk}").status_code == 404  # no condition, no Condition

    stopped = fhir_get(client, f"CarePlan/{odd.li_plan.pk}").json()
    assert stopped["status"] == "revoked" and stopped["note"] == [{"text": "Stopped: Moved away"}]
    assert [a["detail"]["status"] for a in stopped["activity"]] == ["stopped"]
    assert stopped["activity"][0]["detail"]["description"].endswith("Slowly.")
    done = fhir_get(client, f"CarePlan/{odd.done_plan.pk}").json()
    assert done["status"] == "completed"
    assert done["activity"][0]["detail"]["scheduledTiming"]["repeat"] == {
        "frequency": 6,
        "period": 1,
        "periodUnit": "wk",
    }
    draft = fhir_get(client, f"CarePlan/{odd.draft.pk}").json()
    assert draft["status"] == "draft" and "activity" not in draft and "addresses" not in draft
    phased = fhir_get(client, f"CarePlan/{odd.zoe_plan.pk}").json()
    assert phased["period"] == {
        "start": odd.zoe_plan.start_date.isoformat(),
        "end": odd.zoe_plan.end_date.isoformat(),
    }
    assert phased["addresses"] == [{"reference": f"Condition/{odd.zoe_plan.pk}"}]
    assert len(phased["activity"]) == odd.zoe_plan.exercises.count()

    flagged = fhir_get(client, f"Observation/{odd.red_flag.pk}").json()
    assert flagged["valueInteger"] == 9
    assert flagged["effectiveDateTime"] == odd.red_flag.local_date.isoformat()
    assert flagged["basedOn"] == [{"reference": f"CarePlan/{odd.zoe_plan.pk}"}]
    assert flagged["note"] == [
        {"text": "Red flags reported: new weakness in a leg, fever."},
        {"text": "Wachte nachts auf — 痛い"},
    ]
    answers = {
        c["code"]["text"]: c.get("valueBoolean", c.get("valueCodeableConcept")) for c in flagged["component"]
    }
    assert answers["Side of the pain"] == {"text": "Both sides"}
    assert answers["Red flag: fever"] is True and answers["Red flag: unexplained weight loss"] is False
    corrected = fhir_get(client, f"Observation/{odd.corrected.pk}").json()
    assert corrected["status"] == "amended" and corrected["valueInteger"] == 0 and "note" not in corrected


def test_the_capability_statement_lists_exactly_what_is_served(odd: OddClinic) -> None:
    statement = fhir_get(owner_client(odd), "metadata").json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    listed = {r["type"]: r for r in statement["rest"][0]["resource"]}
    group = listed.pop("Group")  # exported only (Bulk Data), neither read nor searched
    assert group == {"type": "Group", "operation": [{"name": "export", "definition": GROUP_EXPORT}]}
    assert statement["instantiates"] == [BULK_DATA]
    assert set(listed) == set(RESOURCE_TYPES) == set(SEARCH_PARAMS)
    for name, resource in listed.items():
        assert [p["name"] for p in resource["searchParam"]] == list(SEARCH_PARAMS[name])
        assert [i["code"] for i in resource["interaction"]] == ["read", "search-type"]
    assert [op["name"] for op in listed["Patient"]["operation"]] == ["everything"]
    # A parameter the statement does not list is refused by the search.
    for name, resource in listed.items():
        allowed = {p["name"] for p in resource["searchParam"]}
        for other in {"patient", "code", "date", "status", "subject"} - allowed:
            assert fhir_get(owner_client(odd), name, **{other: "1"}).status_code == 400


def test_a_patient_reads_only_their_own_and_never_a_draft(odd: OddClinic) -> None:
    User.objects.filter(pk=odd.inactive.user_id).update(is_active=True)  # so they can sign in
    client = as_user(odd.inactive.user)
    bundle = fhir_get(client, f"Patient/{odd.inactive.pk}/$everything").json()
    Bundle.model_validate(bundle)
    kinds = sorted(key.split("/")[0] for key in by_id(bundle))
    assert kinds == ["CarePlan", "Organization", "Patient", "Practitioner"]  # no condition, no draft
    assert f"CarePlan/{odd.draft.pk}" not in by_id(bundle)
    for path in (f"Patient/{odd.zoe.pk}", f"CarePlan/{odd.draft.pk}", f"Observation/{odd.red_flag.pk}"):
        response = fhir_get(client, path)
        assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"
    assert fhir_get(client, "Observation").json()["total"] == 0
    assert [e["resource"]["id"] for e in fhir_get(client, "Patient").json()["entry"]] == [
        str(odd.inactive.pk)
    ]
    assert fhir_get(client, f"Patient/{odd.zoe.pk}/$everything").status_code == 404


def test_the_unchecked_path_of_the_bulk_export_builds_the_same_resources(odd: OddClinic) -> None:
    """The bulk export builds without the model check (fhir_r4.resources.unchecked): every resource
    of every kind the odd clinic holds comes out exactly as the validated path dumps it."""
    scope = Scope(clinic=odd.p.clinic)
    compared: Counter[str] = Counter()
    for name, kind in RESOURCE_TYPES.items():
        for source in kind.sources:
            for row in source.rows(scope):
                with unchecked():
                    fast = source.build(row)
                assert fast == source.build(row)
                compared[name] += 1
    assert set(compared) == set(RESOURCE_TYPES) and compared["Observation"] == 4
    assert (compared["QuestionnaireResponse"], compared["Questionnaire"]) == (2, 3)


@pytest.mark.parametrize("side", [value for value, _ in Side.choices])
def test_an_observation_names_the_side_and_red_flags_as_the_check_in_model_does(
    odd: OddClinic, side: str
) -> None:
    """The Observation builder looks its labels up once (fhir_r4.resources); they are the model's:
    get_side_display for the side, red_flags (the fields' verbose names) for the flags."""
    checkin = odd.red_flag
    checkin.side = side
    row = RESOURCE_TYPES["Observation"].sources[0].rows(Scope(clinic=odd.p.clinic)).get(pk=checkin.pk)
    row.side = side
    built = observation_resource(row)
    assert built["component"][0]["valueCodeableConcept"] == {"text": checkin.get_side_display()}
    flags = [c["code"]["text"].removeprefix("Red flag: ") for c in built["component"][1:]]
    assert flags == [
        str(PainCheckIn._meta.get_field(name).verbose_name) for name in PainCheckIn.RED_FLAG_FIELDS
    ]
    assert built["note"][0] == {"text": "Red flags reported: " + ", ".join(checkin.red_flags) + "."}
