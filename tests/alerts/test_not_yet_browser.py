"""In Chromium: a patient invited and given a plan minutes ago is "waiting", never an alarm, on the
caseload (its attention list and its row) and on the record (Plinth issue 15).

Screenshots, phone and desktop, into test-artifacts/.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import patient_invite
from library.services import library_load
from tests.factories import TherapistFactory
from tests.helpers import template_plan

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def test_a_patient_who_has_not_joined_is_waiting_on_the_caseload_and_record(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    noor = patient_invite(
        clinic=therapist.clinic,
        by=therapist,
        full_name="Noor Haddad",
        email="noor@example.test",
        timezone="Europe/London",
        reminder_time=time(18, 0),
    )
    template_plan(noor, therapist)
    client = Client()
    client.force_login(therapist.user)
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        for name, path in (("caseload", "/caseload/"), ("record", f"/patients/{noor.pk}/")):
            page.set_viewport_size(DESKTOP)
            page.goto(live_server.url + path)
            main = page.locator("main").inner_text()
            assert "Waiting for Noor to accept the invitation" in main
            assert "0%" not in main and "Red flag" not in main
            page.screenshot(path=str(artifacts / f"waiting-{name}-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(artifacts / f"waiting-{name}-phone.png"), full_page=True)
        page.goto(live_server.url + "/caseload/")
        reason = page.locator(".attention-row", has_text="Noor Haddad")
        assert reason.locator(".reason-tag").inner_text() == "Invited"
        assert errors == [], errors
    finally:
        context.close()
