"""The plan services' refusals name their rule: the DomainError code (and field) is part of each contract."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from careplans import plan_exercises, plan_templates, services
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.sessions import exercise_session_mark
from library.models import ExerciseStatus
from library.template_models import PlanTemplate
from portal.errors import DomainError
from tests.factories import ExerciseFactory

pytestmark = pytest.mark.django_db

DOSE = {"sets": 2, "reps": 10, "hold_seconds": 0, "sessions_per_day": 1, "days_per_week": 7}


def _first(plan: CarePlan) -> PlanExercise:
    first = plan.exercises.select_related("exercise", "plan__patient").order_by("position").first()
    assert first is not None
    return first


def _details(plan: CarePlan, **changes: Any) -> dict[str, Any]:
    return {
        "title": plan.title,
        "condition": plan.condition,
        "start_date": plan.start_date,
        "length_weeks": plan.length_weeks,
    } | changes


def _ended(plan: CarePlan, p: Any) -> CarePlan:
    return services.careplan_end(plan=plan, by=p.owner, status=PlanStatus.COMPLETED, reason="Discharged.")


def _draft(p: Any) -> CarePlan:
    return services.careplan_create(
        patient=p.patient_b, by=p.owner, title="Draft", start_date=p.patient_b.local_today()
    )


# Each case: what it does to the owner therapist's active plan ``plan`` (five exercises).
CASES: dict[str, tuple[Callable[[CarePlan, Any], object], str, str | None]] = {
    "another clinic's patient": (
        lambda plan, p: services.careplan_create(
            patient=p.patient_a, by=p.outsider, title="X", start_date=plan.start_date
        ),
        "not_found",
        None,
    ),
    "another clinic's plan": (
        lambda plan, p: services.careplan_activate(plan=plan, by=p.outsider),
        "not_found",
        None,
    ),
    "another clinic's template": (
        lambda plan, p: services.careplan_create(
            patient=p.patient_b,
            by=p.owner,
            title="X",
            start_date=plan.start_date,
            template=PlanTemplate.objects.create(name="Theirs", clinic=p.other_clinic),
        ),
        "unknown_template",
        "template",
    ),
    "blank title": (
        lambda plan, p: services.careplan_update_details(plan=plan, by=p.owner, **_details(plan, title=" ")),
        "required",
        "title",
    ),
    "title too long": (
        lambda plan, p: services.careplan_update_details(
            plan=plan, by=p.owner, **_details(plan, title="x" * 201)
        ),
        "too_long",
        "title",
    ),
    "start date two years off": (
        lambda plan, p: services.careplan_update_details(
            plan=plan, by=p.owner, **_details(plan, start_date=plan.start_date + timedelta(days=730))
        ),
        "start_date_out_of_range",
        "start_date",
    ),
    "53 weeks": (
        lambda plan, p: services.careplan_update_details(
            plan=plan, by=p.owner, **_details(plan, length_weeks=53)
        ),
        "length_out_of_range",
        "length_weeks",
    ),
    "editing an ended plan": (
        lambda plan, p: services.careplan_update_details(plan=_ended(plan, p), by=p.owner, **_details(plan)),
        "plan_not_editable",
        None,
    ),
    "an archived exercise": (
        lambda plan, p: plan_exercises.careplan_exercise_add(
            plan=plan, by=p.owner, exercise_id=ExerciseFactory(status=ExerciseStatus.ARCHIVED).pk
        ),
        "exercise_not_published",
        "exercise",
    ),
    "an exercise twice": (
        lambda plan, p: plan_exercises.careplan_exercise_add(
            plan=plan, by=p.owner, exercise_id=_first(plan).exercise_id
        ),
        "exercise_already_in_plan",
        "exercise",
    ),
    "sets out of range": (
        lambda plan, p: plan_exercises.careplan_exercise_update(
            plan_exercise=_first(plan), by=p.owner, **(DOSE | {"sets": 11})
        ),
        "dosage_out_of_range",
        "sets",
    ),
    "no reps and no hold": (
        lambda plan, p: plan_exercises.careplan_exercise_update(
            plan_exercise=_first(plan), by=p.owner, **(DOSE | {"reps": 0})
        ),
        "no_reps_or_hold",
        "reps",
    ),
    "moving sideways": (
        lambda plan, p: plan_exercises.careplan_exercise_move(
            plan_exercise=_first(plan), by=p.owner, direction="left"
        ),
        "unknown_direction",
        "direction",
    ),
    "moving a removed exercise": (
        lambda plan, p: plan_exercises.careplan_exercise_move(
            plan_exercise=_removed(plan, p), by=p.owner, direction="down"
        ),
        "exercise_not_in_plan",
        None,
    ),
    "activating an active plan": (
        lambda plan, p: services.careplan_activate(plan=plan, by=p.owner),
        "plan_not_draft",
        None,
    ),
    "activating an empty draft": (
        lambda plan, p: services.careplan_activate(plan=_draft(p), by=p.owner),
        "plan_empty",
        None,
    ),
    "ending as active": (
        lambda plan, p: services.careplan_end(plan=plan, by=p.owner, status=PlanStatus.ACTIVE, reason="Why"),
        "invalid_end_status",
        "status",
    ),
    "ending a draft": (
        lambda plan, p: services.careplan_end(
            plan=_draft(p), by=p.owner, status=PlanStatus.STOPPED, reason="Moved away."
        ),
        "plan_not_active",
        None,
    ),
    "ending without a reason": (
        lambda plan, p: services.careplan_end(plan=plan, by=p.owner, status=PlanStatus.STOPPED, reason=" "),
        "required",
        "reason",
    ),
    "a template without a name": (
        lambda plan, p: plan_templates.careplan_save_as_template(plan=plan, by=p.owner, name=""),
        "required",
        "name",
    ),
    "a template name the clinic has": (
        lambda plan, p: plan_templates.careplan_save_as_template(
            plan=plan, by=p.owner, name=_saved_template(plan, p).name.upper()
        ),
        "template_name_taken",
        "name",
    ),
    "a template of archived exercises": (
        lambda plan, p: plan_templates.careplan_save_as_template(
            plan=_all_archived(plan), by=p.owner, name="Mine"
        ),
        "no_published_exercises",
        None,
    ),
    "marking an exercise of another patient's plan": (
        lambda plan, p: exercise_session_mark(
            patient=p.patient_b,
            plan_exercise_id=_first(plan).pk,
            done=True,
        ),
        "not_found",
        None,
    ),
    "marking a session the exercise does not have today": (
        lambda plan, p: exercise_session_mark(
            patient=p.patient_a,
            plan_exercise_id=plan.exercises.get(exercise__slug="bridge").pk,  # once a day
            done=True,
            session=2,
        ),
        "session_out_of_range",
        "session",
    ),
}


def _removed(plan: CarePlan, p: Any) -> PlanExercise:
    plan_exercise = _first(plan)
    plan_exercises.careplan_exercise_remove(plan_exercise=plan_exercise, by=p.owner)
    return plan_exercise


def _saved_template(plan: CarePlan, p: Any) -> PlanTemplate:
    return plan_templates.careplan_save_as_template(plan=plan, by=p.owner, name="Back, week one")


def _all_archived(plan: CarePlan) -> CarePlan:
    for plan_exercise in plan.exercises.select_related("exercise"):
        plan_exercise.exercise.status = ExerciseStatus.ARCHIVED
        plan_exercise.exercise.save(update_fields=["status"])
    return plan


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_names_its_rule_and_field(plan_a: CarePlan, personas: Any, case: str) -> None:
    act, code, field = CASES[case]
    with pytest.raises(DomainError) as refused:
        act(plan_a, personas)
    assert (refused.value.code, refused.value.field) == (code, field)
