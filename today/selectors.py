"""The patient's day: today's exercises from the active plan, each prescribed session and whether it is
marked done, the check-in, and what is left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from accounts.models import Patient
from careplans.adherence import Adherence, adherence_for_plans
from careplans.day import DayExercise, day_exercises, exercises_left
from careplans.models import CarePlan
from careplans.phases import PhaseLabel, current_phase_label, in_current_phase, plan_phases
from careplans.selectors import active_plan_of, ordered_plan_exercises, week_label
from checkins.models import PainCheckIn
from questionnaires.selectors import DueQuestionnaire, questionnaires_due


@dataclass
class TodayView:
    patient: Patient
    today: date
    plan: CarePlan | None = None
    week: str = ""
    # A phased plan's current phase ("Phase 2 of 3: Control · weeks 5-8"), None without phases.
    phase: PhaseLabel | None = None
    adherence: Adherence | None = None
    exercises: list[DayExercise] = field(default_factory=list)
    started: bool = True
    finished: bool = False
    checked_in: bool = False
    # The plan's questionnaires due today and not sent yet (issue 18).
    questionnaires: list[DueQuestionnaire] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """The plan runs today: its sessions can be marked and the check-in is asked for."""
        return self.plan is not None and self.started and not self.finished

    @property
    def due(self) -> list[DayExercise]:
        return [entry for entry in self.exercises if entry.due]

    @property
    def resting(self) -> list[DayExercise]:
        return [entry for entry in self.exercises if not entry.due]

    @property
    def left(self) -> list[DayExercise]:
        """Today's exercises with a session still to mark, in the plan's order."""
        return exercises_left(self.exercises)

    @property
    def sessions_today(self) -> int:
        """Sessions prescribed today: every session of the exercises due today."""
        return sum(entry.plan_exercise.sessions_per_day for entry in self.due)

    @property
    def sessions_done_today(self) -> int:
        return sum(len(entry.sessions_done) for entry in self.due)

    @property
    def exercises_done(self) -> bool:
        """Every session due today is marked."""
        return self.open and not self.left

    @property
    def day_done(self) -> bool:
        """Every session due today is marked, today's check-in is in and no questionnaire is left
        to send today: "You're done for today"."""
        return self.exercises_done and self.checked_in and not self.questionnaires

    @property
    def only_checkin_left(self) -> bool:
        """Every session is marked and only today's check-in is left."""
        return self.exercises_done and not self.checked_in and not self.questionnaires


def today_for(*, patient: Patient) -> TodayView:
    """The patient's day on their own local date: the active plan's exercises, each with today's
        prescribed sessions marked done or not, its sessions this plan week and whether it is still due,
        whether today's check-in is in, and adherence so far (six queries whatever the plan's size).
        A phased plan (issue 17): only the current phase's exercises (and those of no phase), and
        the phase named (one more query, for its phases); the questionnaires due today (one more,
    ``questionnaires.selectors.questionnaires_due``). Without an active plan, a view with no
        plan and no exercises."""
    today = patient.local_today()
    plan = active_plan_of(patient=patient)
    if plan is None:
        return TodayView(patient=patient, today=today)
    plan.patient = patient
    phases = plan_phases(plan=plan)
    plan_exercises = in_current_phase(plan, ordered_plan_exercises(plan=plan))
    entries = day_exercises(plan=plan, plan_exercises=plan_exercises, day=today)
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    return TodayView(
        patient=patient,
        today=today,
        plan=plan,
        week=week_label(plan, today),
        phase=current_phase_label(plan, phases),
        adherence=adherence,
        exercises=entries,
        started=today >= plan.start_date,
        finished=today > plan.end_date,
        checked_in=PainCheckIn.objects.filter(patient=patient, local_date=today).exists(),
        questionnaires=questionnaires_due(plan=plan, today=today) if today <= plan.end_date else [],
    )


def today_entry(*, patient: Patient, plan_exercise_id: int) -> tuple[TodayView, DayExercise | None]:
    """The patient's day (``today_for``) and its entry for the plan exercise id, or None when that
    exercise is not in the active plan."""
    view = today_for(patient=patient)
    return view, next((entry for entry in view.exercises if entry.plan_exercise.pk == plan_exercise_id), None)
