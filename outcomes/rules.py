"""The outcome rules of DESIGN.md ("Outcome formulas"), written once, as ORM expressions.

The database computes every figure, on PostgreSQL and on SQLite alike, from
the same expressions: for one plan after a check-in (``outcome_refresh_plan``),
for every plan at night (``outcome_refresh_all``), for the export
(``outcome_rows``) and for pages that need figures fresher than the snapshot
(``outcomes_for_plans``). The tests hold them to a plain-Python statement of
the rules (tests/outcomes/oracle.py) on both backends.

All windows are in the patient's local dates, counted from the plan's start
date (day 0). Week k covers days 7(k-1) .. 7k-1. NPRS is the 0-10 Numeric Pain
Rating Scale. The figures come in two layers:

- measured (``_measured``): baseline, current, endpoint, count and latest date,
  each a correlated subquery that reads only its own dates from the
  ``(plan, local_date, nprs)`` index (a week mean 7 entries, a fallback 1), and
  whether week 12 is over in the patient's calendar;
- derived (``_derived``): change, percent change, responder, worsening and the
  missing endpoint, arithmetic on the measured ones. They are built from
  whatever holds the measured figures: the annotations of a read, or the
  snapshot's own columns after a write (so the nightly write does not evaluate
  each measured subquery again for every rule that uses it).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
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
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, IsNull, LessThanOrEqual
from django.utils import timezone

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


#: Means of whole numbers are not exact in binary floating point (20/3 - 14/3 is
#: not exactly 2), so a threshold is met when within this much of it. With NPRS
#: integers and at most 7 values per mean, a real miss is never this close.
TOLERANCE = 1e-9


#: Plans per batch of the nightly recompute: each batch is one transaction, and
#: its measured figures (a dozen values per plan) pass through this process.
DEFAULT_BATCH = 20_000


#: The figures computed from the check-ins; the rest of OutcomeSnapshot.FIGURES is derived.
MEASURED = ("baseline", "current", "endpoint", "reached_week_12", "checkin_count", "last_checkin_date")


class DaysAfter(Func):
    """``date + days`` (a whole number of days, may be negative) as a date, on both backends.

    PostgreSQL adds an integer to a date; SQLite's ``date()`` takes a modifier.
    Both read the plan's own dates, so a window's bounds are computed once per
    plan, never per check-in.
    """

    output_field = DateField()
    template = "(%(expressions)s + %(days)s)"

    def __init__(self, expression: Any, days: int) -> None:
        super().__init__(expression, days=f"{int(days)}", modifier=f"{int(days):+d} days")

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        """SQLite: ``date(d, '+6 days')``."""
        return self.as_sql(
            compiler, connection, template="date(%(expressions)s, '%(modifier)s')", **extra_context
        )


def _checkins() -> QuerySet[PainCheckIn]:
    return PainCheckIn.objects.filter(plan=OuterRef("pk")).order_by()


def _days(first: int, last: int) -> QuerySet[PainCheckIn]:
    """The plan's check-ins dated in days ``first``..``last`` of the plan (a subquery)."""
    return _checkins().filter(
        local_date__gte=DaysAfter(OuterRef("start_date"), first),
        local_date__lte=DaysAfter(OuterRef("start_date"), last),
    )


def _in_days(first: int, last: int) -> Q:
    """Of the plan's joined check-ins, those dated in days ``first``..``last`` of the plan (a filter)."""
    return Q(
        checkins__local_date__gte=DaysAfter(F("start_date"), first),
        checkins__local_date__lte=DaysAfter(F("start_date"), last),
    )


def _mean_of_days(first: int, last: int) -> Avg:
    """The mean NPRS of days ``first``..``last``, an aggregate over the plan's joined check-ins."""
    return Avg(Cast("checkins__nprs", FloatField()), filter=_in_days(first, last))


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


def _measured(today_by_zone: Mapping[str, date], *, grouped: bool) -> dict[str, Any]:
    """The measured figures of a CarePlan row, keyed as ``MEASURED``.

    The week means, the count and the latest date are conditional aggregates
    over the plan's check-ins, joined and grouped by plan: one pass over the
    check-ins for any number of plans (PostgreSQL runs it as one parallel
    GROUP BY). The two fallbacks and ``current`` stay correlated subqueries:
    a fallback is evaluated only for a plan whose week mean is missing
    (COALESCE stops at its first value), and ``current`` depends on the
    latest date, which a single pass does not know yet.

    ``today_by_zone`` maps each time zone name of the plans' patients to the
    date it is there: the caller computes it in Python (SQLite has no time
    zone database), a handful of zones for any number of plans. The plans'
    queryset must not join another multi-valued relation (it would repeat
    the check-ins).

    ``grouped``: the shape of the query, the figures being the same. True
    (PostgreSQL): the aggregates over the joined check-ins. False (SQLite,
    whose planner runs the join and GROUP BY about 3x slower than per-plan
    index reads): the same aggregates, each in its own correlated subquery on
    the ``(plan, local_date, nprs)`` index.
    """
    # Inside the subquery over check-ins, the plan is one level further out.
    week_ending_at_latest = _checkins().filter(
        local_date__gte=DaysAfter(_latest_date(OuterRef(OuterRef("pk"))), -6)
    )
    # A plan whose week 12 is over in its patient's zone. A subquery on the plan's own
    # row (one index probe per plan): as a column of the joined rows it would join the
    # patient to every check-in and group by the patient's zone.
    over = Q(pk__in=[])
    for zone, today in sorted(today_by_zone.items()):
        over |= Q(patient__timezone=zone, start_date__lte=today - timedelta(days=WEEK12_COMPLETE_DAY))
    reached = Exists(CarePlan.objects.filter(over, pk=OuterRef("pk")))
    if grouped:
        week1: Any = _mean_of_days(*WEEK1)
        week12: Any = _mean_of_days(*WEEK12)
        count: Any = Count("checkins")
        latest: Any = Max("checkins__local_date")
    else:
        week1, week12 = _mean(_days(*WEEK1)), _mean(_days(*WEEK12))
        counted = _checkins().values("plan").annotate(n=Count("pk")).values("n")
        count = Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
        latest = _latest_date(OuterRef("pk"))
    return {
        # Week-1 mean, else the first check-in of days 7-13.
        "baseline": Coalesce(week1, _nprs_of(_days(*BASELINE_FALLBACK), "local_date")),
        # The 7 days ending at the latest check-in (none without check-ins).
        "current": _mean(week_ending_at_latest),
        # Week-12 mean, else the latest check-in of days 63-83.
        "endpoint": Coalesce(week12, _nprs_of(_days(*ENDPOINT_FALLBACK), "-local_date")),
        "reached_week_12": reached,
        # 0 for a plan without check-ins (the join is an outer join).
        "checkin_count": count,
        "last_checkin_date": latest,
    }


def _derived(*, baseline: Any, current: Any, endpoint: Any, reached_week_12: Any) -> dict[str, Expression]:
    """The figures that follow from the measured ones, over any expressions that hold them.

    Change = endpoint - baseline (points); percent change = 100 x change /
    baseline, undefined at baseline 0; responder = at least 2 points and at
    least 30% down (unknown without an endpoint, never at baseline 0);
    worsening = current at least 2 points above baseline; a missing endpoint
    = week 12 over and no endpoint. CASE tries its branches in order, so the
    division never sees a baseline of 0.
    """
    change = endpoint - baseline
    percent = Value(100.0) * change / baseline
    zero = Exact(baseline, Value(0.0))
    return {
        "change": change,
        "percent_change": Case(When(zero, then=Value(None)), default=percent, output_field=FloatField()),
        "responder": Case(
            When(IsNull(endpoint, True) | IsNull(baseline, True), then=Value(None)),
            When(zero, then=Value(False)),
            When(
                LessThanOrEqual(change, Value(RESPONDER_POINTS + TOLERANCE))
                & LessThanOrEqual(percent, Value(RESPONDER_PERCENT + TOLERANCE)),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        "worsening": Case(
            When(
                GreaterThanOrEqual(current - baseline, Value(WORSENING_POINTS - TOLERANCE)), then=Value(True)
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


def _derived_by_name() -> dict[str, Expression]:
    """``_derived`` over the measured figures by name: a read's annotations, or a snapshot's columns."""
    names = ("baseline", "current", "endpoint", "reached_week_12")
    return _derived(**{name: F(name) for name in names})


def zone_todays(plans: QuerySet[CarePlan], *, now: datetime) -> dict[str, date]:
    """Today's date in each time zone of the plans' patients (one query; a handful of zones)."""
    zones = plans.order_by().values_list("patient__timezone", flat=True).distinct()
    return {str(zone): now.astimezone(zoneinfo.ZoneInfo(str(zone))).date() for zone in zones}


def _grouped(plans: QuerySet[CarePlan]) -> bool:
    """Whether ``plans``' database takes the grouped shape of ``_measured`` (PostgreSQL)."""
    return connections[plans.db].vendor == "postgresql"


def with_outcomes(plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date]) -> QuerySet[CarePlan]:
    """``plans`` annotated with every figure of OutcomeSnapshot.FIGURES, computed from the check-ins.

    For reads of a few plans, or one pass over many (the export): each derived
    figure repeats the measured subqueries it uses. ``today_by_zone``: see
    ``zone_todays``; a zone missing from it counts as week 12 not over.
    """
    return plans.annotate(**_measured(today_by_zone, grouped=_grouped(plans))).annotate(**_derived_by_name())


def outcomes_for_plans(
    plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date]
) -> dict[int, OutcomeSnapshot]:
    """Each plan's figures computed afresh, as unsaved snapshots keyed by plan id (one query)."""
    rows = with_outcomes(plans, today_by_zone=today_by_zone).values_list("pk", *OutcomeSnapshot.FIGURES)
    return {
        row[0]: OutcomeSnapshot(plan_id=row[0], **dict(zip(OutcomeSnapshot.FIGURES, row[1:], strict=True)))
        for row in rows
    }


def _id_ranges(plans: QuerySet[CarePlan], batch_size: int) -> Iterator[tuple[int, int]]:
    bounds = plans.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        yield start, start + batch_size


def _scoped(
    *, using: str, clinic_ids: Sequence[int] | None = None, plan_ids: Sequence[int] | None = None
) -> QuerySet[CarePlan]:
    plans = CarePlan.objects.using(using).all()
    if clinic_ids is not None:
        # A plan's clinic is its patient's (tenancy has one source).
        plans = plans.filter(patient__clinic_id__in=list(clinic_ids))
    if plan_ids is not None:
        plans = plans.filter(pk__in=list(plan_ids))
    return plans


def _refresh(
    plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date], now: datetime, using: str
) -> int:
    """Write the snapshots of ``plans`` whose measured figures changed (and new ones); returns how many.

    The measured figures come to Python (one query), are compared with the
    stored ones (one query), and only new or changed rows are upserted; then
    one UPDATE sets their derived figures from their own columns. An unchanged
    snapshot keeps its ``computed_at``: it is when the figures were last
    written, and every check-in received before it is reflected in them.
    """
    figures = _measured(today_by_zone, grouped=_grouped(plans))
    measured = plans.annotate(**figures).values_list("pk", *MEASURED).order_by()
    snapshots = OutcomeSnapshot.objects.using(using).filter(plan__in=plans.values("pk"))
    stored = {row[0]: row[1:] for row in snapshots.values_list("plan_id", *MEASURED).order_by()}
    changed = [
        OutcomeSnapshot(plan_id=row[0], computed_at=now, **dict(zip(MEASURED, row[1:], strict=True)))
        for row in measured
        if stored.get(row[0]) != row[1:]
    ]
    if not changed:
        return 0
    OutcomeSnapshot.objects.using(using).bulk_create(
        changed,
        batch_size=1_000,
        update_conflicts=True,
        unique_fields=["plan"],
        update_fields=[*MEASURED, "computed_at"],
    )
    # Only the rows just written carry this stamp (or rows written at the very same instant).
    snapshots.filter(computed_at=now).update(**_derived_by_name())
    return len(changed)


def outcome_refresh_all(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Recompute the snapshots of every plan (or of some clinics' or plans'), in plan id batches.

    ``now``: an aware datetime (default: now), which decides each patient's
    local today; ``clinic_ids`` / ``plan_ids``: limit the plans (None: all);
    ``batch_size``: plan ids per batch, each batch one transaction; ``using``:
    the database alias. Returns the number of snapshots written (new or with
    changed figures); unchanged ones are left as they are. Raises nothing of
    its own.
    """
    now = now or timezone.now()
    plans = _scoped(using=using, clinic_ids=clinic_ids, plan_ids=plan_ids)
    today_by_zone = zone_todays(plans, now=now)
    written = 0
    for low, high in _id_ranges(plans, batch_size):
        with transaction.atomic(using=using):
            batch = plans.filter(pk__gte=low, pk__lt=high)
            written += _refresh(batch, today_by_zone=today_by_zone, now=now, using=using)
    return written


def outcome_refresh_plan(
    *, plan_id: int, today: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> OutcomeSnapshot | None:
    """Recompute one plan's snapshot from its check-ins (after a check-in); a missing plan is a no-op.

    ``today``: the patient's local date (default: from their time zone now).
    Returns the snapshot as stored afterwards, or None when the plan does not
    exist. Writes only when a figure changed.
    """
    plan = CarePlan.objects.using(using).select_related("patient").filter(pk=plan_id).first()
    if plan is None:
        return None
    today = today or plan.patient.local_today()
    plans = CarePlan.objects.using(using).filter(pk=plan_id)
    with transaction.atomic(using=using):
        _refresh(plans, today_by_zone={str(plan.patient.timezone): today}, now=timezone.now(), using=using)
    return OutcomeSnapshot.objects.using(using).get(plan_id=plan_id)


#: The export's columns before the figures: who and which plan.
EXPORT_IDENTITY = ("clinic", "patient_email", "plan_title", "plan_start")


@dataclass(frozen=True)
class PlanOutcomeRow:
    """One exported plan: ``identity`` keyed by EXPORT_IDENTITY, ``figures`` by OutcomeSnapshot.FIGURES."""

    identity: Mapping[str, Any]
    figures: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.identity[name] if name in self.identity else self.figures[name]


def outcome_rows(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
    using: str = DEFAULT_DB_ALIAS,
) -> Iterator[PlanOutcomeRow]:
    """Every plan's outcome computed afresh from its check-ins, in plan id order, batch by batch.

    For exports: it reads the check-ins, never the (possibly stale) snapshots.
    Arguments as ``outcome_refresh_all``. Yields one PlanOutcomeRow per plan.
    """
    now = now or timezone.now()
    plans = _scoped(using=using, clinic_ids=clinic_ids)
    today_by_zone = zone_todays(plans, now=now)
    identity = {
        "clinic": F("patient__clinic__name"),
        "patient_email": F("patient__user__email"),
        "plan_title": F("title"),
        "plan_start": F("start_date"),
    }
    for low, high in _id_ranges(plans, batch_size):
        batch = with_outcomes(plans.filter(pk__gte=low, pk__lt=high), today_by_zone=today_by_zone)
        for row in (
            batch.annotate(**{f"export_{k}": v for k, v in identity.items()})
            .values(*(f"export_{k}" for k in EXPORT_IDENTITY), *OutcomeSnapshot.FIGURES)
            .order_by("pk")
        ):
            yield PlanOutcomeRow(
                identity={k: row[f"export_{k}"] for k in EXPORT_IDENTITY},
                figures={k: row[k] for k in OutcomeSnapshot.FIGURES},
            )
