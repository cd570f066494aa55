"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from outcomes.recompute import outcome_refresh_all
from outcomes.refresh import OUTCOME_COALESCE_SECONDS, outcome_pending_take

log = logging.getLogger(__name__)


#: Takes per run: a run at a busy hour ends after this many and publishes the next.
OUTCOME_RUN_TAKES = 5


# Published by outcomes.services once a check-in has committed and claimed its plan,
# when no run was on its way already. A run takes every plan whose recompute is
# pending and recomputes them together through the one outcome definition, then
# takes again until a take comes back empty: a claim that counted on this run while
# it was taking is in the next take. At a busy hour every take finds a few more, so
# after OUTCOME_RUN_TAKES the run publishes its successor and ends. Idempotent.
# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> int:
    """Recompute the pending plans' outcome snapshots, ``plan_id``'s among them; how many were taken.

    ``plan_id`` is the plan whose check-in published this run (kept for the
    logs); if an earlier run took it, its snapshot already reflects that check-in.
    """
    taken = 0
    for _ in range(OUTCOME_RUN_TAKES):
        plan_ids = outcome_pending_take()
        if not plan_ids:
            break
        outcome_refresh_all(plan_ids=plan_ids)
        taken += len(plan_ids)
    else:
        outcome_recompute_plan.apply_async(args=(plan_id,), countdown=OUTCOME_COALESCE_SECONDS)
    log.debug("outcome recompute published for plan %s took %d plans", plan_id, taken)
    return taken


# The nightly run covers every plan with a few set-based statements; at 100,000
# plans it takes seconds, so the limits leave a wide margin. Running it twice
# writes the same snapshots twice: it is idempotent.
@shared_task(acks_late=True, max_retries=2, default_retry_delay=300, time_limit=1800, soft_time_limit=1700)
def outcome_recompute_all() -> int:
    """Recompute every plan's outcome snapshot (nightly); returns how many were written."""
    return outcome_refresh_all()
