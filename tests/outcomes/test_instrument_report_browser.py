"""The outcome report's questionnaire sections in a real browser: phone and desktop, axe-core finds
nothing, no console errors (CSP is strict); screenshots kept for review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from questionnaires.services import questionnaires_load_shipped
from tests.browsing import DESKTOP, PHONE, log_in, page_errors
from tests.conftest import Personas
from tests.outcomes.test_instrument_outcomes import cohort, on_day
from tests.portal.test_axe_browser import violations_on

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_questionnaire_sections_render_cleanly(
    transactional_db: Any,
    personas: Personas,
    library: None,
    live_server: Any,
    browser: Any,
    artifacts: Path,
    device: str,
) -> None:
    questionnaires_load_shipped()
    cohort(personas)
    context = browser.new_context(viewport={"phone": PHONE, "desktop": DESKTOP}[device])
    page = context.new_page()
    errors = page_errors(page)
    try:
        with on_day(90):
            log_in(page, live_server.url, personas.owner.user.email)
            page.goto(f"{live_server.url}/outcomes/")
            section = page.locator("section.instrument").filter(has_text="Patient-Specific Functional Scale")
            assert section.get_by_role(
                "heading", name="Patient-Specific Functional Scale (PSFS)"
            ).is_visible()
            assert "Source: Stratford et al. 1995" in section.inner_text()
            assert page.get_by_role("heading", name="Global rating of change (GROC)").is_visible()
            page.locator("#instruments-heading").scroll_into_view_if_needed()
            page.screenshot(
                path=str(artifacts / f"outcome-report-questionnaires-{device}.png"), full_page=True
            )
            assert violations_on(Axe(), page) == []
    finally:
        context.close()
    assert errors == []
