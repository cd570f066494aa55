"""Writes for care plans, one service, one transaction (a plan saved as a template:
careplans.plan_templates)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Patient, Therapist, User
from audit.services import audit_log
from careplans.models import CarePlan, PlanExercise, PlanPhase, PlanSchedule, PlanStatus, PlanVersion
from careplans.phases import current_phase_label, phase_due_on, phase_first_day, plan_phases
from careplans.versions import change_summary, plan_snapshot
from library.models import DOSAGE_LIMITS, ExerciseStatus
from library.template_models import PlanTemplate
from portal.errors import DomainError
from portal.validity import max_length_of, shows_text

# --- care plans ---------------------------------------------------------------
#
# Plan services take the acting therapist and work only on plans of that
# therapist's clinic. Every state change writes an audit event; every change to
# an active plan (and its activation) writes a PlanVersion with a snapshot and
# a plain summary of what changed.

START_DATE_WINDOW_DAYS = 365


ENDED_STATUSES = (PlanStatus.COMPLETED, PlanStatus.STOPPED)


def plan_check_clinic(plan: CarePlan, by: Therapist) -> None:
    # Views reach plans through clinic-scoped selectors; this guards other callers.
    if plan.patient.clinic_id != by.clinic_id:
        raise DomainError("No such plan.", code="not_found")


def plan_locked(plan: CarePlan) -> CarePlan:
    """Re-read the plan under a row lock, so concurrent edits get distinct versions."""
    return CarePlan.objects.select_for_update().select_related("patient__user").get(pk=plan.pk)


def plan_check_editable(plan: CarePlan) -> None:
    if plan.status in ENDED_STATUSES:
        raise DomainError(
            f"This plan is {plan.get_status_display().lower()} and can no longer be changed.",
            code="plan_not_editable",
        )


def plan_check_length(value: str, *, model: type[models.Model], name: str, field: str, what: str) -> None:
    """The model field's max_length, as a message naming the field (code ``too_long``)."""
    limit = max_length_of(model, name)
    if len(value) > limit:
        raise DomainError(
            f"Keep the {what} to {limit} characters or fewer (it has {len(value)}).",
            field=field,
            code="too_long",
        )


def _validate_plan_fields(*, patient: Patient, title: str, start_date: date, length_weeks: int) -> None:
    """Codes: required (title), too_long (title), start_date_out_of_range, length_out_of_range."""
    if not shows_text(title):
        raise DomainError("Give the plan a title.", field="title", code="required")
    plan_check_length(title, model=CarePlan, name="title", field="title", what="title")
    today = patient.local_today()
    earliest = today - timedelta(days=START_DATE_WINDOW_DAYS)
    latest = today + timedelta(days=START_DATE_WINDOW_DAYS)
    if not earliest <= start_date <= latest:
        raise DomainError(
            f"The start date must be within a year of today: between {earliest:%-d %b %Y} "
            f"and {latest:%-d %b %Y}.",
            field="start_date",
            code="start_date_out_of_range",
        )
    if not 1 <= length_weeks <= 52:
        raise DomainError(
            "A plan lasts between 1 and 52 weeks.", field="length_weeks", code="length_out_of_range"
        )


def plan_exercises_in_order(plan: CarePlan) -> list[PlanExercise]:
    return list(plan.exercises.select_related("exercise", "phase").order_by("position", "id"))


def plan_version_record(
    plan: CarePlan, *, by: User | None, ip: str | None, reason: str = ""
) -> PlanVersion | None:
    """Snapshot an active plan after a change; nothing when the content did not change.

    ``by``: the therapist's user, None for the phase schedule (careplans.phase_moves).
    ``reason``: why the change was made, in the therapist's words or the schedule's (at
    most 300 characters; the caller checked it), kept with the version. A phased plan's
    snapshot names its current phase and whether it is held. Returns the version.
    """
    if plan.status != PlanStatus.ACTIVE:
        return None
    phase = current_phase_label(plan, plan_phases(plan=plan))
    snapshot = plan_snapshot(plan, plan_exercises_in_order(plan), phase=phase)
    previous = plan.versions.order_by("-number").first()
    lines = change_summary(previous.content if previous else None, snapshot)
    if not lines:
        return None
    plan.version += 1
    plan.save(update_fields=["version"])
    version = PlanVersion.objects.create(
        plan=plan,
        number=plan.version,
        created_by=by,
        summary="\n".join(lines),
        reason=reason,
        content=snapshot,
    )
    audit_log(
        action="careplan.version_created",
        actor=by,
        obj=plan,
        ip=ip,
        data={"version": version.number, "summary": lines, "reason": reason},
    )
    return version


@transaction.atomic
def careplan_create(
    *,
    patient: Patient,
    by: Therapist,
    title: str,
    condition: str = "",
    start_date: date,
    length_weeks: int = 12,
    template: PlanTemplate | None = None,
    ip: str | None = None,
) -> CarePlan:
    """Create a draft plan for ``patient``, owned by ``by``, empty or copied from ``template``.

    ``start_date``: a local date of the patient, within ``START_DATE_WINDOW_DAYS`` (365)
    of their today; ``length_weeks``: 1-52 weeks, 12 by default (DESIGN.md: outcomes are
    read at week 12). A blank ``title`` or ``condition`` takes the template's. A
    template's exercises are copied in order with their dosage and note, except
    unpublished ones (named in the ``careplan.created`` audit entry), and its phases with
    them (issue 17): the plan starts in the first; and its questionnaire schedule (issue 18).
    Returns the plan.

    Raises DomainError: not_found (``patient`` is of another clinic), unknown_template
    (template: another clinic's), required (title), too_long (title, condition),
    start_date_out_of_range (start_date), length_out_of_range (length_weeks).
    """
    if patient.clinic_id != by.clinic_id:
        raise DomainError("No such patient.", code="not_found")
    if template is not None and template.clinic_id not in (None, by.clinic_id):
        raise DomainError("No such template.", field="template", code="unknown_template")
    title = (title or (template.name if template else "")).strip()
    condition = (condition or (template.condition if template else "")).strip()
    _validate_plan_fields(patient=patient, title=title, start_date=start_date, length_weeks=length_weeks)
    plan_check_length(condition, model=CarePlan, name="condition", field="condition", what="condition")
    plan = CarePlan.objects.create(
        patient=patient,
        therapist=by,
        title=title,
        condition=condition,
        start_date=start_date,
        length_weeks=length_weeks,
        status=PlanStatus.DRAFT,
    )
    skipped: list[str] = []
    phases: dict[int, PlanPhase] = {}
    if template is not None:
        for source in template.phases.order_by("starts_week", "id"):
            phases[source.pk] = PlanPhase.objects.create(
                plan=plan, name=source.name, starts_week=source.starts_week
            )
        items: list[PlanExercise] = []
        in_order = template.exercises.select_related("exercise").order_by(
            models.F("phase__starts_week").asc(nulls_first=True), "position", "id"
        )
        for item in in_order:
            if item.exercise.status != ExerciseStatus.PUBLISHED:
                skipped.append(item.exercise.name)
                continue
            items.append(
                PlanExercise(
                    plan=plan,
                    exercise=item.exercise,
                    position=len(items),
                    phase=phases.get(item.phase_id) if item.phase_id is not None else None,
                    note=item.note,
                    **{name: getattr(item, name) for name in DOSAGE_LIMITS},
                )
            )
        PlanExercise.objects.bulk_create(items)
        PlanSchedule.objects.bulk_create(
            PlanSchedule(
                plan=plan,
                instrument_code=entry.instrument_code,
                occasion=entry.occasion,
                opens_day=entry.opens_day,
                window_days=entry.window_days,
            )
            for entry in template.schedule.all()
        )
    if phases:
        plan.current_phase = next(iter(phases.values()))
        plan.save(update_fields=["current_phase"])
    audit_log(
        action="careplan.created",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={
            "template": template.name if template else None,
            "skipped_unpublished": skipped,
            "phases": [phase.name for phase in phases.values()],
        },
    )
    return plan


@transaction.atomic
def careplan_update_details(
    *,
    plan: CarePlan,
    by: Therapist,
    title: str,
    condition: str,
    start_date: date,
    length_weeks: int,
    ip: str | None = None,
) -> CarePlan:
    """Change a draft or active plan's title, condition, start date (patient's local date) and
    length (weeks), with the rules of ``careplan_create``. An active plan gets a new version
    when its content changed. Returns the plan as saved.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable (completed or
    stopped), required (title), too_long (title, condition), start_date_out_of_range
    (start_date), length_out_of_range (length_weeks).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    plan_check_editable(plan)
    _validate_plan_fields(patient=plan.patient, title=title, start_date=start_date, length_weeks=length_weeks)
    condition = condition.strip()
    plan_check_length(condition, model=CarePlan, name="condition", field="condition", what="condition")
    before = {"title": plan.title, "condition": plan.condition, "start_date": str(plan.start_date)}
    plan.title = title.strip()
    plan.condition = condition
    plan.start_date = start_date
    plan.length_weeks = length_weeks
    plan.save(update_fields=["title", "condition", "start_date", "length_weeks"])
    # The phase that began on the old start date (the first, at activation) begins on the new one.
    plan.phases.filter(began_on=date.fromisoformat(before["start_date"])).update(began_on=start_date)
    audit_log(action="careplan.details_changed", actor=by.user, obj=plan, ip=ip, data={"before": before})
    plan_version_record(plan, by=by.user, ip=ip)
    return plan


@transaction.atomic
def careplan_activate(*, plan: CarePlan, by: Therapist, ip: str | None = None) -> CarePlan:
    """Make a draft the patient's one active plan, and its first version. Returns the plan.

    The partial unique index ``careplan_one_active_per_patient`` decides races
    (two tabs, two therapists): the loser gets a readable message.

    Raises DomainError: not_found (a plan of another clinic), plan_not_draft (already
    active or ended), plan_empty (no exercises), already_active (the patient has
    another active plan).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    if plan.status != PlanStatus.DRAFT:
        raise DomainError(f"This plan is already {plan.get_status_display().lower()}.", code="plan_not_draft")
    if not plan.exercises.exists():
        raise DomainError("Add at least one exercise before activating the plan.", code="plan_empty")
    plan.status = PlanStatus.ACTIVE
    plan.activated_at = timezone.now()
    try:
        with transaction.atomic():
            plan.save(update_fields=["status", "activated_at"])
    except IntegrityError as exc:
        # Backends word the error differently (SQLite names columns, not the index),
        # so ask the table what the conflict was.
        other = (
            CarePlan.objects.filter(patient=plan.patient_id, status=PlanStatus.ACTIVE)
            .exclude(pk=plan.pk)
            .first()
        )
        if other is None:
            raise
        raise DomainError(
            f"{plan.patient} already has an active plan (“{other.title}”). A patient has one active "
            "plan at a time: complete or stop that one first, then activate this one.",
            code="already_active",
        ) from exc
    if plan.current_phase_id is not None:
        _phase_begin(plan)
    audit_log(action="careplan.activated", actor=by.user, obj=plan, ip=ip)
    plan_version_record(plan, by=by.user, ip=ip)
    return plan


def _phase_begin(plan: CarePlan) -> None:
    """An activated phased plan starts in the phase its schedule puts the patient's today in
    (the first before the start date); that phase began on its own first day (the first
    phase: on the start date), so adherence counts it from then (careplans.adherence)."""
    phases = plan_phases(plan=plan)
    phase = phase_due_on(plan, phases, plan.patient.local_today())
    assert phase is not None  # a plan with a current phase has phases
    phase.began_on = plan.start_date if phase.pk == phases[0].pk else phase_first_day(plan, phase)
    phase.save(update_fields=["began_on"])
    plan.current_phase = phase
    plan.save(update_fields=["current_phase"])


@transaction.atomic
def careplan_end(
    *, plan: CarePlan, by: Therapist, status: str, reason: str, ip: str | None = None
) -> CarePlan:
    """End an active plan as ``status`` ("completed" or "stopped"), keeping ``reason`` (required).

    Returns the plan as saved, with ``ended_at`` now.

    Raises DomainError: not_found (a plan of another clinic), invalid_end_status (status),
    plan_not_active, required (reason), too_long (reason).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    if status not in ENDED_STATUSES:
        raise DomainError(
            "Choose whether the plan is completed or stopped.", field="status", code="invalid_end_status"
        )
    if plan.status != PlanStatus.ACTIVE:
        raise DomainError(
            f"Only an active plan can be {PlanStatus(status).label.lower()}.", code="plan_not_active"
        )
    reason = reason.strip()
    if not shows_text(reason):
        raise DomainError(
            "Say why the plan ends; the patient's record keeps the reason.", field="reason", code="required"
        )
    plan_check_length(reason, model=CarePlan, name="status_reason", field="reason", what="reason")
    plan.status = status
    plan.status_reason = reason
    plan.ended_at = timezone.now()
    plan.save(update_fields=["status", "status_reason", "ended_at"])
    audit_log(action=f"careplan.{status}", actor=by.user, obj=plan, ip=ip, data={"reason": reason})
    return plan
