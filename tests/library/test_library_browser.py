"""A therapist logs in through the real login form and filters the library in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from library.selectors import LibraryFilters, library_exercises
from library.services import library_load
from library.views import LIBRARY_PAGE_SIZE
from tests.browsing import DESKTOP, PHONE, fill_log_in, page_errors
from tests.factories import TherapistFactory

pytestmark = pytest.mark.browser

SHOWS = (
    "(expected) => [...document.querySelectorAll('.exercise-card h2')]"
    ".map((h) => h.textContent.trim()).join('|') === expected"
)
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def _expected(**filters: str) -> list[str]:
    found = library_exercises(filters=LibraryFilters(**filters), clinic=None)[:LIBRARY_PAGE_SIZE]
    return [exercise.name for exercise in found]


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_therapist_logs_in_and_filters_the_library(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path, device: str
) -> None:
    library_load()
    therapist = TherapistFactory(user__email="dana@clinic.test", user__full_name="Dana Whitfield")
    context = browser.new_context(viewport=VIEWPORTS[device])
    page = context.new_page()
    errors = page_errors(page)
    try:
        page.goto(f"{live_server.url}/library/")
        # Anonymous: sent to the login form, which brings us back afterwards.
        assert "/accounts/login/" in page.url
        page.screenshot(path=str(artifacts / f"login-{device}.png"), full_page=True)
        fill_log_in(page, therapist.user.email.upper())
        page.wait_for_url(f"{live_server.url}/library/")

        count = page.locator("#result-count")
        total = count.inner_text()
        assert total.endswith("exercises")
        all_cards = page.locator(".exercise-card").count()
        assert all_cards > 1

        with page.expect_response(lambda r: "region=lower-back" in r.url) as by_region:
            page.get_by_label("Body region").select_option("lower-back")
        assert by_region.value.request.headers.get("hx-request") == "true"
        back = _expected(region="lower-back")
        assert 2 < len(back) < all_cards
        page.wait_for_function(SHOWS, arg="|".join(back))
        assert count.inner_text() == f"{len(back)} exercises"

        with page.expect_response(lambda r: "q=bri" in r.url and "region=lower-back" in r.url):
            page.get_by_label("Search").press_sequentially("bri", delay=40)
        narrower = _expected(q="bri", region="lower-back")
        assert "Bridge" in narrower
        assert len(narrower) < len(back)
        page.wait_for_function(SHOWS, arg="|".join(narrower))
        names = page.locator(".exercise-card h2").all_inner_texts()
        # The URL follows the filters, so a reload or a shared link shows the same list.
        assert "q=bri" in page.url and "region=lower-back" in page.url
        # The page itself was not reloaded: what was typed is still in the box.
        assert page.get_by_label("Search").input_value() == "bri"
        page.screenshot(path=str(artifacts / f"library-filtered-{device}.png"), full_page=True)

        page.reload()
        assert page.get_by_label("Search").input_value() == "bri"
        assert page.locator(".exercise-card h2").all_inner_texts() == names

        page.get_by_role("link", name="Bridge", exact=True).click()
        page.wait_for_url("**/library/bridge/")
        assert page.get_by_role("heading", name="Bridge", level=1, exact=True).is_visible()
        page.screenshot(path=str(artifacts / f"exercise-detail-{device}.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
