"""The patient's day: today's exercises from the active plan, and what is marked done."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from accounts.models import Patient
from careplans.adherence import Adherence, adherence_for_plans
from careplans.models import CarePlan, ExerciseSession, PlanExercise
from careplans.selectors import active_plan_of, ordered_plan_exercises, week_label


@dataclass(frozen=True)
class TodayExercise:
    plan_exercise: PlanExercise
    done_today: bool
    done_this_week: int
    # Exercises prescribed on fewer than 7 days a week rest once the week's quota is met.
    due: bool


@dataclass
class TodayView:
    patient: Patient
    today: date
    plan: CarePlan | None = None
    week: str = ""
    adherence: Adherence | None = None
    exercises: list[TodayExercise] = field(default_factory=list)
    started: bool = True
    finished: bool = False

    @property
    def due(self) -> list[TodayExercise]:
        return [entry for entry in self.exercises if entry.due]

    @property
    def resting(self) -> list[TodayExercise]:
        return [entry for entry in self.exercises if not entry.due]

    @property
    def done_count(self) -> int:
        return sum(1 for entry in self.exercises if entry.done_today)


def today_for(*, patient: Patient) -> TodayView:
    """The patient's day on their own local date: the active plan's exercises, each with whether it
    was marked done today and how often this plan week, and whether it is still due (five queries
    whatever the plan's size). Without an active plan, a view with no plan and no exercises."""
    today = patient.local_today()
    plan = active_plan_of(patient=patient)
    if plan is None:
        return TodayView(patient=patient, today=today)
    plan.patient = patient
    plan_exercises = ordered_plan_exercises(plan=plan)
    week_start = plan.start_date + timedelta(days=7 * max(0, (today - plan.start_date).days // 7))
    done_days = list(
        ExerciseSession.objects.filter(
            plan_exercise__plan=plan, local_date__gte=week_start, local_date__lte=today
        ).values_list("plan_exercise_id", "local_date")
    )
    entries = []
    for plan_exercise in plan_exercises:
        days = [day for plan_exercise_id, day in done_days if plan_exercise_id == plan_exercise.pk]
        done_today = today in days
        entries.append(
            TodayExercise(
                plan_exercise=plan_exercise,
                done_today=done_today,
                done_this_week=len(days),
                due=done_today or len(days) < plan_exercise.days_per_week,
            )
        )
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    return TodayView(
        patient=patient,
        today=today,
        plan=plan,
        week=week_label(plan, today),
        adherence=adherence,
        exercises=entries,
        started=today >= plan.start_date,
        finished=today > plan.end_date,
    )


def today_entry(*, patient: Patient, plan_exercise_id: int) -> tuple[TodayView, TodayExercise | None]:
    """The patient's day (``today_for``) and its entry for the plan exercise id, or None when that
    exercise is not in the active plan."""
    view = today_for(patient=patient)
    return view, next((entry for entry in view.exercises if entry.plan_exercise.pk == plan_exercise_id), None)
