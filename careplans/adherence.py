"""Adherence: exercise sessions done / sessions prescribed so far, computed by the database.

DESIGN.md: "Adherence = sessions done / sessions prescribed so far", with a
*session* as the plan prescribes it (Plinth issue 15): an exercise prescribed
``sessions_per_day`` times a day on ``days_per_week`` days of each plan week is
due ``sessions_per_day`` sessions on each of those days. The patient marks each
session of the day on its own (careplans.sessions; ``ExerciseSession.number`` is
1 to ``sessions_per_day``). In a week that has only partly elapsed the exercise
is due on at most the elapsed days.

What counts as done: a day's sessions up to its prescription (a session numbered
above today's ``sessions_per_day``, left from before the therapist lowered it,
is extra), and a week's up to what was due in that week. So one of two sessions
of a "2 times a day" exercise on one of its days is 1 of 2 (50%) for that
exercise-day; doing extra never lifts adherence above 100% and never makes up
for a missed week.

The window is the plan's days from its start (or, with ``since_days``, from
that many days before the patient's today, never before the start) to the
patient's today or the plan's last day. ``adherence_for_plans`` and
``adherence_by_plan`` compute it for any number of plans in two queries: the
sessions that count, and the sessions due, each summed per plan by the
database. ``prescribed_sessions`` states the due count in Python for the
record's week-by-week chart (careplans.adherence_weeks). A phased plan's exercise
(issue 17) is due only while its phase is in force: from the phase's ``began_on`` to
its ``ended_on``, the patient's local dates (careplans.phase_moves keeps them).
tests/careplans/adherence_oracle.py states the same rule in plain Python, and a property
test holds the two to each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateField,
    Expression,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.db.models.lookups import Exact, LessThan

from accounts.zones import zone_case
from careplans.models import CarePlan, ExerciseSession, PlanExercise


@dataclass(frozen=True)
class Adherence:
    """Sessions done and sessions prescribed over a window of ``days`` plan days (0: not begun)."""

    done: int
    prescribed: int
    days: int = 0

    @property
    def first_day(self) -> bool:
        """A window of one day (so far or in recent days: the plan's first day) with nothing marked yet.

        The day is not over, so "0%" would be an alarm about a patient who has
        had no chance yet (Plinth issue 15); pages say "first day" instead.
        """
        return self.days == 1 and self.done == 0

    @property
    def ratio(self) -> float | None:
        return self.done / self.prescribed if self.prescribed else None

    @property
    def percent(self) -> int | None:
        ratio = self.ratio
        return None if ratio is None else round(100 * ratio)


def prescribed_sessions(
    *, plan_start: date, days_per_week: int, first: date, last: date, sessions_per_day: int = 1
) -> int:
    """Sessions of one exercise due between two local dates (inclusive), by plan week.

    Per plan week, ``sessions_per_day`` on each of at most ``days_per_week`` of the
    week's days between ``first`` and ``last``.
    """
    if last < first:
        return 0
    total = 0
    week_start = plan_start + timedelta(days=7 * max(0, (first - plan_start).days // 7))
    while week_start <= last:
        week_end = week_start + timedelta(days=6)
        days = (min(week_end, last) - max(week_start, first)).days + 1
        total += min(days_per_week, max(0, days)) * sessions_per_day
        week_start += timedelta(days=7)
    return total


class DaysAfter(Func):
    """``date + days`` (a whole number of days, may be negative) as a date, on both backends.

    PostgreSQL adds an integer to a date; SQLite's ``date()`` takes a modifier.
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


class DaysBetween(Func):
    """``later - earlier`` in whole days (an integer, negative if ``later`` is earlier), on both backends.

    PostgreSQL subtracts dates to an integer; SQLite subtracts Julian day numbers.
    """

    arity = 2
    output_field = IntegerField()
    template = "(%(expressions)s)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        """SQLite: ``CAST(julianday(a) - julianday(b) AS INTEGER)``."""
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


#: How the patient's today reaches the queries: one date, dates by plan id, or dates by
#: time zone name (``TodayByZone``), which stays small for any number of plans.
Today = date | Mapping[int, date]


@dataclass(frozen=True)
class TodayByZone:
    """Each time zone's local date, for plans whose patients live in those zones."""

    dates: Mapping[str, date]


def _today(plan: str, today: Today | TodayByZone) -> Expression:
    """The patient's today for the plan at lookup path ``plan`` ("" for a CarePlan row)."""
    if isinstance(today, TodayByZone):
        return zone_case(dict(today.dates), DateField(), field=f"{plan}patient__timezone")
    if isinstance(today, date):
        return Value(today, output_field=DateField())
    plans_on: dict[date, list[int]] = defaultdict(list)
    for plan_id, day in today.items():
        plans_on[day].append(plan_id)
    whens = [When(**{f"{plan}pk__in": ids}, then=Value(day)) for day, ids in sorted(plans_on.items())]
    return Case(*whens, default=Value(None), output_field=DateField())


def _todays(today: Today | TodayByZone) -> list[date]:
    """The patients' todays, as a list."""
    if isinstance(today, date):
        return [today]
    return list(today.dates.values() if isinstance(today, TodayByZone) else today.values())


def _window(plan: str, today: Expression, since_days: int | None) -> tuple[Expression, Expression]:
    """The window's first and last plan days (0 is the start date) for the plan at path ``plan``."""
    days = DaysBetween(today, F(f"{plan}start_date"))  # today's plan day
    first: Expression = Value(0) if since_days is None else Greatest(Value(0), days - Value(since_days - 1))
    last = Least(days, F(f"{plan}length_weeks") * Value(7) - Value(1))
    return first, last


def _due(first: Expression, last: Expression, days_per_week: Expression | F) -> Expression:
    """Exercise-days of one exercise due in plan days ``first``..``last``: up to ``days_per_week`` a week.

    The first and the last week may be partial; the weeks between are whole.
    """
    first_week, last_week = first / Value(7), last / Value(7)
    one_week = Least(days_per_week, last - first + Value(1))
    weeks = (
        Least(days_per_week, first_week * Value(7) + Value(7) - first)
        + (last_week - first_week - Value(1)) * days_per_week
        + Least(days_per_week, last - last_week * Value(7) + Value(1))
    )
    return Case(
        When(LessThan(last, first), then=Value(0)),
        When(Exact(first_week, last_week), then=one_week),
        default=weeks,
        output_field=IntegerField(),
    )


#: A plan day no window reaches: the first day of a phase that has not begun.
_NEVER = 100_000


def _phase_window(item: str, first: Expression, last: Expression) -> tuple[Expression, Expression]:
    """The window's plan days narrowed to those the plan exercise at path ``item`` was due in:
    its phase's ``began_on`` to ``ended_on`` (issue 17; none before a phase begins, no end
    while it runs), the whole window for an exercise of no phase."""
    start = F(f"{item}plan__start_date")
    began = DaysBetween(F(f"{item}phase__began_on"), start)
    ended = DaysBetween(F(f"{item}phase__ended_on"), start)
    in_phase_first = Case(
        When(**{f"{item}phase__isnull": True}, then=first),
        When(**{f"{item}phase__began_on__isnull": True}, then=Value(_NEVER)),
        default=Greatest(first, began),
        output_field=IntegerField(),
    )
    in_phase_last = Case(
        When(**{f"{item}phase__ended_on__isnull": True}, then=last),
        default=Least(last, ended),
        output_field=IntegerField(),
    )
    return in_phase_first, in_phase_last


def _prescribed(
    plan_items: QuerySet[PlanExercise], today: Today | TodayByZone, since_days: int | None
) -> Any:
    """Rows (plan id, sessions due in the window, plan days in the window), one per plan with exercises."""
    first, last = _window("plan__", _today("plan__", today), since_days)
    in_phase_first, in_phase_last = _phase_window("", first, last)
    return (
        plan_items.order_by()
        .values("plan")
        .annotate(
            due=Sum(_due(in_phase_first, in_phase_last, F("days_per_week")) * F("sessions_per_day")),
            days=Max(Greatest(Value(0), last - first + Value(1))),
        )
        .values_list("plan", "due", "days")
    )


def _done(sessions: QuerySet[ExerciseSession], today: Today | TodayByZone, since_days: int | None) -> Any:
    """Rows (plan id, sessions that count), one per plan with any.

    A session counts when it is in the window, its number is within the
    exercise's ``sessions_per_day`` (the day's cap), and fewer than
    ``days_per_week`` x ``sessions_per_day`` such sessions of the same exercise
    came before it (by date, then number) in its plan week, inside the window.
    That is the week's sessions capped at what was due: a partial week's due is
    its days in the window times the sessions a day, which its sessions cannot
    exceed.
    """
    plan = "plan_exercise__plan__"
    today_date = _today(plan, today)
    first, last = _window(plan, today_date, since_days)
    start = F(f"{plan}start_date")
    first_date: Expression | F = (
        start if since_days is None else Greatest(start, DaysAfter(today_date, 1 - since_days))
    )
    if since_days is not None:
        # The same bound as a constant, the earliest over every patient's today: an index
        # can use it, so a short window reads only the recent sessions.
        sessions = sessions.filter(local_date__gte=min(_todays(today)) - timedelta(days=since_days - 1))
    per_day = F("plan_exercise__sessions_per_day")
    # Only while the exercise's phase was in force (issue 17); every day for one of no phase.
    in_phase = Q(plan_exercise__phase__isnull=True) | Q(
        Q(plan_exercise__phase__ended_on__isnull=True)
        | Q(plan_exercise__phase__ended_on__gte=F("local_date")),
        plan_exercise__phase__began_on__lte=F("local_date"),
    )
    in_window = (
        sessions.filter(in_phase, local_date__gte=first_date, local_date__lte=today_date, number__lte=per_day)
        .alias(
            day=DaysBetween(F("local_date"), start),
            start=start,
            per_day=per_day,
            # The first plan day of the session's week that is inside the window.
            week_from=Greatest(first, DaysBetween(F("local_date"), start) / Value(7) * Value(7)),
        )
        .filter(day__lte=last)
    )
    # The same exercise's counted sessions earlier in that week: the same day with a lower
    # number, or at most the 6 days before (an index range).
    earlier = (
        ExerciseSession.objects.filter(
            plan_exercise=OuterRef("plan_exercise"),
            local_date__lte=OuterRef("local_date"),
            local_date__gte=DaysAfter(OuterRef("local_date"), -6),
            number__lte=OuterRef("per_day"),
        )
        .filter(Q(local_date__lt=OuterRef("local_date")) | Q(number__lt=OuterRef("number")))
        .alias(day=DaysBetween(F("local_date"), OuterRef("start")))
        .filter(day__gte=OuterRef("week_from"))
        .order_by()
        .values("plan_exercise")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # A session whose place in the week (0 for the first session of the week's first day in
    # the window) is under the week's due counts whatever came before it: the count of
    # earlier ones is only looked up for the others (none at all for an exercise due every day).
    week_due = F("plan_exercise__days_per_week") * F("per_day")
    place = (F("day") - F("week_from")) * F("per_day") + F("number") - Value(1)
    counts = Q(place__lt=week_due) | Q(earlier__lt=week_due)
    return (
        in_window.alias(
            place=place, earlier=Coalesce(Subquery(earlier, output_field=IntegerField()), Value(0))
        )
        .filter(counts)
        .order_by()
        .values("plan_exercise__plan")
        .annotate(done=Count("pk"))
        .values_list("plan_exercise__plan", "done")
    )


def adherence_by_plan(
    plans: QuerySet[CarePlan] | list[int], *, today: Today | TodayByZone, since_days: int | None = None
) -> dict[int, Adherence]:
    """Adherence per plan id of ``plans`` (a queryset, or plan ids) that has exercises, in two queries.

    So far, or over the last ``since_days`` days of each patient's calendar.
    ``today``: the patients' local date, dates by plan id, or ``TodayByZone``.
    Returns an Adherence (sessions done, sessions due, plan days in the window; 0 due
    before the plan starts) per plan id; a plan without exercises is left out.
    """
    if not _todays(today):
        return {}  # nobody's today is known: no plans
    due = _prescribed(PlanExercise.objects.filter(plan__in=plans), today, since_days)
    done = dict(_done(ExerciseSession.objects.filter(plan_exercise__plan__in=plans), today, since_days))
    return {pk: Adherence(done.get(pk, 0), prescribed or 0, days or 0) for pk, prescribed, days in due}


def adherence_for_plans(
    plans: Iterable[CarePlan], *, today: Today, since_days: int | None = None
) -> dict[int, Adherence]:
    """Adherence per plan id, so far (or over the last ``since_days`` days), in two queries.

    ``today`` is the patients' local date, or a dict of local dates by plan id
    (patients live in different time zones). Returns an Adherence (sessions
    done, sessions due; both 0 before the plan starts or without exercises)
    for every plan given.
    """
    ids = [plan.pk for plan in plans]
    if not ids:
        return {}
    found = adherence_by_plan(ids, today=today, since_days=since_days)
    return {pk: found.get(pk, Adherence(0, 0)) for pk in ids}
