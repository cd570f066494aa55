"""Fault tests on real services: our own redis-server, a real Celery worker process
and an aiosmtpd SMTP server. After each fault, every due patient has received
exactly one reminder: the count at the SMTP server equals the number due."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection
from django.db.models import Q

from accounts.models import Patient
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.tasks import outcome_recompute_all
from reminders.jobs import reminders_dispatch_due
from reminders.models import DeliveryStatus, ReminderDelivery
from reminders.services import reminders_dispatch
from tests.harness import (
    ROOT,
    RedisServer,
    SMTPServer,
    Worker,
    broker,
    wait_until,
    worker_env,
)
from tests.helpers import bulk_patients

pytestmark = [
    pytest.mark.services,
    pytest.mark.alone,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

DUE = 240
FLAGS = ("flag_leg_weakness", "flag_bladder_bowel", "flag_fever", "flag_weight_loss")
#: Short leases so a dead send is taken over in seconds, not minutes.
LEASES = {
    "PLINTH_REMINDER_SEND_LEASE": "6",
    "PLINTH_REMINDER_REQUEUE_AFTER": "4",
    "PLINTH_REMINDER_RETRY_BACKOFF": "3",
}


def zones_away_from_midnight() -> list[str]:
    # A zone crossing midnight during the test would rightly start a new day.
    now = datetime.now(UTC)
    candidates = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]
    safe = []
    for zone in candidates:
        clock = now.astimezone(ZoneInfo(zone))
        minutes = clock.hour * 60 + clock.minute
        if 20 <= minutes <= 23 * 60 + 45:
            safe.append(zone)
    return safe


@dataclass
class Stack:
    redis: RedisServer
    smtp: SMTPServer
    worker: Worker
    tmp: Path
    due_emails: set[str]

    def tick(self) -> None:
        """What beat does every 5 minutes: claim the due, re-enqueue the lost."""
        try:
            reminders_dispatch()
        finally:
            close_old_connections()

    def settle(self, *, seconds: float = 120) -> None:
        """Tick until every delivery is finished and the count has stopped moving."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.worker.supervise()
            self.tick()
            unfinished = ReminderDelivery.objects.exclude(
                status__in=(DeliveryStatus.SENT, DeliveryStatus.SKIPPED)
            ).count()
            if unfinished == 0 and self.smtp.handler.total >= len(self.due_emails):
                time.sleep(3)  # anything still in flight would arrive now
                return
            time.sleep(1.5)
        raise AssertionError(
            f"not settled after {seconds:.0f}s: {self.smtp.handler.total} emails for "
            f"{len(self.due_emails)} due; statuses {self.statuses()}\n{self.worker.tail()}"
        )

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in ReminderDelivery.objects.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        return counts

    def assert_exactly_once(self, scenario: str) -> None:
        counts = self.smtp.handler.counts
        # The counts, for the closing note of a run (test-artifacts/jobs/fault-counts.txt).
        with open(ROOT / "test-artifacts" / "jobs" / "fault-counts.txt", "a") as note:
            note.write(
                f"{scenario}: {len(self.due_emails)} due, {sum(counts.values())} emails received, "
                f"{len(counts)} distinct recipients, max {max(counts.values(), default=0)} per recipient, "
                f"delivery rows {self.statuses()}, worker restarted by its supervisor "
                f"{self.worker.revived} times\n"
            )
        duplicates = {rcpt: n for rcpt, n in counts.items() if n > 1}
        assert duplicates == {}, f"sent twice: {duplicates}"
        assert set(counts) == self.due_emails, (
            f"missing {len(self.due_emails - set(counts))}, unexpected {len(set(counts) - self.due_emails)}"
        )
        assert sum(counts.values()) == len(self.due_emails)
        assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == len(self.due_emails)


def make_patients() -> set[str]:
    zones = zones_away_from_midnight()
    due = bulk_patients(DUE, zones=zones, prefix="due")
    # Not due: reminders off, already checked in today, no active plan.
    bulk_patients(10, zones=zones, prefix="off", reminders_enabled=False)
    for patient in bulk_patients(10, zones=zones, prefix="done"):
        PainCheckIn.objects.create(
            patient=patient, plan=patient.plans.get(), local_date=patient.local_today(), nprs=3
        )
    for patient in bulk_patients(10, zones=zones, prefix="stopped"):
        patient.plans.update(status="stopped")
    # Reminders go out at most REMINDER_MAX_LATENESS late: each zone's time is 10 minutes ago.
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    for zone in zones:
        local = ten_minutes_ago.astimezone(ZoneInfo(zone))
        Patient.objects.filter(timezone=zone).update(reminder_time=local.time().replace(microsecond=0))
    return set(Patient.objects.filter(pk__in=[p.pk for p in due]).values_list("user__email", flat=True))


@pytest.fixture
def stack(settings: Any) -> Iterator[Stack]:
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the test database on a server (make test runs PostgreSQL)")
    settings.REMINDER_REQUEUE_AFTER = int(LEASES["PLINTH_REMINDER_REQUEUE_AFTER"])
    settings.REMINDER_SEND_LEASE = int(LEASES["PLINTH_REMINDER_SEND_LEASE"])
    due_emails = make_patients()
    tmp = Path(tempfile.mkdtemp(prefix="plinth-faults-"))
    redis = RedisServer(tmp)
    smtp = SMTPServer()
    worker: Worker | None = None
    try:
        redis.start()
        smtp.start()
        worker = Worker(tmp, worker_env(redis=redis, smtp=smtp, tmp=tmp, **LEASES))
        with broker(redis.url):
            worker.start()
            yield Stack(redis=redis, smtp=smtp, worker=worker, tmp=tmp, due_emails=due_emails)
    finally:
        if worker is not None:
            worker.stop()
        smtp.handler.release.set()
        smtp.stop()
        redis.kill()
        close_old_connections()
        shutil.rmtree(tmp, ignore_errors=True)


def beat_process(stack: Stack) -> subprocess.Popen[bytes]:
    """A separate process running the beat job once, as a second beat would."""
    code = (
        "import django; django.setup()\n"
        "from reminders.jobs import reminders_dispatch_due\n"
        "print(reminders_dispatch_due())\n"
    )
    env = worker_env(redis=stack.redis, smtp=stack.smtp, tmp=stack.tmp, **LEASES)
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_job_run_three_times_and_twice_at_once_sends_one_each(stack: Stack) -> None:
    # Two beat processes at the same moment, each running the job once.
    procs = [beat_process(stack) for _ in range(2)]
    outputs = [proc.communicate(timeout=90)[0].decode() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    # Then the job three times in a row, and once more through the worker.
    for _ in range(3):
        stack.tick()
    reminders_dispatch_due.delay()
    stack.settle()
    stack.assert_exactly_once("job run 3x in a row + 2 beat processes at once")
    claimed = sum(int(out.split("'claimed': ")[1].split(",")[0]) for out in outputs)
    assert claimed == DUE, outputs  # the two concurrent runs split the claims between them


def test_worker_killed_mid_batch_then_restarted(stack: Stack) -> None:
    handler = stack.smtp.handler
    handler.hold_after = DUE // 3
    stack.tick()
    # Wait until the worker is blocked in an SMTP dialogue, a third of the way in.
    wait_until(lambda: handler.held >= 1, seconds=90, what="a send in progress")
    stack.worker.kill()
    handler.release.set()
    handler.hold_after = None
    interrupted = ReminderDelivery.objects.filter(status=DeliveryStatus.SENDING).count()
    assert interrupted >= 1
    assert handler.total < DUE
    stack.worker.start()
    stack.settle()
    stack.assert_exactly_once("worker SIGKILLed mid-batch, restarted")
    assert ReminderDelivery.objects.filter(attempts__gte=2).count() >= interrupted


def test_redis_restarted_mid_batch(stack: Stack) -> None:
    stack.tick()
    wait_until(lambda: stack.smtp.handler.total >= DUE // 3, seconds=90, what="a third of the batch")
    stack.redis.restart()  # no persistence: the queued messages are gone
    assert stack.smtp.handler.total < DUE
    stack.settle(seconds=180)
    stack.assert_exactly_once("Redis restarted mid-batch")


def test_smtp_down_for_the_first_attempt_then_back(stack: Stack) -> None:
    stack.smtp.stop()
    stack.tick()
    wait_until(
        lambda: (
            not ReminderDelivery.objects.filter(
                Q(attempts=0) | Q(attempts=1, status__in=(DeliveryStatus.CLAIMED, DeliveryStatus.SENDING))
            ).exists()
        ),
        seconds=90,
        what="every first attempt to fail",
        every=0.2,
    )
    stack.smtp.start()
    failed = ReminderDelivery.objects.filter(error__contains="Connection refused")
    assert failed.filter(error__startswith="attempt 1:").exists()
    assert stack.smtp.handler.total == 0
    stack.settle()
    stack.assert_exactly_once("SMTP down for the first attempt, back before the retry")
    assert not ReminderDelivery.objects.filter(attempts__lt=2).exists()


def test_checkin_with_redis_stopped_answers_within_2s_and_is_saved(client: Any) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="plinth-nobroker-"))
    redis = RedisServer(tmp)
    try:
        redis.start()
        redis.kill()  # the broker's address, with nothing listening any more
        [patient] = bulk_patients(1, zones=["UTC"], prefix="nobroker")
        [other] = bulk_patients(1, zones=["UTC"], prefix="nobroker-api")
        plan, other_plan = patient.plans.get(), other.plans.get()
        with broker(redis.url):
            client.force_login(patient.user)
            started = time.monotonic()
            page = client.post("/checkin/", {"nprs": "6", "side": "left", **dict.fromkeys(FLAGS, "no")})
            page_seconds = time.monotonic() - started

            client.force_login(other.user)
            started = time.monotonic()
            api = client.post(
                "/api/v1/checkins/",
                {"nprs": 7, "side": "right", "flag_fever": True},
                content_type="application/json",
            )
            api_seconds = time.monotonic() - started
            # The recomputes could not be queued: each request released its plan's claim
            # before answering, so the next check-in of either plan claims and tries again.
            assert not CarePlan.objects.filter(
                pk__in=[plan.pk, other_plan.pk], outcome_queued_at__isnull=False
            ).exists()
    finally:
        redis.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    assert page.status_code == 302 and page_seconds < 2, (page.status_code, page_seconds)
    assert api.status_code == 201 and api_seconds < 2, (api.status_code, api_seconds, api.content)
    assert PainCheckIn.objects.get(patient=patient).nprs == 6
    assert PainCheckIn.objects.get(patient=other).flag_fever
    # The recompute could not be enqueued; the nightly job catches up.
    assert not OutcomeSnapshot.objects.filter(plan__in=[plan, other_plan]).exists()
    assert outcome_recompute_all() >= 2
    assert OutcomeSnapshot.objects.get(plan=plan).checkin_count == 1
    assert OutcomeSnapshot.objects.get(plan=other_plan).current == 7
