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

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from careplans.models import CarePlan
from careplans.tasks import outcome_recompute_plan

OUTCOME_PENDING = timedelta(minutes=5)


def outcome_recompute_claim(plan_id: int, now: datetime | None = None) -> bool:
    """Set the plan's pending-recompute marker unless a live one is set; True if this caller must publish.

    ``now`` is an aware datetime (default: now); a marker older than
    ``OUTCOME_PENDING`` is taken over. One conditional UPDATE, so of two callers
    at once exactly one wins.
    """
    now = now or timezone.now()
    unclaimed = Q(outcome_queued_at__isnull=True) | Q(outcome_queued_at__lt=now - OUTCOME_PENDING)
    return CarePlan.objects.filter(unclaimed, pk=plan_id).update(outcome_queued_at=now) == 1


def outcome_pending_clear(plan_ids: Iterable[int]) -> None:
    """Release the plans' markers (plan ids): a recompute is starting, or the publish for them failed."""
    CarePlan.objects.filter(pk__in=list(plan_ids)).update(outcome_queued_at=None)


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
        outcome_recompute_plan.delay(plan_id)
    except BaseException:
        # Nothing was queued: let the next check-in of this plan try again.
        outcome_pending_clear([plan_id])
        raise
    return True
