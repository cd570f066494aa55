"""FHIR search values read into filters: ids, references, tokens, dates and instants with their
prefixes, and the filters of the parameters whose meaning is particular to one type (FHIR R4
search, https://hl7.org/fhir/R4/search.html). ``fhir_r4.search`` says which type takes which.

Every reader takes the parameter's name and one value and returns a ``Q`` on the type's rows, or
raises ``SearchError`` (the view answers 400 with an OperationOutcome naming the parameter).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q

from fhir_r4.resources import LOINC, OBSERVATION_STATUSES
from portal.api.common import parse_id
from questionnaires.fhir import SCORE_SYSTEM

_PREFIXES = ("eq", "ge", "le", "gt", "lt")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class SearchError(Exception):
    """A search parameter refused: ``param`` names it, ``message`` says why, ``code`` is the
    OperationOutcome issue type ("not-supported" for an unknown parameter, else "invalid")."""

    def __init__(self, param: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.param, self.message, self.code = param, message, code


ToQ = Callable[[str, str], Q]


def resource_pk(text: str) -> int | None:
    """The row pk a FHIR id (or the numeric part of one) names, or None. FHIR ids are exact
    strings, so only the digits Plinth writes match: "12", never "012" or "+12"."""
    pk = parse_id(text)
    return pk if pk is not None and str(pk) == text else None


def id_list(name: str, value: str, prefix: str = "") -> list[int]:
    """The ids of a comma-separated ``_id`` or reference value ("12", or "Patient/12" when
    ``prefix`` is "Patient"). Raises SearchError for anything else."""
    ids = []
    for part in value.split(","):
        text = part.strip()
        if prefix and text.startswith(prefix + "/"):
            text = text.removeprefix(prefix + "/")
        pk = resource_pk(text)
        if pk is None:
            kind = f"a {prefix} reference ({prefix}/<id>) or " if prefix else ""
            raise SearchError(name, f"Give {kind}an id (digits) of this server, not {part[:40]!r}.")
        ids.append(pk)
    return ids


def id_q(name: str, value: str) -> Q:
    """``_id``: the rows with any of the ids."""
    return Q(pk__in=id_list(name, value))


def reference_q(path: str, prefix: str = "Patient") -> ToQ:
    """A reference parameter on the foreign key ``path`` (ids, or ``<prefix>/<id>``)."""

    def to_q(name: str, value: str) -> Q:
        return Q(**{f"{path}__in": id_list(name, value, prefix)})

    return to_q


_SOURCE_ID = re.compile(r"([1-9]\d{0,17})(-[a-z]+)?")


def source_id_q(suffix: str) -> ToQ:
    """``_id`` in one source of a type with several (Observation: "12" a check-in, "41-score" a
    questionnaire score): the ids written with ``suffix``; another source's ids match nothing here."""

    def to_q(name: str, value: str) -> Q:
        pks = []
        for part in value.split(","):
            found = _SOURCE_ID.fullmatch(part.strip())
            if found is None:
                raise SearchError(name, f"Give an id of this server (12, or 41-score), not {part[:40]!r}.")
            if (found.group(2) or "") == suffix:
                pks.append(int(found.group(1)))
        return Q(pk__in=pks)

    return to_q


def tokens(name: str, value: str) -> list[tuple[str | None, str]]:
    """A token value as (system or None, code) pairs, comma-separated for any. Raises SearchError."""
    found: list[tuple[str | None, str]] = []
    for part in value.split(","):
        system, bar, code = part.partition("|")
        if not bar:
            system, code = "", system
        if not code:
            raise SearchError(name, "Give a code, or system|code.")
        found.append((system if bar else None, code))
    return found


def code_q(system: str, code: str, matching: Q) -> ToQ:
    """``matching`` for a token that names (``system``, ``code``), else no rows."""

    def to_q(name: str, value: str) -> Q:
        hit = any(code == wanted and given in (None, system) for given, wanted in tokens(name, value))
        return matching if hit else Q(pk__in=[])

    return to_q


def status_q(field: str, statuses: dict[str, list[str]]) -> ToQ:
    """A status token on ``field``: each FHIR code of ``statuses`` stands for the stored values listed."""

    def to_q(name: str, value: str) -> Q:
        values: list[str] = []
        for _, code in tokens(name, value):
            if code not in statuses:
                raise SearchError(name, f"Status is one of: {', '.join(statuses)}.")
            values += statuses[code]
        return Q(**{f"{field}__in": values})

    return to_q


def prefixed(name: str, value: str) -> tuple[str, str]:
    """A date value split into its prefix (eq when none) and the date. Raises SearchError."""
    prefix = value[:2] if value[:2].isalpha() else "eq"
    if prefix not in _PREFIXES:
        raise SearchError(name, f"Prefix a date with one of {', '.join(_PREFIXES)}, or none (eq).")
    return prefix, value[2:] if value[:2].isalpha() else value


def day_range(name: str, text: str) -> tuple[date, date]:
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


def range_q(field: str, prefix: str, low: Any, high: Any) -> Q:
    """The rows whose ``field`` meets ``prefix`` for the searched range [low, high)."""
    return {
        "eq": Q(**{f"{field}__gte": low, f"{field}__lt": high}),
        "ge": Q(**{f"{field}__gte": low}),
        "gt": Q(**{f"{field}__gte": high}),
        "le": Q(**{f"{field}__lt": high}),
        "lt": Q(**{f"{field}__lt": low}),
    }[prefix]


def date_q(field: str) -> ToQ:
    """A date parameter on the date ``field`` (YYYY, YYYY-MM or YYYY-MM-DD, with a prefix)."""

    def to_q(name: str, value: str) -> Q:
        prefix, text = prefixed(name, value)
        return range_q(field, prefix, *day_range(name, text))

    return to_q


def instant_q(name: str, value: str, field: str = "fhir_last_updated") -> Q:
    """A date or an instant (with prefix) on the instant ``field``; days are UTC days."""
    prefix, text = prefixed(name, value)
    if "T" not in text:
        low, high = day_range(name, text)
        as_time = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (low, high)]
        return range_q(field, prefix, *as_time)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(
            name, "Give an instant as YYYY-MM-DDThh:mm:ss with its time zone (Z or +hh:mm)."
        ) from exc
    if moment.tzinfo is None:
        raise SearchError(name, "Give the instant's time zone (Z or +hh:mm).")
    step = timedelta(microseconds=1) if moment.microsecond else timedelta(seconds=1)
    return range_q(field, prefix, moment, moment + step)


def instant_field_q(field: str) -> ToQ:
    """A date parameter on the instant ``field`` (``instant_q``)."""

    def to_q(name: str, value: str) -> Q:
        return instant_q(name, value, field)

    return to_q


def observation_status_q(name: str, value: str) -> Q:
    """A pain Observation's status: final, or amended (a check-in the patient corrected)."""
    found = Q(pk__in=[])
    for _, code in tokens(name, value):
        if code not in OBSERVATION_STATUSES:
            raise SearchError(name, f"Status is one of: {', '.join(OBSERVATION_STATUSES)}.")
        found |= Q(corrected_at__isnull=code == "final")
    return found


def score_code_q(name: str, value: str) -> Q:
    """A score Observation's code: the instrument's LOINC code, or SCORE_SYSTEM|<instrument code>."""
    found = Q(pk__in=[])
    for system, code in tokens(name, value):
        if system in (None, LOINC):
            found |= Q(instrument__loinc=code)
        if system in (None, SCORE_SYSTEM):
            found |= Q(instrument__code=code, instrument__loinc="")
    return found


def score_status_q(name: str, value: str) -> Q:
    """A score Observation's status: always final (a sent response is never changed)."""
    codes = [code for _, code in tokens(name, value)]
    if any(code not in OBSERVATION_STATUSES for code in codes):
        raise SearchError(name, f"Status is one of: {', '.join(OBSERVATION_STATUSES)}.")
    return Q() if "final" in codes else Q(pk__in=[])


def canonical_q(name: str, value: str) -> Q:
    """QuestionnaireResponse ``questionnaire``: a canonical URL, with ``|version`` or not, or
    Questionnaire/<id>; comma-separated for any."""
    found = Q(pk__in=[])
    for part in value.split(","):
        text = part.strip()
        if text.startswith("Questionnaire/"):
            found |= Q(instrument_id__in=id_list(name, text, "Questionnaire"))
            continue
        url, bar, version = text.partition("|")
        if not url.startswith(("http://", "https://")) or (bar and not version):
            raise SearchError(name, "Give a canonical URL (optionally |version) or Questionnaire/<id>.")
        found |= Q(instrument__url=url, **({"instrument__version": version} if bar else {}))
    return found


def uri_q(path: str) -> ToQ:
    """A uri parameter: the absolute URL, exactly, on ``path``."""

    def to_q(name: str, value: str) -> Q:
        if not value.startswith(("http://", "https://")):
            raise SearchError(name, "Give the absolute URL (https://...).")
        return Q(**{path: value})

    return to_q
