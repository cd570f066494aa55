"""In Chromium: a patient invited and given a plan minutes ago is "waiting", never an alarm, on the
caseload (its attention list and its row) and on the record (Plinth issue 15).

Screenshots, phone and desktop, into test-artifacts/.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from accounts.services import patient_invite
from library.services import library_load
from tests.browsing import DESKTOP, page_errors, shoot_desktop_and_phone, signed_in
from tests.factories import TherapistFactory
from tests.helpers import template_plan

pytestmark = pytest.mark.browser


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
    context = signed_in(browser, live_server, therapist.user, DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    try:
        for name, path in (("caseload", "/caseload/"), ("record", f"/patients/{noor.pk}/")):
            page.goto(live_server.url + path)
            main = page.locator("main").inner_text()
            assert "Waiting for Noor to accept the invitation" in main
            assert "0%" not in main and "Red flag" not in main
            shoot_desktop_and_phone(page, artifacts, f"waiting-{name}")
        page.goto(live_server.url + "/caseload/")
        reason = page.locator(".attention-row", has_text="Noor Haddad")
        assert reason.locator(".reason-tag").inner_text() == "Invited"
        assert errors == [], errors
    finally:
        context.close()
