"""In Chromium (issue 15): the therapist acts where they look, and the patient corrects a check-in.

Acknowledging with a note on the attention list and on the record updates the alert box's count
in place (no page load); the audit page, the correction form and the time-zone search are drawn,
checked by axe-core and photographed on a phone and a desktop.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from alerts.models import Alert
from checkins.models import PainCheckIn
from tests.browsing import DESKTOP, PHONE, page_errors, shoot_desktop_and_phone, signed_in
from tests.factories import PainCheckInFactory, PatientFactory, TherapistFactory
from tests.helpers import history, make_plan
from tests.portal.test_axe_browser import violations_on
from today.services import checkin_submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _clinic() -> tuple[Any, Any, Any]:
    therapist = TherapistFactory(user__full_name="Tess Therapist", clinic__timezone="Europe/London")
    # Ada has a phone number on file (the list offers a call), Ben has none (no dead link).
    ada = PatientFactory(
        clinic=therapist.clinic, therapist=therapist, user__full_name="Ada Achilles", phone="07700 900123"
    )
    ben = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Ben Bridge")
    for patient in (ada, ben):
        plan = make_plan(patient, therapist=therapist, start=patient.local_today() - timedelta(days=20))
        history(plan, {day: 6 - day // 5 for day in range(0, 20)})
        checkin_submit(patient=patient, nprs=6, side="left", flag_bladder_bowel=True, note="Numb since lunch")
    return therapist, ada, ben


def test_acknowledging_updates_the_count_in_place_and_the_record_keeps_the_note(
    live_server: Any, browser: Any, artifacts: Path
) -> None:
    therapist, ada, ben = _clinic()
    axe = Axe()
    context = signed_in(browser, live_server, therapist.user, DESKTOP)
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/caseload/")
        heading = page.locator("#attention-heading")
        assert "Needs attention today (2)" in heading.inner_text()
        assert "2 alerts to acknowledge" in heading.inner_text()
        assert violations_on(axe, page) == []
        shoot_desktop_and_phone(page, artifacts, "attention-list")
        call = page.get_by_role("link", name="Call Ada Achilles on 07700 900123")
        assert call.get_attribute("href") == "tel:07700900123"
        assert page.get_by_role("link", name="Call Ben Bridge", exact=False).count() == 0
        # A marker on the window: it survives only if no page load happens.
        page.evaluate("window.__plinthStayed = true")
        ada_row = page.locator(".attention-row", has_text="Ada Achilles")
        ada_row.get_by_label("What was done (optional)").fill("Phoned: sent to A&E")
        ada_row.get_by_role("button", name="Acknowledge").click()
        ada_row.get_by_text("Acknowledged by Tess Therapist").wait_for()
        assert "Phoned: sent to A&E" in ada_row.inner_text()
        assert "1 alert to acknowledge" in heading.inner_text()
        assert "Needs attention today (1)" in heading.inner_text()
        assert page.evaluate("window.__plinthStayed") is True
        assert Alert.objects.get(patient=ada).acknowledged_note == "Phoned: sent to A&E"

        # Ben's record: the links, the invitation state, and the alert box.
        page.goto(f"{live_server.url}/patients/{ben.pk}/")
        links = page.locator(".record-links")
        for name in ("Change the plan in the builder", "Handout", "Plan history", "All plans"):
            assert links.get_by_role("link", name=name).count() == 1
        assert page.locator("#alerts-heading").inner_text() == "Open alerts (1)"
        shoot_desktop_and_phone(page, artifacts, "record")
        page.evaluate("window.__plinthStayed = true")
        page.get_by_label("What was done (optional)").fill("Called him; GP today")
        page.get_by_role("button", name="Acknowledge").click()
        page.get_by_text("Acknowledged by Tess Therapist").wait_for()
        assert page.locator("#alerts-heading").inner_text() == "Open alerts (0)"
        assert page.evaluate("window.__plinthStayed") is True
        # The acknowledged alert takes the focus from its gone button.
        assert page.evaluate("document.activeElement.id") == f"alert-{Alert.objects.get(patient=ben).pk}"
        page.reload()
        acknowledged = page.locator("section", has=page.locator("#acknowledged-heading"))
        assert "Called him; GP today" in acknowledged.inner_text()
        assert violations_on(axe, page) == []
        shoot_desktop_and_phone(page, artifacts, "record-acknowledged")

        page.goto(f"{live_server.url}/audit/")
        table = page.locator(".audit-table")
        assert table.get_by_text("Acknowledged an alert").count() == 2
        assert table.get_by_text("Called him; GP today").count() == 1
        assert violations_on(axe, page) == []
        shoot_desktop_and_phone(page, artifacts, "audit-trail")
        assert errors == [], errors
    finally:
        context.close()


def test_patient_corrects_yesterdays_checkin_on_a_phone(
    live_server: Any, browser: Any, artifacts: Path
) -> None:
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Cora Correct")
    plan = make_plan(patient, therapist=therapist, start=patient.local_today() - timedelta(days=10))
    yesterday = PainCheckInFactory(plan=plan, local_date=patient.local_today() - timedelta(days=1), nprs=8)
    PainCheckInFactory(plan=plan, local_date=patient.local_today() - timedelta(days=5), nprs=6)
    axe = Axe()
    context = signed_in(browser, live_server, patient.user, PHONE)
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/checkin/")
        recent = page.locator("#recent-checkins")
        assert recent.get_by_role("link", name="Correct").count() == 1
        assert "(read-only)" in recent.inner_text()
        recent.get_by_role("link", name="Correct").click()
        page.wait_for_url(f"{live_server.url}/checkin/{yesterday.pk}/correct/")
        assert page.get_by_role("radio", name="8, severe").is_checked()
        assert violations_on(axe, page) == []
        shoot_desktop_and_phone(page, artifacts, "checkin-correct")
        page.get_by_role("radio", name="3, mild").check()
        page.get_by_role("button", name="Save the correction").click()
        page.wait_for_url(f"{live_server.url}/checkin/#recent-checkins")
        assert "is corrected" in page.locator(".messages").inner_text()
        assert "edited" in page.locator("#recent-checkins").inner_text()
        yesterday.refresh_from_db()
        assert yesterday.nprs == 3 and yesterday.corrected_at is not None
        assert PainCheckIn.objects.filter(patient=patient, nprs=6).count() == 1
        assert errors == [], errors
    finally:
        context.close()


def test_the_time_zone_search_narrows_the_grouped_list(
    live_server: Any, browser: Any, artifacts: Path
) -> None:
    patient = PatientFactory(user__full_name="Zed Zone", timezone="Europe/London")
    axe = Axe()
    context = signed_in(browser, live_server, patient.user, PHONE)
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/settings/")
        select = page.locator("select[name=timezone]")
        total = select.locator("option").count()
        assert 100 <= total <= 150 and select.locator("optgroup").count() >= 7
        search = page.get_by_label("Search the list")
        search.fill("kolkata")
        page.get_by_text("1 time zone matches “kolkata”.").wait_for()
        # The chosen zone stays in the list whatever is typed.
        assert select.locator("option").count() == 2
        search.press("Enter")
        assert select.input_value() == "Asia/Kolkata"
        assert violations_on(axe, page) == []
        page.screenshot(path=str(artifacts / "zone-search-phone.png"), full_page=True)
        search.fill("")
        assert select.locator("option").count() == total
        page.get_by_role("button", name="Save settings").click()
        page.wait_for_load_state()
        patient.refresh_from_db()
        assert patient.timezone == "Asia/Kolkata"
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(artifacts / "zone-field-desktop.png"), full_page=True)
        assert errors == [], errors
    finally:
        context.close()
