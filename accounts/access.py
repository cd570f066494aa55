"""Role gates for pages and the API: a user of the wrong role gets 404, like an outsider."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.request import Request

from accounts.models import Patient, Therapist, User
from audit.services import audit_read
from portal.api.common import ID_PATTERN, parse_id

View = TypeVar("View", bound=Callable[..., HttpResponse])


def login_next(request: HttpRequest) -> str:
    """Where a request whose user is not logged in goes back to after logging in.

    A GET (or HEAD): the URL asked for. A form's POST (the session ended while the page was
    open): the page the form was on, from the same-site ``Referer``, since the POST-only URL
    would answer the login's redirect with 405; without a usable Referer, the home page.
    HTMX requests are answered before this (accounts.middleware).
    """
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = urlsplit(request.headers.get("Referer", ""))
    page = urlunsplit(("", "", referer.path, referer.query, ""))
    same_site = url_has_allowed_host_and_scheme(
        request.headers.get("Referer", ""),
        allowed_hosts={request.get_host()},
        require_https=request.is_secure(),
    )
    return page if same_site and referer.path.startswith("/") else "/"


def _role_required(attr: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(login_next(request))
            profile = getattr(request.user, attr, None)
            if profile is None:
                raise Http404("Not found")
            setattr(request, attr, profile)
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorator


therapist_required = _role_required("therapist")


patient_required = _role_required("patient")


def therapist_of(request: HttpRequest) -> Therapist:
    """The signed-in therapist of a page request that passed ``therapist_required``."""
    return cast(Therapist, request.therapist)  # type: ignore[attr-defined]


def patient_of(request: HttpRequest) -> Patient:
    """The signed-in patient of a page request that passed ``patient_required``."""
    return cast(Patient, request.patient)  # type: ignore[attr-defined]


# --- the API's counterparts --------------------------------------------------------------


def therapist_for(request: Request) -> Therapist | None:
    """The API request's user as a therapist, or None for any other user (the caller answers 404)."""
    return cast(Therapist | None, getattr(request.user, "therapist", None))


def patient_for(request: Request) -> Patient | None:
    """The API request's user as a patient, or None for any other user (the caller answers 404)."""
    return cast(Patient | None, getattr(request.user, "patient", None))


def user_of(request: Request) -> User:
    """The API request's authenticated user (the view's permission classes have checked it)."""
    return cast(User, request.user)


class ScopedLookupMixin:
    # get_object() that answers 404, never 500, for ids that cannot exist; both it and
    # each page of a list note what they return for the audit trail.

    kwargs: dict[str, Any]
    lookup_value_regex = ID_PATTERN

    def get_object(self) -> Any:
        pk = parse_id(self.kwargs.get("pk", ""))
        if pk is None:
            raise Http404
        obj = cast(Any, self).get_queryset().filter(pk=pk).first()
        if obj is None:
            raise Http404
        cast(Any, self).check_object_permissions(cast(Any, self).request, obj)
        audit_read([obj])
        return obj

    def paginate_queryset(self, queryset: Any) -> Any:
        # Every object of a page of patient data is a read (audit.services.audit_read).
        page = cast(Any, super()).paginate_queryset(queryset)
        if page is not None:
            audit_read(page)
        return page
