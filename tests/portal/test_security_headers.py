"""The Content-Security-Policy and headers, no inline script or style, CSRF on session-authenticated
writes, and the security the production settings turn on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import Personas
from tests.product import PRODUCT
from tests.world import World

ROOT = Path(__file__).resolve().parents[2]


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
