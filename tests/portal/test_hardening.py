"""Brute-force lockout, rate limits, idle logout, CSP, CSRF, production settings, audit immutability."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.middleware import LAST_SEEN_KEY
from accounts.models import User
from audit.models import AuditEvent
from tests.conftest import Personas
from tests.factories import PASSWORD
from tests.product import PRODUCT
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


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


# --- CSP and headers -------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.owner.user)
    for url in (reverse("login"), reverse("caseload"), reverse("api-docs")):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        directives = dict((part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip())
        assert directives["default-src"] == ["'self'"], url
        assert directives["script-src"] == ["'self'"], url
        assert directives["style-src"] == ["'self'"], url
        assert directives["frame-ancestors"] == ["'none'"], url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_redoc_page_allows_only_its_nonce_and_hashed_styles() -> None:
    response = Client().get(reverse("api-redoc"))
    policy = response["Content-Security-Policy"]
    style = next(part for part in policy.split(";") if part.strip().startswith("style-src")).split()[1:]
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())
    assert nonce is not None
    assert f"'nonce-{nonce.group(1)}'" in style
    assert all(s == "'self'" or s.startswith(("'nonce-", "'sha256-")) for s in style)
    assert "unsafe-inline" not in policy


INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_has_inline_script_or_style() -> None:
    problems = []
    templates = [path for folder in PRODUCT for path in (ROOT / folder).rglob("templates/**/*.html")]
    assert len(templates) > 50, "the product's templates were not found"
    for path in templates:
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text[: match.start()].count("\n") + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "\n".join(problems)


# --- CSRF on session-authenticated API writes ---------------------------------------------


@pytest.mark.django_db
def test_session_api_writes_need_the_csrf_token_and_token_auth_does_not(world: World) -> None:
    url = reverse("api-alert-acknowledge", kwargs={"pk": world.alert_a.pk})
    session_client = APIClient(enforce_csrf_checks=True)
    session_client.force_login(world.p.owner.user)
    refused = session_client.post(url, {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    world.alert_a.refresh_from_db()
    assert world.alert_a.acknowledged_at is None
    token_client = APIClient(enforce_csrf_checks=True)
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.owner_key}")
    assert token_client.post(url, {}, format="json").status_code == 200


@pytest.mark.django_db
def test_forms_refuse_posts_without_csrf_token(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.owner.user)
    assert client.post(reverse("account-tokens"), {"name": "x"}).status_code == 403
    assert client.post(reverse("login"), {"username": "a@b.test", "password": "x"}).status_code == 403


# --- production settings ------------------------------------------------------------------


PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "csp": s.CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "hsts": s.SECURE_HSTS_SECONDS, "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "referrer": s.SECURE_REFERRER_POLICY, "frame": s.X_FRAME_OPTIONS,
    "axes_limit": s.AXES_FAILURE_LIMIT, "axes_cooloff": s.AXES_COOLOFF_TIME.total_seconds(),
    "axes_params": s.AXES_LOCKOUT_PARAMETERS,
    "auth": s.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
    "middleware": s.MIDDLEWARE,
    "cache": s.CACHES["default"]["BACKEND"],
    "apps": s.INSTALLED_APPS, "ratelimit_on": getattr(s, "RATELIMIT_ENABLE", True),
    "ratelimit_fail_open": s.RATELIMIT_FAIL_OPEN, "silenced": s.SILENCED_SYSTEM_CHECKS,
}))
"""


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_")}
    env.update(
        PLINTH_ENV="production",
        SECRET_KEY="p" + "k3J9xQ2mZ7vB1nL8cR4tY6wE0uI5oA" * 2,
        ALLOWED_HOSTS="plinth.example.org",
        DJANGO_SETTINGS_MODULE="portal.settings",
        **extra,
    )
    return env


@pytest.mark.cli
def test_production_settings_turn_on_the_security_we_rely_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=production_env(REDIS_URL="redis://redis:6379/0"),  # as in docker-compose.yml; never dialled
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    s = json.loads(done.stdout.strip().splitlines()[-1])
    assert s["session_secure"] and s["csrf_secure"] and s["ssl_redirect"]
    assert s["hsts"] >= 31536000
    assert s["referrer"] == "same-origin" and s["frame"] == "DENY"
    assert s["csp"]["default-src"] == ["'self'"] and s["csp"]["upgrade-insecure-requests"] is True
    assert (
        s["axes_limit"] == 5
        and s["axes_cooloff"] == 15 * 60
        and s["axes_params"] == [["username", "ip_address"]]
    )
    assert "accounts.tokens.ApiTokenAuthentication" in s["auth"]
    for middleware in (
        "csp.middleware.CSPMiddleware",
        "accounts.middleware.IdleLogoutMiddleware",
    ):
        assert middleware in s["middleware"]
    assert s["middleware"][-1] == "axes.middleware.AxesMiddleware"
    # Rate limits on, in Redis, with only the supported-backend warning silenced.
    assert "django_ratelimit" in s["apps"] and s["ratelimit_on"] is True and s["ratelimit_fail_open"] is True
    assert s["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert s["silenced"] == ["django_ratelimit.W001"]


@pytest.mark.cli
def test_check_deploy_is_clean_for_the_security_checks_we_add() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    # django-axes and django-csp register their own checks; none may complain.
    assert not re.search(r"\b(axes|csp)\.[EW]\d+", output), output
    assert "security.W" not in output, output


# --- audit immutability ---------------------------------------------------------------


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_through_the_model(world: World) -> None:
    event = world.audit_a
    event.action = "tampered"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


@pytest.mark.django_db
def test_deleting_someone_leaves_their_audit_entries_as_written(world: World) -> None:
    from audit.services import audit_log

    gone = User.objects.create_user("leaver@example.test", None, full_name="Leaving Staff", is_staff=True)
    event = audit_log(action="admin.viewed", actor=gone, patient=world.p.patient_a, ip="203.0.113.7")
    written = AuditEvent.objects.filter(pk=event.pk).values().get()
    gone.delete()
    assert AuditEvent.objects.filter(pk=event.pk).values().get() == written
    assert written["actor_id"] is not None and written["actor_email"] == "leaver@example.test"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET action = 'tampered' WHERE id = %s",
        # The field report: detaching an entry from its actor, patient and clinic passed.
        "UPDATE {table} SET clinic_id = NULL, patient_id = NULL, actor_id = NULL WHERE id = %s",
        "UPDATE {table} SET clinic_id = NULL WHERE id = %s",
        "UPDATE {table} SET at = at WHERE id = %s",
        "DELETE FROM {table} WHERE id = %s",
    ],
)
def test_audit_trail_refuses_every_update_and_delete_in_the_database(world: World, sql: str) -> None:
    if sql.startswith("DELETE") and connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE to the model's guard: Django empties its test tables with DELETE")
    event = world.audit_a
    written = AuditEvent.objects.filter(pk=event.pk).values().get()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(table=AuditEvent._meta.db_table), [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    assert AuditEvent.objects.filter(pk=event.pk).values().get() == written
    assert AuditEvent.objects.filter(clinic=world.p.clinic, pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.django_db
def test_deleting_a_user_keeps_their_audit_entries(world: World) -> None:
    user = world.p.owner.user
    events = AuditEvent.objects.filter(actor=user)
    count = events.count()
    assert count > 0
    email = user.email
    world.p.owner.user.api_tokens.all().delete()
    from accounts.models import User

    User.objects.filter(pk=user.pk).update(is_active=False)
    assert AuditEvent.objects.filter(actor_email=email).count() == count
