"""A plan saved as a template of its clinic: its published exercises, dosage, notes and phases
(split from careplans.services by sub-domain; the plan's own writes stay there)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Therapist
from audit.services import audit_log
from careplans.models import CarePlan
from careplans.phases import plan_phases
from careplans.services import plan_check_clinic, plan_check_length, plan_exercises_in_order
from library.models import DOSAGE_LIMITS, ExerciseStatus
from library.template_models import PlanTemplate, TemplateExercise, TemplatePhase
from portal.errors import DomainError
from portal.validity import shows_text


@transaction.atomic
def careplan_save_as_template(
    *, plan: CarePlan, by: Therapist, name: str, ip: str | None = None
) -> PlanTemplate:
    """Copy a plan's published exercises, dosage and notes, in order, and its phases into a new
    template of ``by``'s clinic named ``name``. Returns the template.

    Raises DomainError: not_found (a plan of another clinic), required (name), too_long
    (name), template_name_taken (name: the clinic has one, ignoring case),
    no_published_exercises.
    """
    plan_check_clinic(plan, by)
    name = name.strip()
    if not shows_text(name):
        raise DomainError("Give the template a name.", field="name", code="required")
    plan_check_length(name, model=PlanTemplate, name="name", field="name", what="name")
    if PlanTemplate.objects.filter(clinic=by.clinic, name__iexact=name).exists():
        raise DomainError(
            "Your clinic already has a template with this name.", field="name", code="template_name_taken"
        )
    items = [
        item for item in plan_exercises_in_order(plan) if item.exercise.status == ExerciseStatus.PUBLISHED
    ]
    if not items:
        raise DomainError("The plan has no published exercises to save.", code="no_published_exercises")
    template = PlanTemplate.objects.create(
        name=name, condition=plan.condition, clinic=by.clinic, created_by=by.user
    )
    phases = {
        phase.pk: TemplatePhase.objects.create(
            template=template, name=phase.name, starts_week=phase.starts_week
        )
        for phase in plan_phases(plan=plan)
    }
    TemplateExercise.objects.bulk_create(
        TemplateExercise(
            template=template,
            phase=phases.get(item.phase_id) if item.phase_id is not None else None,
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
