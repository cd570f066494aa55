"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from outcomes.recompute import outcome_refresh_all
from outcomes.refresh import (
    OUTCOME_COALESCE_SECONDS,
    OUTCOME_TAKE_LIMIT,
    outcome_pending_before,
    outcome_pending_take,
)

log = logging.getLogger(__name__)


# Published by outcomes.services once a check-in has committed and claimed its plan,
# when no run was on its way already. A run takes every plan whose recompute is
# pending (one statement) and recomputes them together through the one outcome
# definition. A claim committed while the run was taking may have counted on it
# (outcomes.refresh.outcome_recompute_claim) without being taken: if one is pending
# just after the take, the run publishes a successor, OUTCOME_COALESCE_SECONDS later
# (at once when its take was full), which takes it with the claims of those seconds.
# Otherwise the run ends, and the next claim publishes again. At a busy hour that is
# one take every few seconds holding all their check-ins' plans, not many small takes
# back to back, and never two chains of runs feeding on each other. Idempotent.
# soft_time_limit must not exceed time_limit (the global soft limit is 100 s).
@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60, soft_time_limit=50)
def outcome_recompute_plan(plan_id: int) -> int:
    """Recompute the pending plans' outcome snapshots, ``plan_id``'s among them; how many were taken.

    ``plan_id`` is the plan whose check-in published the chain (kept for the
    logs); if an earlier run took it, its snapshot already reflects that check-in.
    Raises what publishing a successor raises (a broker that is down: Celery
    retries the run, whose take then finds what is still pending).
    """
    plan_ids = outcome_pending_take()
    taken_at = timezone.now()
    if not plan_ids:
        return 0
    outcome_refresh_all(plan_ids=plan_ids)
    if len(plan_ids) >= OUTCOME_TAKE_LIMIT:
        outcome_recompute_plan.apply_async(args=(plan_id,), countdown=0)
    elif outcome_pending_before(taken_at):
        outcome_recompute_plan.apply_async(args=(plan_id,), countdown=OUTCOME_COALESCE_SECONDS)
    log.debug("outcome recompute published for plan %s took %d plans", plan_id, len(plan_ids))
    return len(plan_ids)


# The nightly run covers every plan with a few set-based statements; at 100,000
# plans it takes seconds, so the limits leave a wide margin. Running it twice
# writes the same snapshots twice: it is idempotent.
@shared_task(acks_late=True, max_retries=2, default_retry_delay=300, time_limit=1800, soft_time_limit=1700)
def outcome_recompute_all() -> int:
    """Recompute every plan's outcome snapshot (nightly); returns how many were written."""
    return outcome_refresh_all()
