"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from outcomes.refresh import outcome_pending_clear
from outcomes.rules import outcome_refresh_all, outcome_refresh_plan

log = logging.getLogger(__name__)


# Published by outcomes.services once a check-in has committed and claimed the
# plan. Idempotent: a second run recomputes the same snapshot from the same rows.
# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> None:
    """Recompute one plan's outcome snapshot, releasing its recompute claim first."""
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
