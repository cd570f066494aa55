"""In Chromium, the Today page of the demo plan (Plinth issue 15): what is left first, the check-in, then the
exercises with their steps folded; one mark per session with the focus kept on it; "You're done for today"
once every session is marked and the check-in is in; and a page a phone can take in (it was 4,467 px tall)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from careplans.models import ExerciseSession
from checkins.models import PainCheckIn
from library.services import library_load
from tests.browsing import DESKTOP, PHONE, page_errors, shoot_desktop_and_phone, signed_in
from tests.factories import PatientFactory, TherapistFactory
from tests.helpers import template_plan

pytestmark = pytest.mark.browser

#: The page with every step shown was 4,467 px tall on a phone; with the steps folded it must be
#: at most about half that. (1,997 px before the phone rules' 44 px tap targets and 12 px text,
#: 2,140 px with them: the demo plan's eight exercises each keep a card with its session marks.)
PHONE_HEIGHT_LIMIT = 2250


def _top(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


def _wait_focus(page: Any, label: str) -> None:
    """Wait until the focused element is named ``label``; polled from here, as the page's CSP
    refuses the string evaluation ``wait_for_function`` would do."""
    deadline = time.monotonic() + 10
    while page.evaluate("document.activeElement.getAttribute('aria-label')") != label:
        assert time.monotonic() < deadline, f"the focus never reached {label!r}"
        time.sleep(0.05)


def _height(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def test_today_puts_what_is_left_first_and_says_when_the_day_is_done(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Noor Haddad")
    plan = template_plan(patient, therapist)
    context = signed_in(browser, live_server, patient.user, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/today/")
        # The order: what is left, the check-in, then the exercises.
        left = _top(page, "#today-progress-heading")
        checkin = _top(page, "#checkin-card-heading")
        exercises = _top(page, ".exercises-heading")
        first_card = _top(page, "li.today-exercise")
        assert left < checkin < exercises < first_card
        assert page.locator("#today-progress .left-today li").count() == 6  # five exercises, the check-in
        # Steps folded: no <details> open, no step visible until asked for.
        assert page.locator("li.today-exercise details").count() == 5
        assert page.locator("li.today-exercise details[open]").count() == 0
        assert not page.locator("li.today-exercise .steps").first.is_visible()
        page.screenshot(path=str(artifacts / "today-start-phone.png"), full_page=True)
        height = _height(page)
        assert height < PHONE_HEIGHT_LIMIT, height

        # A step list opens on a tap and closes again.
        tilt = page.locator("li.today-exercise", has_text="Pelvic tilt")
        tilt.locator("summary").tap()
        assert tilt.locator(".steps").is_visible()
        tilt.locator("summary").tap()

        # Two marks for a twice-a-day exercise; the focus stays on the one tapped.
        assert tilt.get_by_role("button").count() == 2
        tilt.get_by_role("button", name="Mark session 2 done: Pelvic tilt").tap()
        _wait_focus(page, "Session 2 done, tap to undo: Pelvic tilt")
        assert "Pelvic tilt · 1 of 2 left" in page.locator("#today-progress").inner_text()

        # Every session of the day, then the check-in: the day is done.
        for item in plan.exercises.select_related("exercise").order_by("position"):
            card = page.locator(f"#plan-exercise-{item.pk}")
            name = item.exercise.name
            for number in range(1, item.sessions_per_day + 1):
                if item.sessions_per_day == 1:
                    mark, marked = f"Mark done: {name}", f"Done today, tap to undo: {name}"
                else:
                    mark, marked = (
                        f"Mark session {number} done: {name}",
                        f"Session {number} done, tap to undo: {name}",
                    )
                button = card.get_by_role("button", name=mark)
                if button.count():
                    button.tap()
                    _wait_focus(page, marked)
        page.get_by_text("Exercises done").wait_for()
        assert ExerciseSession.objects.filter(patient=patient).count() == 8
        assert page.locator("#checkin-card-heading").is_visible()
        PainCheckIn.objects.create(patient=patient, plan=plan, local_date=patient.local_today(), nprs=3)
        page.reload()
        done = page.get_by_role("heading", name="You're done for today")
        assert done.is_visible()
        assert page.locator("#checkin-card-heading").count() == 0
        assert "8 of 8" in page.locator("#today-progress").inner_text()
        assert _top(page, "#today-progress-heading") < _top(page, ".exercises-heading")
        shoot_desktop_and_phone(page, artifacts, "today-done")
        assert errors == [], errors
    finally:
        context.close()

    desktop = signed_in(browser, live_server, patient.user, DESKTOP)
    try:
        page = desktop.new_page()
        ExerciseSession.objects.filter(patient=patient, number=2).delete()
        PainCheckIn.objects.filter(patient=patient).delete()
        page.goto(f"{live_server.url}/today/")
        assert page.get_by_role("heading", name="Left today").is_visible()
        page.screenshot(path=str(artifacts / "today-start-desktop.png"), full_page=True)
    finally:
        desktop.close()
