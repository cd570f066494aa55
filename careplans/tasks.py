"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from careplans.models import CarePlan
from careplans.outcomes import outcome_refresh_plan
from careplans.outcomes_bulk import outcome_refresh_all
from careplans.reminders import reminder_send, reminders_dispatch

log = logging.getLogger(__name__)


# A recompute already queued for a plan covers every check-in committed before
# it starts, so a burst of check-ins publishes one message, not one each. The
# marker is the plan's outcome_queued_at: claimed (set) by whoever publishes, in
# the same statement as the check-in on PostgreSQL's fast path, and cleared by
# the task *before* it reads, so a check-in committed after that publishes
# again. A claim older than OUTCOME_PENDING counts as lost (a message dropped
# with a dead broker): the next check-in publishes, and the nightly
# outcome_recompute_all catches up anyway.
OUTCOME_PENDING = timedelta(minutes=5)


def outcome_recompute_claim(plan_id: int, now: datetime | None = None) -> bool:
    """Set the plan's pending-recompute marker unless a live one is set; True if this caller must publish."""
    now = now or timezone.now()
    unclaimed = Q(outcome_queued_at__isnull=True) | Q(outcome_queued_at__lt=now - OUTCOME_PENDING)
    return CarePlan.objects.filter(unclaimed, pk=plan_id).update(outcome_queued_at=now) == 1


def outcome_recompute_publish(plan_id: int) -> None:
    """Publish the recompute a claim was made for; if that fails, release the claim and re-raise."""
    try:
        outcome_recompute_plan.delay(plan_id)
    except BaseException:
        # Nothing was queued: let the next check-in try again.
        _pending_clear(plan_id)
        raise


def outcome_recompute_enqueue(plan_id: int) -> bool:
    """Publish a recompute of the plan unless one is already queued; True if published.

    Call it after the commit.
    """
    if not outcome_recompute_claim(plan_id):
        return False
    outcome_recompute_publish(plan_id)
    return True


def _pending_clear(plan_id: int) -> None:
    CarePlan.objects.filter(pk=plan_id).update(outcome_queued_at=None)


# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> None:
    """Recompute one plan's outcome snapshot (enqueued after check-ins commit, coalesced)."""
    # Cleared before reading: a check-in committing from here on queues another run.
    _pending_clear(plan_id)
    outcome_refresh_plan(plan_id=plan_id)


# The nightly run covers every plan with a few set-based statements; at 100,000
# plans it takes seconds, so the limits leave a wide margin. Running it twice
# writes the same snapshots twice: it is idempotent.
@shared_task(acks_late=True, max_retries=2, default_retry_delay=300, time_limit=1800, soft_time_limit=1700)
def outcome_recompute_all() -> int:
    """Recompute every plan's outcome snapshot (nightly); returns how many were written."""
    return outcome_refresh_all()


# Beat publishes this every 5 minutes with a 4-minute expiry, so ticks missed
# while the workers were down do not pile up. It is not retried: the next tick
# does the same work, and the unique delivery rows make overlapping runs safe.
@shared_task(acks_late=True, time_limit=280, soft_time_limit=250)
def reminders_dispatch_due() -> dict[str, int]:
    """Claim and enqueue every check-in reminder now due, and re-enqueue lost ones."""
    result = reminders_dispatch()
    return {"due": result.due, "claimed": result.claimed, "requeued": result.requeued}


# Retries are counted in the delivery row (its attempts), which also survives
# a lost message; max_retries is only the outer bound. The send lease (300 s)
# is longer than time_limit, so a lease runs out only on a send that died.
@shared_task(bind=True, acks_late=True, max_retries=8, time_limit=120, soft_time_limit=100)
def reminder_email_send(self: Any, delivery_id: int) -> str:
    """Send one claimed reminder; a second delivery of the same message sends nothing."""
    result = reminder_send(delivery_id=delivery_id)
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.outcome
