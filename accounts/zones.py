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
from functools import cache, lru_cache
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


# --- the list people choose from ---------------------------------------------------------

#: The zones the time-zone field offers (issue 15): current names (Europe/Kyiv, Asia/Kolkata;
#: never an alias) of the places most patients and clinics live, at least one per inhabited
#: UTC offset that a large city keeps. Every other canonical zone is still accepted (a stored
#: one is shown as the current choice); it is only not listed.
COMMON_ZONES: tuple[str, ...] = (
    *("Africa/Abidjan", "Africa/Accra", "Africa/Addis_Ababa", "Africa/Algiers", "Africa/Cairo"),
    *("Africa/Casablanca", "Africa/Dar_es_Salaam", "Africa/Johannesburg", "Africa/Khartoum"),
    *("Africa/Kinshasa", "Africa/Lagos", "Africa/Nairobi", "Africa/Tunis"),
    *("America/Anchorage", "America/Argentina/Buenos_Aires", "America/Asuncion", "America/Bogota"),
    *("America/Caracas", "America/Chicago", "America/Denver", "America/Edmonton", "America/Guatemala"),
    *("America/Halifax", "America/Havana", "America/Jamaica", "America/La_Paz", "America/Lima"),
    *("America/Los_Angeles", "America/Mexico_City", "America/Montevideo", "America/New_York"),
    *("America/Panama", "America/Phoenix", "America/Puerto_Rico", "America/Regina", "America/Santiago"),
    *("America/Santo_Domingo", "America/Sao_Paulo", "America/St_Johns", "America/Toronto"),
    *("America/Vancouver", "America/Winnipeg"),
    *("Asia/Almaty", "Asia/Amman", "Asia/Baghdad", "Asia/Baku", "Asia/Bangkok", "Asia/Beirut"),
    *("Asia/Colombo", "Asia/Dhaka", "Asia/Dubai", "Asia/Ho_Chi_Minh", "Asia/Hong_Kong", "Asia/Jakarta"),
    *("Asia/Jerusalem", "Asia/Kabul", "Asia/Karachi", "Asia/Kathmandu", "Asia/Kolkata"),
    *("Asia/Kuala_Lumpur", "Asia/Kuwait", "Asia/Manila", "Asia/Novosibirsk", "Asia/Qatar", "Asia/Riyadh"),
    *("Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Taipei", "Asia/Tashkent", "Asia/Tbilisi"),
    *("Asia/Tehran", "Asia/Tokyo", "Asia/Vladivostok", "Asia/Yangon", "Asia/Yekaterinburg", "Asia/Yerevan"),
    *("Atlantic/Azores", "Atlantic/Canary", "Atlantic/Cape_Verde", "Atlantic/Reykjavik"),
    *("Australia/Adelaide", "Australia/Brisbane", "Australia/Darwin", "Australia/Hobart"),
    *("Australia/Melbourne", "Australia/Perth", "Australia/Sydney"),
    *("Europe/Amsterdam", "Europe/Athens", "Europe/Belgrade", "Europe/Berlin", "Europe/Brussels"),
    *("Europe/Bucharest", "Europe/Budapest", "Europe/Copenhagen", "Europe/Dublin", "Europe/Helsinki"),
    *("Europe/Istanbul", "Europe/Kyiv", "Europe/Lisbon", "Europe/London", "Europe/Madrid", "Europe/Minsk"),
    *("Europe/Moscow", "Europe/Oslo", "Europe/Paris", "Europe/Prague", "Europe/Riga", "Europe/Rome"),
    *("Europe/Sofia", "Europe/Stockholm", "Europe/Tallinn", "Europe/Vienna", "Europe/Vilnius"),
    *("Europe/Warsaw", "Europe/Zurich"),
    *("Indian/Maldives", "Indian/Mauritius"),
    *("Pacific/Auckland", "Pacific/Chatham", "Pacific/Fiji", "Pacific/Guam", "Pacific/Honolulu"),
    *("Pacific/Port_Moresby", "Pacific/Tongatapu"),
    "Etc/UTC",
)


#: The select's groups, in the order shown, by a zone name's first part.
ZONE_REGIONS: dict[str, str] = {
    "Africa": "Africa",
    "America": "Americas",
    "Asia": "Asia",
    "Atlantic": "Atlantic",
    "Australia": "Australia and Pacific",
    "Pacific": "Australia and Pacific",
    "Europe": "Europe",
    "Indian": "Indian Ocean",
    "Etc": "Universal time",
}


@cache
def _countries() -> dict[str, str]:
    """Zone name -> country name, from zone.tab and iso3166.tab (a zone of one country only)."""
    names = {
        parts[0]: parts[1]
        for line in _zone_file("iso3166.tab").splitlines()
        if not line.startswith("#") and len(parts := line.split("\t")) >= 2
    }
    return {
        parts[2]: names.get(parts[0], parts[0])
        for line in _zone_file("zone.tab").splitlines()
        if not line.startswith("#") and len(parts := line.split("\t")) >= 3
    }


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone, loaded once: ZoneInfo keeps only the 8 latest strongly, and a select lists 127."""
    return zoneinfo.ZoneInfo(name)


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(_zone(zone)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(zone: str, *, now: datetime | None = None) -> str:
    """A zone in words: "Paris, France · UTC+01:00" (its offset at ``now``, default now), the
    country left out where it is the city's own name ("Singapore · UTC+08:00"); Etc/UTC is
    "UTC, Coordinated Universal Time". The city is the name's last part, the country the tz
    database's (zone.tab, iso3166.tab)."""
    if zone == "Etc/UTC":
        return "UTC, Coordinated Universal Time"
    now = now or datetime.now(zoneinfo.ZoneInfo("Etc/UTC"))
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    country = _countries().get(zone)
    place = f"{city}, {country}" if country and country != city else city
    return f"{place} · {_offset(zone, now)}"


def common_zone_choices(*, now: datetime | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """``COMMON_ZONES`` for a select, grouped by region (``ZONE_REGIONS``), each group by city.

    ``[(region, [(zone, zone_label(zone)), ...]), ...]``: Django renders each group as an
    ``<optgroup>``. Offsets are those at ``now``, so summer time shows; without ``now``, those
    at the start of the current UTC hour, worked out once an hour (every form with the field
    asks; a label may trail a change of clocks by up to an hour, the stored zone never does).
    """
    if now is None:
        hour = datetime.now(_zone("Etc/UTC")).replace(minute=0, second=0, microsecond=0)
        return _choices_at(hour)
    return _grouped_choices(now)


@lru_cache(maxsize=2)
def _choices_at(hour: datetime) -> list[tuple[str, list[tuple[str, str]]]]:
    return _grouped_choices(hour)


def _grouped_choices(now: datetime) -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in dict.fromkeys(ZONE_REGIONS.values())}
    for zone in COMMON_ZONES:
        groups[ZONE_REGIONS[zone.split("/", 1)[0]]].append((zone, zone_label(zone, now=now)))
    return [(region, sorted(zones, key=lambda pair: pair[1])) for region, zones in groups.items() if zones]


class ZoneSelect(forms.Select):
    """The grouped select, with a search box above it that plinth.js shows and drives (hidden,
    and not needed, without JavaScript: the select works on its own)."""

    template_name = "accounts/widgets/zone_select.html"


class TimeZoneFormField(forms.ChoiceField):
    """A grouped select of :func:`common_zone_choices` that accepts any known zone or alias and
    stores its canonical name.

    It always shows and keeps the current value: the form's initial value, canonicalised,
    is the selected option; one missing from the common list (a zone not listed, or a name
    the tz database dropped) is offered first, as "Current", and accepted unchanged, so
    saving a form that leaves the zone alone never moves the person to another option.
    Any other canonical zone or alias sent is accepted too (zone_canonical); anything else
    is refused.
    """

    widget = ZoneSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", common_zone_choices)
        # A model field passes its own choices-related arguments; a select needs none of them.
        for unused in ("max_length", "empty_value", "min_length"):
            kwargs.pop(unused, None)
        super().__init__(**kwargs)
        self._kept: str | None = None

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> forms.BoundField:
        current = form.get_initial_for_field(self, field_name)
        sent = form.data.get(form.add_prefix(field_name)) if form.is_bound else None
        if isinstance(current, str) and current:
            self._keep(zone_or_unchanged(current))
        if isinstance(sent, str) and sent.strip():
            # A valid zone sent that the list lacks stays selected when the form comes back.
            self._offer(zone_or_unchanged(sent))
        return super().get_bound_field(form, field_name)

    def _keep(self, current: str) -> None:
        if current in COMMON_ZONES or current == self._kept:
            return
        self._kept = current
        self._offer(current)

    def _offer(self, zone: str) -> None:
        listed = {value for _, group in common_zone_choices() for value, _ in group}
        if zone in listed or not (zone == self._kept or zone in _canonical_set()):
            return
        label = zone_label(zone) if zone in _canonical_set() else zone.replace("_", " ")
        current = [(zone, f"{label} (current)")]
        self.choices = [("Current", current), *common_zone_choices()]

    def prepare_value(self, value: Any) -> Any:
        return zone_or_unchanged(value)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return str(zone_or_unchanged(text))

    def validate(self, value: Any) -> None:
        if value and (value == self._kept or value in _canonical_set()):
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
