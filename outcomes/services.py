"""Getting a plan's outcome recomputed after its check-ins commit: one run for a busy few seconds.

The marker is the plan's ``outcome_queued_at``: set by the check-in that claims
it once its transaction has committed, and cleared by the run that takes the plan
*before* it reads, so a check-in committed after that claims again. A run takes
every plan claimed by then (outcomes.refresh), so only a claimer that finds no
earlier live claim publishes one, a few seconds ahead; the others are covered by
the run already on its way. A publish that fails releases its claim, so the next
check-in of that plan tries again (claims that counted on it wait for the next
run, or the nightly recompute). A claim older than ``OUTCOME_PENDING`` counts as
lost (a message dropped with a dead broker): the next check-in claims it again,
and the nightly outcome_recompute_all catches up anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from outcomes.refresh import OUTCOME_COALESCE_SECONDS, outcome_pending_clear, outcome_recompute_claim
from outcomes.tasks import outcome_recompute_plan
from portal.errors import BROKER_ERRORS

log = logging.getLogger(__name__)


def outcome_recompute_enqueue(plan_id: int) -> bool:
    """Claim a recompute of the plan and, if no run is on its way yet, publish one.

    Call it once the check-in has committed (``transaction.on_commit``), so the
    run cannot start before the check-in is visible. Returns True if this call
    claimed the plan (and published a run, or found one on its way), False if the
    plan's recompute was already claimed. Raises whatever the publish raised (for
    a broker that is down, one of ``portal.errors.BROKER_ERRORS``) after releasing
    the claim, for the caller to log.
    """
    claimed, publish = outcome_recompute_claim(plan_id)
    if not publish:
        return claimed
    try:
        outcome_recompute_plan.apply_async(args=(plan_id,), countdown=OUTCOME_COALESCE_SECONDS)
    except BaseException:
        # Nothing was queued: let the next check-in of this plan try again.
        outcome_pending_clear([plan_id])
        raise
    return True


def outcome_recompute_after_response(sender: Any, *, plan_id: int, **kwargs: Any) -> None:
    """``questionnaires.signals.response_completed`` receiver (connected in outcomes.apps): a sent
    questionnaire asks for its plan's recompute as a check-in does (``outcome_recompute_enqueue``).

    Sent after the response committed, so it never fails the patient's request: with the broker
    down it logs, and the nightly recompute brings the plan's figures up to date.
    """
    try:
        outcome_recompute_enqueue(plan_id)
    except BROKER_ERRORS:
        log.exception("could not enqueue outcome recompute %s; the nightly job will catch up", plan_id)
