"""Strict serializer fields: an integer or boolean only as JSON gives it, never a string to coerce."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """An integer in the JSON itself: no strings, floats or booleans coerced into one."""

    default_error_messages = {
        **serializers.IntegerField.default_error_messages,
        "invalid": "Must be a whole number (a JSON integer), for example 4.",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """true or false in the JSON itself: "yes", 1 or "true" are refused."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
