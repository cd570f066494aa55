"""Getting a plan's outcome recomputed after its check-ins commit, one message per claim.

A recompute already queued for a plan covers every check-in committed before it
starts, so a burst of check-ins needs one message, not one each. The marker is
the plan's ``outcome_queued_at``: set by the check-in that claims it once its
transaction has committed, and cleared by the task *before* it reads, so a
check-in committed after that claims again. Only the claimer publishes, and a
publish that fails releases the claim, so the next check-in of that plan tries
again. A claim older than ``OUTCOME_PENDING`` counts as lost (a message dropped
with a dead broker): the next check-in claims it again, and the nightly
outcome_recompute_all catches up anyway.
"""

from __future__ import annotations

from outcomes.refresh import outcome_pending_clear, outcome_recompute_claim
from outcomes.tasks import outcome_recompute_plan

#: A recompute starts this many seconds after the check-in that claimed it, so that at a
#: busy hour one run takes the plans of every check-in of those seconds (one statement
#: for many plans, outcomes.refresh.outcome_pending_take). Pages never wait for it: they
#: read a plan whose snapshot is older than its check-ins through the same definition.
OUTCOME_COALESCE_SECONDS = 2


def outcome_recompute_enqueue(plan_id: int) -> bool:
    """Claim a recompute of the plan and, if this call won the claim, publish its task.

    Call it once the check-in has committed (``transaction.on_commit``), so the
    task cannot start before the check-in is visible. Returns True if claimed and
    published, False if a recompute is already queued. Raises whatever the
    publish raised (for a broker that is down, one of ``portal.errors.BROKER_ERRORS``)
    after releasing the claim, for the caller to log.
    """
    if not outcome_recompute_claim(plan_id):
        return False
    try:
        outcome_recompute_plan.apply_async(args=(plan_id,), countdown=OUTCOME_COALESCE_SECONDS)
    except BaseException:
        # Nothing was queued: let the next check-in of this plan try again.
        outcome_pending_clear([plan_id])
        raise
    return True
