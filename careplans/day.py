"""A plan's exercises on one of the patient's local days: each prescribed session and whether it is
marked done, the sessions of that plan week, and what is left. Today's page (``today.selectors``)
and the daily reminder (``reminders.delivery``) read the day from here, so both say the same."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from careplans.models import CarePlan, ExerciseSession, PlanExercise
from careplans.phases import in_current_phase
from careplans.selectors import ordered_plan_exercises


@dataclass(frozen=True)
class SessionMark:
    """One prescribed session of an exercise today: its number (1 for the first) and whether it is done."""

    number: int
    done: bool


@dataclass(frozen=True)
class DayExercise:
    """One exercise of a plan on one of the patient's local days: the sessions marked that day
    and that plan week, and whether it is still due (``day_exercises``)."""

    plan_exercise: PlanExercise
    # The numbers of today's prescribed sessions marked done (1 to sessions_per_day).
    sessions_done: frozenset[int]
    # Sessions marked this plan week, today's included, counted as adherence counts them.
    sessions_this_week: int
    # Exercises prescribed on fewer than 7 days a week rest once the week's sessions are in.
    due: bool

    @property
    def marks(self) -> list[SessionMark]:
        """One mark per session the plan prescribes today, in order."""
        return [
            SessionMark(number, number in self.sessions_done)
            for number in range(1, self.plan_exercise.sessions_per_day + 1)
        ]

    @property
    def sessions_left(self) -> list[int]:
        """Today's sessions not marked yet (their numbers)."""
        return [mark.number for mark in self.marks if not mark.done]

    @property
    def done_today(self) -> bool:
        """Every session of today is marked."""
        return not self.sessions_left

    @property
    def sessions_per_week(self) -> int:
        return self.plan_exercise.days_per_week * self.plan_exercise.sessions_per_day

    @property
    def finished_today(self) -> bool:
        """Nothing left to do today: every session marked, or the week's sessions are all in."""
        return self.done_today or self.sessions_this_week >= self.sessions_per_week


def day_exercises(
    *, plan: CarePlan, day: date, plan_exercises: Sequence[PlanExercise] | None = None
) -> list[DayExercise]:
    """The exercises the patient does on ``day`` (their local date) on ``plan``, in order: a phased
    plan's current phase's and those of no phase (issue 17), each with the sessions marked that
    day and in its plan week up to that day. ``plan_exercises``: the plan's exercises already read
    (``ordered_plan_exercises``), else read here. One query for the marks, plus two to read the
    exercises and their media when not given. An exercise prescribed on fewer than 7 days a week is not
    due once the week's sessions are in, unless a session was marked that day."""
    if plan_exercises is None:
        plan_exercises = in_current_phase(plan, ordered_plan_exercises(plan=plan))
    week_start = plan.start_date + timedelta(days=7 * max(0, (day - plan.start_date).days // 7))
    marked: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for plan_exercise_id, marked_on, number in ExerciseSession.objects.filter(
        plan_exercise__plan=plan, local_date__gte=week_start, local_date__lte=day
    ).values_list("plan_exercise_id", "local_date", "number"):
        marked[plan_exercise_id].append((marked_on, number))
    entries = []
    for plan_exercise in plan_exercises:
        # As adherence counts them: session numbers within the day's prescription.
        sessions = [(d, n) for d, n in marked[plan_exercise.pk] if n <= plan_exercise.sessions_per_day]
        done = frozenset(n for d, n in sessions if d == day)
        per_week = plan_exercise.days_per_week * plan_exercise.sessions_per_day
        entries.append(
            DayExercise(
                plan_exercise=plan_exercise,
                sessions_done=done,
                sessions_this_week=len(sessions),
                due=bool(done) or len(sessions) < per_week,
            )
        )
    return entries


def exercises_left(entries: Sequence[DayExercise]) -> list[DayExercise]:
    """The day's exercises still due with a session to mark, in the order given."""
    return [entry for entry in entries if entry.due and not entry.finished_today]
