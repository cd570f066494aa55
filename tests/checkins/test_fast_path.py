"""The check-in POST's fast path: its query count, the one-statement save, the coalesced recompute.

On PostgreSQL a check-in without red flags is saved by one statement
(patients.checkins._submit_in_one_statement); everything else takes the
transaction. These tests hold the two to the same rows, audit entries and
recompute claims.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from careplans.models import CarePlan, OutcomeSnapshot
from careplans.recompute import OUTCOME_PENDING, outcome_recompute_claim, outcome_recompute_enqueue
from careplans.tasks import outcome_recompute_plans
from patients import checkins
from patients.api import CheckInStoredSerializer, stored_checkin_body
from patients.api_tokens import api_token_create
from patients.checkins import checkin_submit
from patients.models import AuditEvent, PainCheckIn, Patient
from portal.errors import RateLimited
from tests.checkins.conftest import make_plan
from tests.checkins.test_pages import GOOD

URL = "/api/v1/checkins/"
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
)


def _queued_at(plan: CarePlan) -> Any:
    return CarePlan.objects.values_list("outcome_queued_at", flat=True).get(pk=plan.pk)


def _post(api: APIClient, key: str, **payload: Any) -> Any:
    return api.post(URL, payload, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_token_checkin_post_query_count_is_pinned(
    personas: Any, plan_a: Any, django_assert_max_num_queries: Any
) -> None:
    key = api_token_create(user=personas.patient_a.user, name="pump").key
    api = APIClient()
    assert _post(api, key, nprs=5, side="left").status_code == 201
    # PostgreSQL: the token (with its user and patient) and the one statement. SQLite:
    # the token, the plan, the rate count, SELECT ... FOR UPDATE, UPDATE, the audit
    # entry and the transaction's savepoint statements under the test's transaction.
    budget = 2 if connection.vendor == "postgresql" else 8
    with django_assert_max_num_queries(budget):
        response = _post(api, key, nprs=3, side="right", note="better")
    assert response.status_code == 200 and response.json()["replaced"] is True
    stored = PainCheckIn.objects.get(patient=personas.patient_a)
    assert (stored.nprs, stored.side, stored.note) == (3, "right", "better")
    replaced = AuditEvent.objects.get(action="checkin.replaced").data["replaced"]
    assert (replaced["nprs"], replaced["side"], replaced["note"]) == (5, "left", "")
    assert replaced["received_at"].startswith(str(stored.local_date.year))


def test_replace_returns_the_stored_values(personas: Any, plan_a: Any) -> None:
    # A red flag first (the transaction), then a plain answer (one statement on PostgreSQL).
    first, replaced = checkin_submit(patient=personas.patient_a, nprs=8, side="both", flag_fever=True)
    assert replaced is False
    second, replaced = checkin_submit(patient=personas.patient_a, nprs=2, side="centre", note=" ok ")
    assert replaced is True and second.pk == first.pk
    stored = PainCheckIn.objects.get(pk=first.pk)
    for name in ("nprs", "side", "flag_fever", "note", "plan_id", "local_date", "received_at"):
        assert getattr(second, name) == getattr(stored, name), name
    assert stored.flag_fever is False and stored.note == "ok"
    event = AuditEvent.objects.get(action="checkin.replaced")
    assert event.data["replaced"]["flag_fever"] is True and event.data["replaced"]["nprs"] == 8
    assert event.data["replaced"]["received_at"] == first.received_at.isoformat(timespec="microseconds")


def _trail(patient: Patient) -> list[tuple[Any, ...]]:
    """The patient's audit entries without what differs by nature (ids, times)."""
    rows = []
    for event in AuditEvent.objects.filter(patient=patient).order_by("id"):
        data = dict(event.data)
        for part in ("new", "replaced"):
            if data.get(part):
                data[part] = {k: v for k, v in data[part].items() if k != "received_at"}
        rows.append(
            (event.action, event.actor_id, event.actor_email, event.clinic_id, event.ip_address, data)
        )
    return rows


@on_postgres
def test_one_statement_and_transaction_write_the_same_rows(personas: Any, monkeypatch: Any) -> None:
    """Patient A takes the one statement, patient B (with it switched off) the transaction."""
    a, b = personas.patient_a, personas.patient_b
    make_plan(a)
    make_plan(b)
    calls = []
    real = checkins._submit_in_one_statement
    monkeypatch.setattr(checkins, "_submit_in_one_statement", lambda **kw: calls.append(1) or real(**kw))
    for nprs, note in ((6, "first"), (4, "second")):
        checkin_submit(patient=a, nprs=nprs, side="left", note=note, ip="10.0.0.7")
    assert len(calls) == 2
    monkeypatch.setattr(checkins, "_submit_in_one_statement", lambda **kw: None)
    for nprs, note in ((6, "first"), (4, "second")):
        checkin_submit(patient=b, nprs=nprs, side="left", note=note, ip="10.0.0.7")
    row_a = PainCheckIn.objects.values().get(patient=a)
    row_b = PainCheckIn.objects.values().get(patient=b)
    differ = {"id", "patient_id", "plan_id", "received_at"}
    assert {k: v for k, v in row_a.items() if k not in differ} == {
        k: v for k, v in row_b.items() if k not in differ
    }
    trail_a = [(action, *rest[2:]) for action, *rest in _trail(a)]
    trail_b = [(action, *rest[2:]) for action, *rest in _trail(b)]
    assert [t[0] for t in trail_a] == ["checkin.created", "checkin.replaced"]
    assert trail_a == trail_b
    # Both claimed their plan's recompute marker once.
    assert _queued_at(a.plans.get()) is not None


@on_postgres
def test_one_statement_refuses_like_the_transaction(personas: Any) -> None:
    a = personas.patient_a
    with pytest.raises(checkins.DomainError) as error:
        checkin_submit(patient=a, nprs=3, side="left")
    assert error.value.code == "no_active_plan"
    make_plan(a, start=a.local_today() + timedelta(days=2))
    with pytest.raises(checkins.DomainError) as error:
        checkin_submit(patient=a, nprs=3, side="left")
    assert error.value.code == "plan_not_started"
    assert not PainCheckIn.objects.filter(patient=a).exists()
    assert not AuditEvent.objects.filter(patient=a, action__startswith="checkin.").exists()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_lost_insert_race_becomes_a_replace(personas: Any, monkeypatch: Any) -> None:
    """Another request inserts the day's first check-in while ours runs: ours replaces it."""
    a = personas.patient_a
    plan = make_plan(a)
    results: list[Any] = []
    real = checkins._submit_in_one_statement
    monkeypatch.setattr(
        checkins, "_submit_in_one_statement", lambda **kw: results.append(real(**kw)) or results[-1]
    )
    inserted = threading.Event()
    release = threading.Event()

    def other_request() -> None:
        try:
            with transaction.atomic():
                PainCheckIn.objects.create(patient=a, plan=plan, local_date=a.local_today(), nprs=9)
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_request)
    other.start()
    assert inserted.wait(10)
    # Ours does not see the uncommitted row, so its INSERT waits on the conflict; let
    # the other commit a moment later, and ours must fall back and replace.
    threading.Timer(0.3, release.set).start()
    checkin, replaced = checkin_submit(patient=a, nprs=2, side="right")
    other.join(10)
    # The statement saved nothing (its INSERT met the other's row); the transaction replaced.
    assert results == [None]
    assert replaced is True
    stored = PainCheckIn.objects.get(patient=a)
    assert (stored.pk, stored.nprs) == (checkin.pk, 2)
    event = AuditEvent.objects.get(patient=a, action="checkin.replaced")
    assert event.data["replaced"]["nprs"] == 9


def test_recompute_is_coalesced_while_one_is_queued(plan_a: Any) -> None:
    with mock.patch("careplans.tasks.outcome_recompute_plans.delay") as delay:
        assert outcome_recompute_enqueue(plan_a.pk) is True
        # Queued and not started: a second check-in's recompute is already covered.
        assert outcome_recompute_enqueue(plan_a.pk) is False
        assert delay.call_count == 1
        # The task clears the marker before it reads, so a later check-in queues again.
        outcome_recompute_plans([plan_a.pk])
        assert _queued_at(plan_a) is None
        assert outcome_recompute_enqueue(plan_a.pk) is True
        assert delay.call_count == 2


def test_a_lost_message_is_published_again_after_the_pending_window(plan_a: Any) -> None:
    start = timezone.now()
    assert outcome_recompute_claim(plan_a.pk, now=start) is True
    assert outcome_recompute_claim(plan_a.pk, now=start + OUTCOME_PENDING - timedelta(seconds=1)) is False
    assert outcome_recompute_claim(plan_a.pk, now=start + OUTCOME_PENDING + timedelta(seconds=1)) is True


def test_a_failed_publish_leaves_no_marker(plan_a: Any) -> None:
    down = OperationalError("Error 111 connecting to redis")
    with (
        mock.patch("careplans.tasks.outcome_recompute_plans.delay", side_effect=down),
        pytest.raises(OperationalError),
    ):
        outcome_recompute_enqueue(plan_a.pk)
    assert _queued_at(plan_a) is None


def test_checkins_publish_one_recompute_while_it_is_queued(
    personas: Any, plan_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch("careplans.tasks.outcome_recompute_plans.delay") as delay:
        for nprs in (6, 5, 4):
            with django_capture_on_commit_callbacks(execute=True):
                checkin_submit(patient=personas.patient_a, nprs=nprs, side="left")
        assert [c.args for c in delay.call_args_list] == [([plan_a.pk],)]
        outcome_recompute_plans([plan_a.pk])
        with django_capture_on_commit_callbacks(execute=True):
            checkin_submit(patient=personas.patient_a, nprs=3, side="left")
        assert delay.call_count == 2


def test_each_checkin_still_refreshes_the_outcome_when_run_eagerly(
    personas: Any, plan_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for nprs in (6, 3):
        with django_capture_on_commit_callbacks(execute=True):
            checkin_submit(patient=personas.patient_a, nprs=nprs, side="left")
        assert OutcomeSnapshot.objects.get(plan=plan_a).current == nprs


@pytest.mark.parametrize("flags", [{}, {"flag_fever": True, "flag_weight_loss": True}])
def test_hand_built_body_matches_the_documented_serializer(
    personas: Any, plan_a: Any, flags: dict[str, bool]
) -> None:
    for replaced in (False, True):
        checkin, was_replaced = checkin_submit(
            patient=personas.patient_a, nprs=4, side="both", note="stairs", **flags
        )
        assert was_replaced is replaced
        stored = PainCheckIn.objects.get(pk=checkin.pk)
        for instance in (checkin, stored):
            documented = dict(CheckInStoredSerializer(instance, context={"replaced": replaced}).data)
            body = stored_checkin_body(instance, replaced=replaced)
            assert body == documented
            assert list(body) == list(documented)


@pytest.mark.parametrize("flagged", [False, True], ids=["one statement", "transaction"])
def test_the_rate_limit_refuses_and_writes_nothing(
    personas: Any, plan_a: Any, settings: Any, flagged: bool
) -> None:
    """Counted from the audit trail where the check-in is written, on both paths."""
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (2, 60)}
    a = personas.patient_a
    start = timezone.now().replace(second=10, microsecond=0)
    for nprs in (5, 4):
        checkin_submit(patient=a, nprs=nprs, side="left", flag_fever=flagged, now=start)
    saved = PainCheckIn.objects.values().get(patient=a)
    trail = AuditEvent.objects.filter(patient=a).count()
    with pytest.raises(RateLimited) as refused:
        checkin_submit(patient=a, nprs=1, side="right", flag_fever=flagged, now=start + timedelta(seconds=5))
    assert refused.value.retry_after == 45
    assert refused.value.message.startswith("Too many requests")
    assert PainCheckIn.objects.values().get(patient=a) == saved
    assert AuditEvent.objects.filter(patient=a).count() == trail
    # The next window starts afresh.
    _, replaced = checkin_submit(patient=a, nprs=1, side="right", now=start + timedelta(seconds=50))
    assert replaced is True
    assert PainCheckIn.objects.get(patient=a).nprs == 1


def test_the_check_in_page_answers_429_when_rate_limited(personas: Any, plan_a: Any, settings: Any) -> None:
    from django.test import Client

    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (1, 60)}
    browser = Client()
    browser.force_login(personas.patient_a.user)
    form = {**GOOD, "nprs": "3"}
    assert browser.post("/checkin/", form).status_code == 302
    limited = browser.post("/checkin/", {**form, "nprs": "2"})
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert b"Please wait" in limited.content
    assert PainCheckIn.objects.get(patient=personas.patient_a).nprs == 3


def test_the_statement_stays_within_psycopgs_parse_cache() -> None:
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    # Longer, and psycopg would parse the text again on every check-in.
    assert len(checkins._ONE_STATEMENT.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert "--" not in checkins._ONE_STATEMENT
