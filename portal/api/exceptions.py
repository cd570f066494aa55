"""The API's exception handler: every error is JSON with the field and the reason."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import DomainError, RateLimited

log = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DomainError and Django's own errors become 400/404; DRF handles the rest."""
    if isinstance(exc, RateLimited):
        limited = Response({"detail": exc.message}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        limited["Retry-After"] = str(exc.retry_after)
        return limited
    if isinstance(exc, DomainError):
        if exc.code == "not_found":
            # A service's own scope check: the same answer as any other outsider's object.
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    if isinstance(exc, IntegrityError | DataError):
        # A constraint the serializer did not foresee: the database refused the row.
        log.warning("API write refused by the database: %s", exc)
        return Response(
            {"non_field_errors": ["The data conflicts with existing records or is out of range."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ParseError):
        return Response({"non_field_errors": [f"Malformed request body: {exc.detail}"]}, status=400)
    return drf_exception_handler(exc, context)


def api_aware_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A JSON 404 under /api/ (what the schema documents), the normal page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def api_aware_server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
