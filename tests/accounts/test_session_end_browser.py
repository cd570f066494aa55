"""In Chromium: work is never lost when the session ends, and the focus follows the work (issue 15).

The session is ended as the idle logout ends it (its last-seen time is moved back past
the timeout), then the user acts through HTMX: the whole window goes to the login page
(never a login page inside a card or a sidebar), and after logging in they are back on
the page they were on, with what they had typed put back and said so, not yet saved:
they check it and save it. Screenshots go to test-artifacts/session-end-*.png.
"""

from __future__ import annotations

import re
import time
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.middleware import LAST_SEEN_KEY
from careplans.models import CarePlan, ExerciseSession
from library.services import library_load
from tests.browsing import DESKTOP, PHONE, fill_log_in, log_in, page_errors
from tests.factories import PatientFactory, TherapistFactory
from tests.helpers import template_plan

# Alone: each ends a session and races the redirects that follow against the page's own
# scripts; beside a second browser worker they failed now and then (net::ERR_ABORTED).
pytestmark = [pytest.mark.browser, pytest.mark.alone]


def _end_session(context: Any, role_timeout: int) -> None:
    """Move the session's last-seen time back past the idle timeout, as a walk away from the desk does."""
    key = next(c["value"] for c in context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    store[LAST_SEEN_KEY] = time.time() - role_timeout - 5
    store.save()


def _wait_until(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll ``expression`` in the page until it is true. Not page.wait_for_function: when the
    first check fails, its polling evaluates a string in the page, which the CSP refuses."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        time.sleep(0.05)


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const described = (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
          const text = (id) => (document.getElementById(id) || {}).textContent || '#missing';
          return {tag: el.tagName, id: el.id, value: el.value ?? null,
                  label: el.getAttribute('aria-label') || '', described: described.map(text)};
        }"""
    )


def test_builder_save_after_the_session_ended_comes_back_with_the_typed_dosage(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    therapist = TherapistFactory(user__email="dana@northside.test")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Maya Fernandes")
    plan = template_plan(patient, therapist)
    bridge = plan.exercises.get(exercise__slug="bridge")
    new_sets = 3 if bridge.sets != 3 else 4
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    plan_url = f"{live_server.url}/plans/{plan.pk}/"
    page.goto(plan_url)
    page.wait_for_url(re.compile(r"/accounts/login/"))
    fill_log_in(page, "dana@northside.test")
    page.wait_for_url(plan_url)

    card = page.locator(f"#plan-exercise-{bridge.pk}")
    card.get_by_label("Sets", exact=True).fill(str(new_sets))
    card.get_by_label("Note for the patient").fill("Squeeze at the top for a breath.")
    _end_session(context, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS)
    card.get_by_role("button", name="Save Bridge").click()

    # The whole window goes to log in (no login page swapped into the card), and will come back.
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    assert page.url.endswith(f"/accounts/login/?next=/plans/{plan.pk}/")
    assert page.locator("h1").inner_text() == "Log in to Plinth"
    # Waited for, not checked at once: the notice is drawn with the page, which may still be loading.
    page.get_by_text("You were logged out because you had been away for a while.").wait_for(timeout=5_000)
    page.get_by_text("What you typed before you were logged out is kept in this tab.").wait_for(timeout=5_000)
    page.screenshot(path=str(artifacts / "session-end-builder-1-login.png"), full_page=True)
    bridge.refresh_from_db()
    assert bridge.sets != new_sets  # nothing was saved behind the user's back

    fill_log_in(page, "dana@northside.test")
    page.wait_for_url(plan_url)
    card = page.locator(f"#plan-exercise-{bridge.pk}")
    sets = card.get_by_label("Sets", exact=True)
    assert sets.input_value() == str(new_sets)
    assert card.get_by_label("Note for the patient").input_value() == "Squeeze at the top for a breath."
    assert card.get_by_text("Not saved yet: you were logged out before this was saved.").is_visible()
    focused = _focused(page)
    assert focused["id"] == f"id_plan_exercise-{bridge.pk}-sets"
    assert any(text.startswith("Not saved yet") for text in focused["described"])
    page.screenshot(path=str(artifacts / "session-end-builder-2-restored.png"), full_page=True)

    # Saving it now (Enter in the field the focus is on) keeps it, and the focus is on the saved card.
    page.keyboard.press("Enter")
    page.locator(f"#plan-exercise-{bridge.pk} .saved").wait_for()
    bridge.refresh_from_db()
    assert (bridge.sets, bridge.note) == (new_sets, "Squeeze at the top for a breath.")
    _wait_until(page, f"document.activeElement.id === 'plan-exercise-{bridge.pk}'")
    page.screenshot(path=str(artifacts / "session-end-builder-3-saved.png"), full_page=True)

    # A refused dosage (HTMX): the focus is on the first error, which the field names.
    card = page.locator(f"#plan-exercise-{bridge.pk}")
    card.get_by_label("Sets", exact=True).fill("42")
    card.get_by_label("Reps", exact=True).fill("99")
    card.get_by_label("Sets", exact=True).press("Enter")
    page.locator(f"#plan-exercise-{bridge.pk} .field-error").first.wait_for()
    _wait_until(page, f"document.activeElement.id === 'id_plan_exercise-{bridge.pk}-sets'")
    focused = _focused(page)
    assert "Sets must be between 1 and 10." in focused["described"]
    page.screenshot(path=str(artifacts / "session-end-builder-4-htmx-error.png"), full_page=True)

    # A refused page form (no HTMX): the first error has the focus when the page loads.
    page.goto(plan_url)
    page.locator("summary", has_text="Title, condition").click()
    page.get_by_label("Title", exact=True).fill("")
    page.get_by_role("button", name="Save details").click()
    page.wait_for_url(re.compile(r"/details/$"))
    _wait_until(page, "document.activeElement.id === 'id_details-title'")
    assert _focused(page)["described"] and "#missing" not in _focused(page)["described"]
    page.screenshot(path=str(artifacts / "session-end-builder-5-page-error.png"), full_page=True)
    context.close()
    # The refused forms answer 400 on purpose; nothing else may go wrong.
    unexpected = [error for error in errors if "status of 400" not in error]
    assert unexpected == [], "\n".join(unexpected)


def test_a_tab_opened_before_logging_in_again_still_saves(
    transactional_db: Any, live_server: Any, browser: Any
) -> None:
    """Logging in again gives a new CSRF token; the other tab's HTMX save must not be refused."""
    library_load()
    therapist = TherapistFactory(user__email="two-tabs@northside.test")
    plan = template_plan(PatientFactory(clinic=therapist.clinic, therapist=therapist), therapist)
    bridge = plan.exercises.get(exercise__slug="bridge")
    context = browser.new_context(viewport=DESKTOP)
    first, second = context.new_page(), context.new_page()
    errors, second_errors = page_errors(first), page_errors(second)
    first.set_default_timeout(10_000)
    second.set_default_timeout(10_000)
    first.goto(f"{live_server.url}/accounts/login/?next=/plans/{plan.pk}/")
    fill_log_in(first, "two-tabs@northside.test")
    first.wait_for_url(re.compile(rf"/plans/{plan.pk}/$"))
    second.goto(f"{live_server.url}/plans/{plan.pk}/")
    _end_session(context, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS)
    first.reload()
    fill_log_in(first, "two-tabs@northside.test")
    first.wait_for_url(re.compile(rf"/plans/{plan.pk}/$"))

    card = second.locator(f"#plan-exercise-{bridge.pk}")
    card.get_by_label("Hold (s)").fill("9")
    card.get_by_role("button", name="Save Bridge").click()
    second.locator(f"#plan-exercise-{bridge.pk} .saved").wait_for()
    bridge.refresh_from_db()
    assert bridge.hold_seconds == 9
    context.close()
    assert errors + second_errors == [], "\n".join(errors + second_errors)


def test_today_mark_after_the_session_ended_asks_to_do_it_again(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    therapist = TherapistFactory()
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__email="noor@example.test")
    template_plan(patient, therapist)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "noor@example.test")
    page.wait_for_url(f"{live_server.url}/today/")

    _end_session(context, settings.PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS)
    page.get_by_role("button", name="Mark done: Bridge").tap()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/today/$"))
    assert page.get_by_text("What you were doing when you were logged out was not saved.").is_visible()
    page.screenshot(path=str(artifacts / "session-end-today-1-login-phone.png"), full_page=True)
    assert not ExerciseSession.objects.filter(patient=patient).exists()

    fill_log_in(page, "noor@example.test")
    page.wait_for_url(f"{live_server.url}/today/")
    card = page.locator("li.today-exercise", has_text="Bridge")
    again = "Not saved: you were logged out before this was done. Please do it again."
    assert card.get_by_text(again).is_visible()
    assert _focused(page)["label"] == "Mark done: Bridge"
    page.screenshot(path=str(artifacts / "session-end-today-2-again-phone.png"), full_page=True)

    # Marked: the focus stays on this exercise's button, which now says it is done.
    page.keyboard.press("Enter")
    page.locator("li.today-exercise.is-done", has_text="Bridge").wait_for()
    _wait_until(
        page, "document.activeElement.getAttribute('aria-label') === 'Done today, tap to undo: Bridge'"
    )
    assert ExerciseSession.objects.filter(patient=patient).count() == 1
    page.screenshot(path=str(artifacts / "session-end-today-3-marked-phone.png"), full_page=True)
    context.close()
    assert errors == [], "\n".join(errors)


def test_caseload_search_after_the_session_ended_runs_again_after_login(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    therapist = TherapistFactory(user__email="search@northside.test")
    for name in ("Ada Lovelace", "Ben Okri", "Cleo Adams"):
        PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name=name)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "search@northside.test")
    page.wait_for_url(f"{live_server.url}/caseload/")

    _end_session(context, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS)
    page.get_by_label("Search by name or email").fill("Okri")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/caseload/$"))
    assert page.locator("#caseload-results").count() == 0  # the window left: nothing swapped into the list
    page.screenshot(path=str(artifacts / "session-end-caseload-1-login.png"), full_page=True)

    fill_log_in(page, "search@northside.test")
    page.wait_for_url(re.compile(r"/caseload/\?q=Okri$"))  # htmx ran the search again and pushed it
    results = page.locator("#caseload-results")
    results.get_by_text("Ben Okri").wait_for()
    assert "Ada Lovelace" not in results.inner_text()
    assert page.get_by_label("Search by name or email").input_value() == "Okri"
    assert _focused(page)["id"] == "caseload-q"
    page.screenshot(path=str(artifacts / "session-end-caseload-2-back.png"), full_page=True)
    context.close()
    assert errors == [], "\n".join(errors)


def test_a_draft_goes_to_no_other_user_and_not_past_logout(
    transactional_db: Any, live_server: Any, browser: Any
) -> None:
    library_load()
    therapist = TherapistFactory(user__email="first@northside.test")
    colleague = TherapistFactory(clinic=therapist.clinic, user__email="second@northside.test")
    plan: CarePlan = template_plan(PatientFactory(clinic=therapist.clinic, therapist=therapist), therapist)
    bridge = plan.exercises.get(exercise__slug="bridge")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/plans/{plan.pk}/")
    fill_log_in(page, "first@northside.test")
    page.wait_for_url(re.compile(rf"/plans/{plan.pk}/$"))
    page.locator(f"#plan-exercise-{bridge.pk}").get_by_label("Reps", exact=True).fill("17")
    _end_session(context, settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS)
    page.locator(f"#plan-exercise-{bridge.pk}").get_by_role("button", name="Save Bridge").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))

    # A colleague logs in at the same desk: the first therapist's typing is not theirs to see.
    fill_log_in(page, colleague.user.email)
    page.wait_for_url(re.compile(rf"/plans/{plan.pk}/$"))
    reps = page.locator(f"#plan-exercise-{bridge.pk}").get_by_label("Reps", exact=True)
    assert reps.input_value() == str(bridge.reps)
    assert page.locator(".unsaved-notice").count() == 0
    assert page.evaluate("sessionStorage.getItem('plinth:draft')") is None
    context.close()
    assert errors == [], "\n".join(errors)


def test_a_refused_check_in_focuses_the_pain_scale_it_draws_by_hand(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    """The pain scale's radios are drawn by the template, without Django's autofocus: plinth.js finds it."""
    library_load()
    therapist = TherapistFactory()
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__email="ivy@example.test")
    template_plan(patient, therapist)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/checkin/")
    fill_log_in(page, "ivy@example.test")
    page.wait_for_url(f"{live_server.url}/checkin/")
    # The safety questions answered, the pain left out: the only error is the hand-drawn scale's.
    for name in ("flag_leg_weakness", "flag_bladder_bowel", "flag_fever", "flag_weight_loss"):
        page.locator(f"input[name={name}][value=no]").check()
    page.locator("form.checkin-form button[type=submit]").click()
    page.get_by_text("Choose how much pain you have right now, from 0 to 10.").wait_for()
    # Polled from here: the page's CSP refuses the string evaluation wait_for_function would do.
    deadline = time.monotonic() + 10
    while page.evaluate("document.activeElement.name") != "nprs":
        assert time.monotonic() < deadline, "focus never reached the pain scale"
        time.sleep(0.1)
    described = page.evaluate(
        "document.activeElement.closest('fieldset').getAttribute('aria-describedby').split(' ')"
        ".map((id) => document.getElementById(id).textContent)"
    )
    assert "Choose how much pain you have right now, from 0 to 10." in described
    page.screenshot(path=str(artifacts / "session-end-checkin-refused-phone.png"), full_page=True)
    context.close()
    # The refused check-in answers 400 on purpose; nothing else may go wrong.
    assert [error for error in errors if "status of 400" not in error] == []
