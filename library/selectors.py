"""Reads of the library: filtered exercises, one exercise as a clinic may see it, plan templates."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.models import Clinic
from library.models import Exercise, ExerciseStatus, PlanTemplate


@dataclass(frozen=True)
class LibraryFilters:
    q: str = ""
    region: str = ""
    category: str = ""
    equipment: str = ""


def library_exercises(*, filters: LibraryFilters) -> QuerySet[Exercise]:
    """Published exercises matching the filters, by name, regions prefetched (two queries).

    ``filters.q``: up to 8 words, each matched in the name or summary; ``region``: a
    body-region slug; ``category``, ``equipment``: model choice values; "" means any.
    """
    qs = Exercise.objects.filter(status=ExerciseStatus.PUBLISHED)
    if filters.q:
        for word in filters.q.split()[:8]:
            qs = qs.filter(Q(name__icontains=word) | Q(summary__icontains=word))
    if filters.region:
        qs = qs.filter(regions__slug=filters.region)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.equipment:
        qs = qs.filter(equipment=filters.equipment)
    return qs.prefetch_related("regions").order_by("name").distinct()


def exercise_visible_to(*, slug: str, clinic: Clinic | None) -> Exercise | None:
    """The exercise with ``slug`` if published, or archived and still in a plan of ``clinic``; else None.

    Drafts are never visible outside the admin. ``clinic=None`` (no therapist) sees
    published exercises only. Regions prefetched.
    """
    # Through the plans' reverse relation (careplans.PlanExercise.exercise): the library
    # imports nothing from the care plans above it.
    used_here = Exercise.objects.filter(pk=OuterRef("pk"), plan_exercises__plan__patient__clinic=clinic)
    return (
        Exercise.objects.filter(slug=slug)
        .filter(Q(status=ExerciseStatus.PUBLISHED) | (Q(status=ExerciseStatus.ARCHIVED) & Exists(used_here)))
        .prefetch_related("regions")
        .first()
    )


def plan_templates_for(*, clinic: Clinic) -> QuerySet[PlanTemplate]:
    """Shared templates (no clinic) and ``clinic``'s own, ordered by clinic id then name, each
    annotated with ``exercise_count``."""
    return (
        PlanTemplate.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))
        .annotate(exercise_count=Count("exercises"))
        .order_by("clinic_id", "name")
    )
