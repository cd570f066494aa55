"""Helpers every app's pages share: a service error on its form field, HTMX requests, full URLs."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest

from portal.errors import DomainError


def form_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's DomainError next to its field, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def absolute_url(path: str) -> str:
    """``path`` (as ``reverse`` gives it) as a full URL on this site, for emails: ``SITE_URL`` + path."""
    return f"{settings.SITE_URL}{path}"
