"""A questionnaire definition checked: a FHIR Questionnaire, validated by fhir.resources and Plinth's rules.

Definitions are FHIR R4 Questionnaire resources as JSON. ``fhir.resources`` 8 validates the R4B
model (``fhir.resources.R4B.questionnaire``; its top-level package is R5): R4B's Questionnaire is
R4's with nothing added that Plinth uses, so an R4 file validates unchanged.

Plinth's rules on top of the FHIR structure (each refusal names its JSON path):

- ``resourceType`` Questionnaire, ``status`` active or draft, ``url``, ``name``, ``title`` and
  ``version`` given; ``name`` gives the instrument's code (slugified: "PSFS" is ``psfs``).
- Items may be ``group`` (with items), ``display``, ``string``/``text`` (not scored) or a scored
  item; linkIds are unique across all nesting levels (a duplicate is refused at the second).
- A scored item is ``integer``, its range in the standard ``minValue`` and ``maxValue``
  extensions (``valueInteger``), or ``choice``, each answer option carrying its number in the
  standard ``ordinalValue`` extension (``valueDecimal``, a whole number). The lowest value must
  be below the highest.
- A rating may name the free-text item that says what it rates (the PSFS's activities) with the
  extension ``ACTIVITY_URL``, ``valueString`` the linkId of a ``string`` item.
- The root carries Plinth's scoring extension ``SCORING_URL`` once, with these sub-extensions:
  ``method`` (valueCode: mean, sum or percent_of_max; required), ``scoreMin`` and ``scoreMax``
  (valueDecimal, required, and equal to the range the method gives over the items; like mcid,
  at most 2 decimal places, as the instrument keeps them),
  ``better`` (valueCode higher or lower; required), ``mcid`` (valueDecimal above 0, optional) with
  ``mcidKind`` (valueCode points or percent; required with mcid, refused without),
  ``loinc`` (valueCode: the LOINC code of the score, optional), ``minAnswered`` (valueInteger:
  the fewest answered items that give a score, 1 up to the number of scored items; default 1,
  and for ``sum`` always every item, since a sum over fewer items is not the same score).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.text import slugify
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from portal.errors import DomainError
from questionnaires.models import Better, McidKind, ScoringMethod

SCORING_URL = "https://plinth.example/fhir/StructureDefinition/scoring"
ACTIVITY_URL = "https://plinth.example/fhir/StructureDefinition/activity-item"
ORDINAL_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"

SCORED_TYPES = ("integer", "choice")
UNSCORED_TYPES = ("group", "display", "string", "text")
STATUSES = ("active", "draft")
SCORING_PARTS = ("method", "scoreMin", "scoreMax", "better", "mcid", "mcidKind", "loinc", "minAnswered")


class DefinitionError(DomainError):
    """A definition file refused: ``path`` is where in the JSON (``item[2].answerOption[0]``,
    ``extension[0].extension[1]``; ``(document)`` for the whole file), ``reason`` why.
    The message reads "path: reason"; the code is ``definition_invalid``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", code="definition_invalid")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ScoredItem:
    """One scored item: its linkId, where it is in the file, its lowest and highest value, the
    values a choice allows (None for an integer: any whole number in range), and the linkId of
    the activity text it rates, if any."""

    link_id: str
    path: str
    low: int
    high: int
    allowed: frozenset[int] | None
    activity: str | None


@dataclass(frozen=True)
class CheckedDefinition:
    """A definition that passed every check; ``data`` is the JSON as given, the rest read from it.
    ``score_min``, ``score_max`` and ``mcid`` are Decimals as the file wrote them."""

    data: dict[str, Any]
    code: str
    url: str
    title: str
    version: str
    method: str
    score_min: Decimal
    score_max: Decimal
    better: str
    mcid: Decimal | None
    mcid_kind: str
    loinc: str
    min_answered: int
    items: tuple[ScoredItem, ...]
    text_items: frozenset[str]


def definition_checked(data: Any) -> CheckedDefinition:
    """Check a parsed JSON definition (``json.loads`` of the file) and read its scoring.

    Returns a ``CheckedDefinition``. Raises ``DefinitionError`` (code ``definition_invalid``) with
    the JSON path and reason of the first problem found: the FHIR structure first (by
    ``fhir.resources``), then Plinth's rules as listed in this module's docstring.
    """
    if not isinstance(data, dict):
        raise DefinitionError("(document)", "a definition is a JSON object (a FHIR Questionnaire)")
    if data.get("resourceType") != "Questionnaire":
        raise DefinitionError("resourceType", f"must be Questionnaire, not {data.get('resourceType')!r}")
    _fhir_validated(data)
    if data.get("status") not in STATUSES:
        raise DefinitionError("status", f"must be active or draft, not {data.get('status')!r}")
    for key in ("url", "name", "title", "version"):
        if not str(data.get(key) or "").strip():
            raise DefinitionError(key, "is required")
    code = slugify(data["name"])
    if not code:
        raise DefinitionError("name", "must contain letters or digits (it gives the instrument's code)")
    items: list[ScoredItem] = []
    kinds: dict[str, str] = {}
    _walk(data.get("item") or [], "item", items, kinds)
    if not items:
        raise DefinitionError("item", "has no scored item (integer or choice)")
    text_items = frozenset(link for link, kind in kinds.items() if kind == "string")
    for scored in items:
        if scored.activity is not None and scored.activity not in text_items:
            raise DefinitionError(
                f"{scored.path}.extension", f"activity item {scored.activity!r} is not a string item"
            )
    return CheckedDefinition(
        data=data,
        code=code,
        url=data["url"],
        title=data["title"],
        version=data["version"],
        items=tuple(items),
        text_items=text_items,
        **_scoring(data, items),
    )


def _fhir_validated(data: dict[str, Any]) -> None:
    try:
        Questionnaire.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        ).removeprefix(".")
        raise DefinitionError(path or "(document)", " ".join(first["msg"].split())) from error


def _extension(node: dict[str, Any], url: str) -> tuple[int, dict[str, Any]] | None:
    for index, extension in enumerate(node.get("extension") or []):
        if extension.get("url") == url:
            return index, extension
    return None


def _walk(nodes: list[dict[str, Any]], base: str, items: list[ScoredItem], kinds: dict[str, str]) -> None:
    for index, node in enumerate(nodes):
        path = f"{base}[{index}]"
        link_id, kind = str(node["linkId"]), str(node.get("type"))
        if link_id in kinds:
            raise DefinitionError(f"{path}.linkId", f"linkId {link_id!r} is used twice")
        kinds[link_id] = kind
        if kind in SCORED_TYPES:
            items.append(_scored(node, path))
        elif kind not in UNSCORED_TYPES:
            raise DefinitionError(
                f"{path}.type",
                f"{kind!r} is not a type Plinth shows: {', '.join(SCORED_TYPES + UNSCORED_TYPES)}",
            )
        _walk(node.get("item") or [], f"{path}.item", items, kinds)


def _whole(value: Any, path: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value != int(value):
        raise DefinitionError(path, f"{what} must be a whole number, not {value!r}")
    return int(value)


def _scored(node: dict[str, Any], path: str) -> ScoredItem:
    allowed: frozenset[int] | None = None
    if node["type"] == "choice":
        options = node.get("answerOption") or []
        if not options:
            raise DefinitionError(f"{path}.answerOption", "a scored choice item needs answer options")
        values = []
        for number, option in enumerate(options):
            found = _extension(option, ORDINAL_URL)
            where = f"{path}.answerOption[{number}]"
            if found is None:
                raise DefinitionError(where, f"needs an ordinalValue extension ({ORDINAL_URL})")
            values.append(
                _whole(found[1].get("valueDecimal"), f"{where}.extension[{found[0]}]", "ordinalValue")
            )
        low, high, allowed = min(values), max(values), frozenset(values)
        range_path = f"{path}.answerOption"
    else:
        bounds = [_extension(node, MIN_URL), _extension(node, MAX_URL)]
        if bounds[0] is None or bounds[1] is None:
            raise DefinitionError(
                f"{path}.extension", "an integer item needs minValue and maxValue extensions"
            )
        low, high = (
            _whole(found[1].get("valueInteger"), f"{path}.extension[{found[0]}]", "minValue or maxValue")
            for found in bounds
            if found is not None
        )
        range_path = f"{path}.extension[{bounds[1][0]}]"
    if low >= high:
        raise DefinitionError(
            range_path, f"answer range {low} to {high}: the lowest must be below the highest"
        )
    activity = _extension(node, ACTIVITY_URL)
    return ScoredItem(
        link_id=node["linkId"],
        path=path,
        low=low,
        high=high,
        allowed=allowed,
        activity=activity[1].get("valueString") if activity else None,
    )


def _scoring(data: dict[str, Any], items: list[ScoredItem]) -> dict[str, Any]:
    found = _extension(data, SCORING_URL)
    if found is None:
        raise DefinitionError("extension", f"no Plinth scoring extension ({SCORING_URL})")
    base = f"extension[{found[0]}]"
    parts: dict[str, tuple[str, Any]] = {}
    for index, part in enumerate(found[1].get("extension") or []):
        where, url = f"{base}.extension[{index}]", part.get("url")
        if url not in SCORING_PARTS:
            raise DefinitionError(where, f"unknown scoring part {url!r}: {', '.join(SCORING_PARTS)}")
        if url in parts:
            raise DefinitionError(where, f"{url} is given twice")
        values = [value for key, value in part.items() if key.startswith("value")]
        parts[url] = (where, values[0] if values else None)

    def given(name: str, *, required: bool) -> tuple[str, Any]:
        if name not in parts or parts[name][1] is None:
            if required:
                raise DefinitionError(base, f"the scoring has no {name}")
            return base, None
        return parts[name]

    def choice(name: str, choices: list[str]) -> str:
        where, value = given(name, required=True)
        if value not in choices:
            raise DefinitionError(where, f"unknown {name} {value!r}: {', '.join(choices)}")
        return str(value)

    method = choice("method", ScoringMethod.values)
    better = choice("better", Better.values)
    low, high = (_decimal(*given(name, required=True), name) for name in ("scoreMin", "scoreMax"))
    expected = _method_range(method, items)
    if (low, high) != expected:
        raise DefinitionError(
            parts["scoreMin"][0] if low != expected[0] else parts["scoreMax"][0],
            f"score range {low} to {high} does not match the items: "
            f"{method} gives {expected[0]} to {expected[1]}",
        )
    where, mcid = given("mcid", required=False)
    mcid_kind = ""
    if mcid is not None:
        mcid = _decimal(where, mcid, "mcid")
        if mcid <= 0:
            raise DefinitionError(where, f"mcid must be above 0, not {mcid}")
        mcid_kind = choice("mcidKind", McidKind.values)
    elif "mcidKind" in parts:
        raise DefinitionError(parts["mcidKind"][0], "mcidKind without an mcid")
    where, least = given("minAnswered", required=False)
    everything = len(items)
    if least is None:
        least = everything if method == ScoringMethod.SUM else 1
    least = _whole(least, where, "minAnswered")
    if not 1 <= least <= everything or (method == ScoringMethod.SUM and least != everything):
        allowed = f"1 to {everything}"
        if method == ScoringMethod.SUM:
            allowed = f"{everything}, every item, for a sum"
        raise DefinitionError(where, f"minAnswered must be {allowed}, not {least}")
    loinc = str(given("loinc", required=False)[1] or "")
    if loinc and not re.fullmatch(r"\d{1,7}-\d", loinc):
        raise DefinitionError(
            parts["loinc"][0], f"{loinc!r} is not a LOINC code (digits, a dash, a check digit)"
        )
    return {
        "method": method,
        "better": better,
        "score_min": low,
        "score_max": high,
        "mcid": mcid,
        "mcid_kind": mcid_kind,
        "min_answered": least,
        "loinc": loinc,
    }


def _decimal(where: str, value: Any, name: str) -> Decimal:
    """A scoring number as the instrument's columns hold it: at most 2 decimal places, under a million."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise DefinitionError(where, f"{name} must be a number (valueDecimal), not {value!r}")
    number = Decimal(str(value))
    if number != number.quantize(Decimal("0.01")) or abs(number) >= 1_000_000:
        raise DefinitionError(
            where, f"{name} {number} has more than 2 decimal places or is a million or more"
        )
    return number


def _method_range(method: str, items: list[ScoredItem]) -> tuple[Decimal, Decimal]:
    """The lowest and highest score a method can give over these items (percent: always 0 to 100)."""
    if method == ScoringMethod.PERCENT_OF_MAX:
        return Decimal(0), Decimal(100)
    if method == ScoringMethod.SUM:
        return Decimal(sum(item.low for item in items)), Decimal(sum(item.high for item in items))
    return Decimal(min(item.low for item in items)), Decimal(max(item.high for item in items))
