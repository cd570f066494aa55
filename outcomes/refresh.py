"""Claims on a plan's outcome recompute: one queued run per plan, however many check-ins arrive."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from careplans.models import CarePlan

OUTCOME_PENDING = timedelta(minutes=5)

#: A run starts this many seconds after the check-in that published it, so that at a
#: busy hour it takes the plans of every check-in of those seconds in one statement
#: (outcomes.refresh.outcome_pending_take).
OUTCOME_COALESCE_SECONDS = 2

#: At most this many plans are taken (and recomputed in one statement) per task run.
OUTCOME_TAKE_LIMIT = 500


def outcome_recompute_claim(plan_id: int, now: datetime | None = None) -> tuple[bool, bool]:
    """Set the plan's pending-recompute marker unless a live one is set: (claimed, must publish).

    ``now`` is an aware datetime (default: now); a marker older than
    ``OUTCOME_PENDING`` is taken over. The conditional UPDATE makes exactly one of
    two callers at once the claimer. The claimer publishes a run only if no other
    plan holds an earlier live claim (by time, then id): that claim's run, which
    cannot have taken its plans yet, takes this one too, so a busy minute needs a
    run every few seconds, not one per check-in. The earlier claim is read with a
    row lock, which waits for a run taking it at that moment to commit: then this
    claim sees no earlier one and publishes, or the run hands it to a successor (outcomes.tasks).
    """
    now = now or timezone.now()
    unclaimed = Q(outcome_queued_at__isnull=True) | Q(outcome_queued_at__lt=now - OUTCOME_PENDING)
    with transaction.atomic():
        if CarePlan.objects.filter(unclaimed, pk=plan_id).update(outcome_queued_at=now) != 1:
            return False, False
        earlier = (
            CarePlan.objects.select_for_update()
            .filter(
                Q(outcome_queued_at__lt=now) | Q(outcome_queued_at=now, pk__lt=plan_id),
                outcome_queued_at__gte=now - OUTCOME_PENDING,
            )
            .order_by("outcome_queued_at", "pk")
        )
        return True, not earlier.exists()


def outcome_pending_clear(plan_ids: Iterable[int]) -> None:
    """Release the plans' markers (plan ids): a recompute is starting, or the publish for them failed."""
    CarePlan.objects.filter(pk__in=list(plan_ids)).update(outcome_queued_at=None)


def outcome_pending_take(limit: int = OUTCOME_TAKE_LIMIT, now: datetime | None = None) -> list[int]:
    """Take up to ``limit`` plans with a live pending recompute, oldest claim first; their ids.

    ``now``: an aware datetime (default: now); claims older than ``OUTCOME_PENDING``
    are lost ones, left for the next check-in to take over (the nightly recompute
    covers their figures meanwhile). Their markers are cleared in the same
    transaction, which commits before the caller reads any check-in: a check-in
    committed later claims again. The rows are locked as they are read, waiting
    for a claimer that is reading them (``outcome_recompute_claim``) or a
    concurrent run; a claim committed meanwhile is left for the caller's successor run.
    """
    now = now or timezone.now()
    with transaction.atomic():
        plan_ids = list(
            CarePlan.objects.select_for_update()
            .filter(outcome_queued_at__gte=now - OUTCOME_PENDING)
            .order_by("outcome_queued_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if plan_ids:
            outcome_pending_clear(plan_ids)
    return plan_ids


#: Claims are stamped by the web nodes' clocks and the take's moment by the worker's: a claim
#: stamped up to this much after the take still counts as made before it (a spare successor
#: run costs one empty take; a missed one would leave a claim waiting OUTCOME_PENDING).
CLOCK_MARGIN = timedelta(seconds=1)


def outcome_pending_before(moment: datetime) -> bool:
    """Whether a live claim made before ``moment`` (an aware datetime), give or take
    ``CLOCK_MARGIN``, is still pending.

    Asked by a run just after its take (``moment``: when the take returned): such a
    claim was committed while the run was taking, too late for its take, and may
    have counted on this run, so the run must hand it to a successor. A claim made
    after the take found no earlier live claim when it looked, or found one made
    after the take, and a run was published for those.
    """
    return CarePlan.objects.filter(
        outcome_queued_at__gte=moment - OUTCOME_PENDING, outcome_queued_at__lt=moment + CLOCK_MARGIN
    ).exists()
