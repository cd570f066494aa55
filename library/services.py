"""Writes for the library: loading the built-in exercises, a clinic's own exercises, publishing and
archiving, dosage checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Clinic, User
from audit.services import audit_log
from library.builtin import builtin_library
from library.models import (
    DOSAGE_LIMITS,
    DOSE_LABELS,
    BodyRegion,
    Exercise,
    ExerciseStatus,
    PlanTemplate,
    TemplateExercise,
)
from library.selectors import published_exercises
from portal.errors import DomainError
from portal.validity import shows_text

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
    if not PlanTemplate.objects.filter(name=LOW_BACK_TEMPLATE_NAME, clinic=None).exists():
        shared = builtin.template
        template = PlanTemplate.objects.create(
            name=shared["name"], condition=shared["condition"], description=shared["description"]
        )
        by_slug = Exercise.objects.in_bulk(shared["exercises"], field_name="slug")
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
            for position, slug in enumerate(shared["exercises"])
        )
        templates_created = 1
    return LibraryLoadResult(regions_created, exercises_created, templates_created)


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


#: What a clinic's therapist writes on one of the clinic's own exercises (the shared
#: library's fields but its slug, status and links, which the service and media keep).
CLINIC_EXERCISE_FIELDS = (
    "name",
    "summary",
    "instructions",
    "precautions",
    "category",
    "equipment",
    "difficulty",
    "harder",
    *DOSAGE_LIMITS,
)


def _free_slug(name: str) -> str:
    """A slug for a new exercise from its name, unique in the library (``-2``, ``-3``... when taken)."""
    base = slugify(name)[:100].strip("-") or "exercise"
    # "new" is the library's page for writing one (library.urls).
    taken = {"new"} | set(Exercise.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


#: The text a patient reads: each must show something (not only spaces or invisible characters).
_READ_TEXT = {"name": "a name", "summary": "a summary", "instructions": "the steps"}


def _checked(exercise: Exercise) -> None:
    """The shared library's checks on a clinic's exercise: the model's fields, then the dose.

    Raises DomainError with the first failing field and the model's own message
    (code ``invalid``), ``blank`` for a name, summary or steps that show nothing
    (only invisible characters), or validate_dosage's codes.
    """
    for name, what in _READ_TEXT.items():
        if not shows_text(getattr(exercise, name)):
            raise DomainError(f"Give the exercise {what} that can be read.", field=name, code="blank")
    try:
        exercise.full_clean(exclude=["regions", "slug"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        field, problems = next(iter(error.message_dict.items()))
        raise DomainError(" ".join(problems), field=field, code="invalid") from error
    validate_dosage({name: getattr(exercise, name) for name in DOSAGE_LIMITS})
    if exercise.harder_id is not None:
        offered = published_exercises(clinic=exercise.clinic).exclude(pk=exercise.pk)
        if not offered.filter(pk=exercise.harder_id).exists():
            raise DomainError(
                "Choose a harder variant from the published exercises your clinic can use.",
                field="harder",
                code="unknown_variant",
            )


def _regions_of(regions: Iterable[BodyRegion]) -> list[BodyRegion]:
    chosen = list(regions)
    if not chosen:
        raise DomainError("Choose at least one body region.", field="regions", code="no_region")
    return chosen


@transaction.atomic
def clinic_exercise_create(
    *,
    clinic: Clinic,
    by: User,
    values: Mapping[str, Any],
    regions: Iterable[BodyRegion],
    ip: str | None = None,
) -> Exercise:
    """Write a new draft exercise of ``clinic``'s own, by one of its therapists (``by``).

    ``values``: every name of ``CLINIC_EXERCISE_FIELDS`` (text, ``library.models``
    choice values, the dose in DOSAGE_LIMITS' units); ``regions``: at least one.
    The slug comes from the name. One ``exercise.created`` audit entry. Returns the
    exercise, seen only by the clinic until and after it is published.

    ``values["harder"]``: the harder variant (an Exercise, published and seen by the
    clinic) or None.

    Raises DomainError: invalid (the field, the model's message: a name too long, an
    unknown category...), blank (name, summary or instructions showing nothing),
    no_region (regions), unknown_variant (harder), and validate_dosage's codes.
    """
    exercise = Exercise(
        clinic=clinic,
        created_by=by,
        status=ExerciseStatus.DRAFT,
        slug=_free_slug(str(values.get("name", ""))),
        **{name: values[name] for name in CLINIC_EXERCISE_FIELDS},
    )
    _checked(exercise)
    chosen = _regions_of(regions)
    exercise.save()
    exercise.regions.set(chosen)
    audit_log(
        action="exercise.created",
        actor=by,
        obj=exercise,
        ip=ip,
        clinic=clinic,
        data={"slug": exercise.slug, "name": exercise.name},
    )
    return exercise


@transaction.atomic
def clinic_exercise_copy(
    *, source: Exercise, clinic: Clinic, by: User, ip: str | None = None
) -> tuple[Exercise, bool]:
    """A draft of ``clinic``'s own made from ``source`` (a shared exercise), for its therapists to edit.

    Every field and region is copied; the copy remembers ``copied_from``, gets its
    own slug and is a draft. One ``exercise.copied`` audit entry. When the clinic
    already has a draft copy of ``source`` (a copy started and not finished), that
    one is returned instead of a second. Returns (the copy, whether it was made now).

    Raises DomainError: not_shared (source: a clinic's own exercise is edited, not copied).
    """
    if source.clinic_id is not None:
        raise DomainError(
            "Only a shared library exercise can be copied; edit your clinic's own one instead.",
            field="exercise",
            code="not_shared",
        )
    started = (
        Exercise.objects.filter(clinic=clinic, copied_from=source, status=ExerciseStatus.DRAFT)
        .order_by("pk")
        .first()
    )
    if started is not None:
        return started, False
    copy = Exercise(
        clinic=clinic,
        created_by=by,
        copied_from=source,
        status=ExerciseStatus.DRAFT,
        slug=_free_slug(source.name),
        image_url=source.image_url,
        video_url=source.video_url,
        **{name: getattr(source, name) for name in CLINIC_EXERCISE_FIELDS},
    )
    copy.save()
    copy.regions.set(source.regions.all())
    audit_log(
        action="exercise.copied",
        actor=by,
        obj=copy,
        ip=ip,
        clinic=clinic,
        data={"slug": copy.slug, "from": source.slug},
    )
    return copy, True


@transaction.atomic
def clinic_exercise_update(
    *,
    exercise: Exercise,
    by: User,
    values: Mapping[str, Any],
    regions: Iterable[BodyRegion],
    ip: str | None = None,
) -> list[str]:
    """Change one of a clinic's own exercises (``exercise``, its clinic's; the caller checked who asks).

    ``values`` and ``regions`` as ``clinic_exercise_create``. Plans that prescribe it
    show the new text at once (their dose is their own). One ``exercise.updated``
    audit entry naming the fields changed, none when nothing changed. Returns those
    field names.

    Raises DomainError: not_clinic_owned (exercise: a shared one, which staff curate),
    and ``clinic_exercise_create``'s codes; nothing is saved then.
    """
    if exercise.clinic_id is None:
        raise DomainError(
            "Shared library exercises are curated by Plinth's staff; copy it to your clinic to change it.",
            field="exercise",
            code="not_clinic_owned",
        )
    locked = Exercise.objects.select_for_update().get(pk=exercise.pk)
    before = {name: getattr(locked, name) for name in CLINIC_EXERCISE_FIELDS}
    before_regions = sorted(locked.regions.values_list("slug", flat=True))
    for name in CLINIC_EXERCISE_FIELDS:
        setattr(locked, name, values[name])
    _checked(locked)
    chosen = _regions_of(regions)
    changed = [name for name in CLINIC_EXERCISE_FIELDS if before[name] != getattr(locked, name)]
    if sorted(region.slug for region in chosen) != before_regions:
        changed.append("regions")
    if not changed:
        return []
    locked.save()
    locked.regions.set(chosen)
    audit_log(
        action="exercise.updated",
        actor=by,
        obj=locked,
        ip=ip,
        clinic=locked.clinic,
        data={"slug": locked.slug, "fields": changed},
    )
    return changed
