"""Reads. Library reads are clinic-independent; plan reads start from the clinic."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from careplans.models import Exercise, ExerciseStatus, PlanExercise
from patients.models import Clinic


@dataclass(frozen=True)
class LibraryFilters:
    q: str = ""
    region: str = ""
    category: str = ""
    equipment: str = ""


def library_exercises(*, filters: LibraryFilters) -> QuerySet[Exercise]:
    """Published exercises matching the filters, regions prefetched (two queries)."""
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
    """A published exercise, or an archived one that a plan of this clinic still uses.

    Drafts are never visible outside the admin.
    """
    used_here = PlanExercise.objects.filter(exercise=OuterRef("pk"), plan__clinic=clinic)
    return (
        Exercise.objects.filter(slug=slug)
        .filter(Q(status=ExerciseStatus.PUBLISHED) | (Q(status=ExerciseStatus.ARCHIVED) & Exists(used_here)))
        .prefetch_related("regions")
        .first()
    )
