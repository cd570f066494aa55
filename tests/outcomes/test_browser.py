"""The outcome pages in a real browser: phone and desktop, no console errors (CSP is strict)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from checkins.models import PainCheckIn
from outcomes.recompute import outcome_refresh_all
from tests.browsing import DESKTOP, PHONE, log_in, page_errors
from tests.factories import CarePlanFactory, PatientFactory, TherapistFactory

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


def _history(patient: Any, therapist: Any, start_days_ago: int, values: list[tuple[int, int]]) -> None:
    start = timezone.localdate() - timedelta(days=start_days_ago)
    plan = CarePlanFactory(patient=patient, therapist=therapist, start_date=start)
    PainCheckIn.objects.bulk_create(
        PainCheckIn(patient=patient, plan=plan, local_date=start + timedelta(days=d), nprs=v)
        for d, v in values
    )


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_report_and_progress_pages_render_cleanly(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, device: str
) -> None:
    therapist = TherapistFactory(user__full_name="Dana Whitfield")
    colleague = TherapistFactory(clinic=therapist.clinic, user__full_name="Chris Patel")
    patient = PatientFactory(clinic=therapist.clinic, user__full_name="Alex Morgan", timezone="UTC")
    _history(patient, therapist, 40, [(d, max(1, 7 - d // 6)) for d in range(0, 40, 2)])
    for k in range(12):
        other = PatientFactory(clinic=therapist.clinic, timezone="UTC")
        end = [3, 4, 5, 6, 2, 7, 1, 5, 8, 4, 3, 6][k]
        _history(
            other, therapist if k % 2 else colleague, 100, [(0, 7), (1, 7), (80, end)] if k != 5 else [(0, 6)]
        )
    outcome_refresh_all()

    context = browser.new_context(viewport=VIEWPORTS[device])
    page = context.new_page()
    errors = page_errors(page)
    try:
        log_in(page, live_server.url, therapist.user.email)
        page.goto(f"{live_server.url}/outcomes/")
        assert page.get_by_role("heading", name="By therapist").is_visible()
        # The clinic's distribution, and one per therapist (behind a disclosure).
        assert page.locator("svg.histogram[role=img]").count() == 3
        assert page.get_by_role("heading", name="Flow of plans").is_visible()
        page.screenshot(path=str(artifacts / f"outcome-report-{device}.png"), full_page=True)
        page.get_by_role("link", name="Last quarter against the one before").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="This period against the comparison period").is_visible()
        page.screenshot(path=str(artifacts / f"outcome-report-compare-{device}.png"), full_page=True)
        page.get_by_label("Condition").select_option(index=0)
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_load_state()
        assert "Outcomes at 12 weeks" in page.content()

        page.context.clear_cookies()
        log_in(page, live_server.url, patient.user.email)
        page.goto(f"{live_server.url}/progress/")
        assert "lower than when you started" in page.locator("#progress-headline").inner_text()
        page.screenshot(path=str(artifacts / f"progress-{device}.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
