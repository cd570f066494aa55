"""Brute-force lockout, rate limits (the cache down too) and idle logout.

CSP, CSRF and production settings: test_security_headers.py; the audit trail's immutability:
tests/audit/test_immutability.py."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.middleware import LAST_SEEN_KEY
from audit.models import AuditEvent
from tests.conftest import Personas
from tests.factories import PASSWORD
from tests.world import World


def login_post(client: Client, email: str, password: str, ip: str = "192.0.2.10") -> Any:
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


# --- lockout --------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failures_lock_the_account_for_that_address_for_15_minutes_and_the_page_says_so(
    personas: Personas,
) -> None:
    email = personas.owner.user.email
    client = Client()
    statuses = [login_post(client, email, "wrong-password").status_code for _ in range(5)]
    assert statuses[:4] == [200, 200, 200, 200]
    assert statuses[4] == 429
    # The right password from the failing address does not get in while the lock lasts.
    locked = login_post(Client(), email, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session
    body = locked.content.decode()
    assert "locked for 15 minutes" in body
    assert int(locked["Retry-After"]) == 15 * 60
    # The account's owner at another address is not kept out by someone else's guesses.
    assert login_post(Client(), email, PASSWORD, ip="198.51.100.7").status_code == 302
    # Another account of the same clinic is not affected.
    assert login_post(Client(), personas.colleague.user.email, PASSWORD).status_code == 302
    # After the cool-off the account opens again at the failing address too.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login_post(Client(), email, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_failing_while_locked_does_not_extend_the_lock(personas: Personas) -> None:
    email = personas.patient_a.user.email
    for _ in range(5):
        login_post(Client(), email, "nope")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    # One more failure after the lock expired starts a fresh count rather than a new lock.
    assert login_post(Client(), email, "nope").status_code == 200
    assert login_post(Client(), email, PASSWORD).status_code == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_one_address_cannot_go_on_locking_every_account(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login_failures": (6, 3600)}
    attacker = "203.0.113.66"
    victims = [personas.owner, personas.colleague]
    for therapist in victims:
        for _ in range(3):
            login_post(Client(), therapist.user.email, "guess", ip=attacker)
    # Six failures from the address: it is refused before trying a third account.
    refused = login_post(Client(), personas.patient_a.user.email, "guess", ip=attacker)
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert not AccessAttempt.objects.filter(username=personas.patient_a.user.email).exists()
    # The clinic's own address is unaffected.
    assert login_post(Client(), personas.patient_a.user.email, PASSWORD, ip="192.0.2.99").status_code == 302


# --- rate limits ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_login_rate_limit_answers_429_with_retry_after(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login": (3, 60)}
    client = Client()
    codes = [login_post(client, f"nobody{i}@example.test", "x").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    response = login_post(client, "nobody@example.test", "x")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many attempts" in response.content.decode()
    # Another address is counted on its own.
    assert login_post(Client(), "nobody@example.test", "x", ip="192.0.2.200").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_password_reset_rate_limit(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "password_reset": (2, 900)}
    client = Client()
    url = reverse("password_reset")
    codes = [client.post(url, {"email": personas.patient_a.user.email}).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    last = client.post(url, {"email": personas.patient_a.user.email})
    assert last.status_code == 429
    assert 1 <= int(last["Retry-After"]) <= 900


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_checkin_post_rate_limit_in_the_api(world: World, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (2, 60)}
    client = APIClient()
    client.force_authenticate(world.p.patient_a.user)
    url = reverse("api-checkin-create")
    body = {"nprs": 4, "side": "left"}
    codes = [client.post(url, body, format="json").status_code for _ in range(3)]
    assert codes[:2] in ([201, 200], [200, 200], [201, 201])
    assert codes[2] == 429
    limited = client.post(url, body, format="json")
    assert limited.status_code == 429
    assert limited.json()["detail"].startswith("Too many requests")
    assert int(limited["Retry-After"]) >= 1


@pytest.mark.django_db
def test_a_refused_address_is_let_in_again_once_its_window_has_passed(
    personas: Personas, settings: Any
) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login": (2, 60)}
    with time_machine.travel(time.time(), tick=False) as clock:
        codes = [login_post(Client(), "nobody@example.test", "x").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        clock.shift(61)
        assert login_post(Client(), "nobody@example.test", "x").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_the_admin_login_counts_against_the_same_login_limit(personas: Personas, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "login": (2, 60)}
    url = reverse("admin:login")
    body = {"username": personas.staff.email, "password": "wrong"}
    codes = [Client().post(url, body, REMOTE_ADDR="192.0.2.10").status_code for _ in range(2)]
    assert codes == [200, 200]
    # The site's own login page from the same address is now refused too.
    refused = login_post(Client(), "nobody@example.test", "x")
    assert refused.status_code == 429
    limited = Client().post(url, body, REMOTE_ADDR="192.0.2.10")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "Too many requests" in limited.content.decode()
    # Looking at the page is never counted.
    assert Client().get(url, REMOTE_ADDR="192.0.2.10").status_code == 200


UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Port 1 on loopback refuses at once: Redis down, as the web process sees it.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.mark.django_db
@pytest.mark.usefixtures("clock_stands_still")
def test_with_the_cache_down_logins_and_resets_go_through_and_lockout_and_checkin_limits_hold(
    world: World, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = UNREACHABLE_CACHE
    settings.PLINTH_RATE_LIMITS = {
        **settings.PLINTH_RATE_LIMITS,
        "login": (1, 60),
        "password_reset": (1, 900),
        "checkin": (2, 60),
    }
    personas = world.p
    # The cache limits cannot count, so they let requests through rather than fail...
    assert login_post(Client(), "nobody@example.test", "x").status_code == 200
    assert login_post(Client(), personas.owner.user.email, PASSWORD).status_code == 302
    reset = reverse("password_reset")
    assert [Client().post(reset, {"email": "x@example.test"}).status_code for _ in range(2)] == [302, 302]
    assert "rate limiter: cache unavailable" in caplog.text
    # ...while django-axes (in the database) still locks an account for an address.
    email = personas.colleague.user.email
    statuses = [login_post(Client(), email, "guess").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # And the check-in limit, counted from the audit trail, needs no cache at all.
    client = APIClient()
    client.force_authenticate(personas.patient_a.user)
    url = reverse("api-checkin-create")
    codes = [client.post(url, {"nprs": 4, "side": "left"}, format="json").status_code for _ in range(3)]
    assert codes[2] == 429


# --- idle logout ---------------------------------------------------------------------------


def _age_session(client: Client, seconds: int) -> str:
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds
    session.save()
    return str(session.session_key)


@pytest.mark.django_db
def test_therapist_is_logged_out_after_15_idle_minutes_and_the_session_is_gone(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.owner.user)
    assert client.get(reverse("caseload")).status_code == 200
    key = _age_session(client, 15 * 60 + 5)
    response = client.get(reverse("caseload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(action="auth.idle_logout", actor=personas.owner.user).exists()


@pytest.mark.django_db
def test_therapist_active_within_15_minutes_stays_logged_in(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.owner.user)
    client.get(reverse("caseload"))
    _age_session(client, 14 * 60)
    assert client.get(reverse("caseload")).status_code == 200


@pytest.mark.django_db
def test_patient_stays_logged_in_for_days_but_not_past_30(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.patient_a.user)
    client.get(reverse("today"))
    _age_session(client, 3 * 24 * 3600)
    assert client.get(reverse("today")).status_code == 200
    _age_session(client, 31 * 24 * 3600)
    assert client.get(reverse("today")).status_code == 302


@pytest.mark.django_db
def test_idle_session_no_longer_works_for_the_api(personas: Personas) -> None:
    client = APIClient()
    client.force_login(personas.owner.user)
    assert client.get(reverse("api-me")).status_code == 200
    _age_session(client, 16 * 60)
    assert client.get(reverse("api-me")).status_code in (401, 403)


@pytest.mark.django_db
def test_idle_timeouts_are_configurable(personas: Personas, settings: Any) -> None:
    settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS = 60 * 60
    client = Client()
    client.force_login(personas.owner.user)
    client.get(reverse("caseload"))
    _age_session(client, 30 * 60)
    assert client.get(reverse("caseload")).status_code == 200
