"""Idle logout, and the one writer of the audit trail's read entries."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from audit.services import audit_log
from portal.access import client_ip

LAST_SEEN_KEY = "plinth_last_seen"


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
            elif not isinstance(last_seen, int | float) or now - last_seen >= TOUCH_EVERY_SECONDS:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)
