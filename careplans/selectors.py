"""Reads of care plans. Plan reads start from the clinic; a patient's from the patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Clinic, Patient
from audit.services import audit_read
from careplans.adherence import Adherence, adherence_for_plans
from careplans.models import CarePlan, PlanExercise, PlanStatus, PlanVersion
from library.models import Exercise
from library.selectors import published_exercises


def patient_plans(*, patient: Patient) -> QuerySet[CarePlan]:
    """Every plan of ``patient``, drafts and ended ones too, newest first, therapist's user loaded."""
    return patient.plans.select_related("therapist__user").order_by("-created_at", "-id")


def active_plan_of(*, patient: Patient) -> CarePlan | None:
    """The patient's one active plan (a database constraint), therapist and patient's clinic loaded;
    None when there is none."""
    return (
        CarePlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
        .select_related("therapist__user", "patient__clinic")
        .first()
    )


# --- care plans ---------------------------------------------------------------


def clinic_plans(*, clinic: Clinic) -> QuerySet[CarePlan]:
    """The only way into plans for therapists: plans of ``clinic``'s patients, patient's and
    therapist's users loaded; another clinic's plan is simply not found. Notes no read."""
    return CarePlan.objects.filter(patient__clinic=clinic).select_related("patient__user", "therapist__user")


def plan_for_clinic(*, clinic: Clinic, plan_id: int) -> CarePlan:
    """A plan of ``clinic``'s patients to show a therapist; raises Http404 for any other id.

    The read is noted for the audit trail (audit.services.audit_read).
    """
    plan = get_object_or_404(clinic_plans(clinic=clinic), pk=plan_id)
    # The query found it among the clinic's patients: their clinic is this one, already loaded.
    plan.patient.clinic = clinic
    audit_read([plan])
    return plan


def plan_exercise_of(*, plan: CarePlan, plan_exercise_id: int) -> PlanExercise:
    """One exercise of ``plan`` (reached through ``plan_for_clinic``), exercise loaded; else Http404.

    The read is noted for the audit trail (audit.services.audit_read).
    """
    item = get_object_or_404(
        plan.exercises.select_related("exercise").prefetch_related("exercise__media"), pk=plan_exercise_id
    )
    item.plan = plan
    audit_read([item])
    return item


def ordered_plan_exercises(*, plan: CarePlan) -> list[PlanExercise]:
    """A plan's exercises in order, archived ones included (a plan keeps what it prescribes), each
    exercise's pictures and video prefetched (one query for them all)."""
    return list(
        plan.exercises.select_related("exercise")
        .prefetch_related("exercise__media")
        .order_by("position", "id")
    )


def plan_versions(*, plan: CarePlan) -> QuerySet[PlanVersion]:
    """The plan's versions, newest (highest number) first, author loaded."""
    return plan.versions.select_related("created_by").order_by("-number")


def plan_library_search(*, plan: CarePlan, q: str, limit: int = 12) -> list[Exercise]:
    """Published exercises to add, by name: at most ``limit``, each of up to 8 words of ``q``
    matched in the name, summary or a region's name; each annotated ``in_plan`` (bool). The
    shared library's and the plan's clinic's own (``library.selectors.published_exercises``)."""
    qs = published_exercises(clinic=plan.patient.clinic)
    for word in q.split()[:8]:
        qs = qs.filter(
            Q(name__icontains=word) | Q(summary__icontains=word) | Q(regions__name__icontains=word)
        )
    in_plan = PlanExercise.objects.filter(plan=plan, exercise=OuterRef("pk"))
    found = qs.annotate(in_plan=Exists(in_plan)).order_by("name").distinct()
    return list(found.prefetch_related("media")[:limit])


@dataclass(frozen=True)
class Variants:
    """An exercise's variants a clinic can prescribe: the harder one and the easier ones (by name)."""

    harder: Exercise | None
    easier: tuple[Exercise, ...]

    def __bool__(self) -> bool:
        return self.harder is not None or bool(self.easier)

    def get(self, exercise_id: int) -> tuple[Exercise, str] | None:
        """The variant with ``exercise_id`` and its direction ("progress" or "regress"), or None."""
        if self.harder is not None and self.harder.pk == exercise_id:
            return self.harder, "progress"
        easier = next((e for e in self.easier if e.pk == exercise_id), None)
        return (easier, "regress") if easier is not None else None


def exercise_variants(*, exercises: Sequence[Exercise], clinic: Clinic) -> dict[int, Variants]:
    """Each of ``exercises``' variants that ``clinic`` can prescribe, by exercise id (one query).

    The harder variant (``Exercise.harder``) and the easier ones (those whose harder
    variant it is), published and seen by the clinic (``published_exercises``).
    """
    ids = [exercise.pk for exercise in exercises]
    harder_ids = [exercise.harder_id for exercise in exercises if exercise.harder_id is not None]
    if not ids:
        return {}
    found = list(
        published_exercises(clinic=clinic)
        .filter(Q(pk__in=harder_ids) | Q(harder_id__in=ids))
        .order_by("name")
    )
    by_id = {exercise.pk: exercise for exercise in found}
    return {
        exercise.pk: Variants(
            harder=by_id.get(exercise.harder_id) if exercise.harder_id is not None else None,
            easier=tuple(e for e in found if e.harder_id == exercise.pk),
        )
        for exercise in exercises
    }


def week_label(plan: CarePlan, today: date) -> str:
    """Where the patient is in the plan on ``today`` (their local date), in words: "week 4 of 12",
    "starts 3 Mar" before the start, "all 12 weeks done" after the end."""
    if today < plan.start_date:
        return f"starts {plan.start_date:%-d %b}"
    if today > plan.end_date:
        return f"all {plan.length_weeks} weeks done"
    return f"week {plan.week_on(today)} of {plan.length_weeks}"


@dataclass(frozen=True)
class PlanProgress:
    today: date
    week: str
    adherence: Adherence
    started: bool
    finished: bool


def plan_progress(*, plan: CarePlan) -> PlanProgress:
    """The plan's week and adherence on the patient's own date (two queries).

    For an ended plan, the date it ended (in the patient's zone) if that is earlier.
    Adherence is sessions done / sessions prescribed so far (DESIGN.md; careplans.adherence).
    """
    today = plan.patient.local_today()
    if plan.ended_at is not None:
        # An ended plan prescribes nothing after the day it ended.
        today = min(today, plan.ended_at.astimezone(plan.patient.zone).date())
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    return PlanProgress(
        today=today,
        week=week_label(plan, today),
        adherence=adherence,
        started=today >= plan.start_date,
        finished=today > plan.end_date,
    )
