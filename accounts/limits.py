"""Rate limits per client address, counted by django-ratelimit in Django's cache.

Login (each POST, and the address's failed logins) and password reset are
limited here, with the limits of ``settings.PLINTH_RATE_LIMITS``. Check-ins are
limited by the check-in service itself (today.services), from the audit trail.
django-axes locks one account for one address on its own.

Counters live in the ``default`` cache: Redis in production, shared by every web
process; files under var/ on the embedded default, whose increments are not
atomic, so two requests at the same instant may be counted once (accepted: one
machine, a handful of users). If the cache cannot be reached, the request goes
through and the outage is logged: a limiter outage must not become a login outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from accounts.forms import EmailAuthenticationForm, SignInLinkForm
from portal.access import client_ip

log = logging.getLogger(__name__)


#: What Django's cache backends raise when their store cannot be reached: Redis's
#: client errors, or the file system's.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)


View = Callable[..., HttpResponseBase]


class Usage(TypedDict):
    """django-ratelimit's answer: requests counted in the window, the limit, seconds left in it."""

    count: int
    limit: int
    should_limit: bool
    time_left: int


def client_key(group: str, request: HttpRequest) -> str:
    """Who is counted (django-ratelimit's ``key``): the address ``portal.access.client_ip`` gives.

    Login and password reset come before anyone is known, so the address is all
    there is; behind a proxy it is the one ``PLINTH_TRUSTED_PROXIES`` vouches for.
    """
    return client_ip(request) or "unknown"


def scope_rate(group: str, request: HttpRequest) -> tuple[int, int]:
    """One scope's limit (django-ratelimit's ``rate``): (requests, per seconds) from PLINTH_RATE_LIMITS."""
    return settings.PLINTH_RATE_LIMITS[group]


def usage(request: HttpRequest, *, scope: str, count: bool, key: str | None = None) -> Usage | None:
    """The client's requests in ``scope``'s current window, adding this one if ``count``.

    ``scope`` is a key of ``settings.PLINTH_RATE_LIMITS``. ``key``: what is counted
    instead of the client's address, e.g. the email address a sign-in link is asked for
    (accounts.signin_views). Returns ``None`` when the cache cannot count (unreachable,
    or django-ratelimit's own failure with ``RATELIMIT_FAIL_OPEN``): the caller lets the
    request through. Raises nothing.
    """
    counted: Callable[[str, HttpRequest], str] = client_key if key is None else (lambda group, request: key)
    try:
        found: Usage | None = get_usage(request, group=scope, key=counted, rate=scope_rate, increment=count)
    except CACHE_ERRORS:
        log.exception("rate limiter: cache unavailable, letting the request through")
        return None
    return found


def _retry_after(found: Usage) -> int:
    # A window ending this very second reports 0 seconds left; a client should still wait one.
    return max(1, found["time_left"])


@receiver(user_login_failed, dispatch_uid="plinth-login-failures")
def _count_login_failure(
    sender: Any, credentials: Any = None, request: HttpRequest | None = None, **kw: Any
) -> None:
    """Failed logins per address: an address that fails too often is refused for a while.

    django-axes locks an account after 5 failures; this stops one address from
    going on to lock every account of a clinic, without locking a clinic's shared
    office address after a few typos. ``authenticate()`` without a request (a
    command, the test client's ``login()``) has no address and is not counted.
    """
    if request is not None:
        usage(request, scope="login_failures", count=True)


def rate_limited(scope: str) -> Callable[[View], View]:
    """Decorate a view so its POSTs count against ``scope`` per client address; past the limit, a 429.

    ``scope`` is a key of ``settings.PLINTH_RATE_LIMITS`` ("login" or
    "password_reset"). For "login", an address that has already failed
    ``PLINTH_RATE_LIMITS["login_failures"]`` times in that window is refused before
    the POST is counted or a password checked. GETs are never counted.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            if scope == "login":
                failures = usage(request, scope="login_failures", count=False)
                # Refused at the limit itself: the failures already made are the allowance.
                if failures is not None and failures["count"] >= failures["limit"]:
                    log.warning("too many failed logins from %s", client_key(scope, request))
                    return too_many_requests(request, _retry_after(failures), scope)
            found = usage(request, scope=scope, count=True)
            if found is not None and found["should_limit"]:
                log.warning("rate limit %s exceeded by %s", scope, client_key(scope, request))
                return too_many_requests(request, _retry_after(found), scope)
            return view(request, *args, **kwargs)

        return limited

    return decorate


def too_many_requests(request: HttpRequest, retry_after: int, scope: str) -> HttpResponse:
    """429 with ``Retry-After: retry_after`` (seconds, at least 1).

    JSON ``{"detail": ...}`` for API clients (a path under /api/ or an Accept
    naming JSON); the login page again for the "login" scope outside the admin;
    otherwise a page saying how long to wait.
    """
    response: HttpResponse
    message = f"Too many requests. Try again in {retry_after} seconds."
    if request.path.startswith("/api/") or "json" in request.META.get("HTTP_ACCEPT", ""):
        response = JsonResponse({"detail": message}, status=429)
    elif scope == "login" and not request.path.startswith("/admin/"):
        response = render(
            request,
            "registration/login.html",
            {
                "form": EmailAuthenticationForm(request),
                "link_form": SignInLinkForm(),
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
