"""Shared pieces of the API: pagination and the documented error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

#: The largest id a BigAutoField holds; id filters and inputs refuse larger numbers with a 400.
MAX_ID = 2**63 - 1


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


INVALID = OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Invalid input: each field with its reasons.")


RATE_LIMITED = OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After.")


def read_errors() -> dict[int, Any]:
    return {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


def list_errors() -> dict[int, Any]:
    return {400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


def write_errors() -> dict[int, Any]:
    return {400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


class StrictSerializer(serializers.Serializer[Any]):
    """An input serializer that names unknown fields instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key[:64]: ["Unknown field; this endpoint does not accept it."] for key in unknown[:20]}
                )
            # DRF turns 0 or true into "0" or "True" for a text field; JSON clients get told instead.
            wrong = {
                name: ["Must be a string."]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField)
                and name in data
                and not isinstance(data[name], str)
                and not (data[name] is None and field.allow_null)
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


# Ids in a URL: anything longer cannot be a row (and would overflow a bigint).
ID_PATTERN = "[0-9]{1,18}"


def parse_id(value: Any) -> int | None:
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


PAGINATION_PARAMS = ("page", "page_size")


TRUE_FALSE = ("true", "false")


class StrictQueryParamsMixin:
    """Refuses query parameters a view does not document, given twice, or of the wrong type.

    DRF and django-filter quietly ignore what they do not understand; an API
    client with a typo in a filter would then read unfiltered data and never know.
    """

    request: Any

    def _is_list(self) -> bool:
        if hasattr(self, "action"):
            return getattr(self, "action", None) == "list"
        # A generic ListAPIView has no action; its GET is the list.
        return hasattr(self, "list") and self.request.method == "GET"

    def _allowed_query_params(self) -> dict[str, Any]:
        allowed: dict[str, Any] = {}
        if not self._is_list():
            return allowed
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            allowed.update(filterset_class.base_filters)
        for name in getattr(self, "filterset_fields", None) or ():
            allowed.setdefault(name, None)
        if getattr(self, "ordering_fields", None):
            allowed["ordering"] = "ordering"
        for name in PAGINATION_PARAMS:
            allowed[name] = name
        return allowed

    def check_query_params(self, request: Any) -> None:
        import django_filters

        allowed = self._allowed_query_params()
        errors: dict[str, list[str]] = {}
        for key in request.query_params:
            values = request.query_params.getlist(key)
            label = str(key)[:64]
            if key not in allowed:
                errors[label] = ["Unknown query parameter for this endpoint."]
                continue
            if len(values) > 1:
                errors[label] = ["Give this parameter once."]
                continue
            value = values[0]
            spec = allowed[key]
            if key in PAGINATION_PARAMS:
                number = parse_id(value)
                if number is None or number < 1 or (key == "page_size" and number > Pagination.max_page_size):
                    limit = f" up to {Pagination.max_page_size}" if key == "page_size" else ""
                    errors[label] = [f"Must be a whole number from 1{limit}."]
            elif key == "ordering":
                fields = [name.removeprefix("-") for name in value.split(",")]
                valid = set(getattr(self, "ordering_fields", []))
                if not value or any(name not in valid for name in fields):
                    errors[label] = [
                        f"Order by one of: {', '.join(sorted(valid))} (prefix - for descending)."
                    ]
            elif isinstance(spec, django_filters.BooleanFilter):
                if value not in TRUE_FALSE:
                    errors[label] = ["Must be true or false."]
            elif value == "" and not isinstance(spec, django_filters.CharFilter):
                errors[label] = ["Must not be empty."]
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None and self._is_list():
            known = {k: v for k, v in request.query_params.items() if k in filterset_class.base_filters}
            form = filterset_class(data=known).form
            if not form.is_valid():
                for name, messages in form.errors.items():
                    errors.setdefault(name, [str(m) for m in messages])
        if errors:
            raise serializers.ValidationError(errors)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # A method the view does not have gets its 405 from DRF, not a 400 from here.
        if getattr(self, str(request.method).lower(), None) is not None:
            self.check_query_params(request)
