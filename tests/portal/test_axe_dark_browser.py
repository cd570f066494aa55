"""axe-core finds nothing in the dark colour scheme either (Plinth issue 15, portal/static/portal/dark.css).

The same walk as test_axe_browser.py with Chromium's ``prefers-color-scheme: dark``: the
patient's pages and the signed-out pages on a phone (before and after a check-in with a red
flag, so the urgent guidance is drawn), the therapist's on a desktop. Colour contrast is the
rule a dark scheme most easily breaks; every WCAG A/AA rule runs. Lines go to
test-artifacts/axe-dark-*.txt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browsing import DESKTOP, PHONE
from tests.conftest import record_figure
from tests.factories import PainCheckInFactory
from tests.portal.test_axe_browser import CHECKED_IN_PAGES, page_routes, walk
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_axe_core_finds_nothing_in_the_dark_scheme(
    world: World, live_server: Any, browser: Any, artifacts: Path
) -> None:
    axe = Axe()
    checked: list[str] = []
    failures: list[str] = []

    def check(persona: str, viewport: dict[str, int], routes: list[tuple[str, str]], state: str = "") -> None:
        label = f"{persona}{state} dark {viewport['width']}x{viewport['height']}"
        routes = [route for route in routes if not route[0].startswith("admin:")]
        pages, found = walk(axe, browser, live_server, world.persona(persona), viewport, routes, "dark")
        checked.extend(f"{label} {path}" for path in pages)
        failures.extend(f"{label} {line}" for line in found)

    for persona, viewport in (("anon", PHONE), ("patient_a", PHONE), ("owner", DESKTOP)):
        check(persona, viewport, page_routes(world, persona))
    PainCheckInFactory(
        plan=world.plan_a, local_date=world.p.patient_a.local_today(), nprs=8, flag_leg_weakness=True
    )
    after = [route for route in page_routes(world, "patient_a") if route[0] in CHECKED_IN_PAGES]
    check("patient_a", PHONE, after, state=" (checked in)")
    check("patient_a", DESKTOP, after, state=" (checked in)")

    (artifacts / "axe-dark-pages.txt").write_text("".join(f"{line}\n" for line in checked))
    (artifacts / "axe-dark-violations.txt").write_text("".join(f"{line}\n" for line in failures))
    record_figure(
        f"axe-core dark scheme (WCAG 2.x A/AA): {len(checked)} pages checked, {len(failures)} violations"
    )
    assert len(checked) > 40
    assert any("/checkin/done/" in line for line in checked)
    assert any("/caseload/" in line for line in checked)
    assert not failures, f"{len(failures)} axe-core violation(s):\n" + "\n".join(failures)
