"""Adherence: exercise sessions done / sessions prescribed so far, per plan and per plan week."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Func, IntegerField

from careplans.models import CarePlan, ExerciseSession, PlanExercise


@dataclass(frozen=True)
class WeekAdherence:
    week: int
    first: date
    last: date
    adherence: Adherence


def weekly_adherence(plan: CarePlan, *, today: date) -> list[WeekAdherence]:
    """Adherence for each plan week that has begun (two queries).

    Uses the same counting as careplans.adherence: sessions done up to what was
    due per exercise, in a week that has only partly elapsed only the days so far.
    """
    last_day = min(today, plan.end_date)
    if last_day < plan.start_date:
        return []
    items = list(PlanExercise.objects.filter(plan=plan).values_list("id", "days_per_week"))
    done: dict[tuple[int, int], int] = defaultdict(int)
    for plan_exercise_id, day in ExerciseSession.objects.filter(
        plan_exercise__plan=plan, local_date__gte=plan.start_date, local_date__lte=last_day
    ).values_list("plan_exercise_id", "local_date"):
        done[(plan_exercise_id, (day - plan.start_date).days // 7)] += 1
    weeks = []
    for index in range((last_day - plan.start_date).days // 7 + 1):
        first = plan.start_date + timedelta(days=7 * index)
        last = min(first + timedelta(days=6), last_day)
        week_done = week_due = 0
        for plan_exercise_id, days_per_week in items:
            due = prescribed_sessions(
                plan_start=plan.start_date, days_per_week=days_per_week, first=first, last=last
            )
            week_due += due
            week_done += min(done[(plan_exercise_id, index)], due)
        weeks.append(
            WeekAdherence(week=index + 1, first=first, last=last, adherence=Adherence(week_done, week_due))
        )
    return weeks


@dataclass(frozen=True)
class Adherence:
    done: int
    prescribed: int

    @property
    def ratio(self) -> float | None:
        return self.done / self.prescribed if self.prescribed else None

    @property
    def percent(self) -> int | None:
        ratio = self.ratio
        return None if ratio is None else round(100 * ratio)


def prescribed_sessions(*, plan_start: date, days_per_week: int, first: date, last: date) -> int:
    """Sessions of one exercise due between two local dates (inclusive), by plan week."""
    if last < first:
        return 0
    total = 0
    week_start = plan_start + timedelta(days=7 * max(0, (first - plan_start).days // 7))
    while week_start <= last:
        week_end = week_start + timedelta(days=6)
        days = (min(week_end, last) - max(week_start, first)).days + 1
        total += min(days_per_week, max(0, days))
        week_start += timedelta(days=7)
    return total


def _window(plan: CarePlan, today: date, since: date | None) -> tuple[date, date]:
    first = max(plan.start_date, since) if since else plan.start_date
    return first, min(today, plan.end_date)


class PlanWeek(Func):
    """The 0-based plan week of a session's local date, computed by the database."""

    # PostgreSQL: date - date is a whole number of days.
    template = "((%(expressions)s) / 7)"
    arg_joiner = " - "
    output_field = IntegerField()

    def __init__(self, day: str, start: str) -> None:
        super().__init__(F(day), F(start))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST((julianday(%(expressions)s)) / 7 AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _due_in_week(*, start: date, week: int, days_per_week: int, first: date, last: date) -> int:
    week_start = start + timedelta(days=7 * week)
    days = (min(week_start + timedelta(days=6), last) - max(week_start, first)).days + 1
    return min(days_per_week, max(0, days))


def adherence_for_plans(
    plans: Iterable[CarePlan], *, today: date | dict[int, date], since_days: int | None = None
) -> dict[int, Adherence]:
    """Adherence per plan id, so far (or over the last ``since_days`` days).

    ``today`` is one local date, or a dict of local dates by plan id (patients
    live in different time zones). Done sessions are capped week by week at what
    was due that week, so a burst of extra sessions in one week does not make up
    for a missed week later.
    """
    plans = list(plans)
    if not plans:
        return {}
    windows: dict[int, tuple[date, date]] = {}
    for plan in plans:
        day = today[plan.pk] if isinstance(today, dict) else today
        since = day - timedelta(days=since_days - 1) if since_days else None
        windows[plan.pk] = _window(plan, day, since)
    starts = {plan.pk: plan.start_date for plan in plans}
    plan_ids = list(starts)
    items = list(PlanExercise.objects.filter(plan__in=plan_ids).values_list("id", "plan_id", "days_per_week"))
    # (plan exercise id, plan week) -> sessions done in that week, inside the window.
    done_by_week: dict[tuple[int, int], int] = defaultdict(int)
    sessions = ExerciseSession.objects.filter(plan_exercise__plan__in=plan_ids)
    if since_days is None:
        # Sessions are only ever recorded on the patient's today or earlier, so
        # "so far" is everything from the plan's start: one count per exercise and week.
        counted = (
            sessions.filter(local_date__gte=F("plan_exercise__plan__start_date"))
            .annotate(week=PlanWeek("local_date", "plan_exercise__plan__start_date"))
            .values("plan_exercise_id", "week")
            .annotate(n=Count("id"))
            .values_list("plan_exercise_id", "week", "n")
        )
        for plan_exercise_id, week, n in counted:
            done_by_week[plan_exercise_id, week] = n
    else:
        # A short window: fetch (exercise, day) pairs and keep each plan's own days.
        earliest = min(first for first, _ in windows.values())
        pairs = sessions.filter(local_date__gte=earliest).values_list(
            "plan_exercise_id", "plan_exercise__plan_id", "local_date"
        )
        for plan_exercise_id, plan_id, day in pairs:
            first, last = windows[plan_id]
            if first <= day <= last:
                done_by_week[plan_exercise_id, (day - starts[plan_id]).days // 7] += 1
    done_weeks: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (plan_exercise_id, week), n in done_by_week.items():
        done_weeks[plan_exercise_id].append((week, n))
    done: dict[int, int] = defaultdict(int)
    prescribed: dict[int, int] = defaultdict(int)
    for plan_exercise_id, plan_id, days_per_week in items:
        first, last = windows[plan_id]
        start = starts[plan_id]
        prescribed[plan_id] += prescribed_sessions(
            plan_start=start, days_per_week=days_per_week, first=first, last=last
        )
        for week, n in done_weeks[plan_exercise_id]:
            due = _due_in_week(start=start, week=week, days_per_week=days_per_week, first=first, last=last)
            done[plan_id] += min(n, due)
    return {plan.pk: Adherence(done[plan.pk], prescribed[plan.pk]) for plan in plans}
