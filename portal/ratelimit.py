"""A small fixed-window rate limiter on Django's cache, applied by URL name.

It guards login and password reset. Check-ins are limited by the check-in
service itself (patients.checkins), where they are written.

Counters live in the shared cache (Redis in production, files under var/
otherwise), so every web process counts against the same limit. If the cache
is unreachable the request goes through: a limiter outage must not become a
login outage.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from portal.access import client_ip

log = logging.getLogger(__name__)

# POSTs to these routes are counted; the value is the scope in PLINTH_RATE_LIMITS.
SCOPES_BY_URL_NAME: dict[str, str] = {
    "login": "login",
    "admin:login": "login",
    "password_reset": "password_reset",
}
# Check-ins are limited by the check-in service itself (patients.checkins), counted
# from the audit trail in the same statement that saves them.

# Tests start each from zero by changing this namespace, rather than flushing a
# Redis database the Celery broker shares.
_namespace = ""


def ratelimit_reset() -> None:
    global _namespace
    _namespace = uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


_redis: Any = None
_incr_sha = ""
# INCR, and on a new counter EXPIRE, as one atomic command: one round trip and one
# reply to parse, where a pipeline of the two costs half as much again in the client.
_INCR_SCRIPT = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


def _incr(key: str, timeout: int) -> int:
    """Add one to a counter that expires; on Redis in one round trip with one client.

    Django's Redis cache builds a new client object for every call, which costs
    more than the round trip itself on a busy endpoint such as check-ins.
    """
    global _redis, _incr_sha
    if str(settings.CACHES["default"]["BACKEND"]).endswith("RedisCache"):
        import redis

        if _redis is None:
            _redis = redis.Redis.from_url(
                str(settings.CACHES["default"]["LOCATION"]), socket_connect_timeout=1, socket_timeout=2
            )
        full_key = cache.make_key(key)
        if _incr_sha:
            try:
                return int(_redis.evalsha(_incr_sha, 1, full_key, timeout))
            except redis.exceptions.NoScriptError:
                pass  # a restarted Redis forgot the script: load it again
        _incr_sha = str(_redis.script_load(_INCR_SCRIPT))
        return int(_redis.evalsha(_incr_sha, 1, full_key, timeout))
    cache.add(key, 0, timeout=timeout)
    return int(cache.incr(key))


def _count(key: str) -> int:
    # Django's Redis serializer reads a raw INCR counter back as an int.
    return int(cache.get(key) or 0)


def _key(scope: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    return f"rl:{_namespace}:{scope}:{digest}:{window}"


def ratelimit_hit(*, scope: str, ident: str, now: float | None = None) -> Verdict:
    """Count one request of ``ident`` in ``scope`` and say whether it is within the limit."""
    limit, period = settings.PLINTH_RATE_LIMITS[scope]
    now = time.time() if now is None else now
    window = int(now // period)
    key = _key(scope, ident, window)
    retry_after = max(1, math.ceil((window + 1) * period - now))
    try:
        count = _incr(key, period + 5)
    except Exception:
        log.exception("rate limiter: cache unavailable, letting the request through")
        return Verdict(True, 0, limit, 0)
    return Verdict(count <= limit, count, limit, retry_after if count > limit else 0)


def ratelimit_peek(*, scope: str, ident: str, now: float | None = None) -> Verdict:
    """Whether ``ident`` is already over the limit in ``scope``, without counting a request."""
    limit, period = settings.PLINTH_RATE_LIMITS[scope]
    now = time.time() if now is None else now
    window = int(now // period)
    try:
        count = _count(_key(scope, ident, window))
    except Exception:
        log.exception("rate limiter: cache unavailable, letting the request through")
        return Verdict(True, 0, limit, 0)
    retry_after = max(1, math.ceil((window + 1) * period - now))
    return Verdict(count < limit, count, limit, retry_after if count >= limit else 0)


def _count_login_failure(
    sender: Any, credentials: Any = None, request: HttpRequest | None = None, **kw: Any
) -> None:
    """Failed logins per address: an address that fails too often is refused for a while.

    django-axes locks an account after 5 failures; this stops one address from
    going on to lock every account of a clinic, without locking a clinic's shared
    office address after a few typos.
    """
    if request is not None:
        ratelimit_hit(scope="login_failures", ident=client_ident(request))


def client_ident(request: HttpRequest) -> str:
    """Who is counted: the address (login and password reset come before anyone is known)."""
    return f"ip:{client_ip(request) or 'unknown'}"


def too_many_requests(request: HttpRequest, retry_after: int, scope: str) -> HttpResponse:
    """429 with Retry-After: JSON for API clients, the login page again, or a page saying how long to wait."""
    response: HttpResponse
    message = f"Too many requests. Try again in {retry_after} seconds."
    if request.path.startswith("/api/") or "json" in request.META.get("HTTP_ACCEPT", ""):
        response = JsonResponse({"detail": message}, status=429)
    elif scope == "login" and not request.path.startswith("/admin/"):
        from patients.forms import EmailAuthenticationForm

        response = render(
            request,
            "registration/login.html",
            {
                "form": EmailAuthenticationForm(request),
                "rate_limited": True,
                "retry_after": retry_after,
                "next": request.POST.get("next", ""),
            },
            status=429,
        )
    else:
        response = render(request, "portal/too_many_requests.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        user_login_failed.connect(_count_login_failure, dispatch_uid="plinth-login-failures")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "POST" or request.resolver_match is None:
            return None
        scope = SCOPES_BY_URL_NAME.get(request.resolver_match.view_name)
        if scope is None:
            return None
        ident = client_ident(request)
        if scope == "login":
            failures = ratelimit_peek(scope="login_failures", ident=ident)
            if not failures.allowed:
                log.warning("too many failed logins from %s", ident)
                return too_many_requests(request, failures.retry_after, scope)
        verdict = ratelimit_hit(scope=scope, ident=ident)
        if verdict.allowed:
            return None
        log.warning("rate limit %s exceeded by %s", scope, ident)
        return too_many_requests(request, verdict.retry_after, scope)
