"""A patient's own data, all of it, as one JSON document (their right of access)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import Patient
from alerts.models import Alert
from audit.models import AuditEvent
from careplans.models import CarePlan, ExerciseSession, PlanExercise, PlanPhase, PlanVersion
from checkins.models import PainCheckIn
from conversations.models import Message
from outcomes.figures import PlanFigures
from outcomes.models import OutcomeSnapshot
from outcomes.selectors import outcome_figures
from questionnaires.answers import answered_items
from questionnaires.models import Instrument, InstrumentResponse
from reminders.models import ReminderDelivery

EXPORT_FORMAT = "plinth.patient-export.v1"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _plan(plan: CarePlan, shown: PlanFigures) -> dict[str, Any]:
    outcome: OutcomeSnapshot | None = getattr(plan, "outcome", None)
    return {
        "id": plan.pk,
        "title": plan.title,
        "condition": plan.condition,
        "therapist": plan.therapist.user.full_name,
        "start_date": _iso(plan.start_date),
        "length_weeks": plan.length_weeks,
        "status": plan.status,
        "status_reason": plan.status_reason,
        "created_at": _iso(plan.created_at),
        "activated_at": _iso(plan.activated_at),
        "ended_at": _iso(plan.ended_at),
        "exercises": [
            {
                "exercise": plan_exercise.exercise.name,
                "slug": plan_exercise.exercise.slug,
                "position": plan_exercise.position,
                "sets": plan_exercise.sets,
                "reps": plan_exercise.reps,
                "hold_seconds": plan_exercise.hold_seconds,
                "sessions_per_day": plan_exercise.sessions_per_day,
                "days_per_week": plan_exercise.days_per_week,
                "note": plan_exercise.note,
                "phase": plan_exercise.phase.name if plan_exercise.phase is not None else None,
            }
            for plan_exercise in plan.exercises.all()
        ],
        # A phased plan's phases (issue 17) and the local dates each was in force.
        "phases": [
            {
                "name": phase.name,
                "starts_week": phase.starts_week,
                "began_on": _iso(phase.began_on),
                "ended_on": _iso(phase.ended_on),
                "current": phase.pk == plan.current_phase_id,
            }
            for phase in plan.phases.all()
        ],
        "phase_held": plan.phase_held,
        "versions": [
            {"number": v.number, "created_at": _iso(v.created_at), "summary": v.summary, "content": v.content}
            for v in plan.versions.all()
        ],
        "outcome": None
        if outcome is None
        else {
            "baseline": outcome.baseline,
            "current": outcome.current,
            "endpoint": outcome.endpoint,
            "change": outcome.change,
            "percent_change": outcome.percent_change,
            "responder": outcome.responder,
            "worsening": outcome.worsening,
            "reached_week_12": outcome.reached_week_12,
            "checkin_count": outcome.checkin_count,
            "computed_at": _iso(outcome.computed_at),
            # As the progress page shows them (outcomes.figures).
            "state": shown.state.value,
            "change_so_far": None if shown.change is None else float(shown.change),
            "percent_change_so_far": shown.percent,
        },
    }


def _questionnaires(patient: Patient) -> list[dict[str, Any]]:
    """The patient's questionnaire responses (issue 18), sent and drafts, in occasion order: the
    instrument, occasion, window, dates, score, and each question's text with its answer. One
    query; each instrument's questions are read from its definition once."""
    responses = (
        InstrumentResponse.objects.filter(patient=patient)
        .select_related("instrument")
        .order_by("plan_id", "opens_on", "instrument__code", "id")
    )
    questions: dict[int, Instrument] = {}
    rows = []
    for response in responses:
        instrument = questions.setdefault(response.instrument_id, response.instrument)
        rows.append(
            {
                "plan": response.plan_id,
                "instrument": instrument.title,
                "instrument_code": instrument.code,
                "instrument_version": instrument.version,
                "occasion": response.occasion,
                "opens_on": _iso(response.opens_on),
                "closes_on": _iso(response.closes_on),
                "status": response.status,
                "started_at": _iso(response.started_at),
                "completed_at": _iso(response.completed_at),
                "score": response.score,
                "score_range": [float(instrument.score_min), float(instrument.score_max)],
                "items_answered": response.answered,
                "items_skipped": response.skipped,
                "items": [
                    {
                        "link_id": row.link_id,
                        "question": row.question,
                        "answer": row.answer,
                        "answer_text": row.words,
                    }
                    for row in answered_items(instrument, response.answers)
                ],
            }
        )
    return rows


def patient_export(*, patient: Patient) -> dict[str, Any]:
    """Profile, plans (with exercises, history and outcome), check-ins, sessions, questionnaire
    responses (each question with its answer, and the score), alerts, reminders, messages with
    the care team (oldest first, who wrote each) and the record of who looked at or changed
    their data. Drafts are included (plans and questionnaires alike):
    they are data held about the patient too."""
    plans = (
        CarePlan.objects.filter(patient=patient)
        .select_related("therapist__user", "outcome")
        .prefetch_related(
            Prefetch(
                "exercises",
                queryset=PlanExercise.objects.select_related("exercise", "phase").order_by("position", "id"),
            ),
            Prefetch("phases", queryset=PlanPhase.objects.order_by("starts_week", "id")),
            Prefetch("versions", queryset=PlanVersion.objects.order_by("number")),
        )
        .order_by("start_date", "id")
    )
    plans_list = list(plans)
    for plan in plans_list:
        plan.patient = patient
    shown = outcome_figures(plans=plans_list)
    checkins = PainCheckIn.objects.filter(patient=patient).order_by("local_date")
    sessions = (
        ExerciseSession.objects.filter(patient=patient)
        .select_related("plan_exercise__exercise")
        .order_by("local_date", "plan_exercise_id", "number")
    )
    user = patient.user
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(timezone.now()),
        "profile": {
            "full_name": user.full_name,
            "email": user.email,
            "clinic": patient.clinic.name,
            "therapist": patient.therapist.user.full_name if patient.therapist else None,
            "timezone": patient.timezone,
            "reminder_time": _iso(patient.reminder_time),
            "reminders_enabled": patient.reminders_enabled,
            "phone": patient.phone or None,
            "joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        },
        "plans": [_plan(plan, shown[plan.pk]) for plan in plans_list],
        "checkins": [
            {
                "local_date": _iso(c.local_date),
                "plan": c.plan_id,
                "nprs": c.nprs,
                "side": c.side,
                "flag_leg_weakness": c.flag_leg_weakness,
                "flag_bladder_bowel": c.flag_bladder_bowel,
                "flag_fever": c.flag_fever,
                "flag_weight_loss": c.flag_weight_loss,
                "note": c.note,
                "received_at": _iso(c.received_at),
                "corrected_at": _iso(c.corrected_at),
            }
            for c in checkins
        ],
        "sessions": [
            {
                "local_date": _iso(s.local_date),
                "session": s.number,
                "exercise": s.plan_exercise.exercise.name,
                "plan": s.plan_exercise.plan_id,
                "completed_at": _iso(s.completed_at),
            }
            for s in sessions
        ],
        "questionnaires": _questionnaires(patient),
        "alerts": [
            {
                "kind": a.kind,
                "detail": a.detail,
                "opened_at": _iso(a.opened_at),
                "cleared_at": _iso(a.cleared_at),
                "acknowledged_at": _iso(a.acknowledged_at),
            }
            for a in Alert.objects.filter(patient=patient).order_by("opened_at")
        ],
        "reminders": [
            {"local_date": _iso(r.local_date), "kind": r.kind, "status": r.status, "sent_at": _iso(r.sent_at)}
            for r in ReminderDelivery.objects.filter(patient=patient).order_by("local_date")
        ],
        "messages": [
            {
                "sent_at": _iso(m.created_at),
                "from": "you" if m.sender_id == user.pk else (m.sender.full_name or "care team"),
                "body": m.body,
            }
            for m in Message.objects.filter(conversation__patient=patient)
            .select_related("sender")
            .order_by("created_at", "id")
        ],
        "access_log": [
            {"at": _iso(e.at), "action": e.action, "by": e.actor_email}
            for e in AuditEvent.objects.filter(patient=patient).order_by("at", "id")
        ],
    }
