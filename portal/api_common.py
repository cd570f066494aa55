"""Shared pieces of the API: pagination and the documented error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


ErrorSerializer = inline_serializer(
    name="Error",
    fields={"detail": serializers.CharField()},
)
# A 400 names each invalid field (or "non_field_errors") with its reasons.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Each invalid field (or non_field_errors) maps to its reasons.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
}

UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="Not logged in, or the token is invalid.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="CSRF check failed (session writes).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object for this user (never 403).")
INVALID = OpenApiResponse(
    VALIDATION_ERROR_SCHEMA, description="Invalid input: each field with its reasons."
)
RATE_LIMITED = OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After.")


def read_errors() -> dict[int, Any]:
    return {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


def list_errors() -> dict[int, Any]:
    return {400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


def write_errors() -> dict[int, Any]:
    return {400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "patients.api_tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from patients.api_tokens import token_auth_scheme

        return token_auth_scheme()


class StrictSerializer(serializers.Serializer[Any]):
    """An input serializer that names unknown fields instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key[:64]: ["Unknown field; this endpoint does not accept it."] for key in unknown[:20]}
                )
        return super().to_internal_value(data)


# Ids in a URL: anything longer cannot be a row (and would overflow a bigint).
ID_PATTERN = "[0-9]{1,18}"


def parse_id(value: Any) -> int | None:
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)
