"""Getting a plan's outcome recomputed after its check-ins commit, without a message each.

Two things keep the broker off the check-in's path:

- **A claim per plan.** A recompute already queued for a plan covers every
  check-in committed before it starts, so a burst of check-ins needs one
  message, not one each. The marker is the plan's ``outcome_queued_at``: set by
  whoever claims it (in the same statement as the check-in on PostgreSQL's fast
  path, see patients.checkins), and cleared by the task *before* it reads, so a
  check-in committed after that claims again. A claim older than
  ``OUTCOME_PENDING`` counts as lost (a message dropped with a dead broker): the
  next check-in claims it again, and the nightly outcome_recompute_all catches
  up anyway.
- **One message per batch.** A claimed plan is handed to this process's
  publisher, which waits ``settings.OUTCOME_PUBLISH_WINDOW`` seconds for more and
  then publishes one task for all of them from a background thread. A publish
  that fails releases the claims, so the next check-in of those plans tries
  again. Whatever is waiting when the process exits is published then. A
  process killed outright loses at most one window of claims, which the
  5-minute expiry and the nightly run cover. With the window at 0, or tasks
  running eagerly (the unit tests), the request publishes at once itself.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from careplans.models import CarePlan
from portal.errors import BROKER_ERRORS

log = logging.getLogger(__name__)

OUTCOME_PENDING = timedelta(minutes=5)
# The most plans one message carries; a busier window publishes more than one.
BATCH_MAX = 500


def outcome_recompute_claim(plan_id: int, now: datetime | None = None) -> bool:
    """Set the plan's pending-recompute marker unless a live one is set; True if this caller must publish."""
    now = now or timezone.now()
    unclaimed = Q(outcome_queued_at__isnull=True) | Q(outcome_queued_at__lt=now - OUTCOME_PENDING)
    return CarePlan.objects.filter(unclaimed, pk=plan_id).update(outcome_queued_at=now) == 1


def outcome_pending_clear(plan_ids: Iterable[int]) -> None:
    """Release the plans' markers: a recompute is starting, or the publish for them failed."""
    CarePlan.objects.filter(pk__in=list(plan_ids)).update(outcome_queued_at=None)


def _publish_now(plan_ids: list[int]) -> None:
    """One task for these claimed plans; if it cannot be queued, release their claims and re-raise."""
    from careplans.tasks import outcome_recompute_plans

    try:
        outcome_recompute_plans.delay(plan_ids)
    except BaseException:
        # Nothing was queued: let the next check-in of these plans try again.
        outcome_pending_clear(plan_ids)
        raise


class _Batcher:
    """This process's claimed plans, published as one task per window by a daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[int] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # A forked child (a Celery worker, gunicorn with --preload) starts its own thread.
        self._pid = 0

    def add(self, plan_id: int) -> None:
        with self._lock:
            self._waiting.add(plan_id)
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="outcome-publisher", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            # Gather what else commits in the window; a plan added during the wait
            # or the flush sets the event again, so it is never left behind.
            time.sleep(settings.OUTCOME_PUBLISH_WINDOW)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Publish what is waiting now; returns how many plans. Never raises."""
        with self._lock:
            plan_ids, self._waiting = sorted(self._waiting), set()
        try:
            # Each message on its own: one that fails releases its own claims only.
            for start in range(0, len(plan_ids), BATCH_MAX):
                chunk = plan_ids[start : start + BATCH_MAX]
                try:
                    _publish_now(chunk)
                except BROKER_ERRORS:
                    log.exception(
                        "could not enqueue the outcome recompute of %d plans; the nightly job will catch up",
                        len(chunk),
                    )
                except Exception:
                    log.exception("outcome recompute publisher failed for %d plans", len(chunk))
        finally:
            if threading.current_thread() is self._thread:
                # The publisher thread's own connection, opened only to release claims.
                connections.close_all()
        return len(plan_ids)


_batcher = _Batcher()
atexit.register(_batcher.flush)


def outcome_recompute_publish(plan_id: int) -> None:
    """Publish the recompute a claim was made for: in this process's next batch, or at once.

    At once (the window set to 0, or tasks running eagerly) a failure releases
    the claim and re-raises, for the caller to log.
    """
    from portal.celery import app

    if settings.OUTCOME_PUBLISH_WINDOW <= 0 or app.conf.task_always_eager:
        _publish_now([plan_id])
    else:
        _batcher.add(plan_id)


def outcome_recompute_flush() -> int:
    """Publish this process's waiting batch now (tests, shutdown); returns how many plans."""
    return _batcher.flush()


def outcome_recompute_enqueue(plan_id: int) -> bool:
    """Claim and publish a recompute of the plan unless one is already queued; True if claimed.

    Call it after the commit.
    """
    if not outcome_recompute_claim(plan_id):
        return False
    outcome_recompute_publish(plan_id)
    return True
