"""Idle logout, and HTMX requests that arrive after the session has ended."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from audit.services import audit_log
from portal.access import client_ip

LAST_SEEN_KEY = "plinth_last_seen"

#: Sent (value "1") by the requests a page makes on its own, HTMX polling: they do not count as activity.
BACKGROUND_HEADER = "X-Plinth-Background"

#: The client-side event (HX-Trigger) that tells plinth.js to keep what the user typed.
SESSION_ENDED_EVENT = "plinth:session-ended"


# Writing the session on every request would cost a database write per page;
# a minute's precision is plenty for timeouts of 15 minutes and 30 days.
TOUCH_EVERY_SECONDS = 60


def idle_timeout_for(request: HttpRequest) -> int:
    """Patients (on their own phones) get a long timeout; therapists and staff a short one."""
    if hasattr(request.user, "patient"):
        return int(settings.PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS)
    return int(settings.PLINTH_IDLE_TIMEOUT_STAFF_SECONDS)


class IdleLogoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        # Only session logins are timed; API tokens and anonymous visitors are not.
        if SESSION_KEY in session and request.user.is_authenticated:
            now = time.time()
            last_seen = session.get(LAST_SEEN_KEY)
            timeout = idle_timeout_for(request)
            if isinstance(last_seen, int | float) and now - last_seen > timeout:
                user = request.user
                # logout() flushes the session row, so the old cookie is worthless.
                logout(request)
                audit_log(
                    action="auth.idle_logout",
                    actor=user,
                    ip=client_ip(request),
                    data={"idle_seconds": int(now - last_seen)},
                )
                messages.info(request, "You were logged out because you had been away for a while.")
            elif request.headers.get(BACKGROUND_HEADER) == "1":
                # A page's own polling (new messages, unread counts) is not the user at the desk:
                # it must not keep an idle session alive.
                pass
            elif not isinstance(last_seen, int | float) or now - last_seen >= TOUCH_EVERY_SECONDS:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


def htmx_return_path(request: HttpRequest) -> str:
    """The page an HTMX request was sent from, as a path and query on this site, or "".

    Read from ``HX-Current-URL`` (the browser's address bar when HTMX sent the request);
    anything on another host or scheme, or the login page itself, gives "" so that the
    login page never sends anyone away from this site. The fragment is dropped.
    """
    current = request.headers.get("HX-Current-URL", "")
    allowed = {request.get_host()}
    secure = request.is_secure()
    if not url_has_allowed_host_and_scheme(current, allowed_hosts=allowed, require_https=secure):
        return ""
    parts = urlsplit(current)
    path = urlunsplit(("", "", parts.path, parts.query, ""))
    # A path such as "//elsewhere.example/" reads as another host once the scheme is gone.
    if not path.startswith("/") or not url_has_allowed_host_and_scheme(path, allowed, require_https=secure):
        return ""
    if parts.path == resolve_url(settings.LOGIN_URL):
        return ""
    return path


class HtmxLoginRedirectMiddleware:
    """An HTMX request that needs a login goes to the login page as a whole page, then back.

    A page view answers a request without a session (it ended: idle logout, expiry, logout
    in another tab; or there never was one) with a redirect to the login page. The browser's
    XHR follows a redirect silently, and HTMX would swap a whole login page into the card or
    list that asked. So for HTMX requests that redirect becomes a 204 (nothing to swap)
    whose ``HX-Redirect`` loads the login page in the window, with ``next=`` the page the
    user was on (``htmx_return_path``), and whose ``HX-Trigger`` fires
    ``SESSION_ENDED_EVENT`` first, so that plinth.js keeps what the user typed for when
    they are back. Every other request keeps its redirect. One place for every HTMX
    endpoint: it reads the response, so any login-required view is covered.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or not _is_login_redirect(response):
            return response
        path = htmx_return_path(request)
        answer = HttpResponse(status=204)
        login_url = resolve_url(settings.LOGIN_URL)
        answer["HX-Redirect"] = redirect_to_login(path, login_url)["Location"] if path else login_url
        answer["HX-Trigger"] = SESSION_ENDED_EVENT
        for name, morsel in response.cookies.items():
            answer.cookies[name] = morsel
        # The same URL answers a plain request with a 302: no cache may give one for the other.
        patch_vary_headers(answer, ["HX-Request"])
        add_never_cache_headers(answer)
        return answer


def _is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    location = urlsplit(response.get("Location", ""))
    return not location.scheme and not location.netloc and location.path == resolve_url(settings.LOGIN_URL)
