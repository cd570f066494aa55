"""Writes of an exercise's pictures and video: stored under generated names through Django's
storage API (var/media, or an S3-compatible bucket), thumbnailed once with easy-thumbnails,
and never left behind: a failed save removes its files, and ``media_orphans_remove`` (a
daily job) removes any file no row names."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from easy_thumbnails.files import get_thumbnailer
from easy_thumbnails.models import Source

from accounts.models import User
from audit.services import audit_log
from library.models import Exercise, ExerciseMedia, MediaKind
from library.uploads import upload_checked
from portal.errors import DomainError
from portal.validity import shows_text

log = logging.getLogger(__name__)

#: The thumbnail sizes pages use (settings.THUMBNAIL_ALIASES): ``card`` on library cards,
#: the builder and the Today page's list, ``page`` on the exercise page, Today and handouts.
THUMBNAIL_SIZES = ("card", "page")
#: Where uploads are stored (library.models.media_upload_name).
MEDIA_DIR = "exercise-media"
#: Pictures an exercise may have.
MAX_IMAGES = 8
#: A file younger than this is never an orphan: its row may still be being written.
ORPHAN_GRACE = timedelta(hours=1)


def _thumbnails_made(media: ExerciseMedia) -> None:
    thumbnailer = get_thumbnailer(media.file)
    for size in THUMBNAIL_SIZES:
        thumbnailer[size]


def _files_removed(name: str) -> None:
    """Remove a stored file, every thumbnail made of it and easy-thumbnails' records of them
    (each may already be gone)."""
    for thumbnail in _thumbnail_names(name):
        default_storage.delete(thumbnail)
    default_storage.delete(name)
    # easy-thumbnails' cache of what it made (its Thumbnail rows go with their Source).
    Source.objects.filter(name=name).delete()


def _thumbnail_names(name: str) -> list[str]:
    """Files next to ``name`` whose names start with it (easy-thumbnails' ``<name>.<options>.jpg``)."""
    folder, _, base = name.rpartition("/")
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    return [f"{folder}/{file}" for file in files if file.startswith(f"{base}.")]


def media_add_check(*, exercise: Exercise, kind: str, description: str) -> None:
    """Whether a picture or video (``kind``) described by ``description`` may join ``exercise``.

    Raises DomainError: required, too_long (description: up to 300 characters that show);
    too_many_images (file: MAX_IMAGES already); video_exists (file: the exercise has a
    video) and video_link_exists (file: it links to one instead). ``exercise`` unsaved
    (the admin's add page): the description only.
    """
    if not shows_text(description):
        raise DomainError(
            "Describe it for someone who cannot see it (what the patient is doing).",
            field="description",
            code="required",
        )
    if len(description) > 300:
        raise DomainError("Keep the description to 300 characters.", field="description", code="too_long")
    if exercise.pk is None:
        return
    if kind == MediaKind.VIDEO:
        if exercise.media.filter(kind=MediaKind.VIDEO).exists():
            raise DomainError(
                "This exercise has a video; remove it before adding another.",
                field="file",
                code="video_exists",
            )
        if exercise.video_url:
            raise DomainError(
                "This exercise links to a video; remove the link to upload one instead.",
                field="file",
                code="video_link_exists",
            )
    elif exercise.media.filter(kind=MediaKind.IMAGE).count() >= MAX_IMAGES:
        raise DomainError(
            f"An exercise has at most {MAX_IMAGES} pictures; remove one first.",
            field="file",
            code="too_many_images",
        )


def exercise_media_add(
    *, exercise: Exercise, by: User, upload: UploadedFile[bytes], description: str, ip: str | None = None
) -> ExerciseMedia:
    """Check, store and thumbnail a picture or the video of ``exercise``, last in its order.

    ``upload``: the uploaded file (checked by ``library.uploads.upload_checked``: its
    name is never used; a picture is stored as drawn again); ``description``: a
    picture's alt text or the video's caption, required, up to 300 characters. The
    caller has checked that ``by`` may change ``exercise``. One ``exercise.media_added``
    audit entry. Returns the saved media, its thumbnails made.

    Raises DomainError: upload_checked's codes (field ``file``), then media_add_check's.
    Nothing is left stored when it raises.
    """
    description = description.strip()
    checked = upload_checked(upload)
    media_add_check(exercise=exercise, kind=checked.kind, description=description)
    media = ExerciseMedia(
        exercise=exercise,
        kind=checked.kind,
        content_type=checked.content_type,
        size_bytes=len(checked.content) if checked.content is not None else upload.size or 0,
        width=checked.width,
        height=checked.height,
        description=description,
        created_by=by,
    )
    content: File[bytes] = ContentFile(checked.content) if checked.content is not None else upload
    media.file.save(f"upload.{checked.extension}", content, save=False)
    try:
        with transaction.atomic():
            last = exercise.media.aggregate(last=Max("position"))["last"]
            media.position = 0 if last is None else last + 1
            media.save()
            if checked.kind == MediaKind.IMAGE:
                _thumbnails_made(media)
            audit_log(
                action="exercise.media_added",
                actor=by,
                obj=exercise,
                clinic=exercise.clinic,
                ip=ip,
                data={"kind": checked.kind, "description": description, "bytes": media.size_bytes},
            )
    except BaseException:
        _files_removed(str(media.file.name))
        raise
    return media


def exercise_media_copy(*, source: Exercise, target: Exercise, by: User) -> list[ExerciseMedia]:
    """Copy ``source``'s pictures and video to ``target`` (a clinic's copy of a shared
    exercise), in order, each in a new file with its own thumbnails. Returns the copies.

    Runs in the caller's transaction; were it rolled back, the files stored are left for
    ``media_orphans_remove``.
    """
    copies = []
    for original in source.media.all():
        copy = ExerciseMedia(
            exercise=target,
            kind=original.kind,
            content_type=original.content_type,
            size_bytes=original.size_bytes,
            width=original.width,
            height=original.height,
            description=original.description,
            position=original.position,
            created_by=by,
        )
        extension = str(original.file.name).rsplit(".", 1)[-1]
        with default_storage.open(str(original.file.name), "rb") as stored:
            copy.file.save(f"copy.{extension}", File(stored), save=False)
        copy.save()
        if copy.kind == MediaKind.IMAGE:
            _thumbnails_made(copy)
        copies.append(copy)
    return copies


def exercise_media_remove(*, media: ExerciseMedia, by: User, ip: str | None = None) -> None:
    """Remove a picture or video of an exercise, its row and then its files and thumbnails.

    The caller has checked that ``by`` may change the exercise. One
    ``exercise.media_removed`` audit entry. The files go once the row's removal is
    committed (a rolled-back removal keeps them).
    """
    name = str(media.file.name)
    exercise = media.exercise
    with transaction.atomic():
        media.delete()
        audit_log(
            action="exercise.media_removed",
            actor=by,
            obj=exercise,
            clinic=exercise.clinic,
            ip=ip,
            data={"kind": media.kind, "description": media.description},
        )
        transaction.on_commit(lambda: _files_removed(name))


@transaction.atomic
def exercise_media_move(*, media: ExerciseMedia, by: User, earlier: bool, ip: str | None = None) -> None:
    """Move a picture one place earlier (``earlier``) or later among its exercise's media.

    The first picture is the exercise's thumbnail everywhere. At either end it stays
    where it is. One ``exercise.media_moved`` audit entry when it moves.
    """
    ordered = list(ExerciseMedia.objects.select_for_update().filter(exercise_id=media.exercise_id))
    index = next(i for i, item in enumerate(ordered) if item.pk == media.pk)
    other = index - 1 if earlier else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])
    exercise = media.exercise
    audit_log(
        action="exercise.media_moved",
        actor=by,
        obj=exercise,
        clinic=exercise.clinic,
        ip=ip,
        data={"description": media.description, "to": other + 1},
    )


def picture_bytes(media: ExerciseMedia, size: str = "page") -> bytes | None:
    """The bytes of a picture's thumbnail of ``size`` (one of THUMBNAIL_SIZES), for the PDF
    handout; made again if it is missing. None when the stored file cannot be read (the
    handout is then printed without it, and the failure logged)."""
    try:
        thumbnail = get_thumbnailer(media.file)[size]
        with thumbnail.storage.open(str(thumbnail.name), "rb") as stored:
            return bytes(stored.read())
    except Exception:
        log.exception("media: the %s picture of %s could not be read", size, media.file.name)
        return None


def media_files_remove(names: list[str]) -> None:
    """Remove stored media files (names as ExerciseMedia.file holds them) and their thumbnails,
    after their rows are gone (an exercise discarded); each may already be gone."""
    for name in names:
        _files_removed(name)


def _stored_names() -> Iterator[str]:
    try:
        _, files = default_storage.listdir(MEDIA_DIR)
    except FileNotFoundError:
        return
    for file in files:
        yield f"{MEDIA_DIR}/{file}"


def media_orphans_remove(*, now: datetime | None = None) -> int:
    """Remove stored media files that no ExerciseMedia row names, and their thumbnails.

    A file counts as named when it is a row's file or a thumbnail of one
    (``<file>.<options>``). Files younger than ORPHAN_GRACE are kept (an upload whose
    row is being written). Left behind by a process killed between storing a file and
    committing its row, or a row removed outside ``exercise_media_remove``. Returns
    how many files were removed. Run daily by the ``library_media_orphans_remove`` job.
    """
    now = now or timezone.now()
    named = set(ExerciseMedia.objects.values_list("file", flat=True))
    removed = 0
    for name in _stored_names():
        source = name.split("/", 1)[1].split(".", 2)
        original = f"{MEDIA_DIR}/{source[0]}.{source[1]}" if len(source) > 1 else name
        if original in named:
            continue
        if now - default_storage.get_modified_time(name) < ORPHAN_GRACE:
            continue
        default_storage.delete(name)
        removed += 1
    if removed:
        log.info("media: removed %d orphan files", removed)
    return removed
