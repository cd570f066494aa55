"""The check-in POST: its query count, what a replace keeps, the rate limit and the coalesced recompute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from audit.models import AuditEvent
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.refresh import OUTCOME_PENDING, outcome_recompute_claim
from outcomes.services import outcome_recompute_enqueue
from outcomes.tasks import outcome_recompute_plan
from portal.errors import RateLimited
from tests.today.test_pages import GOOD
from today.services import checkin_submit

URL = "/api/v1/checkins/"


def _queued_at(plan: CarePlan) -> Any:
    return CarePlan.objects.values_list("outcome_queued_at", flat=True).get(pk=plan.pk)


def _post(api: APIClient, key: str, **payload: Any) -> Any:
    return api.post(URL, payload, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_token_checkin_post_query_count_is_pinned(
    personas: Any, plan_a_two_weeks_in: Any, django_assert_max_num_queries: Any
) -> None:
    key = api_token_create(user=personas.patient_a.user, name="pump").key
    api = APIClient()
    assert _post(api, key, nprs=5, side="left").status_code == 201
    # The token (with its user and patient), the plan, the rate count, SELECT ... FOR
    # UPDATE, UPDATE, the audit entry and the savepoint statements under the test's transaction.
    with django_assert_max_num_queries(8):
        response = _post(api, key, nprs=3, side="right", note="better")
    assert response.status_code == 200 and response.json()["replaced"] is True
    stored = PainCheckIn.objects.get(patient=personas.patient_a)
    assert (stored.nprs, stored.side, stored.note) == (3, "right", "better")
    replaced = AuditEvent.objects.get(action="checkin.replaced").data["replaced"]
    assert (replaced["nprs"], replaced["side"], replaced["note"]) == (5, "left", "")
    assert replaced["received_at"].startswith(str(stored.local_date.year))


def test_replace_returns_the_stored_values(personas: Any, plan_a_two_weeks_in: Any) -> None:
    # A red flag first, then a plain answer that replaces it.
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


def test_recompute_is_coalesced_while_one_is_queued(plan_a_two_weeks_in: Any) -> None:
    with mock.patch("outcomes.tasks.outcome_recompute_plan.apply_async") as delay:
        assert outcome_recompute_enqueue(plan_a_two_weeks_in.pk) is True
        # Queued and not started: a second check-in's recompute is already covered.
        assert outcome_recompute_enqueue(plan_a_two_weeks_in.pk) is False
        assert delay.call_count == 1
        # The task clears the marker before it reads, so a later check-in queues again.
        outcome_recompute_plan(plan_a_two_weeks_in.pk)
        assert _queued_at(plan_a_two_weeks_in) is None
        assert outcome_recompute_enqueue(plan_a_two_weeks_in.pk) is True
        assert delay.call_count == 2


def test_a_lost_message_is_published_again_after_the_pending_window(plan_a_two_weeks_in: Any) -> None:
    start = timezone.now()
    assert outcome_recompute_claim(plan_a_two_weeks_in.pk, now=start) == (True, True)
    assert outcome_recompute_claim(
        plan_a_two_weeks_in.pk, now=start + OUTCOME_PENDING - timedelta(seconds=1)
    ) == (False, False)
    assert outcome_recompute_claim(
        plan_a_two_weeks_in.pk, now=start + OUTCOME_PENDING + timedelta(seconds=1)
    ) == (True, True)


def test_a_failed_publish_leaves_no_marker(plan_a_two_weeks_in: Any) -> None:
    down = OperationalError("Error 111 connecting to redis")
    with (
        mock.patch("outcomes.tasks.outcome_recompute_plan.apply_async", side_effect=down),
        pytest.raises(OperationalError),
    ):
        outcome_recompute_enqueue(plan_a_two_weeks_in.pk)
    assert _queued_at(plan_a_two_weeks_in) is None


def test_checkins_publish_one_recompute_while_it_is_queued(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch("outcomes.tasks.outcome_recompute_plan.apply_async") as delay:
        for nprs in (6, 5, 4):
            with django_capture_on_commit_callbacks(execute=True):
                checkin_submit(patient=personas.patient_a, nprs=nprs, side="left")
        assert [c.kwargs["args"] for c in delay.call_args_list] == [(plan_a_two_weeks_in.pk,)]
        outcome_recompute_plan(plan_a_two_weeks_in.pk)
        with django_capture_on_commit_callbacks(execute=True):
            checkin_submit(patient=personas.patient_a, nprs=3, side="left")
        assert delay.call_count == 2


def test_each_checkin_still_refreshes_the_outcome_when_run_eagerly(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for nprs in (6, 3):
        with django_capture_on_commit_callbacks(execute=True):
            checkin_submit(patient=personas.patient_a, nprs=nprs, side="left")
        assert OutcomeSnapshot.objects.get(plan=plan_a_two_weeks_in).current == nprs


@pytest.mark.parametrize("flags", [{}, {"flag_fever": True, "flag_weight_loss": True}])
def test_the_response_is_the_stored_checkin(
    personas: Any, plan_a_two_weeks_in: Any, flags: dict[str, bool]
) -> None:
    api = APIClient()
    api.force_authenticate(personas.patient_a.user)
    for replaced, status_code in ((False, 201), (True, 200)):
        response = api.post(URL, {"nprs": 4, "side": "both", "note": "stairs", **flags}, format="json")
        assert response.status_code == status_code, response.content
        stored = PainCheckIn.objects.get(patient=personas.patient_a)
        assert response.json() == {
            "id": stored.pk,
            "patient": personas.patient_a.pk,
            "plan": plan_a_two_weeks_in.pk,
            "local_date": stored.local_date.isoformat(),
            "nprs": 4,
            "side": "both",
            "flag_leg_weakness": False,
            "flag_bladder_bowel": False,
            "flag_fever": flags.get("flag_fever", False),
            "flag_weight_loss": flags.get("flag_weight_loss", False),
            "has_red_flag": bool(flags),
            "note": "stairs",
            "received_at": stored.received_at.isoformat().replace("+00:00", "Z"),
            "corrected_at": None,
            "replaced": replaced,
        }


@pytest.mark.parametrize("flagged", [False, True], ids=["plain", "red flag"])
def test_the_rate_limit_refuses_and_writes_nothing(
    personas: Any, plan_a_two_weeks_in: Any, settings: Any, flagged: bool
) -> None:
    """Counted from the audit trail where the check-in is written, with and without an alert."""
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (2, 60)}
    a = personas.patient_a
    # The clock stands at noon UTC today (the patient's date in London, where the audit trail's
    # stamps fall too): the next window, 50 s on, is still today whenever the suite runs (started at
    # 23:59:10 it was tomorrow, a new check-in, not a replacement).
    start = timezone.now().replace(hour=12, minute=0, second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        for nprs in (5, 4):
            checkin_submit(patient=a, nprs=nprs, side="left", flag_fever=flagged, now=start)
        saved = PainCheckIn.objects.values().get(patient=a)
        trail = AuditEvent.objects.filter(patient=a).count()
        with pytest.raises(RateLimited) as refused:
            checkin_submit(
                patient=a, nprs=1, side="right", flag_fever=flagged, now=start + timedelta(seconds=5)
            )
        assert refused.value.retry_after == 45
        assert refused.value.message.startswith("Too many requests")
        assert PainCheckIn.objects.values().get(patient=a) == saved
        assert AuditEvent.objects.filter(patient=a).count() == trail
    # The next window starts afresh.
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        _, replaced = checkin_submit(patient=a, nprs=1, side="right", now=start + timedelta(seconds=50))
    assert replaced is True
    assert PainCheckIn.objects.get(patient=a).nprs == 1


@pytest.mark.usefixtures("clock_stands_still")
def test_the_check_in_page_answers_429_when_rate_limited(
    personas: Any, plan_a_two_weeks_in: Any, settings: Any
) -> None:
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
