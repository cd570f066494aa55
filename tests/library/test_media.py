"""An exercise's pictures and video: checked by what they are (never by name), drawn again
without metadata, stored under generated names, thumbnailed once, served only to those who may
see the exercise (a video in byte ranges), and never left behind when a save fails."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from easy_thumbnails.models import Source, Thumbnail
from PIL import Image

from audit.models import AuditEvent
from library import media as media_module
from library.media import exercise_media_add, exercise_media_move, exercise_media_remove, media_orphans_remove
from library.models import Exercise, ExerciseMedia, ExerciseStatus
from portal.errors import DomainError
from tests.conftest import Personas, login
from tests.factories import ExerciseFactory
from tests.media_files import GPS_IFD, mp4_header, picture, png_claiming, upload, video

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    yield root


def _stored(root: Path) -> list[str]:
    folder = root / "exercise-media"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _ours(personas: Personas, **fields: Any) -> Exercise:
    exercise: Exercise = ExerciseFactory(clinic=personas.clinic, status=ExerciseStatus.PUBLISHED, **fields)
    return exercise


def _add(personas: Personas, exercise: Exercise, content: bytes, name: str = "photo.jpg") -> ExerciseMedia:
    return exercise_media_add(
        exercise=exercise, by=personas.owner.user, upload=upload(content, name), description="Lying on a mat"
    )


def test_a_picture_is_drawn_again_without_its_gps_and_stored_under_a_generated_name(
    personas: Personas, media_root: Path
) -> None:
    exercise = _ours(personas)
    media = _add(personas, exercise, picture(3000, 2000, gps=True), name="../../etc/passwd.jpg")
    assert media.kind == "image" and media.content_type == "image/jpeg"
    assert (media.width, media.height) == (2000, 1333)  # kept at most 2000 pixels a side
    assert media.file.name == f"exercise-media/{media.key.hex}.jpg"
    with default_storage.open(media.file.name) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
        assert "exif" not in image.info and "icc_profile" not in image.info
    names = _stored(media_root)
    assert f"{media.key.hex}.jpg" in names and all("passwd" not in name for name in names)
    # Thumbnails are made at upload, once: the card and page sizes.
    assert len(names) == 3
    event = AuditEvent.objects.get(action="exercise.media_added")
    assert event.clinic_id == personas.clinic.pk and event.data["kind"] == "image"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"MZ\x90\x00\x03" + b"\0" * 2000, "not_media"),  # a Windows program renamed .jpg
        (b"\x7fELF\x02\x01\x01" + b"\0" * 2000, "not_media"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not_media"),
        (b"GIF89a" + b"\0" * 100, "not_media"),
        (b"", "empty"),
    ],
    ids=["exe", "elf", "svg", "gif", "empty"],
)
def test_what_is_not_a_picture_or_a_video_is_refused(
    personas: Personas, media_root: Path, content: bytes, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        _add(personas, _ours(personas), content)
    assert refused.value.code == code and refused.value.field == "file"
    assert _stored(media_root) == [] and not ExerciseMedia.objects.exists()


def test_a_renamed_program_is_named_for_what_it_is(personas: Personas) -> None:
    with pytest.raises(
        DomainError,
        match=r"not a picture \(JPEG, PNG or WebP\) or a video \(MP4 or WebM\)\. It looks like a \.exe file",
    ):
        _add(personas, _ours(personas), b"MZ\x90\x00\x03" + b"\0" * 2000)


def test_a_50_mb_picture_is_refused_for_its_size(personas: Personas, media_root: Path) -> None:
    big = picture(200, 200) + b"\0" * (50 * 1024 * 1024)
    with pytest.raises(DomainError, match=r"The picture is 50\.0 MB, over the limit of 10 MB\.") as refused:
        _add(personas, _ours(personas), big)
    assert refused.value.code == "too_large" and _stored(media_root) == []


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (9_000, 100), (7_000, 7_000)])
def test_a_picture_with_too_many_pixels_is_refused_before_it_is_decoded(
    personas: Personas, media_root: Path, width: int, height: int
) -> None:
    with pytest.raises(DomainError) as refused:
        _add(personas, _ours(personas), png_claiming(width, height), name="bomb.png")
    assert refused.value.code == "too_many_pixels" and _stored(media_root) == []


def test_a_truncated_jpeg_is_refused_as_damaged(personas: Personas, media_root: Path) -> None:
    whole = picture(800, 600)
    with pytest.raises(DomainError, match="damaged or incomplete") as refused:
        _add(personas, _ours(personas), whole[: len(whole) // 2])
    assert refused.value.code == "damaged" and _stored(media_root) == []


def test_an_mp4_over_the_limit_is_refused(personas: Personas, media_root: Path, settings: Any) -> None:
    settings.EXERCISE_VIDEO_MAX_BYTES = 1024 * 1024
    with pytest.raises(DomainError, match=r"The video is 2\.0 MB, over the limit of 1 MB\.") as refused:
        _add(personas, _ours(personas), mp4_header(2 * 1024 * 1024), name="clip.mp4")
    assert refused.value.code == "too_large" and _stored(media_root) == []


def test_png_and_webp_keep_their_format(personas: Personas) -> None:
    exercise = _ours(personas)
    png = _add(personas, exercise, picture(300, 200, "PNG"), name="a.png")
    webp = _add(personas, exercise, picture(300, 200, "WEBP"), name="b.webp")
    assert (png.content_type, png.file.name.endswith(".png")) == ("image/png", True)
    assert (webp.content_type, webp.file.name.endswith(".webp")) == ("image/webp", True)
    assert [png.position, webp.position] == [0, 1]


def test_one_video_and_a_video_link_exclude_each_other(personas: Personas) -> None:
    exercise = _ours(personas)
    _add(personas, exercise, mp4_header(4096), name="clip.mp4")
    with pytest.raises(DomainError) as second:
        _add(personas, exercise, mp4_header(4096), name="again.mp4")
    assert second.value.code == "video_exists"
    linked = _ours(personas, video_url="https://www.youtube.com/watch?v=abc")
    with pytest.raises(DomainError) as link:
        _add(personas, linked, mp4_header(4096), name="clip.mp4")
    assert link.value.code == "video_link_exists"


def test_a_description_is_required(personas: Personas, media_root: Path) -> None:
    with pytest.raises(DomainError) as refused:
        exercise_media_add(
            exercise=_ours(personas), by=personas.owner.user, upload=upload(picture()), description=" \u200b "
        )
    assert (refused.value.code, refused.value.field) == ("required", "description")
    assert _stored(media_root) == []


def test_a_failed_save_removes_the_files_it_stored(
    personas: Personas, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def thumbnails_fail(media: ExerciseMedia) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(media_module, "_thumbnails_made", thumbnails_fail)
    with pytest.raises(OSError, match="disk full"):
        _add(personas, _ours(personas), picture())
    assert _stored(media_root) == [] and not ExerciseMedia.objects.exists()


def test_removing_a_picture_removes_its_files_and_thumbnails(
    personas: Personas, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    exercise = _ours(personas)
    kept = _add(personas, exercise, picture())
    gone = _add(personas, exercise, picture(400, 300))
    with django_capture_on_commit_callbacks(execute=True):
        exercise_media_remove(media=gone, by=personas.owner.user)
    assert all(name.startswith(kept.key.hex) for name in _stored(media_root))
    assert len(_stored(media_root)) == 3
    assert AuditEvent.objects.filter(action="exercise.media_removed").count() == 1
    # easy-thumbnails' records of the removed picture's thumbnails go too; the kept one's stay.
    assert not Source.objects.filter(name=gone.file.name).exists()
    assert Thumbnail.objects.filter(source__name=kept.file.name).count() == 2


def test_pictures_move_earlier_and_later(personas: Personas) -> None:
    exercise = _ours(personas)
    first, second, third = (_add(personas, exercise, picture(100 + i, 100)) for i in range(3))
    exercise_media_move(media=third, by=personas.owner.user, earlier=True)
    assert list(exercise.media.values_list("pk", flat=True)) == [first.pk, third.pk, second.pk]
    exercise_media_move(media=first, by=personas.owner.user, earlier=True)  # already first: stays
    exercise_media_move(media=first, by=personas.owner.user, earlier=False)
    assert list(exercise.media.values_list("pk", flat=True)) == [third.pk, first.pk, second.pk]


def test_the_orphan_job_removes_files_no_row_names_after_an_hour(
    personas: Personas, media_root: Path
) -> None:
    kept = _add(personas, _ours(personas), picture())
    default_storage.save("exercise-media/0123456789abcdef0123456789abcdef.jpg", io.BytesIO(picture(50, 50)))
    default_storage.save(
        "exercise-media/0123456789abcdef0123456789abcdef.jpg.320x240_q85_crop-smart.jpg", io.BytesIO(b"x")
    )
    assert media_orphans_remove() == 0  # younger than an hour: maybe a row is being written
    assert media_orphans_remove(now=timezone.now() + timedelta(hours=2)) == 2
    assert (
        all(name.startswith(kept.key.hex) for name in _stored(media_root)) and len(_stored(media_root)) == 3
    )


def _served(client: Client, media: ExerciseMedia, size: str = "original", **headers: str) -> Any:
    return client.get(reverse("exercise-media-file", args=[media.key, size]), headers=headers)


def test_a_clinics_media_is_served_to_its_people_only(client: Client, personas: Personas) -> None:
    media = _add(personas, _ours(personas), picture())
    for user in (personas.owner.user, personas.colleague.user, personas.patient_a.user):
        login(client, user)
        response = _served(client, media, "card")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (320, 240)
        assert "private" in response["Cache-Control"] and "no-store" not in response["Cache-Control"]
    for user in (personas.outsider.user, personas.staff):
        login(client, user)
        assert _served(client, media).status_code == 404
    client.logout()
    assert _served(client, media).status_code == 302
    login(client, personas.owner.user)
    assert client.get(reverse("exercise-media-file", args=[media.key, "huge"])).status_code == 404


def test_a_shared_exercises_media_is_served_to_every_signed_in_user(
    client: Client, personas: Personas
) -> None:
    shared: Exercise = ExerciseFactory(status=ExerciseStatus.PUBLISHED)
    media = exercise_media_add(
        exercise=shared, by=personas.staff, upload=upload(picture()), description="Mat"
    )
    login(client, personas.outsider.user)
    assert _served(client, media, "page").status_code == 200


def test_a_video_is_served_in_byte_ranges(client: Client, personas: Personas) -> None:
    content = mp4_header(100_000)
    media = _add(personas, _ours(personas), content, name="clip.mp4")
    login(client, personas.patient_a.user)
    whole = _served(client, media)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Length"] == "100000" and whole["Content-Type"] == "video/mp4"
    part = _served(client, media, Range="bytes=1000-1999")
    assert part.status_code == 206 and part["Content-Range"] == "bytes 1000-1999/100000"
    assert b"".join(part.streaming_content) == content[1000:2000]
    tail = _served(client, media, Range="bytes=-10")
    assert tail["Content-Range"] == "bytes 99990-99999/100000"
    assert b"".join(tail.streaming_content) == content[-10:]
    open_ended = _served(client, media, Range="bytes=99000-")
    assert open_ended["Content-Length"] == "1000"
    past = _served(client, media, Range="bytes=200000-")
    assert past.status_code == 416 and past["Content-Range"] == "bytes */100000"


def test_the_orphan_sweep_is_a_daily_job() -> None:
    from library.tasks import library_media_orphans_remove
    from portal.celery import app

    entry = app.conf.beat_schedule["library-media-orphans"]
    assert entry["task"] == library_media_orphans_remove.name == "library.tasks.library_media_orphans_remove"
    assert library_media_orphans_remove.apply().get() == 0


def _multipart(boundary: str, fields: dict[str, str], file: bytes) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="../../x.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + file
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts)


def test_an_upload_interrupted_halfway_is_refused_and_leaves_nothing(
    client: Client, personas: Personas, media_root: Path
) -> None:
    exercise = _ours(personas)
    login(client, personas.owner.user)
    url = reverse("exercise-media-upload", args=[exercise.slug])
    boundary = "plinthboundary"
    whole = _multipart(boundary, {"description": "Lying on a mat"}, picture(1200, 900))
    # The connection drops halfway through the picture: the body ends without its last boundary.
    cut = whole[: len(whole) // 2]
    response = client.generic("POST", url, cut, content_type=f"multipart/form-data; boundary={boundary}")
    # Django's multipart parser drops a file part that never ended: the form asks for the file again.
    assert response.status_code == 400
    assert "Choose a picture or a video to upload." in response.content.decode()
    assert _stored(media_root) == [] and not ExerciseMedia.objects.exists()


@pytest.mark.cli
def test_a_real_mp4_made_by_ffmpeg_is_stored_and_served_in_ranges(
    client: Client, personas: Personas, media_root: Path, tmp_path: Path
) -> None:
    content = video(tmp_path, container="mp4", seconds=2)
    media = _add(personas, _ours(personas), content, name="Screen Recording 2026-11-30.mov")
    assert (media.kind, media.content_type, media.size_bytes) == ("video", "video/mp4", len(content))
    assert media.file.name == f"exercise-media/{media.key.hex}.mp4"
    login(client, personas.patient_a.user)
    part = _served(client, media, Range="bytes=0-1023")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 0-1023/{len(content)}"
    assert b"".join(part.streaming_content) == content[:1024]


def test_a_file_just_over_the_limit_says_so(personas: Personas, settings: Any) -> None:
    settings.EXERCISE_VIDEO_MAX_BYTES = 50 * 1024 * 1024
    with pytest.raises(DomainError, match=r"The video is 50\.0 MB, over the limit of 50 MB\."):
        _add(personas, _ours(personas), mp4_header(50 * 1024 * 1024 + 2000), name="clip.mp4")
