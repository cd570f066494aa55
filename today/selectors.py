"""The patient's day: today's exercises from the active plan, each prescribed session and whether it is
marked done, the check-in, and what is left."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from accounts.models import Patient
from careplans.adherence import Adherence, adherence_for_plans
from careplans.models import CarePlan, ExerciseSession, PlanExercise
from careplans.phases import PhaseLabel, current_phase_label, in_current_phase, plan_phases
from careplans.selectors import active_plan_of, ordered_plan_exercises, week_label
from checkins.models import PainCheckIn
from questionnaires.selectors import DueQuestionnaire, questionnaires_due


@dataclass(frozen=True)
class SessionMark:
    """One prescribed session of an exercise today: its number (1 for the first) and whether it is done."""

    number: int
    done: bool


@dataclass(frozen=True)
class TodayExercise:
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


@dataclass
class TodayView:
    patient: Patient
    today: date
    plan: CarePlan | None = None
    week: str = ""
    # A phased plan's current phase ("Phase 2 of 3: Control · weeks 5-8"), None without phases.
    phase: PhaseLabel | None = None
    adherence: Adherence | None = None
    exercises: list[TodayExercise] = field(default_factory=list)
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
    def due(self) -> list[TodayExercise]:
        return [entry for entry in self.exercises if entry.due]

    @property
    def resting(self) -> list[TodayExercise]:
        return [entry for entry in self.exercises if not entry.due]

    @property
    def left(self) -> list[TodayExercise]:
        """Today's exercises with a session still to mark, in the plan's order."""
        return [entry for entry in self.due if not entry.finished_today]

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
    week_start = plan.start_date + timedelta(days=7 * max(0, (today - plan.start_date).days // 7))
    marked: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for plan_exercise_id, day, number in ExerciseSession.objects.filter(
        plan_exercise__plan=plan, local_date__gte=week_start, local_date__lte=today
    ).values_list("plan_exercise_id", "local_date", "number"):
        marked[plan_exercise_id].append((day, number))
    entries = []
    for plan_exercise in plan_exercises:
        # As adherence counts them: session numbers within the day's prescription.
        sessions = [(day, n) for day, n in marked[plan_exercise.pk] if n <= plan_exercise.sessions_per_day]
        done_today = frozenset(n for day, n in sessions if day == today)
        per_week = plan_exercise.days_per_week * plan_exercise.sessions_per_day
        entries.append(
            TodayExercise(
                plan_exercise=plan_exercise,
                sessions_done=done_today,
                sessions_this_week=len(sessions),
                due=bool(done_today) or len(sessions) < per_week,
            )
        )
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


def today_entry(*, patient: Patient, plan_exercise_id: int) -> tuple[TodayView, TodayExercise | None]:
    """The patient's day (``today_for``) and its entry for the plan exercise id, or None when that
    exercise is not in the active plan."""
    view = today_for(patient=patient)
    return view, next((entry for entry in view.exercises if entry.plan_exercise.pk == plan_exercise_id), None)
