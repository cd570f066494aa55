"""Role gates for views. A user of the wrong role gets 404, like an outsider."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from patients.models import Patient, Therapist

View = TypeVar("View", bound=Callable[..., HttpResponse])


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _role_required(attr: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
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
    return cast(Therapist, request.therapist)  # type: ignore[attr-defined]


def patient_of(request: HttpRequest) -> Patient:
    return cast(Patient, request.patient)  # type: ignore[attr-defined]
