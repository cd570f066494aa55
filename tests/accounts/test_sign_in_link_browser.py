"""In Chromium on a phone (Plinth issue 19): a patient asks the login page for a sign-in link, reads
it in the email the real SMTP server received, opens it, presses "Sign in" and lands on Today,
signed in. Screenshots:
test-artifacts/sign-in-link-*.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from library.services import library_load
from tests.accounts.test_sign_in_links import link_in
from tests.browsing import PHONE, page_errors
from tests.factories import PatientFactory, TherapistFactory
from tests.harness import SMTPServer, wait_until
from tests.helpers import template_plan

pytestmark = [pytest.mark.browser]


def test_a_patient_on_a_phone_signs_in_from_the_emailed_link(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, smtp: SMTPServer
) -> None:
    library_load()
    therapist = TherapistFactory()
    patient = PatientFactory(
        clinic=therapist.clinic,
        therapist=therapist,
        user__full_name="Maya Fernandes",
        user__email="maya@example.test",
    )
    template_plan(patient, therapist)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors = page_errors(page)
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill("maya@example.test")
    page.screenshot(path=str(artifacts / "sign-in-link-login-phone.png"), full_page=True)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.screenshot(path=str(artifacts / "sign-in-link-sent-phone.png"), full_page=True)

    wait_until(lambda: smtp.handler.counts["maya@example.test"] == 1, seconds=10, what="the link email")
    body = smtp.handler.messages[-1].get_payload(decode=True).decode()
    # Opened in a fresh browser context: the link does not depend on the one that asked.
    phone = browser.new_context(viewport=PHONE)
    tab = phone.new_page()
    more_errors = page_errors(tab)
    tab.set_default_timeout(10_000)
    tab.goto(f"{live_server.url}{link_in(body)}")
    # Opening the link asks; only the button signs in (email scanners open links too).
    tab.get_by_role("heading", name="Sign in to Plinth as Maya").wait_for()
    assert "maya@example.test" not in tab.content()
    tab.screenshot(path=str(artifacts / "sign-in-link-confirm-phone.png"), full_page=True)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(re.compile(r"/today/$"))
    assert "You are signed in." in tab.content()
    assert "Maya" in tab.content()
    tab.screenshot(path=str(artifacts / "sign-in-link-today-phone.png"), full_page=True)

    # The same link again: refused, with the form to ask for a new one.
    again = browser.new_context(viewport=PHONE)
    other = again.new_page()
    other.goto(f"{live_server.url}{link_in(body)}")
    assert "This sign-in link has expired or was already used. Ask for a new one." in other.content()
    assert other.get_by_role("button", name="Email me a sign-in link").is_visible()
    other.screenshot(path=str(artifacts / "sign-in-link-used-phone.png"), full_page=True)
    for ctx in (context, phone, again):
        ctx.close()
    assert not errors and not more_errors, errors + more_errors
