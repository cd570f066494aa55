"""Issue 15 in a browser: the record and the progress page show the same figures, phone and desktop."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from outcomes.recompute import outcome_refresh_all
from tests.browsing import DESKTOP, PHONE, log_in, page_errors
from tests.factories import PatientFactory, TherapistFactory
from tests.helpers import history, make_plan

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

#: Week 1 all 5s (baseline 5.0); days 27-33 but for day 30 average 3.33: 1.7 lower, 33%.
READINGS = {**dict.fromkeys(range(7), 5), **{d: 6 for d in range(7, 27)}}
READINGS.update({27: 3, 28: 4, 29: 3, 31: 3, 32: 4, 33: 3})


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_record_and_progress_show_the_same_figures(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, device: str
) -> None:
    therapist = TherapistFactory(user__full_name="Dana Whitfield")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Alex Morgan")
    plan = make_plan(patient, therapist=therapist, start=patient.local_today() - timedelta(days=34))
    history(plan, READINGS)
    starting = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Jordan Lee")
    history(
        make_plan(starting, therapist=therapist, start=starting.local_today() - timedelta(days=1)), {0: 7}
    )
    outcome_refresh_all()

    context = browser.new_context(viewport=VIEWPORTS[device])
    page = context.new_page()
    errors = page_errors(page)
    try:
        log_in(page, live_server.url, therapist.user.email)
        page.goto(f"{live_server.url}/patients/{patient.pk}/")
        summary = page.locator(".outcome-summary").inner_text()
        assert "5.0 / 10" in summary and "3.3 / 10" in summary and "-1.7 points (-33%)" in summary
        assert page.locator("#record-chart .baseline-label").text_content() == "Baseline 5.0"
        page.screenshot(path=str(artifacts / f"issue15-record-{device}.png"), full_page=True)
        page.goto(f"{live_server.url}/patients/{starting.pk}/")
        assert (
            "Baseline forming: 1 of the first week's check-ins"
            in page.locator(".outcome-summary").inner_text()
        )
        assert page.locator("#record-chart .baseline").count() == 0
        page.screenshot(path=str(artifacts / f"issue15-record-forming-{device}.png"), full_page=True)
        page.goto(f"{live_server.url}/caseload/")
        page.screenshot(path=str(artifacts / f"issue15-caseload-{device}.png"), full_page=True)

        page.context.clear_cookies()
        log_in(page, live_server.url, patient.user.email)
        page.goto(f"{live_server.url}/progress/")
        headline = page.locator("#progress-headline").inner_text()
        assert headline == "Your pain is 1.7 points lower than when you started, a 33% reduction."
        assert page.locator("#progress-chart .baseline-label").text_content() == "Baseline 5.0"
        page.screenshot(path=str(artifacts / f"issue15-progress-{device}.png"), full_page=True)

        page.context.clear_cookies()
        log_in(page, live_server.url, starting.user.email)
        page.goto(f"{live_server.url}/progress/")
        assert page.locator("#progress-headline").inner_text() == "Your first week sets your starting point."
        page.screenshot(path=str(artifacts / f"issue15-progress-day1-{device}.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
