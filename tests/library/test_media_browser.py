"""A patient on a phone opens an exercise with a picture and a video on their Today page and plays
the video; a therapist adds a picture on the exercise's edit page. Real files (Pillow, ffmpeg),
served by the live server through the access-checked view, played by Chromium with range requests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from library.media import exercise_media_add
from library.models import ExerciseStatus
from tests.browsing import DESKTOP, PHONE, page_errors, signed_in
from tests.factories import (
    CarePlanFactory,
    ExerciseFactory,
    PatientFactory,
    PlanExerciseFactory,
    TherapistFactory,
)
from tests.media_files import picture, upload, video

pytestmark = pytest.mark.browser


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def loaded_width(page: Any, image: Any, seconds: float = 15) -> int:
    """The natural width of ``image`` (a locator) once the browser has loaded it: attached is not
    loaded, and on a busy machine the file may still be on its way (polled with page.evaluate)."""
    handle, deadline = image.element_handle(), time.monotonic() + seconds
    while not page.evaluate("(img) => img.complete && img.naturalWidth > 0", handle):
        assert time.monotonic() < deadline, "the picture never loaded"
        time.sleep(0.1)
    return int(page.evaluate("(img) => img.naturalWidth", handle))


def test_a_patient_on_a_phone_sees_the_picture_and_plays_the_video(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, media_root: Path, tmp_path: Path
) -> None:
    therapist = TherapistFactory(user__full_name="Dana Whitfield")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Ada Lovell")
    exercise = ExerciseFactory(
        name="Bridge with a band", clinic=therapist.clinic, status=ExerciseStatus.PUBLISHED
    )
    by = therapist.user
    exercise_media_add(
        exercise=exercise, by=by, upload=upload(picture(1200, 900)), description="Lying on a mat, knees bent"
    )
    clip = exercise_media_add(
        exercise=exercise,
        by=by,
        upload=upload(video(tmp_path, container="webm", seconds=3), "clip.webm"),
        description="The whole movement, slowly",
    )
    plan = CarePlanFactory(patient=patient, therapist=therapist)
    PlanExerciseFactory(plan=plan, exercise=exercise)

    context = signed_in(browser, live_server, patient.user, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    media_answers: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            media_answers.append((r.url, r.status, r.headers.get("content-range", "")))
            if "/media/" in r.url
            else None
        ),
    )
    try:
        page.goto(f"{live_server.url}/today/")
        thumb = page.get_by_role("img", name="Lying on a mat, knees bent").first
        thumb.wait_for()
        assert loaded_width(page, thumb) == 320
        # Nothing of the video is fetched before the patient asks for it (preload none).
        assert not any(clip.url() in url for url, *_ in media_answers)
        page.get_by_text("How to do it").click()
        player = page.get_by_label("Video: Bridge with a band")
        player.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "today-media-phone.png"), full_page=True)
        page.evaluate("(video) => video.play()", player.element_handle())
        page.wait_for_function(
            "(video) => video.currentTime > 1 && !video.paused", arg=player.element_handle(), timeout=15_000
        )
        # A phone seeks by asking for byte ranges: the view answers 206 with a Content-Range.
        page.evaluate("(video) => { video.currentTime = 0.2; }", player.element_handle())
        played = [(status, rng) for url, status, rng in media_answers if clip.url() in url]
        assert any(status == 206 and rng.startswith("bytes ") for status, rng in played), played
        page.screenshot(path=str(artifacts / "today-video-playing-phone.png"))
        assert not errors, errors
    finally:
        context.close()


def test_a_therapist_adds_a_picture_on_the_edit_page(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, media_root: Path, tmp_path: Path
) -> None:
    therapist = TherapistFactory(user__full_name="Dana Whitfield")
    exercise = ExerciseFactory(name="Hip hinge", clinic=therapist.clinic, status=ExerciseStatus.PUBLISHED)
    photo = tmp_path / "IMG_0042.jpg"
    photo.write_bytes(picture(1600, 1200, gps=True))
    context = signed_in(browser, live_server, therapist.user, DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/library/{exercise.slug}/edit/")
        page.get_by_label("Picture or video").set_input_files(str(photo))
        page.get_by_label("What it shows").fill("Standing tall, a broom handle along the back")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url("**#media")
        shown = page.locator(".media-item img").first
        shown.wait_for()
        assert loaded_width(page, shown) == 320
        page.screenshot(path=str(artifacts / "exercise-media-edit-desktop.png"), full_page=True)
        # Removing asks first: dismissed, the picture stays; accepted, it goes.
        remove = page.get_by_role("button", name="Remove “Standing tall, a broom handle along the back”")
        page.once("dialog", lambda dialog: dialog.dismiss())
        remove.click()
        assert page.locator(".media-item").count() == 1
        page.once("dialog", lambda dialog: dialog.accept())
        remove.click()
        page.wait_for_selector("text=Removed: Standing tall")
        assert page.locator(".media-item").count() == 0
        page.get_by_label("Picture or video").set_input_files(str(photo))
        page.get_by_label("What it shows").fill("Standing tall, a broom handle along the back")
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url("**#media")
        page.goto(f"{live_server.url}/library/{exercise.slug}/")
        page.get_by_role("img", name="Standing tall, a broom handle along the back").wait_for()
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts / "exercise-media-detail-phone.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
