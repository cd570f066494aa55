"""The token, audit and data-download pages in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browsing import PHONE, log_in
from tests.conftest import Personas


def _logged_in_on_a_phone(browser: Any, live_server: Any, email: str) -> tuple[Any, Any]:
    """A phone-sized context and its page, logged in as ``email`` through the login form."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, live_server.url, email)
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_therapist_makes_a_token_and_searches_the_audit_trail(
    browser: Any, live_server: Any, personas: Personas, artifacts: Path
) -> None:
    context, page = _logged_in_on_a_phone(browser, live_server, personas.owner.user.email)
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("input[name=name]", "Reporting system")
    page.click("text=Make token")
    key = page.input_value("#new-token")
    assert "." in key and len(key) > 40
    page.screenshot(path=str(artifacts / "account-tokens.png"), full_page=True)
    page.reload()
    assert page.locator("#new-token").count() == 0
    page.goto(f"{live_server.url}/audit/")
    assert page.locator("text=api_token.created").count() >= 1
    page.screenshot(path=str(artifacts / "audit-search.png"), full_page=True)
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_patient_downloads_their_data_from_settings(
    browser: Any, live_server: Any, personas: Personas, artifacts: Path
) -> None:
    context, page = _logged_in_on_a_phone(browser, live_server, personas.patient_a.user.email)
    page.goto(f"{live_server.url}/settings/")
    page.screenshot(path=str(artifacts / "settings-data-export.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Download my data")
    assert download.value.suggested_filename.startswith("plinth-my-data-")
    context.close()
