"""Publishing a check-in's outcome recompute (outcomes.services): once the check-in
commits, the check-in that wins the plan's claim publishes one task for that plan; a
failed publish releases the claim; a real worker recomputes."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis as redis_client
from django.db import close_old_connections, connection, transaction
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
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
    with mock.patch(f"{TASK}.delay", side_effect=down) as delay:
        for patient in patients:
            checkin_submit(patient=patient, nprs=6, side="left")
    assert sorted(c.args[0] for c in delay.call_args_list) == plan_ids
    assert PainCheckIn.objects.filter(patient__in=patients).count() == 3
    assert _queued(plan_ids) == [None] * 3
    with mock.patch(f"{TASK}.delay") as delay:
        for patient in patients:
            checkin_submit(patient=patient, nprs=5, side="left")
    assert sorted(c.args[0] for c in delay.call_args_list) == plan_ids
    assert all(at is not None for at in _queued(plan_ids))


def test_a_checkin_rolled_back_publishes_nothing_and_claims_nothing() -> None:
    [patient] = bulk_patients(1, zones=["UTC"], prefix="rollback")
    plan_id = patient.plans.get().pk
    with mock.patch(f"{TASK}.delay") as delay, pytest.raises(RuntimeError), transaction.atomic():
        checkin_submit(patient=patient, nprs=6, side="left")
        raise RuntimeError("something later in the same transaction failed")
    assert delay.call_count == 0
    assert _queued([plan_id]) == [None]


@pytest.mark.services
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
            # Each plan's first check-in wins its claim and publishes on commit; the
            # second, while that message waits, is covered by it and publishes nothing.
            for nprs in (7, 6):
                for patient in patients:
                    checkin_submit(patient=patient, nprs=nprs, side="left")
            assert all(at is not None for at in _queued(plan_ids))
            messages = [json.loads(raw) for raw in queue.lrange("celery", 0, -1)]
            assert {m["headers"]["task"] for m in messages} == {TASK}
            published = sorted(json.loads(base64.b64decode(m["body"]))[0][0] for m in messages)
            assert published == plan_ids

            # The check-ins already rewrote the snapshots in their own transactions; the
            # worker's runs (each clearing its plan's claim first) find them current.
            assert OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=6).count() == 25
            worker = Worker(tmp, worker_env(redis=server, smtp=smtp, tmp=tmp))
            worker.start()
            wait_until(
                lambda: _queued(plan_ids) == [None] * 25,
                seconds=60,
                what="the worker's recompute of every claimed plan",
            )
            assert OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=6).count() == 25

            # The everyday path: the API, the publish on commit, the worker.
            api = APIClient()
            for patient in patients[:5]:
                api.force_authenticate(patient.user)
                response = api.post("/api/v1/checkins/", {"nprs": 2, "side": "left"}, format="json")
                assert response.status_code == 200, response.content
            assert OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=2).count() == 5
            wait_until(
                lambda: _queued(plan_ids) == [None] * 25,
                seconds=60,
                what="the recompute published by the API check-ins",
            )
            assert OutcomeSnapshot.objects.filter(plan__in=plan_ids, current=2).count() == 5
    finally:
        if worker is not None:
            worker.stop()
        smtp.stop()
        server.kill()
        close_old_connections()
        shutil.rmtree(tmp, ignore_errors=True)
