"""Writes to a plan's exercises: add, change the dosage, move, remove.

One service, one transaction; each change records a plan version and an audit entry.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Clinic, Therapist
from audit.services import audit_log
from careplans.models import CarePlan, PlanExercise, PlanVersion
from careplans.selectors import exercise_variants
from careplans.services import (
    plan_check_clinic,
    plan_check_editable,
    plan_check_length,
    plan_locked,
    plan_version_record,
)
from library.models import DOSAGE_LIMITS, Exercise
from library.selectors import published_exercises
from library.services import validate_dosage
from portal.errors import DomainError
from portal.validity import shows_text


def _published_exercise(exercise_id: int, *, clinic: Clinic) -> Exercise:
    exercise = published_exercises(clinic=clinic).filter(pk=exercise_id).first()
    if exercise is None:
        # Drafts, archived exercises and other clinics' own are not offered; a hand-made
        # request gets the same answer.
        raise DomainError(
            "That exercise is not in the published library, so it cannot be added to a plan.",
            field="exercise",
            code="exercise_not_published",
        )
    return exercise


@transaction.atomic
def careplan_exercise_add(
    *, plan: CarePlan, by: Therapist, exercise_id: int, ip: str | None = None
) -> PlanExercise:
    """Append the library exercise with id ``exercise_id`` to the plan, at its default dosage;
    a phased plan's to its current phase (issue 17), where it must not be already.

    Returns the new plan exercise. An active plan gets a new version.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    exercise_not_published (exercise: no such id, a draft or archived),
    exercise_already_in_plan (exercise).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    plan_check_editable(plan)
    exercise = _published_exercise(exercise_id, clinic=by.clinic)
    if plan.exercises.filter(exercise=exercise, phase=plan.current_phase_id).exists():
        raise DomainError(
            f"{exercise.name} is already in this plan{' phase' if plan.current_phase_id else ''}.",
            field="exercise",
            code="exercise_already_in_plan",
        )
    last = plan.exercises.order_by("-position").values_list("position", flat=True).first()
    item = PlanExercise.objects.create(
        plan=plan,
        phase_id=plan.current_phase_id,
        exercise=exercise,
        position=0 if last is None else last + 1,
        **{name: getattr(exercise, name) for name in DOSAGE_LIMITS},
    )
    audit_log(
        action="careplan.exercise_added", actor=by.user, obj=plan, ip=ip, data={"exercise": exercise.slug}
    )
    plan_version_record(plan, by=by.user, ip=ip)
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
    plan_check_clinic(plan_exercise.plan, by)
    plan = plan_locked(plan_exercise.plan)
    plan_check_editable(plan)
    dose = {
        "sets": sets,
        "reps": reps,
        "hold_seconds": hold_seconds,
        "sessions_per_day": sessions_per_day,
        "days_per_week": days_per_week,
    }
    validate_dosage(dose)
    plan_check_length(note, model=PlanExercise, name="note", field="note", what="note")
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
    plan_version_record(plan, by=by.user, ip=ip)
    return plan_exercise


@transaction.atomic
def careplan_exercise_move(
    *, plan_exercise: PlanExercise, by: Therapist, direction: str, ip: str | None = None
) -> None:
    """Swap a plan exercise with its neighbour above (``direction`` "up") or below ("down"),
    among the exercises of its phase (all of a plan without phases).

    Moving the first up or the last down changes nothing. Positions are renumbered
    0..n-1; an active plan gets a new version. Returns None.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    unknown_direction (direction), exercise_not_in_plan (removed meanwhile).
    """
    plan_check_clinic(plan_exercise.plan, by)
    plan = plan_locked(plan_exercise.plan)
    plan_check_editable(plan)
    if direction not in ("up", "down"):
        raise DomainError("Move an exercise up or down.", field="direction", code="unknown_direction")
    items = list(plan.exercises.order_by("position", "id"))
    index = next((i for i, other in enumerate(items) if other.pk == plan_exercise.pk), None)
    if index is None:
        raise DomainError("That exercise is no longer in the plan.", code="exercise_not_in_plan")
    phase_id = items[index].phase_id
    # The neighbour within the same phase: the builder lists each phase's exercises apart.
    same = [i for i, other in enumerate(items) if other.phase_id == phase_id]
    place = same.index(index) + (-1 if direction == "up" else 1)
    if not 0 <= place < len(same):
        return
    target = same[place]
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
    plan_version_record(plan, by=by.user, ip=ip)


@transaction.atomic
def careplan_exercise_remove(*, plan_exercise: PlanExercise, by: Therapist, ip: str | None = None) -> None:
    """Remove an exercise from its plan, with the patient's marks for it; the plan's versions keep
    what was prescribed. An active plan gets a new version. Returns None.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable.
    """
    plan_check_clinic(plan_exercise.plan, by)
    plan = plan_locked(plan_exercise.plan)
    plan_check_editable(plan)
    slug = plan_exercise.exercise.slug
    # The patient's ticks for it go too; the version history keeps what was prescribed.
    PlanExercise.objects.filter(pk=plan_exercise.pk, plan=plan).delete()
    audit_log(action="careplan.exercise_removed", actor=by.user, obj=plan, ip=ip, data={"exercise": slug})
    plan_version_record(plan, by=by.user, ip=ip)


#: What a progression or regression does with the dose: keep the plan's, or take the variant's own.
KEEP_DOSE = "keep"
VARIANT_DOSE = "variant"


@transaction.atomic
def careplan_exercise_vary(
    *,
    plan_exercise: PlanExercise,
    by: Therapist,
    variant_id: int,
    dose: str,
    reason: str,
    ip: str | None = None,
) -> PlanExercise:
    """Progress a plan exercise to its harder variant, or regress it to an easier one, in place.

    ``variant_id``: the variant's exercise id, one of ``careplans.selectors.exercise_variants``
    for the clinic (the harder variant: a progression; an easier one: a regression).
    ``dose``: KEEP_DOSE (the plan's sets, reps, hold and frequency stay) or VARIANT_DOSE (the
    variant's default dose). ``reason``: why, in the therapist's words, kept with the new
    plan version (an active plan) and in the audit trail. The patient's marks of earlier
    days stay with the plan exercise. Returns the plan exercise as saved.

    Raises DomainError: not_found (a plan of another clinic), plan_not_editable,
    not_a_variant (variant: not a published variant the clinic can use), unknown_dose
    (dose), exercise_already_in_plan (variant), required (reason), too_long (reason).
    """
    plan_check_clinic(plan_exercise.plan, by)
    plan = plan_locked(plan_exercise.plan)
    plan_check_editable(plan)
    plan_exercise = PlanExercise.objects.select_related("exercise").get(pk=plan_exercise.pk, plan=plan)
    current = plan_exercise.exercise
    found = exercise_variants(exercises=[current], clinic=by.clinic)[current.pk].get(variant_id)
    if found is None:
        raise DomainError(
            f"Choose a harder or easier variant of {current.name} from the list.",
            field="variant",
            code="not_a_variant",
        )
    variant, direction = found
    if dose not in (KEEP_DOSE, VARIANT_DOSE):
        raise DomainError("Keep the dose or take the variant's own.", field="dose", code="unknown_dose")
    reason = reason.strip()
    if not shows_text(reason):
        raise DomainError(
            "Say why, in a few words: it goes in the plan's history.", field="reason", code="required"
        )
    plan_check_length(reason, model=PlanVersion, name="reason", field="reason", what="reason")
    if plan.exercises.filter(exercise=variant, phase=plan_exercise.phase_id).exists():
        raise DomainError(
            f"{variant.name} is already in this plan{' phase' if plan_exercise.phase_id else ''}.",
            field="variant",
            code="exercise_already_in_plan",
        )
    before = {"exercise": current.slug, **{name: getattr(plan_exercise, name) for name in DOSAGE_LIMITS}}
    plan_exercise.exercise = variant
    if dose == VARIANT_DOSE:
        for name in DOSAGE_LIMITS:
            setattr(plan_exercise, name, getattr(variant, name))
    plan_exercise.save(update_fields=["exercise", *DOSAGE_LIMITS])
    audit_log(
        action="careplan.exercise_progressed" if direction == "progress" else "careplan.exercise_regressed",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"from": current.slug, "to": variant.slug, "dose": dose, "reason": reason, "before": before},
    )
    plan_version_record(plan, by=by.user, ip=ip, reason=reason)
    return plan_exercise
