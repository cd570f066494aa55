"""Shared fixtures: the personas every access test uses, and the real browser."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan
from library.services import library_load
from portal.celery import app as celery_app
from tests.factories import PASSWORD, ClinicFactory, PatientFactory, TherapistFactory, UserFactory
from tests.harness import SMTPServer
from tests.helpers import make_plan, template_plan

# The whole-site world (tests.world): its fixtures, for every folder.
pytest_plugins = ["tests.world"]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"


#: The parts of ``make test`` (scripts/testparts.py) by marker, first match wins: tests marked
#: ``alone`` (they assert timings, or stop and start servers) run one at a time, last; tests
#: with a browser or servers of their own (``browser``, ``services``) on two workers; the rest
#: in the first part.
PART_MARKERS = {"serial": ("alone",), "live": ("browser", "services")}


def part_of(item: pytest.Item) -> str:
    """The part of ``make test`` that runs ``item``: "serial", "live" or "parallel"."""
    for part, markers in PART_MARKERS.items():
        if any(item.get_closest_marker(marker) for marker in markers):
            return part
    return "parallel"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--part",
        choices=("parallel", "live", "serial"),
        help=(
            "keep only one part of ``make test`` (scripts/testparts.py): serial = the tests marked "
            "alone, live = the other tests marked browser or services, parallel = the rest; "
            "combines with -m and -k"
        ),
    )


#: Tests that take many seconds each (the walks over every route): run first, so that on
#: parallel workers (make check, make test's first two parts) none is left running alone at the end
#: while the other worker has finished. Order does not matter otherwise: each test sets up its own.
LONG_FIRST = (
    "tests/portal/test_page_fuzzer.py::",
    "tests/portal/test_authz_matrix.py::test_authorization_matrix",
    "tests/audit/test_audit_reads.py::test_every_route",
    "tests/portal/test_no_store.py::test_every_route",
    "tests/portal/test_aria_references.py::",
    "tests/portal/test_axe_browser.py::",
    "tests/portal/test_phone_zoom_browser.py::",
    "tests/portal/test_axe_dark_browser.py::",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the long walks first (LONG_FIRST); deselect the tests of the other part, after -k and
    -m have had their say."""
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: the rest keep their order
    part = config.getoption("--part")
    if part is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if part_of(item) == part else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Unit tests run tasks in-process; tests with a real worker switch this off."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings: Any) -> None:
    """Each test starts with empty rate-limit counters (they live in the shared cache).

    A new key prefix rather than a flush: in the Redis runs the cache shares its
    server with the Celery broker.
    """
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex[:12]}:"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The real hasher costs a third of a second per password; the suite makes hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def allow_undrawable() -> None:
    """Marks a test that prints a character no handout font has, on purpose."""


@pytest.fixture(autouse=True)
def _handout_draws_every_character(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Production only logs a character the handout fonts cannot draw; any test that makes one fails."""
    yield
    if "allow_undrawable" in request.fixturenames:
        return
    lost = [r.getMessage() for r in caplog.get_records("call") if r.name == "careplans.handout"]
    if lost:
        pytest.fail("; ".join(lost))


@dataclass
class Personas:
    clinic: Clinic
    other_clinic: Clinic
    owner: Therapist
    colleague: Therapist
    outsider: Therapist
    patient_a: Patient
    patient_b: Patient
    staff: User


@pytest.fixture
def personas(db: Any) -> Personas:
    clinic = ClinicFactory(name="Northside Physio")
    other = ClinicFactory(name="Southside Physio")
    owner = TherapistFactory(clinic=clinic, user__full_name="Olive Owner")
    return Personas(
        clinic=clinic,
        other_clinic=other,
        owner=owner,
        colleague=TherapistFactory(clinic=clinic, user__full_name="Colin Colleague"),
        outsider=TherapistFactory(clinic=other, user__full_name="Otto Outsider"),
        patient_a=PatientFactory(clinic=clinic, therapist=owner, user__full_name="Ada Patient"),
        patient_b=PatientFactory(clinic=clinic, therapist=owner, user__full_name="Ben Patient"),
        staff=UserFactory(is_staff=True, is_superuser=True, full_name="Stella Staff"),
    )


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def library(db: Any) -> None:
    library_load()


@pytest.fixture
def password() -> str:
    return PASSWORD


# --- the real browser -------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        if IN_CI:
            pytest.fail(f"Chromium is missing at {CHROMIUM}; CI must not skip browser tests")
        pytest.skip("Chromium is not installed (scripts/sysdeps.sh installs it)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def record_figure(line: str) -> None:
    """Keep a measured figure (matrix size, request counts) for the end-of-run summary.

    One ``write`` to a file opened for appending: the pytest-xdist workers of one run
    append to the same file, and each line lands whole, never inside another's.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    fd = os.open(ARTIFACTS / "figures.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.rstrip() + "\n").encode())
    finally:
        os.close(fd)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the suite measured, so a CI log carries them."""
    for path in (ARTIFACTS / "figures.txt", ARTIFACTS / "jobs" / "fault-counts.txt"):
        if path.exists():
            terminalreporter.section(f"figures: {path.relative_to(ARTIFACTS.parent)}")
            terminalreporter.write(path.read_text())


@pytest.fixture
def plan_a(personas: Personas, library: None) -> CarePlan:
    """Patient A's active plan from the shared template, owned by the owner therapist, starting today."""
    return template_plan(personas.patient_a, personas.owner)


@pytest.fixture
def plan_a_two_weeks_in(personas: Personas) -> CarePlan:
    """Patient A's active plan, owned by the owner therapist, started 14 days ago (no library needed)."""
    return make_plan(personas.patient_a, therapist=personas.owner)


@pytest.fixture
def clock_stands_still() -> Iterator[None]:
    """For the rate-limit tests. The limits count in fixed windows (django-ratelimit's, and the
    check-in count's from the epoch): with the clock still, a test's requests cannot straddle a
    window's end, as they could on a slow machine (a third check-in in the next minute was
    answered 200, not 429)."""
    with time_machine.travel(time.time(), tick=False):
        yield


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free port, and Django sending to it; the messages it
    accepted are in ``smtp.handler.messages`` (parsed) and counted per recipient in
    ``smtp.handler.counts``."""
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    try:
        yield server
    finally:
        server.stop()
