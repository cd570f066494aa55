"""The API docs pages render under the strict Content-Security-Policy, in a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _open(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []

    def on_console(msg: Any) -> None:
        # Redoc's "powered by" logo comes from its CDN: blocking it is the policy working.
        if "Content Security Policy" in msg.text and "cdn.redoc.ly" not in msg.text:
            violations.append(msg.text)

    page.on("console", on_console)
    page.goto(url)
    return context, page, violations


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_without_csp_violations(browser: Any, live_server: Any, artifacts: Path) -> None:
    context, page, violations = _open(browser, f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Plinth API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=15000)
    page.screenshot(path=str(artifacts / "api-docs-swagger.png"))
    context.close()
    assert violations == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_redoc_renders_without_csp_violations(browser: Any, live_server: Any, artifacts: Path) -> None:
    context, page, violations = _open(browser, f"{live_server.url}/api/v1/redoc/")
    page.wait_for_selector("h1", timeout=15000)
    assert "Plinth API" in page.inner_text("h1")
    page.wait_for_selector("text=careplans", timeout=15000)
    page.screenshot(path=str(artifacts / "api-docs-redoc.png"))
    context.close()
    assert violations == []
