"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from careplans.outcomes import outcome_refresh_all, outcome_refresh_plan
from careplans.reminders import reminder_send, reminders_dispatch

log = logging.getLogger(__name__)


# Published by careplans.recompute once a check-in has committed and claimed the
# plan. Idempotent: a second run recomputes the same snapshot from the same rows.
# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> None:
    """Recompute one plan's outcome snapshot, releasing its recompute claim first."""
    # Imported here: careplans.recompute imports this module to publish the task
    # (services import tasks, tasks import services inside the function).
    from careplans.recompute import outcome_pending_clear

    # Cleared before reading: a check-in committing from here on claims and queues another run.
    outcome_pending_clear([plan_id])
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
