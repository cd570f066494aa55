"""Security: cookies and headers, the Content-Security-Policy, trusted proxies, login lockout
(django-axes), idle logout, and what production turns on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from portal.proxies import parse_trusted_proxies
from portal.settings.env import PRODUCTION, envbool, envint, envlist

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy: everything from our own origin, nothing inline.
CONTENT_SECURITY_POLICY: dict[str, dict[str, Any]] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


def _trusted_proxies() -> list[str]:
    entries = envlist("PLINTH_TRUSTED_PROXIES")
    try:
        parse_trusted_proxies(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"PLINTH_TRUSTED_PROXIES: {exc}") from exc
    return entries


# The proxies (addresses or CIDR networks) whose X-Forwarded-For is believed, e.g.
# "172.16.0.0/12" for a TLS proxy on the Docker network. Empty: the header is
# ignored and the peer address is the client (portal.access.client_ip).
PLINTH_TRUSTED_PROXIES = _trusted_proxies()

# Brute force: 5 failures for one account from one client address lock that pair
# for 15 minutes, and failing again while locked does not extend the lock. The
# account is not locked for everyone: an attacker who knows a therapist's email
# must not be able to keep the therapist out. PLINTH_RATE_LIMITS["login_failures"]
# also refuses an address that fails too often, so one address cannot go on
# guessing across every account of a clinic. Nothing counts all clients together.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.access.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_VERBOSE = False

# Idle logout: the clinic's shared desktops log out quickly; patients on their
# own phones stay logged in for a month.
PLINTH_IDLE_TIMEOUT_STAFF_SECONDS = envint("PLINTH_IDLE_TIMEOUT_STAFF_SECONDS", 15 * 60)
PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS = envint("PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS", 30 * 24 * 60 * 60)
SESSION_COOKIE_AGE = PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    # Load balancers and container healthchecks probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True
