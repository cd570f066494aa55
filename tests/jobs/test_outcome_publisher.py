"""The outcome recompute publisher (careplans.recompute): the plans that committed
check-ins claimed leave the web process as one message per window, published by a
background thread; a failed publish releases the claims; a real worker recomputes."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis as redis_client
from django.db import close_old_connections, connection
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from careplans import recompute
from careplans.models import CarePlan, OutcomeSnapshot
from careplans.recompute import outcome_recompute_claim, outcome_recompute_flush
from patients.checkins import checkin_submit
from tests.jobs.conftest import bulk_patients
from tests.jobs.harness import RedisServer, SMTPServer, Worker, broker, wait_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _queued(plan_ids: list[int]) -> list[Any]:
    return list(CarePlan.objects.filter(pk__in=plan_ids).values_list("outcome_queued_at", flat=True))


def test_plans_added_within_a_window_leave_as_one_sorted_message(settings: Any) -> None:
    settings.OUTCOME_PUBLISH_WINDOW = 0.3
    batcher = recompute._Batcher()
    published: list[list[int]] = []
    with mock.patch.object(recompute, "_publish_now", side_effect=published.append):
        adders = [threading.Thread(target=batcher.add, args=(plan_id,)) for plan_id in (7, 3, 5, 3)]
        for adder in adders:
            adder.start()
        for adder in adders:
            adder.join()
        wait_until(lambda: bool(published), seconds=5, what="the first batch")
        # A plan claimed after the batch left goes in the next one.
        batcher.add(9)
        wait_until(lambda: len(published) == 2, seconds=5, what="the second batch")
        time.sleep(0.6)  # and nothing else follows
    assert published == [[3, 5, 7], [9]]


def test_a_failed_publish_releases_the_claims_so_the_next_checkin_claims_again(settings: Any) -> None:
    settings.OUTCOME_PUBLISH_WINDOW = 0.1
    plan_ids = [p.plans.get().pk for p in bulk_patients(3, zones=["UTC"], prefix="down")]
    assert all(outcome_recompute_claim(plan_id) for plan_id in plan_ids)
    batcher = recompute._Batcher()
    down = OperationalError("Error 111 connecting to redis")
    with mock.patch("careplans.tasks.outcome_recompute_plans.delay", side_effect=down) as delay:
        for plan_id in plan_ids:
            batcher.add(plan_id)
        wait_until(lambda: _queued(plan_ids) == [None] * 3, seconds=10, what="the claims released")
    assert delay.call_args_list == [mock.call(sorted(plan_ids))]
    assert all(outcome_recompute_claim(plan_id) for plan_id in plan_ids)


@pytest.mark.services
def test_checkins_publish_one_message_per_window_and_a_real_worker_recomputes(settings: Any) -> None:
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
            # A long window, then an explicit flush: all 25 claims in exactly one message.
            settings.OUTCOME_PUBLISH_WINDOW = 30
            with mock.patch.object(recompute, "_batcher", recompute._Batcher()):
                for patient in patients:
                    checkin_submit(patient=patient, nprs=6, side="left")
                assert all(at is not None for at in _queued(plan_ids))
                assert queue.llen("celery") == 0
                assert outcome_recompute_flush() == 25
            [raw] = queue.lrange("celery", 0, -1)
            message = json.loads(raw)
            assert message["headers"]["task"] == "careplans.tasks.outcome_recompute_plans"
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            assert args == [plan_ids]

            worker = Worker(tmp, worker_env(redis=server, smtp=smtp, tmp=tmp))
            worker.start()
            wait_until(
                lambda: OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=6).count() == 25,
                seconds=60,
                what="the worker's recompute of the batch",
            )
            assert _queued(plan_ids) == [None] * 25

            # The everyday path: the API, the publisher thread's own window, the worker.
            settings.OUTCOME_PUBLISH_WINDOW = 0.2
            api = APIClient()
            for patient in patients[:5]:
                api.force_authenticate(patient.user)
                response = api.post("/api/v1/checkins/", {"nprs": 2, "side": "left"}, format="json")
                assert response.status_code == 200, response.content
            wait_until(
                lambda: OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=2).count() == 5,
                seconds=60,
                what="the recompute published by the thread",
            )
    finally:
        if worker is not None:
            worker.stop()
        smtp.stop()
        server.kill()
        close_old_connections()
        shutil.rmtree(tmp, ignore_errors=True)
