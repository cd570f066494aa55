"""API v1 for questionnaires: instruments by clinic, a plan's schedule with each occasion's status,
responses read (scoped, audited) and sent through the services (every refusal names its item and
code, nothing half-saved, a second send refused), and list queries that do not grow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Patient
from audit.models import AuditEvent
from careplans.models import CarePlan, PlanStatus
from caseload.services import patient_move_clinic
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.services import (
    instrument_load,
    questionnaires_load_shipped,
    response_save_draft,
    response_submit,
)
from tests.conftest import Personas
from tests.factories import PatientFactory
from tests.helpers import template_plan
from tests.questionnaires.shapes import odi_shaped, shipped
from tests.questionnaires.test_responses import PEG, PSFS, START, entry, local, on_day, plan_in
from tests.world import api_as as api

pytestmark = pytest.mark.django_db

RESPONSES = "api-questionnaire-response-list"


def time_travel(moment: Any) -> Any:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def loaded(library: None) -> None:
    questionnaires_load_shipped()


@pytest.fixture
def history(personas: Personas, loaded: None) -> CarePlan:
    """Patient A's low-back plan from START (London): the intake PSFS sent on day 2, the intake PEG
    never sent, the week 6 PSFS kept as a draft on day 36. Requests run on day 37."""
    plan = plan_in(personas.patient_a, personas)
    patient = personas.patient_a
    response_submit(
        patient=patient,
        schedule_id=entry(plan, "psfs", "intake").pk,
        answers=PSFS,
        now=local("Europe/London", 2026, 3, 4, 19, 0),
    )
    response_save_draft(
        patient=patient,
        schedule_id=entry(plan, "psfs", "week 6").pk,
        answers={"activity-1": "Climbing stairs", "rating-1": 6},
        now=local("Europe/London", 2026, 4, 7, 19, 0),
    )
    return plan


# --- instruments -------------------------------------------------------------------------


def test_instruments_are_the_shared_ones_and_the_clinics_own_never_anothers(
    personas: Personas, loaded: None
) -> None:
    own = instrument_load(odi_shaped(), clinic=personas.clinic)
    theirs = instrument_load(odi_shaped("2"), clinic=personas.other_clinic)
    for user in (personas.owner.user, personas.patient_a.user):
        listed = api(user).get(reverse("api-instrument-list")).json()["results"]
        assert sorted(row["code"] for row in listed) == ["groc", "odi_shaped", "peg", "psfs"]
        assert {row["id"] for row in listed if not row["shared"]} == {own.pk}
        psfs = next(row for row in listed if row["code"] == "psfs")
        assert psfs["definition"] == shipped("psfs") and psfs["url"].endswith("/Questionnaire/psfs")
    outsider = api(personas.outsider.user)
    assert outsider.get(reverse("api-instrument-detail", args=[own.pk])).status_code == 404
    assert outsider.get(reverse("api-instrument-detail", args=[theirs.pk])).json()["version"] == "2"
    owner = api(personas.owner.user)
    assert owner.get(reverse("api-instrument-detail", args=[theirs.pk])).status_code == 404
    assert owner.get(reverse("api-instrument-detail", args=["odi_shaped"])).json()["id"] == own.pk
    assert owner.get(reverse("api-instrument-detail", args=["nothing"])).status_code == 404
    staff = api(personas.staff).get(reverse("api-instrument-list")).json()["results"]
    assert sorted(row["code"] for row in staff) == ["groc", "peg", "psfs"]


def test_an_instrument_by_code_is_the_one_the_clinics_plans_use(personas: Personas, loaded: None) -> None:
    own_psfs = instrument_load({**shipped("psfs"), "version": "clinic-1"}, clinic=personas.clinic)
    shared = Instrument.objects.get(code="psfs", clinic=None)
    assert (
        api(personas.owner.user).get(reverse("api-instrument-detail", args=["psfs"])).json()["id"]
        == own_psfs.pk
    )
    assert (
        api(personas.outsider.user).get(reverse("api-instrument-detail", args=["psfs"])).json()["id"]
        == shared.pk
    )


def test_a_patient_who_moves_clinic_no_longer_sees_the_old_clinics_instrument(
    personas: Personas, loaded: None
) -> None:
    own = instrument_load(odi_shaped(), clinic=personas.clinic)
    url = reverse("api-instrument-detail", args=[own.pk])
    assert api(personas.patient_a.user).get(url).status_code == 200
    patient_move_clinic(
        patient=personas.patient_a,
        clinic=personas.other_clinic,
        therapist=personas.outsider,
        by=personas.staff,
    )
    assert api(personas.patient_a.user).get(url).status_code == 404


# --- a plan's schedule ---------------------------------------------------------------------


def test_the_schedule_gives_each_occasions_window_and_status_on_the_patients_date(
    personas: Personas, history: CarePlan
) -> None:
    url = reverse("api-careplan-questionnaires", args=[history.pk])
    with on_day(history, 37):
        for user in (personas.owner.user, personas.colleague.user, personas.patient_a.user):
            rows = api(user).get(url).json()
            got = {
                (r["instrument_code"], r["occasion"]): (r["status"], r["opens_on"], r["closes_on"])
                for r in rows
            }
            assert got == {
                ("psfs", "intake"): ("completed", "2026-03-02", "2026-03-08"),
                ("peg", "intake"): ("missed", "2026-03-02", "2026-03-08"),
                ("psfs", "week 6"): ("draft", "2026-04-06", "2026-04-12"),
                ("peg", "week 6"): ("due", "2026-04-06", "2026-04-12"),
                ("psfs", "week 12"): ("not_due", "2026-05-18", "2026-05-24"),
                ("peg", "week 12"): ("not_due", "2026-05-18", "2026-05-24"),
                ("groc", "week 12"): ("not_due", "2026-05-18", "2026-05-24"),
            }
            intake = next(r for r in rows if r["occasion"] == "intake" and r["instrument_code"] == "psfs")
            assert intake["score"] == 3.5 and intake["instrument"]["code"] == "psfs"
        for user in (personas.patient_b.user, personas.outsider.user, personas.staff):
            assert api(user).get(url).status_code == 404


def test_the_window_is_the_patients_local_calendar_not_the_servers(personas: Personas, loaded: None) -> None:
    zone = "Pacific/Auckland"
    plan = plan_in(personas.patient_a, personas, zone)
    url = reverse("api-careplan-questionnaires", args=[plan.pk])
    # 23:30 on day 6 in Auckland is still day 6 there (the morning of day 6 in London): intake is due.
    when = START + timedelta(days=6)
    with time_travel(local(zone, when.year, when.month, when.day, 23, 30)):
        rows = api(personas.owner.user).get(url).json()
    assert {r["status"] for r in rows if r["occasion"] == "intake"} == {"due"}
    with time_travel(local(zone, when.year, when.month, when.day + 1, 0, 30)):
        rows = api(personas.owner.user).get(url).json()
    assert {r["status"] for r in rows if r["occasion"] == "intake"} == {"missed"}


def test_an_ended_plan_misses_what_opened_and_a_draft_plan_is_the_therapists(
    personas: Personas, history: CarePlan
) -> None:
    with on_day(history, 37):
        CarePlan.objects.filter(pk=history.pk).update(status=PlanStatus.STOPPED, ended_at=timezone.now())
    with on_day(history, 50):
        rows = api(personas.owner.user).get(reverse("api-careplan-questionnaires", args=[history.pk])).json()
    statuses = {(r["instrument_code"], r["occasion"]): r["status"] for r in rows}
    assert statuses[("psfs", "week 6")] == statuses[("peg", "week 6")] == "missed"
    assert statuses[("psfs", "week 12")] == "not_due" and statuses[("psfs", "intake")] == "completed"
    draft = template_plan(personas.patient_b, personas.owner, activate=False)
    url = reverse("api-careplan-questionnaires", args=[draft.pk])
    assert api(personas.patient_b.user).get(url).status_code == 404
    assert {r["status"] for r in api(personas.owner.user).get(url).json()} == {"not_due"}


# --- responses read ------------------------------------------------------------------------


def test_therapists_read_a_patients_responses_by_patient_or_plan_and_each_read_is_audited(
    personas: Personas, history: CarePlan
) -> None:
    owner = api(personas.owner.user)
    for query in ({"patient": personas.patient_a.pk}, {"plan": history.pk}):
        rows = owner.get(reverse(RESPONSES), query).json()["results"]
        assert [(r["instrument_code"], r["occasion"], r["status"]) for r in rows] == [
            ("psfs", "intake", "completed"),
            ("psfs", "week 6", "draft"),
        ]
    sent = InstrumentResponse.objects.get(status=ResponseStatus.COMPLETED)
    body = owner.get(reverse("api-questionnaire-response-detail", args=[sent.pk])).json()
    assert (body["score"], body["answered"], body["skipped"]) == (3.5, 2, 0)
    items = {item["link_id"]: item["answer"] for item in body["items"]}
    assert items["activity-1"] == "Climbing stairs" and items["rating-2"] == 4 and items["rating-3"] is None
    viewed = AuditEvent.objects.filter(action="instrumentresponse.viewed", actor=personas.owner.user)
    assert viewed.filter(object_id=str(sent.pk)).count() == 3  # two lists and the detail
    assert {event.data["route"] for event in viewed} == {RESPONSES, "api-questionnaire-response-detail"}
    # The patient's own reads are theirs: nothing is written for them.
    mine = api(personas.patient_a.user).get(reverse(RESPONSES)).json()["results"]
    assert len(mine) == 2
    assert not AuditEvent.objects.filter(action="instrumentresponse.viewed", actor=personas.patient_a.user)


def test_another_clinic_or_another_patient_does_not_find_a_response(
    personas: Personas, history: CarePlan
) -> None:
    sent = InstrumentResponse.objects.get(status=ResponseStatus.COMPLETED)
    for user in (personas.outsider.user, personas.patient_b.user, personas.staff):
        client = api(user)
        assert client.get(reverse("api-questionnaire-response-detail", args=[sent.pk])).status_code == 404
        assert client.get(reverse("api-questionnaire-response-fhir", args=[sent.pk])).status_code == 404
        assert client.get(reverse(RESPONSES)).json()["results"] == []


# --- sending -------------------------------------------------------------------------------


def _send(client: APIClient, body: Any) -> Any:
    return client.post(reverse(RESPONSES), body, format="json")


def test_a_patient_sends_a_due_questionnaire_once(personas: Personas, history: CarePlan) -> None:
    peg = entry(history, "peg", "week 6")
    patient = api(personas.patient_a.user)
    with on_day(history, 37):
        created = _send(
            patient, {"schedule": peg.pk, "answers": {**PEG, "activity": None}, "status": "draft"}
        )
        assert created.status_code == 201 and created.json()["status"] == "draft"
        sent = _send(patient, {"schedule": peg.pk, "answers": PEG})
        assert sent.status_code == 200, sent.json()
        assert (sent.json()["status"], sent.json()["score"]) == ("completed", 6.0)
        again = _send(patient, {"schedule": peg.pk, "answers": PEG})
    assert again.status_code == 409
    assert again.json() == {
        "schedule": ["You have already sent this questionnaire."],
        "code": "already_completed",
    }
    assert InstrumentResponse.objects.filter(schedule=peg).count() == 1
    actions = AuditEvent.objects.filter(
        object_type="questionnaires.instrumentresponse", object_id=str(sent.json()["id"])
    ).values_list("action", flat=True)
    assert sorted(actions) == ["questionnaire_response.completed", "questionnaire_response.drafted"]


@pytest.mark.parametrize(
    ("code", "body", "field", "refusal"),
    [
        ("peg", {"answers": {**PEG, "pain": 11}}, "answers.pain", "answer_out_of_range"),
        ("peg", {"answers": {**PEG, "pain": 3.5}}, "answers.pain", "not_a_number"),
        ("peg", {"answers": {**PEG, "pain": True}}, "answers.pain", "not_a_number"),
        ("peg", {"answers": {**PEG, "pain": "5"}}, "answers.pain", "not_a_number"),
        ("peg", {"answers": {"pain": 6, "enjoyment": 5}}, "answers.activity", "required"),
        ("peg", {"answers": {**PEG, "mood": 3}}, "answers.mood", "unknown_item"),
        ("peg", {"answers": {**PEG, "instructions": 1}}, "answers.instructions", "unknown_item"),
        ("peg", {"answers": {**PEG, "pain": 12}, "status": "draft"}, "answers.pain", "answer_out_of_range"),
        ("psfs", {"answers": {"rating-1": 4}}, "answers.activity-1", "required"),
        ("psfs", {"answers": {**PSFS, "rating-3": 5}}, "answers.rating-3", "activity_unnamed"),
        (
            "psfs",
            {"answers": {**PSFS, "activity-3": "climbing stairs", "rating-3": 5}},
            "answers.activity-3",
            "activity_repeated",
        ),
        ("psfs", {"answers": {**PSFS, "activity-1": "x" * 201}}, "answers.activity-1", "too_long"),
        ("psfs", {"answers": {**PSFS, "activity-1": 7}}, "answers.activity-1", "invalid"),
        ("groc", {"answers": {"change": 3}}, "schedule", "not_due"),
        ("peg", {"answers": [5, 4, 6]}, "answers", "invalid"),
        ("peg", {"answers": PEG, "status": "sent"}, "status", "invalid"),
        ("peg", {"answers": PEG, "score": 5}, "score", "invalid"),
        ("peg", {"answers": PEG, "schedule": "12"}, "schedule", "invalid"),
    ],
)
def test_a_refused_send_names_the_item_and_code_and_writes_nothing(
    personas: Personas, history: CarePlan, code: str, body: dict[str, Any], field: str, refusal: str
) -> None:
    occasion = "week 12" if code == "groc" else "week 6"
    draft = InstrumentResponse.objects.get(status=ResponseStatus.DRAFT)
    before = (InstrumentResponse.objects.count(), AuditEvent.objects.count())
    with on_day(history, 37):
        refused = _send(api(personas.patient_a.user), {"schedule": entry(history, code, occasion).pk, **body})
    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == refusal and field in refused.json(), refused.json()
    assert all(isinstance(reason, str) and reason for reason in refused.json()[field])
    assert (InstrumentResponse.objects.count(), AuditEvent.objects.count()) == before
    draft.refresh_from_db()
    assert draft.answers == {"activity-1": "Climbing stairs", "rating-1": 6}  # the draft as it was


def test_only_the_patient_sends_and_only_their_own(personas: Personas, history: CarePlan) -> None:
    peg = entry(history, "peg", "week 6")
    plan_in(personas.patient_b, personas)
    with on_day(history, 37):
        assert _send(api(personas.patient_b.user), {"schedule": peg.pk, "answers": PEG}).status_code == 404
        therapist = _send(api(personas.owner.user), {"schedule": peg.pk, "answers": PEG})
        assert therapist.status_code == 403
    assert not InstrumentResponse.objects.filter(schedule=peg).exists()


# --- queries -------------------------------------------------------------------------------


def _sent_responses(personas: Personas, patients: int) -> list[Patient]:
    """``patients`` more patients of the owner's clinic, each with a plan and every intake sent."""
    made = []
    for _ in range(patients):
        patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner)
        plan = template_plan(patient, personas.owner)
        for code, answers in (("psfs", PSFS), ("peg", PEG)):
            response_submit(patient=patient, schedule_id=entry(plan, code, "intake").pk, answers=answers)
        made.append(patient)
    return made


def test_list_queries_do_not_grow_with_the_responses(
    personas: Personas, loaded: None, django_assert_max_num_queries: Any
) -> None:
    owner, patient = api(personas.owner.user), api(personas.patient_a.user)
    plan = template_plan(personas.patient_a, personas.owner)
    schedule = reverse("api-careplan-questionnaires", args=[plan.pk])
    for client in (owner, patient):  # the sessions' first requests write what they write once
        client.get(reverse("api-me"))
    counts = []
    for more in (1, 4):
        _sent_responses(personas, more)
        instrument_load(odi_shaped(str(more)), clinic=personas.clinic)
        response_submit(
            patient=personas.patient_a,
            schedule_id=entry(plan, "peg" if more == 1 else "psfs", "intake").pk,
            answers=PEG if more == 1 else PSFS,
        )
        with django_assert_max_num_queries(6) as responses:
            assert owner.get(reverse(RESPONSES)).status_code == 200
        with django_assert_max_num_queries(5) as own:
            assert patient.get(reverse(RESPONSES)).status_code == 200
        with django_assert_max_num_queries(9) as plan_schedule:
            assert owner.get(schedule).status_code == 200
        with django_assert_max_num_queries(4) as instruments:
            assert owner.get(reverse("api-instrument-list")).status_code == 200
        counts.append([len(c.captured_queries) for c in (responses, own, plan_schedule, instruments)])
    assert InstrumentResponse.objects.count() == 2 * 5 + 2
    assert counts[0] == counts[1], counts
