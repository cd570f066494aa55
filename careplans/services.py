"""Writes for the library and plans. One service, one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from careplans.library_data import EXERCISES, LOW_BACK_ONE_SIDE_SLUGS, REGIONS
from careplans.models import BodyRegion, Exercise, ExerciseStatus, PlanTemplate, TemplateExercise

LOW_BACK_TEMPLATE_NAME = "Low back pain, one side, above the buttock"


@dataclass(frozen=True)
class LibraryLoadResult:
    regions_created: int
    exercises_created: int
    templates_created: int


@transaction.atomic
def library_load() -> LibraryLoadResult:
    """Add the built-in regions, exercises and shared template that are missing.

    Existing rows are left alone, so an admin's edits survive and a second run
    changes nothing.
    """
    regions_created = 0
    regions: dict[str, BodyRegion] = {}
    for position, (slug, name) in enumerate(REGIONS):
        region, created = BodyRegion.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
        regions[slug] = region
        regions_created += created

    existing = set(Exercise.objects.values_list("slug", flat=True))
    exercises_created = 0
    for data in EXERCISES:
        if data["slug"] in existing:
            continue
        exercise = Exercise.objects.create(
            slug=data["slug"],
            name=data["name"],
            summary=data["summary"],
            instructions="\n".join(data["instructions"]),
            category=data["category"],
            equipment=data["equipment"],
            difficulty=data["difficulty"],
            sets=data["sets"],
            reps=data["reps"],
            hold_seconds=data["hold_seconds"],
            sessions_per_day=data["sessions_per_day"],
            days_per_week=data["days_per_week"],
            precautions=data["precautions"],
            video_url=data["video_url"],
            status=ExerciseStatus.PUBLISHED,
        )
        exercise.regions.set([regions[slug] for slug in data["regions"]])
        exercises_created += 1

    templates_created = 0
    if not PlanTemplate.objects.filter(name=LOW_BACK_TEMPLATE_NAME, clinic=None).exists():
        template = PlanTemplate.objects.create(
            name=LOW_BACK_TEMPLATE_NAME,
            condition="Non-specific low back pain, one side",
            description=(
                "Five gentle exercises for pain on one side of the low back, above the buttock: "
                "mobility first, then control and strength."
            ),
        )
        by_slug = Exercise.objects.in_bulk(LOW_BACK_ONE_SIDE_SLUGS, field_name="slug")
        TemplateExercise.objects.bulk_create(
            TemplateExercise(
                template=template,
                exercise=by_slug[slug],
                position=position,
                sets=by_slug[slug].sets,
                reps=by_slug[slug].reps,
                hold_seconds=by_slug[slug].hold_seconds,
                sessions_per_day=by_slug[slug].sessions_per_day,
                days_per_week=by_slug[slug].days_per_week,
            )
            for position, slug in enumerate(LOW_BACK_ONE_SIDE_SLUGS)
        )
        templates_created = 1
    return LibraryLoadResult(regions_created, exercises_created, templates_created)
