"""Writes of a clinic's own exercises: written from scratch or copied from the shared library by
the clinic's therapists, with the shared library's checks (library.services for the rest)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Clinic, User
from audit.services import audit_log
from library.media import exercise_media_copy, media_files_remove
from library.models import DOSAGE_LIMITS, BodyRegion, Exercise, ExerciseStatus, MediaKind
from library.selectors import published_exercises
from library.services import validate_dosage
from library.template_models import TemplateExercise
from portal.errors import DomainError
from portal.validity import shows_text

#: What a clinic's therapist writes on one of the clinic's own exercises (the shared
#: library's fields but its slug and status, which the services keep, and its pictures and
#: uploaded video, library.media's).
CLINIC_EXERCISE_FIELDS = (
    "name",
    "summary",
    "instructions",
    "precautions",
    "category",
    "equipment",
    "difficulty",
    "harder",
    "video_url",
    *DOSAGE_LIMITS,
)

#: Fields ``values`` may leave out (a new exercise takes these).
OPTIONAL_FIELDS: dict[str, object] = {"video_url": ""}


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
    if exercise.video_url and exercise.pk and exercise.media.filter(kind=MediaKind.VIDEO).exists():
        raise DomainError(
            "This exercise has an uploaded video; remove it before linking to another.",
            field="video_url",
            code="video_exists",
        )
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
        **{name: values.get(name, OPTIONAL_FIELDS.get(name)) for name in CLINIC_EXERCISE_FIELDS},
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

    The source's pictures and video are copied too (new files: removing one from either
    exercise leaves the other's).

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
        **{name: getattr(source, name) for name in CLINIC_EXERCISE_FIELDS},
    )
    copy.save()
    copy.regions.set(source.regions.all())
    exercise_media_copy(source=source, target=copy, by=by)
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
        setattr(locked, name, values.get(name, getattr(locked, name)))
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


@transaction.atomic
def clinic_exercise_discard(*, exercise: Exercise, by: User, ip: str | None = None) -> None:
    """Delete a draft of a clinic's own (``exercise``; the caller checked who asks), with its
    pictures and video, whose files go once the deletion is committed.

    For a draft begun and not wanted (a copy started by mistake). One ``exercise.discarded``
    audit entry. Exercises naming it as their harder variant lose that link.

    Raises DomainError: not_clinic_owned (exercise: a shared one), not_a_draft (status:
    published and archived exercises are archived, not deleted: plans may name them),
    in_use (a plan or template of the clinic names it).
    """
    if exercise.clinic_id is None:
        raise DomainError(
            "Shared library exercises are curated by Plinth's staff.",
            field="exercise",
            code="not_clinic_owned",
        )
    locked = Exercise.objects.select_for_update().get(pk=exercise.pk)
    if locked.status != ExerciseStatus.DRAFT:
        raise DomainError(
            "Only a draft can be discarded; archive a published exercise instead.",
            field="status",
            code="not_a_draft",
        )
    if locked.plan_exercises.exists() or TemplateExercise.objects.filter(exercise=locked).exists():
        raise DomainError(
            "A plan or template uses this exercise, so it is kept.", field="exercise", code="in_use"
        )
    names = [str(name) for name in locked.media.values_list("file", flat=True)]
    audit_log(
        action="exercise.discarded",
        actor=by,
        obj=locked,
        ip=ip,
        clinic=locked.clinic,
        data={"slug": locked.slug, "name": locked.name, "media": len(names)},
    )
    locked.delete()
    transaction.on_commit(lambda: media_files_remove(names))
