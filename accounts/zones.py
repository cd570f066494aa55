"""The one list of time zones Plinth accepts, and the one spelling it stores for each.

Source: the IANA tz database shipped by the pinned ``tzdata`` package (so every
host, including a slim image without system zone files, has the same list), read
from its ``tzdata.zi`` (zic's compact input, zic(8): ``Z NAME ...`` is a zone,
``L TARGET NAME`` a link, which is how the tz 'backward' file keeps old names) and
``zone.tab`` (the tz list of locations, one or more per country).

The rule:

- every zone (``Z`` line) is valid and canonical, except ``Factory`` (not a place);
- a link that zone.tab lists as a location (Europe/Amsterdam, Europe/Jersey, ...)
  is valid and kept as written: people choose their own city;
- every other link is an alias (NZ, GB, US/Eastern, UTC, Zulu, Asia/Calcutta,
  Europe/Kiev, ...): accepted, and stored as its target (NZ -> Pacific/Auckland,
  UTC -> Etc/UTC, US/Eastern -> America/New_York).

Every entry point uses this: the model field below canonicalises on every write
(save, bulk_create, update, lookups) and validates on ``full_clean``; its form
field is used by the patient settings, add-patient and admin forms; services and
the history import call :func:`zone_canonical`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Value, When

_EXCLUDED_ZONES = frozenset({"Factory"})


ZONE_MAX_LENGTH = 64


def _zone_file(name: str) -> str:
    return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


@cache
def _zone_table() -> tuple[tuple[str, ...], dict[str, str]]:
    """(the canonical names, sorted; alias -> canonical name), derived as the module says."""
    zones: set[str] = set()
    links: dict[str, str] = {}
    for line in _zone_file("tzdata.zi").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Z":
            zones.add(parts[1])
        elif len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    locations = {
        parts[2]
        for line in _zone_file("zone.tab").splitlines()
        if not line.startswith("#") and len(parts := line.split("\t")) >= 3
    }
    canonical = (zones - _EXCLUDED_ZONES) | (locations & links.keys())
    aliases: dict[str, str] = {}
    for name, target in links.items():
        if name in canonical:
            continue
        # zic allows a link to a link; follow it to the zone (a short chain by construction).
        seen = {name}
        while target in links and target not in canonical and target not in seen:
            seen.add(target)
            target = links[target]
        if target in canonical:
            aliases[name] = target
    return tuple(sorted(canonical)), aliases


def zone_names() -> tuple[str, ...]:
    """Every canonical time zone name Plinth accepts, sorted (e.g. "Europe/London")."""
    return _zone_table()[0]


def zone_canonical(name: str) -> str:
    """The stored spelling of a time zone name: itself if canonical, its target if an alias.

    ``name`` is an IANA name as typed ("NZ", "Pacific/Auckland"); surrounding spaces are
    ignored, case is not (IANA names are case-sensitive). Raises ``ValidationError``
    (code ``unknown_zone``) for any other string. The rule is in the module docstring.
    """
    aliases = _zone_table()[1]
    value = name.strip() if isinstance(name, str) else name
    if value in aliases:
        return aliases[value]
    if isinstance(value, str) and value in _canonical_set():
        return value
    raise ValidationError(
        "'%(value)s' is not a known time zone (use an IANA name such as Europe/London).",
        code="unknown_zone",
        params={"value": name},
    )


@cache
def _canonical_set() -> frozenset[str]:
    return frozenset(zone_names())


def zone_or_unchanged(value: Any) -> Any:
    """``value`` canonicalised when it is a known name or alias, else returned as it is.

    For paths that must not raise (database writes, lookups); validation reports the rest.
    """
    if not isinstance(value, str):
        return value
    try:
        return zone_canonical(value)
    except ValidationError:
        return value


def validate_timezone(value: str) -> None:
    """Model and form validator: ``value`` is a canonical name or an alias (see zone_canonical)."""
    zone_canonical(value)


def zone_choices() -> list[tuple[str, str]]:
    """(value, label) pairs for a select: every canonical name, underscores shown as spaces."""
    return [(zone, zone.replace("_", " ")) for zone in zone_names()]


class TimeZoneFormField(forms.ChoiceField):
    """A select of :func:`zone_choices` that accepts aliases and stores their canonical name.

    It always shows and keeps the current value: the form's initial value, canonicalised,
    is the selected option; one missing from the list (a name the tz database dropped)
    is added as an option and accepted unchanged, so saving a form that leaves the zone
    alone never moves the person to the first option.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", zone_choices)
        # A model field passes its own choices-related arguments; a select needs none of them.
        for unused in ("max_length", "empty_value", "min_length"):
            kwargs.pop(unused, None)
        super().__init__(**kwargs)
        self._kept: str | None = None

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> forms.BoundField:
        current = form.get_initial_for_field(self, field_name)
        if isinstance(current, str) and current:
            self._keep(zone_or_unchanged(current))
        return super().get_bound_field(form, field_name)

    def _keep(self, current: str) -> None:
        if current in _canonical_set() or current == self._kept:
            return
        self._kept = current
        self.choices = [(current, f"{current} (current)"), *zone_choices()]

    def prepare_value(self, value: Any) -> Any:
        return zone_or_unchanged(value)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return str(zone_or_unchanged(text))

    def validate(self, value: Any) -> None:
        if value and value == self._kept:
            return
        super().validate(value)


class TimeZoneField(models.CharField[str, str]):
    """An IANA time zone name, always stored in canonical form (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", ZONE_MAX_LENGTH)
        kwargs.setdefault("validators", [validate_timezone])
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        return zone_or_unchanged(super().to_python(value))

    def get_prep_value(self, value: Any) -> Any:
        # Every write path (save, bulk_create, update) and every lookup goes through here.
        return zone_or_unchanged(super().get_prep_value(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = zone_or_unchanged(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs: Any) -> Any:
        widget = kwargs.get("widget")
        if widget is not None and issubclass(
            widget if isinstance(widget, type) else type(widget), forms.TextInput
        ):
            # The admin gives every CharField a text box; a zone is picked from the list.
            kwargs.pop("widget")
        defaults: dict[str, Any] = {"form_class": TimeZoneFormField}
        defaults.update(kwargs)
        return super().formfield(**defaults)


def local_now_by_zone(zones: Iterable[str], now: datetime) -> dict[str, datetime]:
    """Each zone's wall-clock time at ``now``."""
    return {zone: now.astimezone(zoneinfo.ZoneInfo(zone)) for zone in zones}


def zone_case(values: dict[str, Any], output_field: Any, *, field: str = "timezone") -> Case:
    """A CASE over time zones, so one query can ask per-zone questions of every row."""
    whens = [When(**{field: zone}, then=Value(value)) for zone, value in values.items()]
    return Case(*whens, default=Value(None), output_field=output_field)
