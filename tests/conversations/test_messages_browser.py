"""In Chromium (issue 19): a patient on a phone and a therapist at a desktop exchange messages, each
new message appearing on the other's open page without a reload; axe-core on the message pages."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from conversations.models import Message
from conversations.services import conversation_for, message_send
from tests.accounts.test_sign_in_links import link_in
from tests.browsing import DESKTOP, PHONE, page_errors, signed_in
from tests.factories import PatientFactory, TherapistFactory
from tests.harness import SMTPServer, wait_until
from tests.portal.test_axe_browser import violations_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _wait_text(page: Any, selector: str, text: str, seconds: float = 15) -> None:
    """Wait until ``selector``'s text holds ``text``, polled with page.evaluate (the CSP refuses
    wait_for_function's string evaluation)."""
    deadline = time.monotonic() + seconds
    script = "(s) => (document.querySelector(s) || {textContent: ''}).textContent"
    while text not in page.evaluate(script, selector):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {selector}"
        time.sleep(0.2)


def test_a_patient_on_a_phone_and_a_therapist_at_a_desktop_exchange_messages(
    live_server: Any, browser: Any, artifacts: Path, smtp: SMTPServer
) -> None:
    """Issue 19's walk: the patient signs in on a phone from the link the login page emailed
    (through a real SMTP server), then writes to their therapist at a desktop; each sees the
    other's message without a reload, and no notification email goes out while both read."""
    therapist = TherapistFactory(user__full_name="Tess Therapist", clinic__name="Harbour Physio")
    patient = PatientFactory(
        clinic=therapist.clinic,
        therapist=therapist,
        user__full_name="Noor Haddad",
        user__email="noor@example.test",
    )
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    desk = signed_in(browser, live_server, therapist.user, DESKTOP)
    p_page, t_page = phone.new_page(), desk.new_page()
    p_errors, t_errors = page_errors(p_page), page_errors(t_page)
    try:
        p_page.goto(f"{live_server.url}/accounts/login/")
        p_page.get_by_label("Email address").fill("noor@example.test")
        p_page.get_by_role("button", name="Email me a sign-in link").click()
        p_page.get_by_role("heading", name="Check your email").wait_for()
        wait_until(lambda: smtp.handler.counts["noor@example.test"] == 1, seconds=10, what="the link email")
        body = smtp.handler.messages[-1].get_payload(decode=True).decode()
        p_page.goto(f"{live_server.url}{link_in(body)}")
        p_page.get_by_role("button", name="Sign in").click()
        p_page.wait_for_url(re.compile(r"/today/$"))
        t_page.goto(f"{live_server.url}/patients/{patient.pk}/messages/")
        t_page.evaluate("() => { window.plinthNoReload = true; }")
        # The patient writes from the phone: a plain form post.
        p_page.goto(f"{live_server.url}/messages/")
        assert p_page.get_by_role("heading", name="Symptoms that cannot wait").is_visible()
        p_page.get_by_label("Your message").fill("Is it normal that the bridge makes my hamstring cramp?")
        p_page.get_by_role("button", name="Send").click()
        p_page.wait_for_load_state()
        _wait_text(p_page, "#thread", "hamstring cramp")
        # On the therapist's open page it appears without a reload, with "needs a reply" on the record.
        _wait_text(t_page, "#thread", "hamstring cramp")
        assert t_page.evaluate("() => window.plinthNoReload === true")
        t_page.screenshot(path=str(artifacts / "messages-therapist-received-desktop.png"), full_page=True)
        # The therapist answers; the phone's open page shows it without a reload.
        p_page.evaluate("() => { window.plinthNoReload = true; }")
        t_page.get_by_label("Your message").fill("Yes, early on. Shorten the hold to 5 seconds this week.")
        t_page.get_by_role("button", name="Send").click()
        t_page.wait_for_load_state()
        _wait_text(p_page, "#thread", "Shorten the hold")
        assert p_page.evaluate("() => window.plinthNoReload === true")
        assert "New" in p_page.locator("#latest").inner_text()
        p_page.screenshot(path=str(artifacts / "messages-patient-phone.png"), full_page=True)
        t_page.goto(f"{live_server.url}/inbox/")
        t_page.screenshot(path=str(artifacts / "messages-inbox-desktop.png"), full_page=True)
        assert not (p_errors + t_errors), p_errors + t_errors
        # An empty send keeps the page (a 400, which the console reports), the reason beside the box.
        p_page.get_by_role("button", name="Send").click()
        p_page.wait_for_load_state()
        assert "Write a message before sending it." in p_page.content()
        p_page.screenshot(path=str(artifacts / "messages-patient-empty-phone.png"), full_page=True)
    finally:
        phone.close()
        desk.close()
    assert Message.objects.count() == 2
    # Both had the conversation open: the sign-in link was the only email.
    assert dict(smtp.handler.counts) == {"noor@example.test": 1}


def test_axe_core_finds_nothing_on_the_message_pages(live_server: Any, browser: Any, artifacts: Path) -> None:
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Noor Haddad")
    conversation = conversation_for(patient=patient)
    for n, sender in enumerate([patient.user, therapist.user, patient.user]):
        message_send(conversation=conversation, sender=sender, body=f"Message number {n}\nwith two lines")
    walks = [
        (patient.user, PHONE, ["/messages/", "/settings/"]),
        (patient.user, DESKTOP, ["/messages/"]),
        (
            therapist.user,
            DESKTOP,
            ["/inbox/", f"/patients/{patient.pk}/messages/", f"/patients/{patient.pk}/", "/caseload/"],
        ),
    ]
    failures: list[str] = []
    checked: list[str] = []
    for user, viewport, paths in walks:
        context = signed_in(browser, live_server, user, viewport)
        page = context.new_page()
        try:
            for path in paths:
                page.goto(f"{live_server.url}{path}", wait_until="load")
                checked.append(path)
                failures += [
                    f"{path} {viewport['width']}: {rule} [{impact}] {t}"
                    for rule, impact, t in violations_on(Axe(), page)
                ]
            # A refused send: the page again with the error.
            page.goto(f"{live_server.url}{paths[0] if user == patient.user else paths[1]}")
            page.get_by_role("button", name="Send").click()
            page.wait_for_load_state()
            failures += [
                f"error page: {rule} [{impact}] {t}" for rule, impact, t in violations_on(Axe(), page)
            ]
        finally:
            context.close()
    (artifacts / "axe-messages.txt").write_text("\n".join(checked + failures) + "\n")
    assert not failures, "\n".join(failures)
