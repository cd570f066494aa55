"""The outcome rules of DESIGN.md ("Outcome formulas"), written once, as ORM expressions.

The database computes every figure, on PostgreSQL and on SQLite alike, from
the same expressions: for the plans of the check-ins of the last few seconds
and for every plan at night (``outcome_refresh_all``, which the export and the
report command run first), for one plan (``outcome_refresh_plan``) and for pages
whose snapshot a check-in overtook (``outcomes_for_plans``, through
outcomes.selectors). The tests hold them to a plain-Python statement of
the rules (tests/outcomes/oracle.py) on both backends.

All windows are in the patient's local dates, counted from the plan's start
date (day 0). Week k covers days 7(k-1) .. 7k-1. NPRS is the 0-10 Numeric Pain
Rating Scale. The figures come in two layers:

- measured (``measured_figures``): baseline, current, endpoint, count and latest date,
  each a correlated subquery that reads only its own dates from the
  ``(plan, local_date, nprs)`` index (a week mean 7 entries, a fallback 1), and
  whether week 12 is over in the patient's calendar;
- derived (``derived_from``): change, percent change, responder, worsening and the
  missing endpoint, arithmetic on the measured ones. They are built from
  whatever holds the measured figures: the annotations of a read, or the
  snapshot's own columns after a write (so the nightly write does not evaluate
  each measured subquery again for every rule that uses it).

The nightly recompute and its writes are outcomes.recompute.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    Expression,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.lookups import Exact, GreaterThanOrEqual, IsNull, LessThanOrEqual

from accounts.models import Patient
from careplans.adherence import DaysAfter
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot

WEEK1 = (0, 6)


BASELINE_FALLBACK = (7, 13)


WEEK12 = (77, 83)


ENDPOINT_FALLBACK = (63, 83)


#: A plan has reached week 12 once its day 83 is over in the patient's calendar.
WEEK12_COMPLETE_DAY = 84


RESPONDER_POINTS = -2.0


RESPONDER_PERCENT = -30.0


WORSENING_POINTS = 2.0


#: Every NPRS figure is a mean of at most 7 whole numbers (one check-in a day, windows of 7 days),
#: so 420 times it (420 being the least common multiple of 1..7) is a whole number. Binary floating
#: point cannot hold 17/3 or 20/3 exactly (17/3 to 0 would come out as -100.00000000000001%, and
#: 20/3 - 14/3 as 1.9999999999999996 points), but it holds these whole numbers exactly: changes,
#: percents and thresholds are computed in these units, so a figure that is exact in arithmetic
#: (-100%, -20%, 2 points) is exact in the database, on PostgreSQL and SQLite alike, and a
#: threshold is met or missed as in arithmetic.
MEAN_UNITS = 420


#: The figures computed from the check-ins; the rest of OutcomeSnapshot.FIGURES is derived.
MEASURED = ("baseline", "current", "endpoint", "reached_week_12", "checkin_count", "last_checkin_date")


def _checkins() -> QuerySet[PainCheckIn]:
    return PainCheckIn.objects.filter(plan=OuterRef("pk")).order_by()


def _days(first: int, last: int) -> QuerySet[PainCheckIn]:
    """The plan's check-ins dated in days ``first``..``last`` of the plan (a subquery)."""
    return _checkins().filter(
        local_date__gte=DaysAfter(OuterRef("start_date"), first),
        local_date__lte=DaysAfter(OuterRef("start_date"), last),
    )


def _mean(checkins: QuerySet[PainCheckIn]) -> Subquery:
    grouped = checkins.values("plan").annotate(mean=Avg(Cast("nprs", FloatField()))).values("mean")
    return Subquery(grouped, output_field=FloatField())


def _nprs_of(checkins: QuerySet[PainCheckIn], order: str) -> Subquery:
    # Cast inside the subquery: a plain Subquery is grouped by the plan columns it
    # reads, whereas a Cast around it would be grouped by itself, evaluated per check-in.
    first = checkins.order_by(order).annotate(value=Cast("nprs", FloatField())).values("value")[:1]
    return Subquery(first, output_field=FloatField())


def _latest_date(plan: OuterRef) -> Subquery:
    latest = PainCheckIn.objects.filter(plan=plan).order_by("-local_date").values("local_date")[:1]
    return Subquery(latest, output_field=DateField())


def week12_over(today_by_zone: Mapping[str, date]) -> Q:
    """A filter on CarePlan: the plan's week 12 is over in its patient's calendar.

    ``today_by_zone`` maps each time zone name of the plans' patients to the
    date it is there: the caller computes it in Python (SQLite has no time
    zone database), a handful of zones for any number of plans. A zone missing
    from it counts as week 12 not over.
    """
    over = Q(pk__in=[])
    for zone, today in sorted(today_by_zone.items()):
        over |= Q(patient__timezone=zone, start_date__lte=today - timedelta(days=WEEK12_COMPLETE_DAY))
    return over


def measured_figures(today_by_zone: Mapping[str, date]) -> dict[str, Any]:
    """The measured figures of a CarePlan row, keyed as ``MEASURED``: the definition.

    Each is a correlated subquery on the ``(plan, local_date, nprs)`` index that
    reads only the entries it needs (a week mean 7, a fallback 1, the latest 1);
    a fallback is evaluated only for a plan whose week mean is missing (COALESCE
    stops at its first value). ``today_by_zone``: see ``week12_over``.
    """
    # Inside the subquery over check-ins, the plan is one level further out.
    week_ending_at_latest = _checkins().filter(
        local_date__gte=DaysAfter(_latest_date(OuterRef(OuterRef("pk"))), -6)
    )
    counted = _checkins().values("plan").annotate(n=Count("pk")).values("n")
    # A probe of the plan's own row: as a join it would repeat the patient on every row.
    reached = Exists(CarePlan.objects.filter(week12_over(today_by_zone), pk=OuterRef("pk")))
    return {
        # Week-1 mean, else the first check-in of days 7-13.
        "baseline": Coalesce(_mean(_days(*WEEK1)), _nprs_of(_days(*BASELINE_FALLBACK), "local_date")),
        # The 7 days ending at the latest check-in (none without check-ins).
        "current": _mean(week_ending_at_latest),
        # Week-12 mean, else the latest check-in of days 63-83; none until week 12 is over (before,
        # days of the fallback are still coming: no endpoint, change at 12 weeks or responder yet).
        "endpoint": Case(
            When(
                reached,
                then=Coalesce(_mean(_days(*WEEK12)), _nprs_of(_days(*ENDPOINT_FALLBACK), "-local_date")),
            ),
            default=Value(None),
            output_field=FloatField(),
        ),
        "reached_week_12": reached,
        "checkin_count": Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)),
        "last_checkin_date": _latest_date(OuterRef("pk")),
    }


def in_units(mean: Any) -> Expression:
    """An NPRS mean expression in ``MEAN_UNITS`` (a float holding a whole number exactly)."""
    return Cast(Round(mean * Value(float(MEAN_UNITS))), FloatField())


def mean_in_units(mean: float) -> int:
    """An NPRS mean (a float) in ``MEAN_UNITS``, the whole number ``in_units`` computes."""
    return round(mean * MEAN_UNITS)


def derived_from(
    *, baseline: Any, current: Any, endpoint: Any, reached_week_12: Any
) -> dict[str, Expression]:
    """The figures that follow from the measured ones, over any expressions that hold them.

    Change = endpoint - baseline (points); percent change = 100 x change /
    baseline, undefined at baseline 0; responder = at least 2 points and at
    least 30% down (unknown without an endpoint, never at baseline 0);
    worsening = current at least 2 points above baseline; a missing endpoint
    = week 12 over and no endpoint. CASE tries its branches in order, so the
    division never sees a baseline of 0. Each is computed from whole numbers of
    ``MEAN_UNITS`` with one division at the end, so it is the exact result
    rounded once (an exact -100% is stored as -100.0).
    """
    base, end = in_units(baseline), in_units(endpoint)
    diff = end - base  # in MEAN_UNITS, exact
    percent = Value(100.0) * diff / base
    zero = Exact(baseline, Value(0.0))
    return {
        "change": diff / Value(float(MEAN_UNITS)),
        "percent_change": Case(When(zero, then=Value(None)), default=percent, output_field=FloatField()),
        "responder": Case(
            When(IsNull(endpoint, True) | IsNull(baseline, True), then=Value(None)),
            When(zero, then=Value(False)),
            When(
                LessThanOrEqual(diff, Value(RESPONDER_POINTS * MEAN_UNITS))
                # 100 x diff / base <= -30, as whole numbers (base > 0): no division to round.
                & LessThanOrEqual(Value(100.0) * diff, Value(RESPONDER_PERCENT) * base),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        "worsening": Case(
            When(
                GreaterThanOrEqual(in_units(current) - base, Value(WORSENING_POINTS * MEAN_UNITS)),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        "missing_endpoint": Case(
            When(IsNull(endpoint, True) & Exact(reached_week_12, Value(True)), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    }


def derived_figures() -> dict[str, Expression]:
    """``derived_from`` over the measured figures by name: a read's annotations, or a snapshot's columns."""
    names = ("baseline", "current", "endpoint", "reached_week_12")
    return derived_from(**{name: F(name) for name in names})


def zone_todays(patients: QuerySet[Patient], *, now: datetime) -> dict[str, date]:
    """Today's date in each time zone of ``patients`` (one query; a handful of zones)."""
    zones = patients.order_by().values_list("timezone", flat=True).distinct()
    return {str(zone): now.astimezone(zoneinfo.ZoneInfo(str(zone))).date() for zone in zones}


def patients_in_scope(
    *, using: str, clinic_ids: Sequence[int] | None, plan_ids: Sequence[int] | None
) -> QuerySet[Patient]:
    """The patients whose time zones the plans in scope can have: a superset is harmless, and
    reading the patients alone is cheaper than joining every plan to its patient."""
    patients = Patient.objects.using(using).all()
    if clinic_ids is not None:
        patients = patients.filter(clinic_id__in=list(clinic_ids))
    if plan_ids is not None:
        patients = patients.filter(plans__in=list(plan_ids))
    return patients


def with_outcomes(plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date]) -> QuerySet[CarePlan]:
    """``plans`` annotated with every figure of OutcomeSnapshot.FIGURES, computed from the check-ins.

    For reads of a few plans, or one pass over many (the export): each derived
    figure repeats the measured subqueries it uses. ``today_by_zone``: see
    ``zone_todays``; a zone missing from it counts as week 12 not over.
    """
    return plans.annotate(**measured_figures(today_by_zone)).annotate(**derived_figures())


def outcomes_for_plans(
    plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date]
) -> dict[int, OutcomeSnapshot]:
    """Each plan's figures computed afresh, as unsaved snapshots keyed by plan id (one query)."""
    rows = with_outcomes(plans, today_by_zone=today_by_zone).values_list("pk", *OutcomeSnapshot.FIGURES)
    return {
        row[0]: OutcomeSnapshot(plan_id=row[0], **dict(zip(OutcomeSnapshot.FIGURES, row[1:], strict=True)))
        for row in rows
    }
