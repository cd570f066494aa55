"""Helpers every app's pages share: a service error on its field, HTMX requests, full URLs, mail links."""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from portal.errors import DomainError


def form_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's DomainError next to its field, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def absolute_url(path: str) -> str:
    """``path`` (as ``reverse`` gives it) as a full URL on this site, for emails: ``SITE_URL`` + path."""
    return f"{settings.SITE_URL}{path}"


def mailto(address: str, *, subject: str = "") -> str:
    """A ``mailto:`` link to ``address`` (an email address), the subject percent-encoded (RFC 6068)."""
    link = f"mailto:{quote(address, safe='@+')}"
    return f"{link}?subject={quote(subject)}" if subject else link


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """A redirect to the form's ``next`` (a path of this site), else to ``fallback`` (a path).

    Only a path of this site is followed: an absolute URL elsewhere, or text that is not
    a path, goes to ``fallback`` instead.
    """
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    return HttpResponseRedirect(target)
