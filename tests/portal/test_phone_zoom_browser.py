"""Every page a patient sees reads on a 320 px phone and at 200% zoom (Plinth issue 15).

Chromium walks the patient's pages (Today, check-in, its result with the red-flag guidance,
progress, the handout page, settings and password change) and the pages a patient reaches
signed out (sign-in, password reset, invitation acceptance) in two viewports:

- 320x640 CSS px: the narrowest phone WCAG 1.4.10 (Reflow) asks for;
- 640x400 CSS px at device scale 1: a 1280x800 window at 200% browser zoom (zooming divides the
  CSS viewport by the zoom factor; a device scale factor of 2 would not, so it is no zoom).

On each page three rules are measured in the page itself:

1. no sideways scrolling: ``document.documentElement.scrollWidth <= clientWidth``;
2. every visible interactive element (link, button, input, select, textarea, summary; for a
   visually hidden radio or checkbox, its label) has a box at least 44x44 CSS px (WCAG 2.5.5).
   Exempt, as WCAG 2.5.8's "inline" exception allows: a link inside a sentence, i.e. an
   inline link whose enclosing block has text of its own besides the link's;
3. no visible text is under 12 CSS px as rendered, counting an SVG's scaling of its viewBox.

The same rules hold on a 390x844 phone and a 1280x900 desktop. Screenshots of each page in each
viewport, and in the dark colour scheme (phone and desktop), go to test-artifacts/phonezoom-*.png.

Each page is loaded once, at 320 px, and then resized through the views: the layout is CSS alone,
which the browser works out again at every size (a new load per view cost five times the time).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browsing import DESKTOP, PHONE, signed_in
from tests.factories import PainCheckInFactory
from tests.portal.routes import all_route_names
from tests.portal.test_axe_browser import page_routes
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_320 = {"width": 320, "height": 640}
ZOOM_200 = {"width": 640, "height": 400}  # 1280x800 at 200% zoom
MIN_TARGET = 44
MIN_TEXT = 12

# In the page: every breach of the three rules, as "<rule>: <what> (<size>)" lines.
MEASURE = """([minTarget, minText]) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`sideways scroll: ${doc.scrollWidth} > ${doc.clientWidth}`);
  }
  const shown = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === 'none' || style.visibility === 'hidden') return false;
      if (node.classList.contains('visually-hidden')) return false;
    }
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && box.right > 0 && box.left < doc.clientWidth;
  };
  const describe = (el) => {
    const text = (el.innerText || el.textContent || el.value || el.getAttribute('aria-label') || '')
      .trim();
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${text.slice(0, 40)}"`;
  };
  const block = (el) => {
    let node = el.parentElement;
    while (node && getComputedStyle(node).display.startsWith('inline')) node = node.parentElement;
    return node;
  };
  const inSentence = (el) => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    const parent = block(el);
    if (!parent) return false;
    const own = parent.innerText.replace(el.innerText, '').replace(/[\\s.,:;()]/g, '');
    return own.length > 0;
  };
  const targets = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary');
  for (const el of targets) {
    let target = el;
    if (el.matches('input[type=radio], input[type=checkbox]')) {
      target = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest('label') || el;
    }
    if (!shown(target) || inSentence(target)) continue;
    const box = target.getBoundingClientRect();
    if (box.width < minTarget - 0.5 || box.height < minTarget - 0.5) {
      problems.push(`small target: ${describe(target)} (${box.width.toFixed(1)}x${box.height.toFixed(1)})`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('title, desc, script, style, option') || !shown(el)) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) size *= el.getScreenCTM().a;
    if (size < minText - 0.05) problems.push(`small text: ${describe(el)} (${size.toFixed(1)} px)`);
  }
  return problems;
}"""


#: ``(label, viewport, colour scheme)``: the views each page is checked in, the first the size
#: every page is loaded at. The three rules are measured in the light views; the dark ones are
#: screenshots.
VIEWS = (
    ("320", PHONE_320, "light"),
    ("zoom200", ZOOM_200, "light"),
    ("phone", PHONE, "light"),
    ("desktop", DESKTOP, "light"),
    ("phone-dark", PHONE, "dark"),
    ("desktop-dark", DESKTOP, "dark"),
)


def _patient_pages(world: World) -> list[tuple[str, Any, str, str]]:
    """``(persona, user, route name, path)`` of every page a patient sees, signed in and out."""
    pages: list[tuple[str, Any, str, str]] = []
    for persona in ("patient_a", "anon"):
        for name, path in page_routes(world, persona):
            # A signed-in patient has no invitation to open: the visitor opens a fresh token's.
            if name.startswith("admin:") or (persona != "anon" and name == "invitation"):
                continue
            pages.append((persona, world.persona(persona), name, path))
    return pages


def _check_views(
    page: Any, artifacts: Path, persona: str, name: str, landed: str
) -> tuple[list[str], list[str]]:
    """Screenshot the open page in every view of VIEWS and measure the rules in the light ones.

    The page is loaded once and resized: its layout is CSS alone (media queries on width and
    colour scheme; plinth.js reads no viewport), which the browser works out again at each size,
    and the server's HTML does not depend on the window. Returns ``(checked, problems)``: one
    ``"<label> <persona> <path>"`` per view, and one line per breach.
    """
    checked: list[str] = []
    problems: list[str] = []
    for label, viewport, scheme in VIEWS:
        page.set_viewport_size(viewport)
        page.emulate_media(color_scheme=scheme)
        key = f"{label} {persona} {landed}"
        checked.append(key)
        page.screenshot(path=str(artifacts / f"phonezoom-{label}-{persona}-{name}.png"), full_page=True)
        if scheme == "light":
            problems += [f"{key}: {line}" for line in page.evaluate(MEASURE, [MIN_TARGET, MIN_TEXT])]
    return checked, problems


def test_every_patient_page_reads_at_320px_and_200_percent_zoom(
    world: World, live_server: Any, browser: Any, artifacts: Path
) -> None:
    clinic = world.p.clinic
    clinic.phone, clinic.address = "020 7946 0321", "14 Wharf Lane\nLondon\nSE1 9ZZ"
    clinic.out_of_hours = "When we are closed, call NHS 111 for urgent advice."
    clinic.save()
    patient = world.p.patient_a
    today = patient.local_today()
    # Four weeks of check-ins for the charts, and today's with a red flag: the result page shows
    # the urgent guidance.
    for days_ago in range(1, 10):
        PainCheckInFactory(plan=world.plan_a, local_date=today - timedelta(days=days_ago), nprs=days_ago % 8)
    PainCheckInFactory(plan=world.plan_a, local_date=today, nprs=8, flag_leg_weakness=True)
    assert "checkin-done" in all_route_names()

    checked: list[str] = []
    problems: list[str] = []
    # One context per persona (signed in once), one tab, each page opened once at 320 px.
    contexts: dict[str, Any] = {}
    try:
        for persona, user, name, path in _patient_pages(world):
            if persona not in contexts:
                contexts[persona] = signed_in(browser, live_server, user, PHONE_320)
                contexts[persona].new_page()
            page = contexts[persona].pages[0]
            page.set_viewport_size(PHONE_320)
            page.emulate_media(color_scheme="light")
            response = page.goto(f"{live_server.url}{path}", wait_until="load")
            assert response is not None and response.status == 200, path
            landed = urlsplit(page.url).path
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            if f"{VIEWS[0][0]} {persona} {landed}" in checked:
                continue
            seen, found = _check_views(page, artifacts, persona, name, landed)
            checked += seen
            problems += found
    finally:
        for context in contexts.values():
            context.close()

    (artifacts / "phonezoom-pages.txt").write_text("".join(f"{line}\n" for line in sorted(checked)))
    (artifacts / "phonezoom-problems.txt").write_text("".join(f"{line}\n" for line in problems))
    paths = {line.split()[-1] for line in checked}
    for expected in ("/today/", "/checkin/", "/progress/", "/accounts/login/", "/accounts/password-reset/"):
        assert any(path.startswith(expected) for path in paths), expected
    assert any("/checkin/done/" in path for path in paths)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_the_therapists_caseload_does_not_scroll_sideways_on_a_phone(
    world: World, live_server: Any, browser: Any, artifacts: Path
) -> None:
    """The compact header keeps the therapist's longer menu (six pages) within 320 px too."""
    context = signed_in(browser, live_server, world.p.owner.user, PHONE_320)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/caseload/", wait_until="load")
        for label, viewport in (("320", PHONE_320), ("zoom200", ZOOM_200)):
            page.set_viewport_size(viewport)
            page.screenshot(path=str(artifacts / f"phonezoom-{label}-owner-caseload.png"), full_page=True)
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], (label, widths)
    finally:
        context.close()
