"""Writes for care plans and the clinic's plan templates. One service, one transaction."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Patient, Therapist, User
from audit.services import audit_log
from careplans.models import CarePlan, PlanExercise, PlanStatus, PlanVersion
from careplans.versions import change_summary, plan_snapshot
from library.models import DOSAGE_LIMITS, Exercise, ExerciseStatus, PlanTemplate, TemplateExercise
from library.services import validate_dosage
from portal.errors import DomainError
from portal.validity import max_length_of

# --- care plans ---------------------------------------------------------------
#
# Plan services take the acting therapist and work only on plans of that
# therapist's clinic. Every state change writes an audit event; every change to
# an active plan (and its activation) writes a PlanVersion with a snapshot and
# a plain summary of what changed.

START_DATE_WINDOW_DAYS = 365


ENDED_STATUSES = (PlanStatus.COMPLETED, PlanStatus.STOPPED)


def _check_clinic(plan: CarePlan, by: Therapist) -> None:
    # Views reach plans through clinic-scoped selectors; this guards other callers.
    if plan.patient.clinic_id != by.clinic_id:
        raise DomainError("No such plan.", code="not_found")


def _locked(plan: CarePlan) -> CarePlan:
    """Re-read the plan under a row lock, so concurrent edits get distinct versions."""
    return CarePlan.objects.select_for_update().select_related("patient__user").get(pk=plan.pk)


def _check_editable(plan: CarePlan) -> None:
    if plan.status in ENDED_STATUSES:
        raise DomainError(
            f"This plan is {plan.get_status_display().lower()} and can no longer be changed.",
            code="plan_not_editable",
        )


def _check_length(value: str, *, model: type[models.Model], name: str, field: str, what: str) -> None:
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
    if not title.strip():
        raise DomainError("Give the plan a title.", field="title", code="required")
    _check_length(title, model=CarePlan, name="title", field="title", what="title")
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


def _published_exercise(exercise_id: int) -> Exercise:
    exercise = Exercise.objects.filter(pk=exercise_id).first()
    if exercise is None or exercise.status != ExerciseStatus.PUBLISHED:
        # Drafts and archived exercises are not offered; a hand-made request gets the same answer.
        raise DomainError(
            "That exercise is not in the published library, so it cannot be added to a plan.",
            field="exercise",
            code="exercise_not_published",
        )
    return exercise


def _plan_exercises(plan: CarePlan) -> list[PlanExercise]:
    return list(plan.exercises.select_related("exercise").order_by("position", "id"))


def _record_version(plan: CarePlan, *, by: User, ip: str | None) -> PlanVersion | None:
    """Snapshot an active plan after a change; nothing when the content did not change."""
    if plan.status != PlanStatus.ACTIVE:
        return None
    snapshot = plan_snapshot(plan, _plan_exercises(plan))
    previous = plan.versions.order_by("-number").first()
    lines = change_summary(previous.content if previous else None, snapshot)
    if not lines:
        return None
    plan.version += 1
    plan.save(update_fields=["version"])
    version = PlanVersion.objects.create(
        plan=plan, number=plan.version, created_by=by, summary="\n".join(lines), content=snapshot
    )
    audit_log(
        action="careplan.version_created",
        actor=by,
        obj=plan,
        ip=ip,
        data={"version": version.number, "summary": lines},
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
    unpublished ones (named in the ``careplan.created`` audit entry). Returns the plan.

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
    _check_length(condition, model=CarePlan, name="condition", field="condition", what="condition")
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
    if template is not None:
        items: list[PlanExercise] = []
        for item in template.exercises.select_related("exercise").order_by("position", "id"):
            if item.exercise.status != ExerciseStatus.PUBLISHED:
                skipped.append(item.exercise.name)
                continue
            items.append(
                PlanExercise(
                    plan=plan,
                    exercise=item.exercise,
                    position=len(items),
                    note=item.note,
                    **{name: getattr(item, name) for name in DOSAGE_LIMITS},
                )
            )
        PlanExercise.objects.bulk_create(items)
    audit_log(
        action="careplan.created",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"template": template.name if template else None, "skipped_unpublished": skipped},
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
    _check_clinic(plan, by)
    plan = _locked(plan)
    _check_editable(plan)
    _validate_plan_fields(patient=plan.patient, title=title, start_date=start_date, length_weeks=length_weeks)
    condition = condition.strip()
    _check_length(condition, model=CarePlan, name="condition", field="condition", what="condition")
    before = {"title": plan.title, "condition": plan.condition, "start_date": str(plan.start_date)}
    plan.title = title.strip()
    plan.condition = condition
    plan.start_date = start_date
    plan.length_weeks = length_weeks
    plan.save(update_fields=["title", "condition", "start_date", "length_weeks"])
    audit_log(action="careplan.details_changed", actor=by.user, obj=plan, ip=ip, data={"before": before})
    _record_version(plan, by=by.user, ip=ip)
    return plan


@transaction.atomic
def careplan_exercise_add(
    *, plan: CarePlan, by: Therapist, exercise_id: int, ip: str | None = None
) -> PlanExercise:
    """Append the library exercise with id ``exercise_id`` to the plan, at its default dosage.

    Returns the new plan exercise. An active plan gets a new version.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    exercise_not_published (exercise: no such id, a draft or archived),
    exercise_already_in_plan (exercise).
    """
    _check_clinic(plan, by)
    plan = _locked(plan)
    _check_editable(plan)
    exercise = _published_exercise(exercise_id)
    if plan.exercises.filter(exercise=exercise).exists():
        raise DomainError(
            f"{exercise.name} is already in this plan.", field="exercise", code="exercise_already_in_plan"
        )
    last = plan.exercises.order_by("-position").values_list("position", flat=True).first()
    item = PlanExercise.objects.create(
        plan=plan,
        exercise=exercise,
        position=0 if last is None else last + 1,
        **{name: getattr(exercise, name) for name in DOSAGE_LIMITS},
    )
    audit_log(
        action="careplan.exercise_added", actor=by.user, obj=plan, ip=ip, data={"exercise": exercise.slug}
    )
    _record_version(plan, by=by.user, ip=ip)
    return item


@transaction.atomic
def careplan_exercise_update(
    *,
    plan_exercise: PlanExercise,
    by: Therapist,
    sets: int,
    reps: int,
    hold_seconds: int,
    sessions_per_day: int,
    days_per_week: int,
    note: str = "",
    ip: str | None = None,
) -> PlanExercise:
    """Set a plan exercise's dosage and note (spaces around it dropped); returns it as saved.

    ``sets``, ``reps`` and ``sessions_per_day`` are counts, ``hold_seconds`` seconds,
    ``days_per_week`` days, each within ``DOSAGE_LIMITS`` (library.models). An active
    plan gets a new version. Raises ``PlanExercise.DoesNotExist`` if the exercise was
    removed from the plan meanwhile.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    dosage_out_of_range (the field), no_reps_or_hold (reps), too_long (note).
    """
    _check_clinic(plan_exercise.plan, by)
    plan = _locked(plan_exercise.plan)
    _check_editable(plan)
    dose = {
        "sets": sets,
        "reps": reps,
        "hold_seconds": hold_seconds,
        "sessions_per_day": sessions_per_day,
        "days_per_week": days_per_week,
    }
    validate_dosage(dose)
    _check_length(note, model=PlanExercise, name="note", field="note", what="note")
    plan_exercise = PlanExercise.objects.select_related("exercise").get(pk=plan_exercise.pk, plan=plan)
    before = {name: getattr(plan_exercise, name) for name in dose} | {"note": plan_exercise.note}
    for name, value in dose.items():
        setattr(plan_exercise, name, value)
    plan_exercise.note = note.strip()
    plan_exercise.save(update_fields=[*dose, "note"])
    audit_log(
        action="careplan.exercise_changed",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"exercise": plan_exercise.exercise.slug, "before": before},
    )
    _record_version(plan, by=by.user, ip=ip)
    return plan_exercise


@transaction.atomic
def careplan_exercise_move(
    *, plan_exercise: PlanExercise, by: Therapist, direction: str, ip: str | None = None
) -> None:
    """Swap a plan exercise with its neighbour above (``direction`` "up") or below ("down").

    Moving the first up or the last down changes nothing. Positions are renumbered
    0..n-1; an active plan gets a new version. Returns None.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    unknown_direction (direction), exercise_not_in_plan (removed meanwhile).
    """
    _check_clinic(plan_exercise.plan, by)
    plan = _locked(plan_exercise.plan)
    _check_editable(plan)
    if direction not in ("up", "down"):
        raise DomainError("Move an exercise up or down.", field="direction", code="unknown_direction")
    items = list(plan.exercises.order_by("position", "id"))
    index = next((i for i, other in enumerate(items) if other.pk == plan_exercise.pk), None)
    if index is None:
        raise DomainError("That exercise is no longer in the plan.", code="exercise_not_in_plan")
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        return
    items[index], items[target] = items[target], items[index]
    # Renumber all: positions may have gaps or ties after removals and old data.
    for position, each in enumerate(items):
        each.position = position
    PlanExercise.objects.bulk_update(items, ["position"])
    audit_log(
        action="careplan.exercise_moved",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"plan_exercise": plan_exercise.pk, "direction": direction},
    )
    _record_version(plan, by=by.user, ip=ip)


@transaction.atomic
def careplan_exercise_remove(*, plan_exercise: PlanExercise, by: Therapist, ip: str | None = None) -> None:
    """Remove an exercise from its plan, with the patient's marks for it; the plan's versions keep
    what was prescribed. An active plan gets a new version. Returns None.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable.
    """
    _check_clinic(plan_exercise.plan, by)
    plan = _locked(plan_exercise.plan)
    _check_editable(plan)
    slug = plan_exercise.exercise.slug
    # The patient's ticks for it go too; the version history keeps what was prescribed.
    PlanExercise.objects.filter(pk=plan_exercise.pk, plan=plan).delete()
    audit_log(action="careplan.exercise_removed", actor=by.user, obj=plan, ip=ip, data={"exercise": slug})
    _record_version(plan, by=by.user, ip=ip)


@transaction.atomic
def careplan_activate(*, plan: CarePlan, by: Therapist, ip: str | None = None) -> CarePlan:
    """Make a draft the patient's one active plan, and its first version. Returns the plan.

    The partial unique index ``careplan_one_active_per_patient`` decides races
    (two tabs, two therapists): the loser gets a readable message.

    Raises DomainError: not_found (a plan of another clinic), plan_not_draft (already
    active or ended), plan_empty (no exercises), already_active (the patient has
    another active plan).
    """
    _check_clinic(plan, by)
    plan = _locked(plan)
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
    audit_log(action="careplan.activated", actor=by.user, obj=plan, ip=ip)
    _record_version(plan, by=by.user, ip=ip)
    return plan


@transaction.atomic
def careplan_end(
    *, plan: CarePlan, by: Therapist, status: str, reason: str, ip: str | None = None
) -> CarePlan:
    """End an active plan as ``status`` ("completed" or "stopped"), keeping ``reason`` (required).

    Returns the plan as saved, with ``ended_at`` now.

    Raises DomainError: not_found (a plan of another clinic), invalid_end_status (status),
    plan_not_active, required (reason), too_long (reason).
    """
    _check_clinic(plan, by)
    plan = _locked(plan)
    if status not in ENDED_STATUSES:
        raise DomainError(
            "Choose whether the plan is completed or stopped.", field="status", code="invalid_end_status"
        )
    if plan.status != PlanStatus.ACTIVE:
        raise DomainError(
            f"Only an active plan can be {PlanStatus(status).label.lower()}.", code="plan_not_active"
        )
    reason = reason.strip()
    if not reason:
        raise DomainError(
            "Say why the plan ends; the patient's record keeps the reason.", field="reason", code="required"
        )
    _check_length(reason, model=CarePlan, name="status_reason", field="reason", what="reason")
    plan.status = status
    plan.status_reason = reason
    plan.ended_at = timezone.now()
    plan.save(update_fields=["status", "status_reason", "ended_at"])
    audit_log(action=f"careplan.{status}", actor=by.user, obj=plan, ip=ip, data={"reason": reason})
    return plan


@transaction.atomic
def careplan_save_as_template(
    *, plan: CarePlan, by: Therapist, name: str, ip: str | None = None
) -> PlanTemplate:
    """Copy a plan's published exercises, dosage and notes, in order, into a new template of
    ``by``'s clinic named ``name``. Returns the template.

    Raises DomainError: not_found (a plan of another clinic), required (name), too_long
    (name), template_name_taken (name: the clinic has one, ignoring case),
    no_published_exercises.
    """
    _check_clinic(plan, by)
    name = name.strip()
    if not name:
        raise DomainError("Give the template a name.", field="name", code="required")
    _check_length(name, model=PlanTemplate, name="name", field="name", what="name")
    if PlanTemplate.objects.filter(clinic=by.clinic, name__iexact=name).exists():
        raise DomainError(
            "Your clinic already has a template with this name.", field="name", code="template_name_taken"
        )
    items = [item for item in _plan_exercises(plan) if item.exercise.status == ExerciseStatus.PUBLISHED]
    if not items:
        raise DomainError("The plan has no published exercises to save.", code="no_published_exercises")
    template = PlanTemplate.objects.create(
        name=name, condition=plan.condition, clinic=by.clinic, created_by=by.user
    )
    TemplateExercise.objects.bulk_create(
        TemplateExercise(
            template=template,
            exercise=item.exercise,
            position=position,
            note=item.note,
            **{field: getattr(item, field) for field in DOSAGE_LIMITS},
        )
        for position, item in enumerate(items)
    )
    audit_log(
        action="plantemplate.created",
        actor=by.user,
        obj=template,
        clinic=by.clinic,
        ip=ip,
        data={"from_plan": plan.pk, "exercises": len(items)},
    )
    return template
