"""Adherence week by week, for the patient record's chart: the rule of careplans.adherence in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F

from careplans.adherence import Adherence, prescribed_sessions
from careplans.models import CarePlan, ExerciseSession, PlanExercise


def _in_force(phase_id: int | None, began: date | None, ended: date | None) -> tuple[date, date]:
    """The local dates a plan exercise is due in: every date without a phase, none while its
    phase has not begun (an empty range), else its phase's ``began_on`` to ``ended_on``."""
    if phase_id is None:
        return date.min, date.max
    if began is None:
        return date.max, date.min
    return began, ended or date.max


@dataclass(frozen=True)
class WeekAdherence:
    week: int
    first: date
    last: date
    adherence: Adherence


def weekly_adherence(plan: CarePlan, *, today: date) -> list[WeekAdherence]:
    """Adherence for each plan week that has begun (two queries).

    Uses the same counting as careplans.adherence: a day's sessions up to its
    prescription, a week's up to what was due per exercise, in a week that has only
    partly elapsed only the days so far, and a phased plan's exercise only while its
    phase was in force (``began_on`` to ``ended_on``; issue 17). Each week's ``days`` is
    its days so far (week 1 with one day is the plan's first day).
    """
    last_day = min(today, plan.end_date)
    if last_day < plan.start_date:
        return []
    items = list(
        PlanExercise.objects.filter(plan=plan).values_list(
            "id", "days_per_week", "sessions_per_day", "phase_id", "phase__began_on", "phase__ended_on"
        )
    )
    windows = {pk: _in_force(phase_id, began, ended) for pk, _, _, phase_id, began, ended in items}
    done: dict[tuple[int, int], int] = defaultdict(int)
    for plan_exercise_id, day in ExerciseSession.objects.filter(
        plan_exercise__plan=plan,
        local_date__gte=plan.start_date,
        local_date__lte=last_day,
        number__lte=F("plan_exercise__sessions_per_day"),
    ).values_list("plan_exercise_id", "local_date"):
        since, until = windows[plan_exercise_id]
        if since <= day <= until:
            done[(plan_exercise_id, (day - plan.start_date).days // 7)] += 1
    weeks = []
    for index in range((last_day - plan.start_date).days // 7 + 1):
        first = plan.start_date + timedelta(days=7 * index)
        last = min(first + timedelta(days=6), last_day)
        week_done = week_due = 0
        for plan_exercise_id, days_per_week, sessions_per_day, *_ in items:
            since, until = windows[plan_exercise_id]
            due = prescribed_sessions(
                plan_start=plan.start_date,
                days_per_week=days_per_week,
                first=max(first, since),
                last=min(last, until),
                sessions_per_day=sessions_per_day,
            )
            week_due += due
            week_done += min(done[(plan_exercise_id, index)], due)
        days = (last - first).days + 1
        weeks.append(
            WeekAdherence(
                week=index + 1,
                first=first,
                last=last,
                adherence=Adherence(week_done, week_due, days),
            )
        )
    return weeks
