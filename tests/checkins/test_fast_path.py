"""The check-in POST's fast path: its query count, the one-statement replace, the coalesced recompute."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from careplans.models import OutcomeSnapshot
from careplans.tasks import _pending_key, outcome_recompute_enqueue, outcome_recompute_plan
from patients.api import CheckInStoredSerializer, stored_checkin_body
from patients.api_tokens import api_token_create
from patients.checkins import checkin_submit
from patients.models import AuditEvent, PainCheckIn

URL = "/api/v1/checkins/"


@pytest.fixture
def marker(plan_a: Any) -> Any:
    """The plan's pending-recompute marker, absent before and after the test."""
    key = _pending_key(plan_a.pk)
    cache.delete(key)
    yield key
    cache.delete(key)


def _post(api: APIClient, key: str, **payload: Any) -> Any:
    return api.post(URL, payload, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_token_checkin_post_query_count_is_pinned(
    personas: Any, plan_a: Any, marker: str, django_assert_max_num_queries: Any
) -> None:
    key = api_token_create(user=personas.patient_a.user, name="pump").key
    api = APIClient()
    assert _post(api, key, nprs=5, side="left").status_code == 201
    # Replacing: the token, the plan, one UPDATE returning the old values (PostgreSQL;
    # a SELECT ... FOR UPDATE and an UPDATE elsewhere), the audit entry, and the
    # transaction's own statements (savepoints under the test's transaction).
    budget = 6 if connection.vendor == "postgresql" else 7
    with django_assert_max_num_queries(budget):
        response = _post(api, key, nprs=3, side="right", note="better")
    assert response.status_code == 200 and response.json()["replaced"] is True
    stored = PainCheckIn.objects.get(patient=personas.patient_a)
    assert (stored.nprs, stored.side, stored.note) == (3, "right", "better")
    replaced = AuditEvent.objects.get(action="checkin.replaced").data["replaced"]
    assert (replaced["nprs"], replaced["side"], replaced["note"]) == (5, "left", "")
    assert replaced["received_at"].startswith(str(stored.local_date.year))


def test_replace_returns_the_stored_values(personas: Any, plan_a: Any, marker: str) -> None:
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


def test_recompute_is_coalesced_while_one_is_queued(plan_a: Any, marker: str) -> None:
    with mock.patch("careplans.tasks.outcome_recompute_plan.delay") as delay:
        assert outcome_recompute_enqueue(plan_a.pk) is True
        # Queued and not started: a second check-in's recompute is already covered.
        assert outcome_recompute_enqueue(plan_a.pk) is False
        assert delay.call_count == 1
        # The task clears the marker before it reads, so a later check-in queues again.
        outcome_recompute_plan(plan_a.pk)
        assert outcome_recompute_enqueue(plan_a.pk) is True
        assert delay.call_count == 2


def test_a_failed_publish_leaves_no_marker(plan_a: Any, marker: str) -> None:
    down = OperationalError("Error 111 connecting to redis")
    with (
        mock.patch("careplans.tasks.outcome_recompute_plan.delay", side_effect=down),
        pytest.raises(OperationalError),
    ):
        outcome_recompute_enqueue(plan_a.pk)
    assert cache.get(marker) is None


def test_each_checkin_still_refreshes_the_outcome_when_run_eagerly(
    personas: Any, plan_a: Any, marker: str, django_capture_on_commit_callbacks: Any
) -> None:
    for nprs in (6, 3):
        with django_capture_on_commit_callbacks(execute=True):
            checkin_submit(patient=personas.patient_a, nprs=nprs, side="left")
        assert OutcomeSnapshot.objects.get(plan=plan_a).current == nprs


@pytest.mark.parametrize("flags", [{}, {"flag_fever": True, "flag_weight_loss": True}])
def test_hand_built_body_matches_the_documented_serializer(
    personas: Any, plan_a: Any, marker: str, flags: dict[str, bool]
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
