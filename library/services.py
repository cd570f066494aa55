"""Writes for the library: loading the built-in exercises, a clinic's own exercises, publishing and
archiving, dosage checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from audit.services import audit_log
from library.builtin import PhaseData, QuestionnaireData, builtin_library
from library.models import DOSAGE_LIMITS, DOSE_LABELS, BodyRegion, Exercise, ExerciseStatus
from library.template_models import (
    PlanTemplate,
    TemplateExercise,
    TemplatePhase,
    TemplateSchedule,
    week_opens_day,
)
from portal.errors import DomainError

#: The shared template that ``library_load`` adds (its name is in ``builtin.toml``).
LOW_BACK_TEMPLATE_NAME = builtin_library().template["name"]


@dataclass(frozen=True)
class LibraryLoadResult:
    regions_created: int
    exercises_created: int
    templates_created: int


@transaction.atomic
def library_load() -> LibraryLoadResult:
    """Add the built-in regions, exercises and shared template that are missing.

    Existing rows are left alone, so an admin's edits survive and a second run
    changes nothing. Each exercise is checked by its model's fields (``full_clean``:
    lengths, choices, dosage ranges) and by its table's check constraints as it is
    written; a bad entry in ``builtin.toml`` raises ``ValidationError`` naming its slug,
    and the whole load is rolled back.
    Returns how many regions, exercises and templates were created.
    """
    builtin = builtin_library()
    regions_created = 0
    regions: dict[str, BodyRegion] = {}
    for position, entry in enumerate(builtin.regions):
        region, created = BodyRegion.objects.get_or_create(
            slug=entry["slug"], defaults={"name": entry["name"], "position": position}
        )
        regions[entry["slug"]] = region
        regions_created += created

    existing = set(Exercise.objects.values_list("slug", flat=True))
    exercises_created = 0
    for data in builtin.exercises:
        if data["slug"] in existing:
            continue
        exercise = Exercise(
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
        try:
            # The fields' own checks here (lengths, choices, dosage ranges); the table's check
            # constraints (the same ranges, reps or hold) at the INSERT, which is far cheaper
            # than Django asking the database once per constraint and exercise beforehand.
            exercise.full_clean(exclude=["regions"], validate_unique=False, validate_constraints=False)
            with transaction.atomic():
                exercise.save()
        except ValidationError as error:
            raise ValidationError(f"Library exercise {data['slug']!r}: {error.message_dict}") from error
        except IntegrityError as error:
            raise ValidationError(f"Library exercise {data['slug']!r}: {error}") from error
        unknown = sorted(set(data["regions"]) - set(regions))
        if unknown:
            raise ValidationError(f"Library exercise {data['slug']!r}: unknown regions {unknown}")
        exercise.regions.set([regions[slug] for slug in data["regions"]])
        exercises_created += 1

    _progressions_load(builtin.progressions)

    templates_created = 0
    template = PlanTemplate.objects.filter(name=LOW_BACK_TEMPLATE_NAME, clinic=None).first()
    if template is None:
        shared = builtin.template
        template = PlanTemplate.objects.create(
            name=shared["name"], condition=shared["condition"], description=shared["description"]
        )
        templates_created = 1
    if not template.phases.exists():
        _template_phases_load(template, builtin.template["phases"])
    if not template.schedule.exists():
        _template_schedule_load(template, builtin.template["questionnaires"])
    return LibraryLoadResult(regions_created, exercises_created, templates_created)


def _template_schedule_load(template: PlanTemplate, questionnaires: list[QuestionnaireData]) -> None:
    """Give the shared template the file's questionnaires, each due through its plan weeks
    (``week_opens_day``; 7 days, "intake" for week 1); only called when it has none, so an
    admin's schedule stands and a second load changes nothing."""
    TemplateSchedule.objects.bulk_create(
        TemplateSchedule(
            template=template,
            instrument_code=entry["instrument"],
            occasion="intake" if week == 1 else f"week {week}",
            opens_day=week_opens_day(week),
            window_days=7,
        )
        for entry in questionnaires
        for week in entry["weeks"]
    )


def _template_phases_load(template: PlanTemplate, phases: list[PhaseData]) -> None:
    """Give the shared template the file's phases and their exercises; only called when it has
    no phases (an admin's phases stand, and a second load changes nothing).

    A template loaded before phases existed keeps the exercises it has (an admin may have
    changed them): they become its first phase's, and the file's later phases are added.
    Each entry takes the exercise's default dose except what it gives. Raises
    ValidationError naming an unknown slug or a dose outside the table's ranges.
    """
    slugs = {entry["slug"] for phase in phases for entry in phase["exercises"]}
    by_slug = Exercise.objects.filter(clinic=None).in_bulk(slugs, field_name="slug")
    unknown = sorted(slugs - set(by_slug))
    if unknown:
        raise ValidationError(f"Library template phases: unknown exercises {unknown}")
    kept = template.exercises.filter(phase=None)
    items: list[TemplateExercise] = []
    for index, data in enumerate(phases):
        phase = TemplatePhase.objects.create(
            template=template, name=data["name"], starts_week=data["starts_week"]
        )
        if index == 0 and kept.exists():
            kept.update(phase=phase)
            continue
        for position, entry in enumerate(data["exercises"]):
            exercise = by_slug[entry["slug"]]
            dose = {name: entry.get(name, getattr(exercise, name)) for name in DOSAGE_LIMITS}
            items.append(
                TemplateExercise(template=template, phase=phase, exercise=exercise, position=position, **dose)
            )
    try:
        with transaction.atomic():
            TemplateExercise.objects.bulk_create(items)
    except IntegrityError as error:
        raise ValidationError(f"Library template phases: {error}") from error


def _progressions_load(progressions: Mapping[str, str]) -> None:
    """Set each shared exercise's harder variant from the file where it has none yet (an admin's
    choice stands). Raises ValidationError naming a slug that is not a shared exercise."""
    slugs = set(progressions) | set(progressions.values())
    by_slug = Exercise.objects.filter(clinic=None).in_bulk(slugs, field_name="slug")
    unknown = sorted(slugs - set(by_slug))
    if unknown:
        raise ValidationError(f"Library progressions: unknown exercises {unknown}")
    for easier, harder in progressions.items():
        if easier == harder:
            raise ValidationError(f"Library progressions: {easier!r} cannot progress to itself")
        Exercise.objects.filter(pk=by_slug[easier].pk, harder__isnull=True).update(harder=by_slug[harder])


def validate_dosage(values: dict[str, int]) -> None:
    """Check a dose against the ranges the database enforces, with messages a therapist can act on.

    ``values``: every key of ``DOSAGE_LIMITS`` (library.models, the one definition of
    the ranges): sets, reps and sessions_per_day are counts, hold_seconds seconds,
    days_per_week days. Returns None when the dose is valid.

    Raises DomainError: dosage_out_of_range (the field out of range, e.g. sets outside
    1-10), no_reps_or_hold (reps: both reps and hold_seconds are 0).
    """
    for name, (low, high) in DOSAGE_LIMITS.items():
        value = values[name]
        if not low <= value <= high:
            label = DOSE_LABELS[name]
            raise DomainError(
                f"{label.capitalize()} must be between {low} and {high}.",
                field=name,
                code="dosage_out_of_range",
            )
    if values["reps"] == 0 and values["hold_seconds"] == 0:
        raise DomainError(
            "Give the exercise some reps or a hold time (or both).", field="reps", code="no_reps_or_hold"
        )


@transaction.atomic
def exercise_set_status(
    *, exercises: QuerySet[Exercise], status: str, by: User, ip: str | None = None
) -> int:
    """Set ``status`` (an ``ExerciseStatus`` value) on the exercises of ``exercises`` that differ.

    Archiving only hides an exercise from new plans: plans that use it keep it. One
    ``exercise.<status>`` audit entry per exercise changed. Returns how many changed.

    Raises DomainError: unknown_status (status).
    """
    if status not in ExerciseStatus.values:
        raise DomainError(f"Unknown exercise status {status!r}.", field="status", code="unknown_status")
    # The admin's queryset may be DISTINCT (a region filter), which cannot be locked: lock by id.
    ids = list(exercises.exclude(status=status).values_list("pk", flat=True))
    changing = list(
        Exercise.objects.filter(pk__in=ids).exclude(status=status).select_for_update().order_by("pk")
    )
    if not changing:
        return 0
    Exercise.objects.filter(pk__in=[e.pk for e in changing]).update(status=status, updated_at=timezone.now())
    for exercise in changing:
        audit_log(
            action=f"exercise.{status}",
            actor=by,
            obj=exercise,
            ip=ip,
            clinic=exercise.clinic,
            data={"from": exercise.status, "to": status, "slug": exercise.slug},
        )
    return len(changing)
