"""What the Chromium tests share: the two screen sizes, signing in, watching for errors, screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def signed_in(
    browser: Any,
    live_server: Any,
    user: Any,
    viewport: dict[str, int],
    color_scheme: str = "light",
    **options: Any,
) -> Any:
    """A context of ``viewport`` size (and other ``new_context`` options) signed in as ``user``, if any."""
    context = browser.new_context(viewport=viewport, color_scheme=color_scheme, **options)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return context


def page_errors(page: Any) -> list[str]:
    """A list that collects ``page``'s uncaught errors and console errors as ``"<url>: <text>"``."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    return errors


def fill_log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Fill in the login form open on ``page`` and send it."""
    # Exact labels: the sign-in link form beside them asks for an "Email address" under "No password?".
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Log in as ``email`` through the login page at ``base_url``; wait for the next page to load."""
    page.goto(f"{base_url}/accounts/login/")
    fill_log_in(page, email, password)
    page.wait_for_load_state()


def shoot_desktop_and_phone(page: Any, folder: Path, name: str) -> None:
    """Full-page screenshots ``<name>-desktop.png`` and ``<name>-phone.png`` in ``folder``, size kept."""
    start = page.viewport_size
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(start)
