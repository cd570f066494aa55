"""Claims on a plan's outcome recompute: one queued run per plan, however many check-ins arrive."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from careplans.models import CarePlan

OUTCOME_PENDING = timedelta(minutes=5)

#: At most this many plans are taken (and recomputed in one statement) per task run.
OUTCOME_TAKE_LIMIT = 500


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


def outcome_pending_take(limit: int = OUTCOME_TAKE_LIMIT) -> list[int]:
    """Take up to ``limit`` plans whose recompute is pending, oldest claim first; their ids.

    Their markers are cleared in the same transaction, which commits before the
    caller reads any check-in: a check-in committed later claims its plan again.
    On PostgreSQL concurrent takers get disjoint plans (rows locked by one are
    skipped by the other); SQLite has one writer at a time. Raises nothing of its own.
    """
    with transaction.atomic():
        plan_ids = list(
            CarePlan.objects.select_for_update(skip_locked=True)
            .filter(outcome_queued_at__isnull=False)
            .order_by("outcome_queued_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if plan_ids:
            outcome_pending_clear(plan_ids)
    return plan_ids
