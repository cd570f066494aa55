"""The patient's marks: one prescribed session of an exercise of today's plan marked done or not done.

An exercise prescribed "2 times a day" has sessions 1 and 2 each day it is due;
each is marked (and undone) on its own, and each mark and undo is audited.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction

from accounts.localday import answer_day
from accounts.models import Patient
from audit.services import audit_log
from careplans.models import ExerciseSession, PlanExercise, PlanStatus
from portal.errors import DomainError


@transaction.atomic
def exercise_session_mark(
    *,
    patient: Patient,
    plan_exercise_id: int,
    done: bool,
    session: int = 1,
    local_date: date | None = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> PlanExercise:
    """Mark one session of an exercise of the active plan done (or not) on one of the patient's local dates.

    ``plan_exercise_id``: a plan exercise id; ``session``: which of the day's prescribed
    sessions, 1 to the exercise's ``sessions_per_day``; ``local_date``: the date the
    Today page was rendered for (None: the patient's day at ``now``, an aware datetime
    defaulting to now); the rule of ``accounts.localday.answer_day`` decides whether it
    still takes answers. Idempotent: the form says which state it wants, so a double
    tap or a resubmitted form never flips it back. Every change writes one audit entry
    (``exercise_session.done`` or ``exercise_session.undone``, with the exercise, the
    date and the session). Returns the plan exercise, plan and exercise loaded.

    Raises DomainError: not_found (not in the patient's active plan), session_out_of_range
    (session: not one of the day's prescribed sessions), day_in_future (local_date),
    day_closed (local_date), outside_plan (local_date: outside the plan's weeks),
    not_in_phase (local_date: a phased plan's exercise whose phase was not in force that
    day, issue 17).
    """
    item = (
        PlanExercise.objects.select_related("plan", "exercise", "phase")
        .filter(pk=plan_exercise_id, plan__patient=patient, plan__status=PlanStatus.ACTIVE)
        .first()
    )
    if item is None:
        raise DomainError("That exercise is not in your current plan.", code="not_found")
    if not 1 <= session <= item.sessions_per_day:
        raise DomainError(
            f"{item.exercise.name} has {item.sessions_per_day} session"
            f"{'s' if item.sessions_per_day != 1 else ''} a day; there is no session {session}.",
            field="session",
            code="session_out_of_range",
        )
    day = answer_day(patient=patient, day=local_date, now=now)
    if not item.plan.start_date <= day <= item.plan.end_date:
        raise DomainError(
            f"Your plan runs from {item.plan.start_date:%-d %b} to {item.plan.end_date:%-d %b %Y}.",
            field="local_date",
            code="outside_plan",
        )
    phase = item.phase
    if phase is not None and not (
        phase.began_on is not None and phase.began_on <= day <= (phase.ended_on or day)
    ):
        raise DomainError(
            f"{item.exercise.name} belongs to another phase of your plan ({phase.name}).",
            field="local_date",
            code="not_in_phase",
        )
    existing = ExerciseSession.objects.filter(plan_exercise=item, local_date=day, number=session)
    data = {"exercise": item.exercise.slug, "local_date": day.isoformat(), "session": session}
    if done:
        if not existing.exists():
            try:
                with transaction.atomic():
                    ExerciseSession.objects.create(
                        patient=patient, plan_exercise=item, local_date=day, number=session
                    )
            except IntegrityError:
                pass  # The same tap arrived twice at once: it is done, which is what was asked.
            else:
                audit_log(action="exercise_session.done", actor=patient.user, obj=item.plan, ip=ip, data=data)
    elif existing.delete()[0]:
        audit_log(action="exercise_session.undone", actor=patient.user, obj=item.plan, ip=ip, data=data)
    return item
