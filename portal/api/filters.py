"""The API's filter sets: dates and times in ISO 8601 only, as the schema says (``format: date``).

django-filter builds its date fields from Django's forms, which read the
locale's DATE_INPUT_FORMATS (en-gb: day first), so ``?since=20/11/2026`` was
accepted and read as 20 November. Every API filter set derives from
``ApiFilterSet``, whose date and date-time filters accept ISO 8601 alone and
say so in the 400 (tests/api/test_bad_input.py walks every filter set).
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.dateparse import parse_date
from django_filters import rest_framework as drf_filters

ISO_DATE_MESSAGE = "Enter a date in ISO 8601 format, YYYY-MM-DD."


class IsoDateField(forms.DateField):
    """A form date field that reads ISO 8601 (``YYYY-MM-DD``) and nothing else.

    Returns a ``datetime.date`` (or None when empty). Raises ``ValidationError``
    with code ``invalid`` for any other text, whatever the locale's formats.
    """

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            # Django's own ISO reader, the one DRF's DateField uses for "iso-8601".
            parsed = parse_date(str(value).strip())
        except ValueError:
            parsed = None  # well-formed but not a calendar date, such as 2026-02-30
        if parsed is None:
            raise forms.ValidationError(ISO_DATE_MESSAGE, code="invalid")
        return parsed


class IsoDateFilter(django_filters.DateFilter):  # type: ignore[misc]
    """A DateFilter reading ISO 8601 dates only (``IsoDateField``)."""

    field_class = IsoDateField


class ApiFilterSet(drf_filters.FilterSet):  # type: ignore[misc]
    """The base of every API filter set: its date filters read ISO 8601 only.

    Filters generated from ``Meta.fields`` map model dates to ``IsoDateFilter``
    and date-times to django-filter's ``IsoDateTimeFilter``. A declared date or
    date-time filter of another class raises ``ImproperlyConfigured`` when the
    filter set class is built, so a day-first filter cannot ship.
    """

    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.DateField: {"filter_class": IsoDateFilter},
        models.DateTimeField: {"filter_class": drf_filters.IsoDateTimeFilter},
    }

    @classmethod
    def get_filters(cls) -> Any:
        filters = super().get_filters()
        dated = django_filters.DateFilter | django_filters.DateTimeFilter
        iso = IsoDateFilter | django_filters.IsoDateTimeFilter
        for name, declared in filters.items():
            if isinstance(declared, dated) and not isinstance(declared, iso):
                raise ImproperlyConfigured(
                    f"{cls.__name__}.{name}: an API date filter is IsoDateFilter or IsoDateTimeFilter"
                )
        return filters


class ApiFilterBackend(drf_filters.DjangoFilterBackend):  # type: ignore[misc]
    """django-filter's backend, building a view's ``filterset_fields`` on ``ApiFilterSet`` too."""

    filterset_base = ApiFilterSet
