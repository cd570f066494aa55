"""FHIR search: each parameter filters, pages link, bad input is a 400 OperationOutcome, tenancy is 404."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.test import APIClient

from accounts.tokens import api_token_create, api_token_revoke
from audit.models import AuditEvent
from careplans.services import careplan_end
from questionnaires.fhir import SCORE_SYSTEM
from tests.factories import PainCheckInFactory, PatientFactory
from tests.fhir_r4.conftest import OddClinic, fhir_get, owner_client
from tests.helpers import make_plan

pytestmark = pytest.mark.django_db


def ids(response: Any) -> list[int | str]:
    """The ids of a searchset's entries: numbers, and the "41-score" ids of questionnaire scores."""
    assert response.status_code == 200, response.content
    found = [e["resource"]["id"] for e in response.json().get("entry", [])]
    return [int(text) if text.isdigit() else text for text in found]


def outcome(response: Any, status: int) -> dict[str, Any]:
    """The response's OperationOutcome, checked to be one and to come with ``status``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    OperationOutcome.model_validate(body)
    return body["issue"][0]


NPRS = "http://loinc.org|72514-3"


def test_search_parameters_filter(odd: OddClinic) -> None:
    client = owner_client(odd)
    zoe_checkins: list[int | str] = sorted(c.pk for c in odd.zoe.checkins.all())
    # Observations: the check-ins, then the questionnaire scores (the PSFS's, sent today, UTC).
    score, sent = f"{odd.psfs.pk}-score", odd.psfs.completed_at.astimezone(UTC).date()  # type: ignore[union-attr]

    def scored(*days: date) -> list[int | str]:
        return [score] if sent in days else []

    assert ids(fhir_get(client, "Observation", patient=odd.zoe.pk)) == [*zoe_checkins, score]
    assert ids(fhir_get(client, "Observation", subject=f"Patient/{odd.zoe.pk}")) == [*zoe_checkins, score]
    assert ids(fhir_get(client, "Observation", patient=odd.li.pk)) == []
    assert ids(fhir_get(client, "Observation", _id=f"{odd.red_flag.pk},{odd.corrected.pk}")) == sorted(
        [odd.red_flag.pk, odd.corrected.pk]
    )
    assert ids(fhir_get(client, "Observation", _id=f"{score},{odd.red_flag.pk}")) == [odd.red_flag.pk, score]
    day = odd.red_flag.local_date
    assert ids(fhir_get(client, "Observation", date=day.isoformat())) == [odd.red_flag.pk, *scored(day)]
    assert ids(fhir_get(client, "Observation", date=f"eq{day.isoformat()}")) == [
        odd.red_flag.pk,
        *scored(day),
    ]
    both = fhir_get(client, f"Observation?date=ge{day}&date=le{day + timedelta(days=1)}")
    assert ids(both) == [odd.red_flag.pk, odd.corrected.pk, *scored(day, day + timedelta(days=1))]
    assert ids(fhir_get(client, "Observation", date=f"gt{day}", code=NPRS)) == [odd.corrected.pk]
    assert len(ids(fhir_get(client, "Observation", date=f"lt{day}", code=NPRS))) == 1
    assert ids(fhir_get(client, "Observation", date=sent.isoformat(), code="psfs")) == [score]
    assert ids(fhir_get(client, "Observation", date=f"lt{sent}", code="psfs")) == []
    assert ids(fhir_get(client, "Observation", date=day.strftime("%Y-%m"))) != []
    assert ids(fhir_get(client, "Observation", status="amended")) == [odd.corrected.pk]
    final = ids(fhir_get(client, "Observation", status="final"))
    assert odd.corrected.pk not in final and score in final
    assert ids(fhir_get(client, "Observation", code=NPRS)) == zoe_checkins
    assert ids(fhir_get(client, "Observation", code="72514-3")) == zoe_checkins
    assert ids(fhir_get(client, "Observation", code="http://snomed.info/sct|72514-3")) == []
    # A score's code: the instrument's in Plinth's code system (the shipped ones name no LOINC code).
    assert ids(fhir_get(client, "Observation", code=f"{SCORE_SYSTEM}|psfs")) == [score]
    assert ids(fhir_get(client, "Observation", code=f"{SCORE_SYSTEM}|peg,psfs")) == [score]
    assert ids(fhir_get(client, "Observation", code="http://loinc.org|psfs")) == []

    assert ids(fhir_get(client, "Condition", code="http://snomed.info/sct|279039007")) == [odd.zoe_plan.pk]
    assert ids(fhir_get(client, "Condition", subject=odd.li.pk)) == [odd.li_plan.pk]
    assert ids(fhir_get(client, "CarePlan", status="revoked")) == [odd.li_plan.pk]
    assert ids(fhir_get(client, "CarePlan", status="draft,completed", patient=odd.inactive.pk)) == sorted(
        [odd.done_plan.pk, odd.draft.pk]
    )


def test_last_updated_is_the_latest_change_and_searchable(odd: OddClinic) -> None:
    client = owner_client(odd)
    plan = make_plan(odd.li, therapist=odd.p.owner)
    before = fhir_get(client, f"CarePlan/{plan.pk}").json()["meta"]["lastUpdated"]
    with time_machine.travel(plan.created_at + timedelta(days=3), tick=False):
        careplan_end(plan=plan, by=odd.p.owner, status="completed", reason="Better")
        changed = timezone.now()
    after = fhir_get(client, f"CarePlan/{plan.pk}").json()["meta"]["lastUpdated"]
    assert before != after and after.startswith(changed.strftime("%Y-%m-%dT%H:%M:%S"))
    stamp = changed.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(fhir_get(client, "CarePlan", _lastUpdated=f"ge{stamp}")) == [plan.pk]
    assert plan.pk not in ids(fhir_get(client, "CarePlan", _lastUpdated=f"lt{stamp}"))
    assert plan.pk in ids(fhir_get(client, "CarePlan", _lastUpdated=changed.strftime("%Y-%m-%d")))
    corrected = fhir_get(client, f"Observation/{odd.corrected.pk}").json()["meta"]["lastUpdated"]
    assert corrected.startswith(odd.corrected.corrected_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_pages_link_to_each_other_and_cover_every_match(odd: OddClinic) -> None:
    client = owner_client(odd)
    plan = make_plan(odd.li, therapist=odd.p.owner)
    for day in range(7):
        PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day))
    expected = sorted(c.pk for c in odd.li.checkins.all())
    first = fhir_get(client, "Observation", patient=odd.li.pk, _count=3).json()
    assert first["total"] == 7 and {link["relation"] for link in first["link"]} == {"self", "next"}
    seen, page = [], first
    while True:
        seen += [int(e["resource"]["id"]) for e in page["entry"]]
        links = {link["relation"]: link["url"] for link in page["link"]}
        if "next" not in links:
            break
        assert links["next"].startswith("http://testserver/fhir/R4/Observation?")
        page = client.get(links["next"]).json()
        assert "previous" in {link["relation"] for link in page["link"]}
    assert seen == expected
    counted = fhir_get(client, "Observation", patient=odd.li.pk, _count=0).json()
    assert counted["total"] == 7 and "entry" not in counted


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ("name=Zo", "name", "not-supported"),
        ("_sort=_id", "_sort", "not-supported"),
        ("date:missing=true", "date:missing", "not-supported"),
        ("_id=abc", "_id", "invalid"),
        ("_id=", "_id", "invalid"),
        ("patient=Group/1", "patient", "invalid"),
        ("patient=1&patient=2", "patient", "invalid"),
        ("date=2026-13-01", "date", "invalid"),
        ("date=2026-02-30", "date", "invalid"),
        ("date=ap2026-01-01", "date", "invalid"),
        ("date=yesterday", "date", "invalid"),
        ("_lastUpdated=2026-01-01T10:00:00", "_lastUpdated", "invalid"),
        ("_lastUpdated=ge2026-01-01T25:00:00Z", "_lastUpdated", "invalid"),
        ("status=cancelled", "status", "invalid"),
        ("code=|", "code", "invalid"),
        ("_count=101", "_count", "invalid"),
        ("_count=-1", "_count", "invalid"),
        ("_page=0", "_page", "invalid"),
        ("_format=xml", "_format", "invalid"),
    ],
)
def test_a_bad_search_is_a_400_naming_the_parameter(
    odd: OddClinic, query: str, param: str, code: str
) -> None:
    issue = outcome(fhir_get(owner_client(odd), f"Observation?{query}"), 400)
    assert issue["expression"] == [param] and issue["code"] == code


def test_bad_ids_and_paths_are_operation_outcomes(odd: OddClinic) -> None:
    client = owner_client(odd)
    other = PatientFactory(clinic=odd.p.other_clinic)
    other_plan = make_plan(other, therapist=odd.p.outsider)
    for path in (
        "Patient/abc",
        "Patient/0",
        "Patient/99999999999999999999999",
        f"Patient/{other.pk}",
        f"Patient/{other.pk}/$everything",
        f"CarePlan/{other_plan.pk}",
        f"Organization/{odd.p.other_clinic.pk}",
        f"Practitioner/{odd.p.outsider.pk}",
        "Encounter",
        "Patient/1/_history",
    ):
        outcome(fhir_get(client, path), 404)
    assert outcome(fhir_get(client, f"Patient/{odd.zoe.pk}", _elements="name"), 400)["expression"] == [
        "_elements"
    ]
    outcome(client.post("/fhir/R4/Patient", {}, content_type="application/fhir+json"), 405)
    outcome(client.get("/fhir/R4/Patient", HTTP_ACCEPT="application/fhir+xml"), 406)
    assert other.pk not in ids(fhir_get(client, "Patient"))


def test_bearer_tokens_as_in_the_api_and_401_without(odd: OddClinic) -> None:
    api = APIClient()
    issue = outcome(api.get("/fhir/R4/Patient"), 401)
    assert issue["code"] == "login"
    assert api.get("/fhir/R4/Patient")["WWW-Authenticate"] == "Bearer"
    assert api.get("/fhir/R4/metadata").status_code == 200
    created = api_token_create(user=odd.p.owner.user, name="Record system")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.key}")
    assert odd.zoe.pk in ids(api.get("/fhir/R4/Patient", {"_count": 100}))
    api_token_revoke(user=odd.p.owner.user, token_id=created.token.pk)
    outcome(api.get("/fhir/R4/Patient"), 401)


def test_every_read_is_in_the_audit_trail(odd: OddClinic) -> None:
    client = owner_client(odd)
    fhir_get(client, f"Patient/{odd.zoe.pk}")
    fhir_get(client, "Observation", patient=odd.zoe.pk)
    fhir_get(client, f"Condition/{odd.li_plan.pk}")
    fhir_get(client, f"Patient/{odd.inactive.pk}/$everything")
    reads = AuditEvent.objects.filter(actor=odd.p.owner.user, action__endswith=".viewed")
    seen = set(reads.values_list("object_type", "object_id", "data__route"))
    assert ("accounts.patient", str(odd.zoe.pk), "api-fhir-patient-read") in seen
    for checkin in odd.zoe.checkins.all():
        assert ("checkins.paincheckin", str(checkin.pk), "api-fhir-observation-search") in seen
    assert ("careplans.careplan", str(odd.li_plan.pk), "api-fhir-condition-read") in seen
    for plan in (odd.done_plan, odd.draft):
        assert ("careplans.careplan", str(plan.pk), "api-fhir-patient-everything") in seen
    # A refused read records nothing.
    before = reads.count()
    fhir_get(client, "Observation", patient=odd.zoe.pk, bogus=1)
    assert reads.count() == before


def queries(client: Any, path: str, **params: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert fhir_get(client, path, **params).status_code == 200
    return len(captured.captured_queries)


# Session and user (2), the count and the page (2); a page of patient data notes its reads (one query
# per model but Patient, audit.services.audit_read) and writes them (one INSERT); plans prefetch
# their exercises (1). Observation has two sources (check-ins, questionnaire scores): a count and a
# page of each, and the reads of each model noted (9); a page filled by the first source reads
# nothing of the second but its count (7). Questionnaires are no patient data (nothing noted).
SEARCH_QUERIES = {"Patient": 5, "Practitioner": 4, "Organization": 4, "Condition": 6, "CarePlan": 7}
SEARCH_QUERIES |= {"Observation": 9, "Questionnaire": 4, "QuestionnaireResponse": 6}


def test_query_counts_do_not_grow_with_the_page(odd: OddClinic) -> None:
    client = owner_client(odd)
    for _ in range(3):
        patient = PatientFactory(clinic=odd.p.clinic, therapist=odd.p.owner)
        plan = make_plan(patient, therapist=odd.p.owner, condition="Low back pain")
        for day in range(3):
            PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day))
    fhir_get(client, "metadata")  # the session's first request does its own work once
    for name, pinned in SEARCH_QUERIES.items():
        one, many = queries(client, name, _count=1), queries(client, name, _count=100)
        assert one <= many == pinned, f"{name}: {one} queries for 1, {many} for 100, pinned {pinned}"
    # $everything: session and user, then patient, plans, their exercises, questionnaire responses,
    # clinic, therapists, check-ins, questionnaires, scores (9), the reads noted (plans, check-ins,
    # responses) and written (4).
    assert queries(client, f"Patient/{odd.zoe.pk}/$everything") == 15
