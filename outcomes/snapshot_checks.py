"""PostgreSQL's nightly check of the stored outcome snapshots (outcomes.recompute).

One GROUP BY over the check-ins of every snapshot's plan states the measured figures as
conditional aggregates, with no subquery, so the planner splits it over its parallel
workers like a plain GROUP BY, and compares them with the stored ones in the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Mod
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from careplans.adherence import DaysAfter, DaysBetween
from checkins.models import NPRS_MAX
from outcomes.models import OutcomeSnapshot
from outcomes.rules import (
    BASELINE_FALLBACK,
    ENDPOINT_FALLBACK,
    WEEK1,
    WEEK12,
)

#: One more than the highest NPRS: a check-in encoded as ``plan day x NPRS_SPAN + NPRS``
#: orders by day, and its NPRS is the remainder (``_reading``).
NPRS_SPAN = NPRS_MAX + 1

#: A measured row: (plan id, *the MEASURED figures in that order).
Row = tuple[Any, ...]

#: From a snapshot, the check-ins of its plan (the path the nightly check aggregates over).
_SNAPSHOT_CHECKINS = "plan__checkins__"


def _reading() -> Expression:
    """A snapshot's plan's check-in as one integer, ``plan day x NPRS_SPAN + NPRS`` (an aggregate argument).

    The MIN or MAX of a window's readings is its first or latest check-in (a plan
    has at most one a day: one per patient and date), and the NPRS is the
    remainder; within the fallback windows the plan day is never negative.
    """
    day = DaysBetween(F(f"{_SNAPSHOT_CHECKINS}local_date"), F("plan__start_date"))
    return ExpressionWrapper(
        day * Value(NPRS_SPAN) + F(f"{_SNAPSHOT_CHECKINS}nprs"), output_field=IntegerField()
    )


def _plan_day(days: int) -> F | DaysAfter:
    """Day ``days`` of a snapshot's plan, as a date (day 0 is its start date)."""
    start = F("plan__start_date")
    return start if days == 0 else DaysAfter(start, days)


def _from_day(first: int) -> Q:
    return Q(**{f"{_SNAPSHOT_CHECKINS}local_date__gte": _plan_day(first)})


def _to_day(last: int) -> Q:
    return Q(**{f"{_SNAPSHOT_CHECKINS}local_date__lte": _plan_day(last)})


def _mean_of_days(first: int, last: int) -> Avg:
    """The mean NPRS of days ``first``..``last`` of a snapshot's plan (an aggregate)."""
    return Avg(Cast(f"{_SNAPSHOT_CHECKINS}nprs", FloatField()), filter=_from_day(first) & _to_day(last))


def _nprs_of_reading(reading: Expression) -> Expression:
    return Cast(Mod(reading, Value(NPRS_SPAN), output_field=IntegerField()), FloatField())


def _first_of_days(first: int, last: int) -> Expression:
    """The NPRS of the first check-in of days ``first``..``last`` (None without one).

    The first reading from day ``first`` on, if it is by day ``last``: one
    bound per check-in row, the other once per plan.
    """
    first_on = Min(_reading(), filter=_from_day(first))
    by_last = LessThanOrEqual(first_on, Value(last * NPRS_SPAN + NPRS_MAX))
    return Case(When(by_last, then=_nprs_of_reading(first_on)), output_field=FloatField())


def _last_of_days(first: int, last: int) -> Expression:
    """The NPRS of the latest check-in of days ``first``..``last`` (None without one), as the above."""
    last_by = Max(_reading(), filter=_to_day(last))
    from_first = GreaterThanOrEqual(last_by, Value(first * NPRS_SPAN))
    return Case(When(from_first, then=_nprs_of_reading(last_by)), output_field=FloatField())


def snapshot_checks(snapshots: QuerySet[OutcomeSnapshot], *, changed_only: bool) -> Iterable[Row]:
    """Whether each of ``snapshots`` still holds, from one GROUP BY over its plan's check-ins.

    The figures are conditional aggregates: the week means, the fallbacks as
    the MIN or MAX of ``_reading`` in their window, the count, the latest date,
    and ``current`` as the mean from 6 days before the snapshot's
    ``last_checkin_date`` (the rule's window as long as that date is still the
    latest, which is compared too). No subquery, so PostgreSQL splits the
    check-ins over its parallel workers as it does for a plain GROUP BY.
    ``reached_week_12`` is not checked here (see ``_plans_to_measure``), nor
    are snapshots whose plan has no check-in left (an inner join: an outer one
    would not run in parallel).

    ``changed_only=False``: rows ``(plan id, still holds, stored checkin_count)``
    for every snapshot whose plan has check-ins, three small values each. ``changed_only=True``:
    rows ``(plan id, baseline, current, endpoint, checkin_count,
    last_checkin_date, stored last_checkin_date, stored reached_week_12)`` for
    the snapshots that no longer hold; ``current`` is right only where both
    dates agree.
    """
    figures = {
        "now_baseline": Coalesce(_mean_of_days(*WEEK1), _first_of_days(*BASELINE_FALLBACK)),
        "now_current": Avg(
            Cast(f"{_SNAPSHOT_CHECKINS}nprs", FloatField()),
            filter=Q(**{f"{_SNAPSHOT_CHECKINS}local_date__gte": DaysAfter(F("last_checkin_date"), -6)}),
        ),
        # As outcomes.rules defines it: none until week 12 is over (the snapshot's reached_week_12,
        # kept current by _plans_to_measure).
        "now_endpoint": Case(
            When(
                reached_week_12=True, then=Coalesce(_mean_of_days(*WEEK12), _last_of_days(*ENDPOINT_FALLBACK))
            ),
            default=Value(None),
            output_field=FloatField(),
        ),
        "now_checkin_count": Count(f"{_SNAPSHOT_CHECKINS}local_date"),
        "now_last_checkin_date": Max(f"{_SNAPSHOT_CHECKINS}local_date"),
    }
    holds = Q(checkin_count=F("now_checkin_count"))
    for name in ("baseline", "current", "endpoint", "last_checkin_date"):
        # NULL-safe: equal, or both missing.
        holds &= Q(**{name: F(f"now_{name}")}) | Q(**{f"{name}__isnull": True, f"now_{name}__isnull": True})
    checked = (
        snapshots.filter(**{f"{_SNAPSHOT_CHECKINS}local_date__isnull": False})
        .annotate(**figures)
        .annotate(holds=Case(When(holds, then=Value(True)), default=Value(False)))
        .order_by()
    )
    if changed_only:
        return checked.filter(holds=False).values_list(
            "plan_id", *figures, "last_checkin_date", "reached_week_12"
        )
    return checked.values_list("plan_id", "holds", "checkin_count")
