"""Reads of the library: filtered exercises, one exercise as a clinic may see it, plan templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.models import Clinic
from library.models import Exercise, ExerciseStatus
from library.template_models import PlanTemplate

#: The library page's "whose" filter: every exercise the clinic sees, the clinic's own, or the shared ones.
SOURCE_OURS = "ours"
SOURCE_SHARED = "shared"


@dataclass(frozen=True)
class LibraryFilters:
    q: str = ""
    region: str = ""
    category: str = ""
    equipment: str = ""
    source: str = ""


def visible_exercises(*, clinic: Clinic | None) -> QuerySet[Exercise]:
    """Every exercise ``clinic`` may see, in any status: the shared library's and its own.

    The one tenancy rule of exercises, used by the pages, the API, the plan builder
    and the plan services: a clinic's own exercises are nobody else's (another clinic
    gets a 404). ``clinic`` None (staff, or no clinic): the shared library only.
    """
    shared = Q(clinic__isnull=True)
    return Exercise.objects.filter(shared if clinic is None else shared | Q(clinic=clinic))


def published_exercises(*, clinic: Clinic | None) -> QuerySet[Exercise]:
    """The exercises ``clinic`` may prescribe: published, shared or its own (``visible_exercises``)."""
    return visible_exercises(clinic=clinic).filter(status=ExerciseStatus.PUBLISHED)


def library_exercises(*, filters: LibraryFilters, clinic: Clinic | None) -> QuerySet[Exercise]:
    """The library page's exercises, by name, regions prefetched (two queries).

    Published exercises ``clinic`` may see, and the clinic's own drafts (its
    therapists finish and publish them from here). ``filters.q``: up to 8 words,
    each matched in the name or summary; ``region``: a body-region slug;
    ``category``, ``equipment``: model choice values; ``source``: ``SOURCE_OURS``
    (the clinic's own), ``SOURCE_SHARED`` (the shared library's); "" means any.
    """
    drafts = Q(status=ExerciseStatus.DRAFT, clinic=clinic) if clinic is not None else Q(pk__in=[])
    qs = visible_exercises(clinic=clinic).filter(Q(status=ExerciseStatus.PUBLISHED) | drafts)
    if filters.source == SOURCE_OURS:
        qs = qs.filter(clinic=clinic) if clinic is not None else qs.none()
    elif filters.source == SOURCE_SHARED:
        qs = qs.filter(clinic__isnull=True)
    if filters.q:
        for word in filters.q.split()[:8]:
            qs = qs.filter(Q(name__icontains=word) | Q(summary__icontains=word))
    if filters.region:
        qs = qs.filter(regions__slug=filters.region)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.equipment:
        qs = qs.filter(equipment=filters.equipment)
    return qs.prefetch_related("regions", "media").order_by("name").distinct()


def exercise_visible_to(*, slug: str, clinic: Clinic | None) -> Exercise | None:
    """The exercise with ``slug`` as ``clinic`` may see it, or None (the page answers 404).

    A shared exercise if published, or archived and still in a plan of ``clinic``
    (shared drafts are the admin's); the clinic's own in any status. Another
    clinic's exercise is None. ``clinic=None`` (no therapist) sees published shared
    exercises only. Regions prefetched.
    """
    # Through the plans' reverse relation (careplans.PlanExercise.exercise): the library
    # imports nothing from the care plans above it.
    used_here = Exercise.objects.filter(pk=OuterRef("pk"), plan_exercises__plan__patient__clinic=clinic)
    shown = Q(status=ExerciseStatus.PUBLISHED) | Q(Q(status=ExerciseStatus.ARCHIVED), Exists(used_here))
    if clinic is not None:
        shown |= Q(clinic=clinic)
    return (
        visible_exercises(clinic=clinic)
        .filter(shown, slug=slug)
        .select_related("copied_from", "created_by")
        .prefetch_related("regions", "media")
        .first()
    )


def exercise_progressions(*, exercise: Exercise, clinic: Clinic | None) -> dict[str, Any]:
    """``{"harder": Exercise | None, "easier": [Exercise]}``: the variants of ``exercise`` that
    ``clinic`` can prescribe (published, shared or its own), easier ones by name (two queries)."""
    offered = published_exercises(clinic=clinic)
    harder = offered.filter(pk=exercise.harder_id).first() if exercise.harder_id else None
    return {"harder": harder, "easier": list(offered.filter(harder=exercise).order_by("name"))}


def own_exercise(*, slug: str, clinic: Clinic) -> Exercise | None:
    """``clinic``'s own exercise with ``slug`` (any status), for its therapists to edit; else None."""
    return Exercise.objects.filter(slug=slug, clinic=clinic).prefetch_related("regions").first()


def plan_templates_for(*, clinic: Clinic) -> QuerySet[PlanTemplate]:
    """Shared templates (no clinic) and ``clinic``'s own, ordered by clinic id then name, each
    annotated with ``exercise_count`` and ``phase_count`` (0: a template without phases)."""
    return (
        PlanTemplate.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))
        .annotate(
            exercise_count=Count("exercises", distinct=True), phase_count=Count("phases", distinct=True)
        )
        .order_by("clinic_id", "name")
    )
