"""Brute-force protection glue for django-axes: the backend and the lockout page."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.forms import EmailAuthenticationForm, SignInLinkForm


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Refuses a locked account before any password is checked.

    ``authenticate()`` called without a request (a management command, the test
    client's ``login()``) has no address to count against, so it is left to the
    next backend rather than failing outright as the stock axes backend does.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        super().authenticate(request, *args, **kwargs)
        return None


def lockout_seconds() -> int:
    """How long django-axes locks an account, in whole seconds (``AXES_COOLOFF_TIME``)."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page again, saying the account is locked and for how long, with 429."""
    minutes = max(1, lockout_seconds() // 60)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = EmailAuthenticationForm(request, initial={"username": username})
    response = render(
        request,
        "registration/login.html",
        {
            "form": form,
            "link_form": SignInLinkForm(),
            "locked_out": True,
            "lockout_minutes": minutes,
            "next": request.POST.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(lockout_seconds())
    return response
