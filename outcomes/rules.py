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

- measured (``_measured``): baseline, current, endpoint, count and latest date,
  each a correlated subquery that reads only its own dates from the
  ``(plan, local_date, nprs)`` index (a week mean 7 entries, a fallback 1), and
  whether week 12 is over in the patient's calendar;
- derived (``_derived``): change, percent change, responder, worsening and the
  missing endpoint, arithmetic on the measured ones. They are built from
  whatever holds the measured figures: the annotations of a read, or the
  snapshot's own columns after a write (so the nightly write does not evaluate
  each measured subquery again for every rule that uses it).

The nightly recompute on PostgreSQL checks the stored snapshots first
(``_snapshot_checks``): one GROUP BY over the check-ins of every snapshot's
plan states the same measured figures as conditional aggregates, with no
subquery, so the planner splits it over its parallel workers like a plain
GROUP BY, and compares them with the stored ones in the query; only a flag per
snapshot leaves the database. It takes ``current`` from the snapshot's own
latest date, which is the rule's window while that date is still the latest
check-in. The plans it does not clear (changed, no snapshot yet, a new latest
check-in, no check-in left, week 12 just over) are recomputed with
``_measured``. SQLite runs ``_measured`` for every plan, which its planner does
faster than the join and GROUP BY.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    ExpressionWrapper,
    F,
    FloatField,
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
from django.db.models.functions import Cast, Coalesce, Mod
from django.db.models.lookups import Exact, GreaterThanOrEqual, IsNull, LessThanOrEqual
from django.utils import timezone

from accounts.models import Patient
from careplans.adherence import DaysAfter, DaysBetween
from careplans.models import CarePlan
from checkins.models import NPRS_MAX, PainCheckIn
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

#: Plans per batch of the nightly recompute: each batch's writes are one transaction,
#: and at most this many plans' measured figures pass through this process at once.
DEFAULT_BATCH = 20_000


#: The figures computed from the check-ins; the rest of OutcomeSnapshot.FIGURES is derived.
MEASURED = ("baseline", "current", "endpoint", "reached_week_12", "checkin_count", "last_checkin_date")

#: PostgreSQL's nightly check: when more than one checked snapshot in this many changed,
#: their figures come from a second pass over the check-ins rather than plan by plan
#: (``_measured`` takes about 7 times as long per plan as the pass, measured at 100,000 plans).
RECHECK_SHARE = 10

#: One more than the highest NPRS: a check-in encoded as ``plan day x NPRS_SPAN + NPRS``
#: orders by day, and its NPRS is the remainder (``_reading``).
NPRS_SPAN = NPRS_MAX + 1


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


def _week12_over(today_by_zone: Mapping[str, date]) -> Q:
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


def _measured(today_by_zone: Mapping[str, date]) -> dict[str, Any]:
    """The measured figures of a CarePlan row, keyed as ``MEASURED``: the definition.

    Each is a correlated subquery on the ``(plan, local_date, nprs)`` index that
    reads only the entries it needs (a week mean 7, a fallback 1, the latest 1);
    a fallback is evaluated only for a plan whose week mean is missing (COALESCE
    stops at its first value). ``today_by_zone``: see ``_week12_over``.
    """
    # Inside the subquery over check-ins, the plan is one level further out.
    week_ending_at_latest = _checkins().filter(
        local_date__gte=DaysAfter(_latest_date(OuterRef(OuterRef("pk"))), -6)
    )
    counted = _checkins().values("plan").annotate(n=Count("pk")).values("n")
    return {
        # Week-1 mean, else the first check-in of days 7-13.
        "baseline": Coalesce(_mean(_days(*WEEK1)), _nprs_of(_days(*BASELINE_FALLBACK), "local_date")),
        # The 7 days ending at the latest check-in (none without check-ins).
        "current": _mean(week_ending_at_latest),
        # Week-12 mean, else the latest check-in of days 63-83.
        "endpoint": Coalesce(_mean(_days(*WEEK12)), _nprs_of(_days(*ENDPOINT_FALLBACK), "-local_date")),
        # A probe of the plan's own row: as a join it would repeat the patient on every row.
        "reached_week_12": Exists(CarePlan.objects.filter(_week12_over(today_by_zone), pk=OuterRef("pk"))),
        "checkin_count": Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)),
        "last_checkin_date": _latest_date(OuterRef("pk")),
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


def zone_todays(patients: QuerySet[Patient], *, now: datetime) -> dict[str, date]:
    """Today's date in each time zone of ``patients`` (one query; a handful of zones)."""
    zones = patients.order_by().values_list("timezone", flat=True).distinct()
    return {str(zone): now.astimezone(zoneinfo.ZoneInfo(str(zone))).date() for zone in zones}


def _patients(
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
    return plans.annotate(**_measured(today_by_zone)).annotate(**_derived_by_name())


def outcomes_for_plans(
    plans: QuerySet[CarePlan], *, today_by_zone: Mapping[str, date]
) -> dict[int, OutcomeSnapshot]:
    """Each plan's figures computed afresh, as unsaved snapshots keyed by plan id (one query)."""
    rows = with_outcomes(plans, today_by_zone=today_by_zone).values_list("pk", *OutcomeSnapshot.FIGURES)
    return {
        row[0]: OutcomeSnapshot(plan_id=row[0], **dict(zip(OutcomeSnapshot.FIGURES, row[1:], strict=True)))
        for row in rows
    }


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


def _snapshot_checks(snapshots: QuerySet[OutcomeSnapshot], *, changed_only: bool) -> Iterable[Row]:
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
        "now_endpoint": Coalesce(_mean_of_days(*WEEK12), _last_of_days(*ENDPOINT_FALLBACK)),
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


def _plans_to_measure(plans: QuerySet[CarePlan], today_by_zone: Mapping[str, date]) -> QuerySet[CarePlan]:
    """Of ``plans``, those without a snapshot, or whose snapshot's ``reached_week_12`` is out of date.

    ``today_by_zone`` must hold every zone of the plans' patients (``zone_todays``, ``_patients``).
    The zones' todays are a day or two apart, so only the plans that started in
    that band need their patient's zone: before it, week 12 is over in every
    zone; after it, in none.
    """
    if not today_by_zone:
        return plans.filter(outcome__isnull=True)
    cutoffs = [today - timedelta(days=WEEK12_COMPLETE_DAY) for today in today_by_zone.values()]
    band = plans.filter(start_date__gt=min(cutoffs), start_date__lte=max(cutoffs))
    over = Q(start_date__lte=min(cutoffs)) | Q(
        pk__in=band.filter(_week12_over(today_by_zone)).order_by().values("pk")
    )
    return plans.filter(
        Q(outcome__isnull=True)
        | Q(outcome__reached_week_12=False) & over
        | Q(outcome__reached_week_12=True) & ~over
    )


def _measured_changes(plans: QuerySet[CarePlan], today_by_zone: Mapping[str, date]) -> list[Row]:
    """``plans``' figures by ``_measured``: the rows that differ from their snapshot (or have none)."""
    measured = plans.annotate(**_measured(today_by_zone)).values_list("pk", *MEASURED).order_by()
    snapshots = OutcomeSnapshot.objects.using(plans.db).filter(plan__in=plans.values("pk"))
    stored = {row[0]: row[1:] for row in snapshots.values_list("plan_id", *MEASURED).order_by()}
    return [row for row in measured if stored.get(row[0]) != row[1:]]


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _checked_changes(
    plans: QuerySet[CarePlan],
    snapshots: QuerySet[OutcomeSnapshot],
    today_by_zone: Mapping[str, date],
    batch_size: int,
) -> Iterator[list[Row]]:
    """PostgreSQL: the changed measured rows of ``plans`` (whose snapshots are ``snapshots``), in lists
    of at most ``batch_size``.

    ``_snapshot_checks`` clears the snapshots that still hold. ``_measured``
    recomputes the others, the plans that lost every check-in and those
    ``_plans_to_measure`` names. When more than ``1 / RECHECK_SHARE`` of the
    checked snapshots changed, a second ``_snapshot_checks`` pass gives their
    new figures instead (one more pass is then cheaper than one plan at a
    time), except where the latest check-in moved (``current`` moves to
    another week).
    """
    to_measure = set(_plans_to_measure(plans, today_by_zone).values_list("pk", flat=True).order_by())
    checked: list[int] = []
    changed: set[int] = set()
    stored_with_checkins = 0
    for pk, holds, stored_count in _snapshot_checks(snapshots, changed_only=False):
        checked.append(pk)
        stored_with_checkins += stored_count > 0
        if not holds:
            changed.add(pk)
    with_checkins = snapshots.filter(checkin_count__gt=0)
    if with_checkins.count() != stored_with_checkins:
        # Some plans lost every check-in since their snapshot (the check joins the check-ins).
        to_measure |= set(with_checkins.values_list("plan_id", flat=True).order_by()) - set(checked)
    if len(changed) * RECHECK_SHARE <= len(checked):
        to_measure |= changed
    else:
        decided: list[Row] = []
        for pk, *figures, stored_latest, reached in _snapshot_checks(snapshots, changed_only=True):
            baseline, current, endpoint, count, latest = figures
            if pk in to_measure or latest != stored_latest:
                to_measure.add(pk)
            else:
                decided.append((pk, baseline, current, endpoint, reached, count, latest))
        yield from _chunks(decided, batch_size)
    for ids in _chunks(sorted(to_measure), batch_size):
        yield _measured_changes(plans.filter(pk__in=ids), today_by_zone)


def _id_ranges(plans: QuerySet[CarePlan], batch_size: int) -> Iterator[tuple[int, int]]:
    bounds = plans.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        yield start, start + batch_size


def _scope(*, clinic_ids: Sequence[int] | None, plan_ids: Sequence[int] | None, plan: str = "") -> Q:
    """A filter on CarePlan (``plan=""``) or on a model that points at one (``plan="plan__"``)."""
    scope = Q()
    if clinic_ids is not None:
        # A plan's clinic is its patient's (tenancy has one source).
        scope &= Q(**{f"{plan}patient__clinic_id__in": list(clinic_ids)})
    if plan_ids is not None:
        scope &= Q(**{f"{plan}pk__in": list(plan_ids)})
    return scope


def _write(
    rows: Iterable[Row], *, now: datetime, using: str, among: QuerySet[OutcomeSnapshot] | None = None
) -> int:
    """Upsert the measured ``rows``, then set their derived figures from their own columns; returns how many.

    ``among``: snapshots that include the rows' (the UPDATE picks this run's stamp
    out of them); None: the rows' plan ids, as a list. The caller holds the
    transaction. An unchanged snapshot is never passed here, so it keeps its
    ``computed_at``: when its figures were last written, and every check-in
    received before it is reflected in them.
    """
    changed = [
        OutcomeSnapshot(plan_id=row[0], computed_at=now, **dict(zip(MEASURED, row[1:], strict=True)))
        for row in rows
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
    if among is None:
        among = OutcomeSnapshot.objects.using(using).filter(plan__in=[s.plan_id for s in changed])
    # Only the rows just written carry this stamp (or rows written at the very same instant).
    among.filter(computed_at=now).update(**_derived_by_name())
    return len(changed)


def outcome_refresh_all(
    *,
    now: datetime | None = None,
    clinic_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Recompute the snapshots of every plan (or of some clinics' or plans'), writing the changed ones.

    ``now``: an aware datetime (default: now), which decides each patient's
    local today; ``clinic_ids`` / ``plan_ids``: limit the plans (None: all);
    ``batch_size``: at most this many snapshots written per transaction (and,
    on SQLite, plan ids computed per query); ``using``: the database alias.
    Returns the number of snapshots written (new or with changed figures);
    unchanged ones are left as they are. Raises nothing of its own.
    """
    now = now or timezone.now()
    plans = CarePlan.objects.using(using).filter(_scope(clinic_ids=clinic_ids, plan_ids=plan_ids))
    today_by_zone = zone_todays(_patients(using=using, clinic_ids=clinic_ids, plan_ids=plan_ids), now=now)
    written = 0
    if connections[using].vendor == "postgresql":
        # Scoped on their own columns: through ``plans`` the check would carry one more join.
        snapshots = OutcomeSnapshot.objects.using(using).filter(
            _scope(clinic_ids=clinic_ids, plan_ids=plan_ids, plan="plan__")
        )
        for rows in _checked_changes(plans, snapshots, today_by_zone, batch_size):
            with transaction.atomic(using=using):
                written += _write(rows, now=now, using=using)
        return written
    for low, high in _id_ranges(plans, batch_size):
        with transaction.atomic(using=using):
            batch = plans.filter(pk__gte=low, pk__lt=high)
            among = OutcomeSnapshot.objects.using(using).filter(plan__in=batch.values("pk"))
            written += _write(_measured_changes(batch, today_by_zone), now=now, using=using, among=among)
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
        rows = _measured_changes(plans, {str(plan.patient.timezone): today})
        _write(rows, now=timezone.now(), using=using)
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
