"""FHIR search parameters: what each resource type supports, and a query string read into filters.

``SEARCH_PARAMS`` is the one list: the CapabilityStatement is built from it and a search accepts
nothing else. A parameter it does not list, a modifier (``name:exact``), a parameter given twice
(dates aside: ``date=ge..&date=le..`` is a range), or a value that cannot be read is refused with
``SearchError`` (the view answers 400 with an OperationOutcome), never ignored: a client with a
typo would otherwise read unfiltered data and never know.

Values (FHIR R4 search, https://hl7.org/fhir/R4/search.html): ``_id`` and references take
comma-separated ids ("12", "Patient/12"); tokens ``code`` or ``system|code``, comma-separated for
any of them; dates YYYY, YYYY-MM or YYYY-MM-DD with an optional prefix eq, ge, le, gt, lt
(``_lastUpdated`` also an instant with its time zone, e.g. 2026-01-31T09:00:00Z).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.http import QueryDict

from fhir_r4.resources import (
    CAREPLAN_STATUS,
    LOINC,
    LOW_BACK_PAIN_SNOMED,
    LOW_BACK_PAIN_WORDS,
    NPRS_LOINC,
    OBSERVATION_STATUSES,
    SNOMED,
)
from portal.api.common import parse_id

#: A page of search results holds ``_count`` entries: 20 unless asked, at most 100.
DEFAULT_COUNT, MAX_COUNT = 20, 100
#: Parameters of every search besides the type's own: page size, page number (the paging links
#: carry it), and the format (JSON only).
CONTROL_PARAMS = ("_count", "_page", "_format")
JSON_FORMATS = ("json", "application/json", "application/fhir+json")
_PREFIXES = ("eq", "ge", "le", "gt", "lt")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class SearchError(Exception):
    """A search parameter refused: ``param`` names it, ``message`` says why, ``code`` is the
    OperationOutcome issue type ("not-supported" for an unknown parameter, else "invalid")."""

    def __init__(self, param: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.param, self.message, self.code = param, message, code


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type: its FHIR type, words for the CapabilityStatement,
    and how one value becomes a filter (``to_q(param name, value)``)."""

    type: str
    documentation: str
    to_q: Callable[[str, str], Q]
    repeats: bool = False


def _ids(name: str, value: str, prefix: str = "") -> list[int]:
    ids = []
    for part in value.split(","):
        text = part.strip()
        if prefix and text.startswith(prefix + "/"):
            text = text.removeprefix(prefix + "/")
        pk = parse_id(text)
        if pk is None:
            kind = f"a {prefix} reference ({prefix}/<id>) or " if prefix else ""
            raise SearchError(name, f"Give {kind}an id (digits) of this server, not {part[:40]!r}.")
        ids.append(pk)
    return ids


def _id_q(name: str, value: str) -> Q:
    return Q(pk__in=_ids(name, value))


def _reference_q(path: str) -> Callable[[str, str], Q]:
    def to_q(name: str, value: str) -> Q:
        return Q(**{f"{path}__in": _ids(name, value, "Patient")})

    return to_q


def _tokens(name: str, value: str) -> list[tuple[str | None, str]]:
    found: list[tuple[str | None, str]] = []
    for part in value.split(","):
        system, bar, code = part.partition("|")
        if not bar:
            system, code = "", system
        if not code:
            raise SearchError(name, "Give a code, or system|code.")
        found.append((system if bar else None, code))
    return found


def _code_q(system: str, code: str, matching: Q) -> Callable[[str, str], Q]:
    """``matching`` for a token that names (``system``, ``code``), else no rows."""

    def to_q(name: str, value: str) -> Q:
        hit = any(code == wanted and given in (None, system) for given, wanted in _tokens(name, value))
        return matching if hit else Q(pk__in=[])

    return to_q


def _status_q(field: str, statuses: dict[str, list[str]]) -> Callable[[str, str], Q]:
    def to_q(name: str, value: str) -> Q:
        values: list[str] = []
        for _, code in _tokens(name, value):
            if code not in statuses:
                raise SearchError(name, f"Status is one of: {', '.join(statuses)}.")
            values += statuses[code]
        return Q(**{f"{field}__in": values})

    return to_q


def _prefixed(name: str, value: str) -> tuple[str, str]:
    prefix = value[:2] if value[:2].isalpha() else "eq"
    if prefix not in _PREFIXES:
        raise SearchError(name, f"Prefix a date with one of {', '.join(_PREFIXES)}, or none (eq).")
    return prefix, value[2:] if value[:2].isalpha() else value


def _day_range(name: str, text: str) -> tuple[date, date]:
    """The days a partial date covers, as [first, day after last)."""
    found = _DATE.fullmatch(text)
    if found is None:
        raise SearchError(name, "Give a date as YYYY, YYYY-MM or YYYY-MM-DD.")
    year, month, day = (int(part) if part else None for part in found.groups())
    try:
        if day is not None and month is not None:
            first = date(year or 1, month, day)
            return first, first + timedelta(days=1)
        if month is not None:
            first = date(year or 1, month, 1)
            return first, (first + timedelta(days=32)).replace(day=1)
        first = date(year or 1, 1, 1)
        return first, first.replace(year=first.year + 1)
    except (ValueError, OverflowError) as exc:
        raise SearchError(name, f"No such date: {text[:40]!r}.") from exc


def _range_q(field: str, prefix: str, low: Any, high: Any) -> Q:
    # The searched range is [low, high); the prefixes' meaning for a single date or instant.
    return {
        "eq": Q(**{f"{field}__gte": low, f"{field}__lt": high}),
        "ge": Q(**{f"{field}__gte": low}),
        "gt": Q(**{f"{field}__gte": high}),
        "le": Q(**{f"{field}__lt": high}),
        "lt": Q(**{f"{field}__lt": low}),
    }[prefix]


def _date_q(field: str) -> Callable[[str, str], Q]:
    def to_q(name: str, value: str) -> Q:
        prefix, text = _prefixed(name, value)
        return _range_q(field, prefix, *_day_range(name, text))

    return to_q


def _instant_q(name: str, value: str) -> Q:
    prefix, text = _prefixed(name, value)
    if "T" not in text:
        low, high = _day_range(name, text)
        as_time = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (low, high)]
        return _range_q("fhir_last_updated", prefix, *as_time)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(
            name, "Give an instant as YYYY-MM-DDThh:mm:ss with its time zone (Z or +hh:mm)."
        ) from exc
    if moment.tzinfo is None:
        raise SearchError(name, "Give the instant's time zone (Z or +hh:mm).")
    step = timedelta(microseconds=1) if moment.microsecond else timedelta(seconds=1)
    return _range_q("fhir_last_updated", prefix, moment, moment + step)


_ID = SearchParam("token", "The resource's id; comma-separated for any of several.", _id_q)
_LAST_UPDATED = SearchParam(
    "date",
    "meta.lastUpdated, with prefix eq, ge, le, gt or lt; repeat for a range.",
    _instant_q,
    repeats=True,
)
_PATIENT = "The patient (an id, or Patient/<id>); comma-separated for any of several."
_PLAN_STATUSES = {fhir: [plinth] for plinth, fhir in CAREPLAN_STATUS.items()}


def _observation_status_q(name: str, value: str) -> Q:
    # "amended" is a check-in the patient corrected (fhir_r4.resources.observation_resource).
    found = Q(pk__in=[])
    for _, code in _tokens(name, value):
        if code not in OBSERVATION_STATUSES:
            raise SearchError(name, f"Status is one of: {', '.join(OBSERVATION_STATUSES)}.")
        found |= Q(corrected_at__isnull=code == "final")
    return found


_LBP = Q()
for _words in LOW_BACK_PAIN_WORDS:
    _LBP |= Q(condition__icontains=_words)

_COMMON = {"_id": _ID, "_lastUpdated": _LAST_UPDATED}
_OF_A_PATIENT = {
    **_COMMON,
    "patient": SearchParam("reference", _PATIENT, _reference_q("patient_id")),
    "subject": SearchParam("reference", _PATIENT, _reference_q("patient_id")),
}

#: Each resource type's search parameters (besides ``CONTROL_PARAMS``).
SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    "Patient": _COMMON,
    "Practitioner": _COMMON,
    "Organization": _COMMON,
    "Condition": {
        **_OF_A_PATIENT,
        "code": SearchParam(
            "token",
            f"The condition's code: {SNOMED}|{LOW_BACK_PAIN_SNOMED} (low back pain).",
            _code_q(SNOMED, LOW_BACK_PAIN_SNOMED, _LBP),
        ),
    },
    "CarePlan": {
        **_OF_A_PATIENT,
        "status": SearchParam(
            "token",
            f"One of {', '.join(_PLAN_STATUSES)}; comma-separated for any.",
            _status_q("status", _PLAN_STATUSES),
        ),
    },
    "Observation": {
        **_OF_A_PATIENT,
        "code": SearchParam(
            "token", f"{LOINC}|{NPRS_LOINC} (pain severity, NPRS 0-10).", _code_q(LOINC, NPRS_LOINC, Q())
        ),
        "date": SearchParam(
            "date",
            "effectiveDateTime (the patient's local date), prefix eq, ge, le, gt or lt; repeat for a range.",
            _date_q("local_date"),
            repeats=True,
        ),
        "status": SearchParam(
            "token", "final, or amended (corrected by the patient).", _observation_status_q
        ),
    },
}


@dataclass(frozen=True)
class Search:
    """A search read from the query string: the filters (all must hold), the page size and number."""

    filters: list[Q]
    count: int
    page: int


def _number(name: str, value: str, low: int, high: int) -> int:
    number = parse_id(value)
    if number is None or not low <= number <= high:
        raise SearchError(name, f"Give a whole number from {low} to {high}.")
    return number


def check_format(query: QueryDict) -> None:
    """Refuses a ``_format`` other than JSON (SearchError on ``_format``)."""
    for value in query.getlist("_format"):
        if value not in JSON_FORMATS:
            raise SearchError("_format", "Only JSON is served: _format=json or application/fhir+json.")


def check_no_params(query: QueryDict) -> None:
    """For a read or an operation, which take no search parameters: refuses any but ``_format``."""
    check_format(query)
    for name in query:
        if name != "_format":
            raise SearchError(name[:64], "This interaction takes no parameters.", code="not-supported")


def search_from(resource_type: str, query: QueryDict) -> Search:
    """``query`` (the request's GET) read as a search of ``resource_type`` (a key of SEARCH_PARAMS).

    Raises SearchError (param, message, code "not-supported" or "invalid"): an unknown parameter, a
    modifier, a parameter given twice that may not repeat, a value that cannot be read, ``_count``
    outside 0..MAX_COUNT, ``_page`` below 1.
    """
    check_format(query)
    params = SEARCH_PARAMS[resource_type]
    filters: list[Q] = []
    count, page = DEFAULT_COUNT, 1
    for name in query:
        values = query.getlist(name)
        label = name[:64]
        if ":" in name:
            raise SearchError(label, "Search modifiers are not supported.", code="not-supported")
        if name not in params and name not in CONTROL_PARAMS:
            raise SearchError(
                label,
                f"{resource_type} has no such search parameter here; supported: {', '.join(params)}.",
                code="not-supported",
            )
        if len(values) > 1 and not (name in params and params[name].repeats):
            raise SearchError(label, "Give this parameter once (comma-separate values for any of them).")
        if name == "_count":
            count = _number(name, values[0], 0, MAX_COUNT)
        elif name == "_page":
            page = _number(name, values[0], 1, 10**9)
        elif name in params:
            for value in values:
                if not value:
                    raise SearchError(label, "Give a value.")
                filters.append(params[name].to_q(name, value))
    return Search(filters=filters, count=count, page=page)
