"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from outcomes.refresh import outcome_pending_take
from outcomes.rules import outcome_refresh_all

log = logging.getLogger(__name__)


# Published by outcomes.services once a check-in has committed and claimed its plan:
# one message per claim. A run takes every plan whose recompute is pending (up to
# outcome_pending_take's limit), its own among them unless an earlier run took it
# already, and recomputes them together through the one outcome definition: at the
# morning peak one statement covers the plans of many check-ins. Idempotent.
# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> int:
    """Recompute the pending plans' outcome snapshots, ``plan_id``'s among them; how many were taken.

    ``plan_id`` is the plan whose check-in published this run (kept for the
    logs); if an earlier run took it, its snapshot already reflects that check-in.
    """
    plan_ids = outcome_pending_take()
    if plan_ids:
        outcome_refresh_all(plan_ids=plan_ids)
    log.debug("outcome recompute for plan %s took %d plans", plan_id, len(plan_ids))
    return len(plan_ids)


# The nightly run covers every plan with a few set-based statements; at 100,000
# plans it takes seconds, so the limits leave a wide margin. Running it twice
# writes the same snapshots twice: it is idempotent.
@shared_task(acks_late=True, max_retries=2, default_retry_delay=300, time_limit=1800, soft_time_limit=1700)
def outcome_recompute_all() -> int:
    """Recompute every plan's outcome snapshot (nightly); returns how many were written."""
    return outcome_refresh_all()
