"""Publishing a check-in's outcome recompute (outcomes.services): once the check-in
commits, it claims its plan; the first claim with no earlier live claim publishes a run,
which takes every plan claimed by then; a failed publish releases the claim; a real
worker recomputes."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis as redis_client
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.refresh import (
    OUTCOME_COALESCE_SECONDS,
    OUTCOME_PENDING,
    outcome_pending_take,
    outcome_recompute_claim,
)
from outcomes.tasks import outcome_recompute_plan
from tests.harness import RedisServer, SMTPServer, Worker, broker, wait_until, worker_env
from tests.helpers import bulk_patients
from today.services import checkin_submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

TASK = "outcomes.tasks.outcome_recompute_plan"


def _queued(plan_ids: list[int]) -> list[Any]:
    return list(
        CarePlan.objects.filter(pk__in=plan_ids).order_by("pk").values_list("outcome_queued_at", flat=True)
    )


def test_a_failed_publish_releases_the_claim_so_the_next_checkin_claims_again() -> None:
    patients = bulk_patients(3, zones=["UTC"], prefix="down")
    plan_ids = sorted(p.plans.get().pk for p in patients)
    down = OperationalError("Error 111 connecting to redis")
    # No surrounding transaction (transaction=True): each check-in commits, then publishes.
    with mock.patch(f"{TASK}.apply_async", side_effect=down) as delay:
        for patient in patients:
            checkin_submit(patient=patient, nprs=6, side="left")
    assert sorted(c.kwargs["args"][0] for c in delay.call_args_list) == plan_ids
    assert PainCheckIn.objects.filter(patient__in=patients).count() == 3
    assert _queued(plan_ids) == [None] * 3
    with mock.patch(f"{TASK}.apply_async") as delay:
        for patient in patients:
            checkin_submit(patient=patient, nprs=5, side="left")
    # With the broker back, the first claim publishes a run; the other two are covered by it.
    assert [c.kwargs["args"][0] for c in delay.call_args_list] == plan_ids[:1]
    assert all(at is not None for at in _queued(plan_ids))


def test_the_earliest_live_claim_publishes_and_a_later_one_counts_on_its_run() -> None:
    first, second = sorted(p.plans.get().pk for p in bulk_patients(2, zones=["UTC"], prefix="order"))
    now = timezone.now()
    # The later plan claims first in time: it publishes; the other, claiming later, is covered.
    assert outcome_recompute_claim(second, now=now) == (True, True)
    assert outcome_recompute_claim(first, now=now + timedelta(milliseconds=5)) == (True, False)
    assert outcome_recompute_plan(second) == 2
    # At the same instant the lower id is the earlier claim.
    assert outcome_recompute_claim(second, now=now + timedelta(seconds=1)) == (True, True)
    assert outcome_recompute_claim(first, now=now + timedelta(seconds=1)) == (True, True)
    assert outcome_recompute_plan(first) == 2
    # A claim older than the pending window is lost: it covers nobody.
    assert outcome_recompute_claim(second, now=now + timedelta(seconds=2)) == (True, True)
    later = now + timedelta(seconds=2) + OUTCOME_PENDING + timedelta(seconds=1)
    assert outcome_recompute_claim(first, now=later) == (True, True)


def test_a_checkin_rolled_back_publishes_nothing_and_claims_nothing() -> None:
    [patient] = bulk_patients(1, zones=["UTC"], prefix="rollback")
    plan_id = patient.plans.get().pk
    with mock.patch(f"{TASK}.apply_async") as delay, pytest.raises(RuntimeError), transaction.atomic():
        checkin_submit(patient=patient, nprs=6, side="left")
        raise RuntimeError("something later in the same transaction failed")
    assert delay.call_count == 0
    assert _queued([plan_id]) == [None]


def test_one_run_recomputes_every_pending_plan_and_the_runs_after_it_find_none() -> None:
    patients = bulk_patients(4, zones=["UTC"], prefix="take")
    plan_ids = sorted(p.plans.get().pk for p in patients)
    with mock.patch(f"{TASK}.apply_async") as delay:
        for patient in patients:
            checkin_submit(patient=patient, nprs=3, side="left")
    # One run for the four: the first claim publishes, the later ones find it on its way.
    assert [c.kwargs["args"][0] for c in delay.call_args_list] == plan_ids[:1]
    assert delay.call_args_list[0].kwargs["countdown"] == OUTCOME_COALESCE_SECONDS
    assert all(at is not None for at in _queued(plan_ids))
    # The run takes all four plans in one statement; a run after it finds nothing.
    assert outcome_recompute_plan(plan_ids[0]) == 4
    assert _queued(plan_ids) == [None] * 4
    assert OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=3).count() == 4
    assert outcome_recompute_plan(plan_ids[0]) == 0
    # A check-in after the take claims its plan again and, with no run on its way, publishes one.
    with mock.patch(f"{TASK}.apply_async") as delay:
        checkin_submit(patient=patients[1], nprs=8, side="left")
    assert [c.kwargs["args"][0] for c in delay.call_args_list] == [plan_ids[1]]
    assert outcome_recompute_plan(plan_ids[1]) == 1
    assert OutcomeSnapshot.objects.get(plan_id=plan_ids[1]).current == 8


@pytest.mark.services
@pytest.mark.alone
def test_checkins_publish_one_message_per_claim_and_a_real_worker_recomputes() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database on a server (make test runs PostgreSQL)")
    patients = bulk_patients(25, zones=["UTC"], prefix="batch")
    plan_ids = sorted(p.plans.get().pk for p in patients)
    tmp = Path(tempfile.mkdtemp(prefix="plinth-publisher-"))
    server, smtp = RedisServer(tmp), SMTPServer()
    worker: Worker | None = None
    try:
        server.start()
        smtp.start()
        queue = redis_client.Redis.from_url(server.url)
        with broker(server.url):
            # Each plan's first check-in claims it on commit; the very first publishes the
            # run, which covers every other claim and every second check-in.
            for nprs in (7, 6):
                for patient in patients:
                    checkin_submit(patient=patient, nprs=nprs, side="left")
            assert all(at is not None for at in _queued(plan_ids))
            # One run for the burst, published by the first claim.
            messages = [json.loads(raw) for raw in queue.lrange("celery", 0, -1)]
            assert {m["headers"]["task"] for m in messages} == {TASK}
            published = sorted(json.loads(base64.b64decode(m["body"]))[0][0] for m in messages)
            assert published == plan_ids[:1]

            # Nothing is recomputed before the worker runs: the pages compute overtaken plans.
            assert not OutcomeSnapshot.objects.filter(plan__in=plan_ids).exists()
            worker = Worker(tmp, worker_env(redis=server, smtp=smtp, tmp=tmp))
            worker.start()
            wait_until(
                lambda: OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=6).count() == 25,
                seconds=60,
                what="the worker's recompute of every claimed plan",
            )
            assert _queued(plan_ids) == [None] * 25

            # The everyday path: the API, the publish on commit, the worker.
            api = APIClient()
            for patient in patients[:5]:
                api.force_authenticate(patient.user)
                response = api.post("/api/v1/checkins/", {"nprs": 2, "side": "left"}, format="json")
                assert response.status_code == 200, response.content
            wait_until(
                lambda: OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=2).count() == 5,
                seconds=60,
                what="the recompute published by the API check-ins",
            )
            assert _queued(plan_ids) == [None] * 25
    finally:
        if worker is not None:
            worker.stop()
        smtp.stop()
        server.kill()
        close_old_connections()
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_run_takes_once_and_ends_when_no_claim_was_left_behind() -> None:
    plan_ids = sorted(p.plans.get().pk for p in bulk_patients(4, zones=["UTC"], prefix="once"))
    for plan_id in plan_ids[:3]:
        outcome_recompute_claim(plan_id)

    def take_then_a_claim() -> list[int]:
        taken = outcome_pending_take()
        # A claim made after the take (its own run was published for it) is not this run's.
        outcome_recompute_claim(plan_ids[3], now=timezone.now() + timedelta(seconds=30))
        return taken

    with (
        mock.patch("outcomes.tasks.outcome_pending_take", side_effect=take_then_a_claim),
        mock.patch(f"{TASK}.apply_async") as successor,
    ):
        assert outcome_recompute_plan(plan_ids[0]) == 3
    assert successor.call_count == 0
    assert _queued(plan_ids)[:3] == [None] * 3 and _queued(plan_ids)[3] is not None
    assert OutcomeSnapshot.objects.filter(plan__in=plan_ids[:3]).count() == 3


def test_a_claim_committed_too_late_for_the_take_goes_to_a_successor_a_few_seconds_on() -> None:
    plan_ids = sorted(p.plans.get().pk for p in bulk_patients(4, zones=["UTC"], prefix="late"))
    for plan_id in plan_ids:
        outcome_recompute_claim(plan_id)
    # The take sees two of the four claims: the others' transactions committed while it ran.
    with (
        mock.patch("outcomes.tasks.outcome_pending_take", side_effect=lambda: outcome_pending_take(2)),
        mock.patch(f"{TASK}.apply_async") as successor,
    ):
        assert outcome_recompute_plan(plan_ids[0]) == 2
    assert successor.call_args.kwargs == {"args": (plan_ids[0],), "countdown": OUTCOME_COALESCE_SECONDS}
    # The successor takes the two left behind; nothing is left, so it ends the chain.
    with mock.patch(f"{TASK}.apply_async") as successor:
        assert outcome_recompute_plan(plan_ids[0]) == 2
    assert successor.call_count == 0
    assert OutcomeSnapshot.objects.filter(plan__in=plan_ids).count() == 4


def test_a_full_take_hands_over_at_once() -> None:
    plan_ids = sorted(p.plans.get().pk for p in bulk_patients(3, zones=["UTC"], prefix="full"))
    for plan_id in plan_ids:
        outcome_recompute_claim(plan_id)
    with (
        mock.patch("outcomes.tasks.OUTCOME_TAKE_LIMIT", 2),
        mock.patch("outcomes.tasks.outcome_pending_take", side_effect=lambda: outcome_pending_take(2)),
        mock.patch(f"{TASK}.apply_async") as successor,
    ):
        assert outcome_recompute_plan(plan_ids[0]) == 2
        assert successor.call_args.kwargs["countdown"] == 0
        assert outcome_recompute_plan(plan_ids[0]) == 1
        assert successor.call_count == 1
