"""Exercise pictures and video on the pages: uploaded, ordered and removed from the exercise's
edit page, shown on the library's cards, the exercise page, the builder, Today and the handout,
and the query counts of those pages the same for one picture or many."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from careplans.models import CarePlan
from library.media import exercise_media_add
from library.models import Exercise, ExerciseMedia, ExerciseStatus, MediaKind
from tests.conftest import Personas, login
from tests.factories import CarePlanFactory, ExerciseFactory, PlanExerciseFactory
from tests.media_files import mp4_header, picture, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield settings.MEDIA_ROOT


def _ours(personas: Personas, **fields: Any) -> Exercise:
    exercise: Exercise = ExerciseFactory(clinic=personas.clinic, status=ExerciseStatus.PUBLISHED, **fields)
    return exercise


def _illustrated(personas: Personas, exercise: Exercise, *, video: bool = False) -> list[ExerciseMedia]:
    added = [
        exercise_media_add(
            exercise=exercise, by=personas.owner.user, upload=upload(picture()), description="Lying on a mat"
        )
    ]
    if video:
        added.append(
            exercise_media_add(
                exercise=exercise,
                by=personas.owner.user,
                upload=upload(mp4_header(8192), "clip.mp4"),
                description="The whole movement, slowly",
            )
        )
    return added


def _plan(personas: Personas, exercises: list[Exercise]) -> CarePlan:
    plan: CarePlan = CarePlanFactory(patient=personas.patient_a, therapist=personas.owner)
    for position, exercise in enumerate(exercises):
        PlanExerciseFactory(plan=plan, exercise=exercise, position=position)
    return plan


def test_a_therapist_uploads_orders_and_removes_pictures_on_the_edit_page(
    client: Client, personas: Personas
) -> None:
    exercise = _ours(personas)
    login(client, personas.owner.user)
    edit = reverse("exercise-edit", args=[exercise.slug])
    assert "Pictures and video" in client.get(edit).content.decode()
    url = reverse("exercise-media-upload", args=[exercise.slug])
    for description in ("Start: lying on your back", "End: hips lifted"):
        response = client.post(url, {"file": upload(picture()), "description": description})
        assert response.status_code == 302 and response["Location"] == f"{edit}#media"
    first, second = exercise.media.all()
    assert [first.description, second.description] == ["Start: lying on your back", "End: hips lifted"]
    page = client.get(edit).content.decode()
    assert first.card_url in page and second.card_url in page
    client.post(reverse("exercise-media-move", args=[exercise.slug, second.key]), {"direction": "earlier"})
    assert list(exercise.media.values_list("description", flat=True)) == [
        "End: hips lifted",
        "Start: lying on your back",
    ]
    client.post(reverse("exercise-media-remove", args=[exercise.slug, first.key]))
    assert list(exercise.media.values_list("description", flat=True)) == ["End: hips lifted"]


def test_a_refused_upload_says_why_beside_the_field(client: Client, personas: Personas) -> None:
    exercise = _ours(personas)
    login(client, personas.owner.user)
    url = reverse("exercise-media-upload", args=[exercise.slug])
    response = client.post(
        url, {"file": upload(b"MZ\x90\x00" + b"\0" * 500, "photo.jpg"), "description": "x"}
    )
    assert response.status_code == 400
    errors = re.findall(r'id="id_file_error">([^<]*)<', response.content.decode())
    assert errors and "not a picture (JPEG, PNG or WebP) or a video (MP4 or WebM)" in errors[0]
    missing = client.post(url, {"file": upload(picture())})
    assert "Describe it for someone who cannot see it." in missing.content.decode()
    assert not ExerciseMedia.objects.exists()


def test_another_clinic_cannot_touch_the_pictures(client: Client, personas: Personas) -> None:
    exercise = _ours(personas)
    (media,) = _illustrated(personas, exercise)
    login(client, personas.outsider.user)
    assert client.post(reverse("exercise-media-remove", args=[exercise.slug, media.key])).status_code == 404
    url = reverse("exercise-media-upload", args=[exercise.slug])
    assert client.post(url, {"file": upload(picture()), "description": "Mine"}).status_code == 404
    assert list(ExerciseMedia.objects.all()) == [media]


def test_pictures_and_video_show_wherever_the_exercise_is(client: Client, personas: Personas) -> None:
    exercise = _ours(personas, name="Glute bridge, clinic")
    picture_media, video = _illustrated(personas, exercise, video=True)
    plan = _plan(personas, [exercise])
    login(client, personas.owner.user)
    card = client.get(reverse("library"), {"source": "ours"}).content.decode()
    assert f'src="{picture_media.card_url}" alt="Lying on a mat"' in card
    detail = client.get(reverse("exercise-detail", args=[exercise.slug])).content.decode()
    assert 'preload="none"' in detail and f'src="{video.url()}" type="video/mp4"' in detail
    assert f'poster="{picture_media.page_url}"' in detail and 'loading="lazy"' in detail
    builder = client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert picture_media.card_url in builder
    handout = client.get(reverse("plan-handout", args=[plan.pk])).content.decode()
    assert picture_media.page_url in handout
    pdf = client.get(reverse("plan-handout-pdf", args=[plan.pk]))
    assert b"/Subtype /Image" in pdf.content
    login(client, personas.patient_a.user)
    today = client.get(reverse("today")).content.decode()
    assert picture_media.card_url in today and f'src="{video.url()}"' in today and 'preload="none"' in today
    assert client.get(video.url()).status_code == 200


def test_without_media_the_pages_show_no_empty_frames(client: Client, personas: Personas) -> None:
    exercise = _ours(personas)
    plan = _plan(personas, [exercise])
    login(client, personas.patient_a.user)
    today = client.get(reverse("today")).content.decode()
    assert "media-thumb" not in today and "media-gallery" not in today and "<video" not in today
    login(client, personas.owner.user)
    assert "/Subtype /Image" not in client.get(reverse("plan-handout-pdf", args=[plan.pk])).content.decode(
        "latin-1"
    )


def _many_media(exercises: list[Exercise], per_exercise: int) -> None:
    """Rows only (the pages name the files, never open them), ``per_exercise`` pictures and a video each."""
    ExerciseMedia.objects.all().delete()
    ExerciseMedia.objects.bulk_create(
        ExerciseMedia(
            exercise=exercise,
            kind=MediaKind.VIDEO if n == per_exercise else MediaKind.IMAGE,
            file=f"exercise-media/{exercise.pk}-{n}.jpg",
            content_type="image/jpeg",
            size_bytes=1000,
            width=800,
            height=600,
            description=f"Picture {n}",
            position=n,
        )
        for exercise in exercises
        for n in range(per_exercise + 1)
    )


def _queries(client: Client, url: str, django_assert_max_num_queries: Any) -> int:
    with django_assert_max_num_queries(40) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_counts_stay_flat_with_many_media(
    client: Client, personas: Personas, django_assert_max_num_queries: Any
) -> None:
    exercises = [_ours(personas, name=f"Clinic exercise {n}") for n in range(8)]
    plan = _plan(personas, exercises)
    pages = {
        "library": (personas.owner.user, reverse("library")),
        "builder": (personas.owner.user, reverse("plan-detail", args=[plan.pk])),
        "today": (personas.patient_a.user, reverse("today")),
    }
    counts: dict[str, list[int]] = {name: [] for name in pages}
    for per_exercise in (1, 6):
        _many_media(exercises, per_exercise)
        for name, (user, url) in pages.items():
            login(client, user)
            client.get(url)  # the session's first request refreshes its row
            counts[name].append(_queries(client, url, django_assert_max_num_queries))
    assert all(few == many for few, many in counts.values()), counts


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_the_handout_pdf_prints_png_and_webp_pictures(client: Client, personas: Personas, fmt: str) -> None:
    exercise = _ours(personas)
    exercise_media_add(
        exercise=exercise, by=personas.owner.user, upload=upload(picture(600, 400, fmt)), description="A mat"
    )
    plan = _plan(personas, [exercise])
    login(client, personas.owner.user)
    pdf = client.get(reverse("plan-handout-pdf", args=[plan.pk]))
    assert pdf.status_code == 200 and b"/Subtype /Image" in pdf.content


def test_in_the_pdf_an_exercises_name_stays_on_the_page_of_its_picture(
    client: Client, personas: Personas
) -> None:
    import io

    from pypdf import PdfReader

    exercises = [_ours(personas, name=f"Pictured exercise {n}") for n in range(7)]
    for n, exercise in enumerate(exercises):  # each picture its own (the PDF keeps one copy of a repeat)
        exercise_media_add(
            exercise=exercise,
            by=personas.owner.user,
            upload=upload(picture(800 + n, 600)),
            description="A mat",
        )
    plan = _plan(personas, exercises)
    login(client, personas.owner.user)
    pages = PdfReader(io.BytesIO(client.get(reverse("plan-handout-pdf", args=[plan.pk])).content)).pages
    assert len(pages) > 1
    for page in pages:
        headings = re.findall(r"\d\. Pictured exercise \d", page.extract_text())
        assert len(headings) == len(page.images), (headings, len(page.images))
