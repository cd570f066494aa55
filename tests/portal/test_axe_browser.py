"""axe-core finds nothing on any page Plinth renders, in Chromium against a live server.

Walks every GET route of the URLconf (the authorization matrix's table says which) as a
visitor who is not signed in, a therapist, a patient and a staff member (the admin included),
opens each page that answers 200 with HTML, runs axe-core's WCAG 2.x A and AA rules on it and
lists every violation by page, rule, impact and element. The patient's pages, and the sign-in
pages a patient reaches from an email, are checked again on a phone-sized screen, and once more
after the patient has checked in today with a red flag (the result page and its guidance).
The pages checked and the violations found are written to test-artifacts/axe-*.txt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from accounts.signin import sign_in_url
from tests.browsing import DESKTOP, PHONE, signed_in
from tests.conftest import record_figure
from tests.factories import PainCheckInFactory
from tests.portal.routes import PERSONAS, all_route_names, row_for
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# axe-core's tags for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Routes that are not pages of ours: JSON, PDF, download and JavaScript answers, and the API's
# documentation, which is Swagger UI's and Redoc's own bundle (their markup is built by
# their scripts, which we serve unchanged and cannot fix in our templates).
NOT_OUR_PAGES = frozenset(
    {
        "healthz",
        "account-export",
        "my-handout-pdf",
        "plan-handout-pdf",
        "admin:jsi18n",
        "api-docs",
        "api-redoc",
        # The navigation's unread count: an HTMX fragment for the header, not a page
        # (tests/conversations/test_messages_browser.py checks the pages that hold it).
        "messages-unread",
        # The inbox's polled list: an HTMX fragment of the inbox page, checked there.
        "inbox-list",
    }
)

# (persona, viewport): the patient lives on a phone; the visitor's pages (sign-in, password
# reset, the invitation a patient opens from an email) are seen on both.
CHECKED_IN_PAGES = frozenset({"today", "checkin", "checkin-done", "progress"})

PASSES = (
    ("anon", DESKTOP),
    ("anon", PHONE),
    ("owner", DESKTOP),
    ("patient_a", DESKTOP),
    ("patient_a", PHONE),
    ("staff", DESKTOP),
)

#: Staff open every admin page (over a hundred, 200 s of walking): four tests of a quarter
#: each (every fourth route), so that neither worker waits on one long test.
SLICES = {"staff": 4}
WALKS = tuple(
    (persona, viewport, part, SLICES.get(persona, 1))
    for persona, viewport in PASSES
    for part in range(SLICES.get(persona, 1))
)


def page_routes(world: World, persona: str) -> list[tuple[str, str]]:
    """``(route name, path)`` of every GET page the matrix says ``persona`` may open.

    A route the matrix expects to answer 200, or to redirect (followed by the browser:
    the set-password form behind a reset link, the sign-in page), for this persona.
    The admin's redirects for non-staff all lead to its sign-in page, opened once.
    """
    column = PERSONAS.index(persona)
    routes: list[tuple[str, str]] = []
    for name in all_route_names():
        row = row_for(name)
        assert row is not None, f"{name} has no row in the authorization matrix"
        method, args, expected = row
        status = expected.split()[column]
        if method != "GET" or name in NOT_OUR_PAGES or name.startswith("api-"):
            continue
        if status == "200" or (status == "302" and not name.startswith("admin:")):
            routes.append((name, reverse(name, kwargs=args(world))))
    return routes


def violations_on(axe: Axe, page: Any) -> list[tuple[str, str, str]]:
    """axe-core's WCAG A/AA violations on the open page, as ``(rule id, impact, target)`` per element."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_A_AA}})
    return [
        (violation["id"], str(violation["impact"]), " ".join(str(t) for t in node["target"]))
        for violation in results.response["violations"]
        for node in violation["nodes"]
    ]


def walk(
    axe: Axe,
    browser: Any,
    live_server: Any,
    user: Any,
    viewport: dict[str, int],
    routes: list[tuple[str, str]],
    color_scheme: str = "light",
) -> tuple[list[str], list[str]]:
    """Open each route once in one signed-in context and run axe-core on every HTML page.

    Returns ``(pages, violations)``: the paths checked (after redirects, each once), and one
    ``"<path> (<route>): <rule> [<impact>] <target>"`` line per failing element.
    """
    context = signed_in(browser, live_server, user, viewport, color_scheme)
    page = context.new_page()
    pages: list[str] = []
    failures: list[str] = []
    try:
        for name, path in routes:
            if viewport == PHONE and name.startswith("admin:"):
                continue  # the admin is a desktop tool
            response = page.goto(f"{live_server.url}{path}", wait_until="load")
            assert response is not None, path
            landed = urlsplit(page.url).path
            html = "text/html" in response.headers.get("content-type", "")
            if response.status != 200 or not html or landed in pages:
                continue
            pages.append(landed)
            failures += [
                f"{landed} ({name}): {rule} [{impact}] {target}"
                for rule, impact, target in violations_on(axe, page)
            ]
    finally:
        context.close()
    return pages, failures


def _walk_id(persona: str, viewport: dict[str, int], part: int, parts: int) -> str:
    name = f"{persona}-{'phone' if viewport == PHONE else 'desktop'}"
    return name if parts == 1 else f"{name}-{part + 1}of{parts}"


def _record(artifacts: Path, label: str, checked: list[str], failures: list[str]) -> None:
    """The pass's pages and violations in test-artifacts/, and its figure for the run's summary."""
    slug = label.replace(" ", "-").replace("(", "").replace(")", "")
    (artifacts / f"axe-pages-{slug}.txt").write_text("".join(f"{line}\n" for line in checked))
    (artifacts / f"axe-violations-{slug}.txt").write_text("".join(f"{line}\n" for line in failures))
    record_figure(
        f"axe-core (WCAG 2.x A/AA), {label}: {len(checked)} pages checked, {len(failures)} violations"
    )


# One test per pass (persona and viewport), so that make test's browser part spreads them over
# its two workers; together they open every page Plinth renders.
@pytest.mark.parametrize(("persona", "viewport", "part", "parts"), WALKS, ids=[_walk_id(*w) for w in WALKS])
def test_axe_core_finds_nothing_on_any_page(
    world: World,
    live_server: Any,
    browser: Any,
    artifacts: Path,
    persona: str,
    viewport: dict[str, int],
    part: int,
    parts: int,
) -> None:
    label = f"{persona} {viewport['width']}x{viewport['height']}"
    if parts > 1:
        label += f" part {part + 1} of {parts}"
    routes = page_routes(world, persona)[part::parts]
    pages, found = walk(Axe(), browser, live_server, world.persona(persona), viewport, routes)
    checked = [f"{label} {path}" for path in pages]
    failures = [f"{label} {line}" for line in found]
    _record(artifacts, label, checked, failures)
    assert len(checked) >= 5, checked
    assert not failures, f"{len(failures)} axe-core violation(s):\n" + "\n".join(failures)


def test_axe_core_finds_nothing_on_the_patients_pages_once_checked_in(
    world: World, live_server: Any, browser: Any, artifacts: Path
) -> None:
    """The patient's pages once they have checked in today with a red flag: the result page
    with its urgent guidance, and the form that now offers to replace today's answer."""
    PainCheckInFactory(
        plan=world.plan_a, local_date=world.p.patient_a.local_today(), nprs=8, flag_leg_weakness=True
    )
    after = [route for route in page_routes(world, "patient_a") if route[0] in CHECKED_IN_PAGES]
    checked: list[str] = []
    failures: list[str] = []
    for viewport in (PHONE, DESKTOP):
        label = f"patient_a (checked in) {viewport['width']}x{viewport['height']}"
        pages, found = walk(Axe(), browser, live_server, world.p.patient_a.user, viewport, after)
        checked += [f"{label} {path}" for path in pages]
        failures += [f"{label} {line}" for line in found]
    _record(artifacts, "patient_a (checked in)", checked, failures)
    assert any("/checkin/done/" in line for line in checked)
    assert not failures, f"{len(failures)} axe-core violation(s):\n" + "\n".join(failures)


def test_axe_core_finds_nothing_on_the_sign_in_link_pages(
    world: World, live_server: Any, browser: Any, artifacts: Path
) -> None:
    """The pages of signing in by emailed link (Plinth issue 19) that the walk does not reach: the
    "Sign in to Plinth as <first name>" page a working link opens, the login page saying a link
    has expired or was used (410), and the "check your email" page its form posts to, on a
    phone and a desktop. The login page itself is in the walk."""
    axe = Axe()
    checked: list[str] = []
    failures: list[str] = []
    for viewport in (PHONE, DESKTOP):
        label = f"anon (sign-in link) {viewport['width']}x{viewport['height']}"
        context = signed_in(browser, live_server, None, viewport)
        page = context.new_page()
        try:
            link = urlsplit(sign_in_url(world.p.patient_a.user))
            page.goto(f"{live_server.url}{link.path}?{link.query}")
            page.get_by_role("button", name="Sign in").wait_for()
            failures += [f"{label} link opened: {' '.join(v)}" for v in violations_on(axe, page)]
            response = page.goto(f"{live_server.url}{reverse('sign-in-link')}?sesame=used-or-expired")
            assert response is not None and response.status == 410
            assert "This sign-in link has expired or was already used." in page.content()
            failures += [f"{label} refused link: {' '.join(v)}" for v in violations_on(axe, page)]
            page.get_by_label("Email address").fill(world.p.patient_a.user.email)
            page.get_by_role("button", name="Email me a sign-in link").click()
            page.get_by_role("heading", name="Check your email").wait_for()
            failures += [f"{label} link sent: {' '.join(v)}" for v in violations_on(axe, page)]
            checked += [f"{label} link opened", f"{label} refused link", f"{label} link sent"]
        finally:
            context.close()
    _record(artifacts, "anon (sign-in link)", checked, failures)
    assert not failures, f"{len(failures)} axe-core violation(s):\n" + "\n".join(failures)
