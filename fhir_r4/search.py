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

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Q
from django.http import QueryDict

from fhir_r4.resources import (
    CAREPLAN_STATUS,
    LOINC,
    LOW_BACK_PAIN_SNOMED,
    LOW_BACK_PAIN_WORDS,
    NPRS_LOINC,
    SNOMED,
)
from fhir_r4.search_values import (
    SearchError,
    ToQ,
    canonical_q,
    code_q,
    date_q,
    id_q,
    instant_field_q,
    instant_q,
    observation_status_q,
    reference_q,
    score_code_q,
    score_status_q,
    source_id_q,
    status_q,
    uri_q,
)
from portal.api.common import parse_id
from questionnaires.fhir import SCORE_SYSTEM
from questionnaires.models import ResponseStatus

#: A page of search results holds ``_count`` entries: 20 unless asked, at most 100.
DEFAULT_COUNT, MAX_COUNT = 20, 100
#: Parameters of every search besides the type's own: page size, page number (the paging links
#: carry it), and the format (JSON only).
CONTROL_PARAMS = ("_count", "_page", "_format")
JSON_FORMATS = ("json", "application/json", "application/fhir+json")


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type: its FHIR type, words for the CapabilityStatement,
    and how one value becomes a filter (``to_q(param name, value)``); for a type served from several
    sources (``fhir_r4.selectors.Source``), ``per_source`` holds the filter of a source by its label
    where it differs."""

    type: str
    documentation: str
    to_q: ToQ
    repeats: bool = False
    per_source: Mapping[str, ToQ] = field(default_factory=dict)


_ID = SearchParam("token", "The resource's id; comma-separated for any of several.", id_q)
_LAST_UPDATED = SearchParam(
    "date",
    "meta.lastUpdated, with prefix eq, ge, le, gt or lt; repeat for a range.",
    instant_q,
    repeats=True,
)
_PATIENT = "The patient (an id, or Patient/<id>); comma-separated for any of several."
_PLAN_STATUSES = {fhir: [plinth] for plinth, fhir in CAREPLAN_STATUS.items()}
_QUESTIONNAIRE_STATUSES = {code: [code] for code in ("draft", "active", "retired", "unknown")}
_RESPONSE_STATUSES = {
    "completed": [ResponseStatus.COMPLETED.value],
    "in-progress": [ResponseStatus.DRAFT.value],
}

_LBP = Q()
for _words in LOW_BACK_PAIN_WORDS:
    _LBP |= Q(condition__icontains=_words)

_COMMON = {"_id": _ID, "_lastUpdated": _LAST_UPDATED}
_OF_A_PATIENT = {
    **_COMMON,
    "patient": SearchParam("reference", _PATIENT, reference_q("patient_id")),
    "subject": SearchParam("reference", _PATIENT, reference_q("patient_id")),
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
            code_q(SNOMED, LOW_BACK_PAIN_SNOMED, _LBP),
        ),
    },
    "CarePlan": {
        **_OF_A_PATIENT,
        "status": SearchParam(
            "token",
            f"One of {', '.join(_PLAN_STATUSES)}; comma-separated for any.",
            status_q("status", _PLAN_STATUSES),
        ),
    },
    "Observation": {
        **_OF_A_PATIENT,
        "_id": SearchParam(
            "token",
            "The resource's id (12: a pain check-in; 41-score: a questionnaire's score); comma-separated.",
            source_id_q(""),
            per_source={"score": source_id_q("-score")},
        ),
        "code": SearchParam(
            "token",
            f"{LOINC}|{NPRS_LOINC} (pain severity, NPRS 0-10), or a questionnaire score's code: the "
            f"instrument's LOINC code, or {SCORE_SYSTEM}|<instrument code> (e.g. psfs).",
            code_q(LOINC, NPRS_LOINC, Q()),
            per_source={"score": score_code_q},
        ),
        "date": SearchParam(
            "date",
            "effectiveDateTime (a check-in: the patient's local date; a score: when it was sent, "
            "UTC days), prefix eq, ge, le, gt or lt; repeat for a range.",
            date_q("local_date"),
            repeats=True,
            per_source={"score": instant_field_q("completed_at")},
        ),
        "status": SearchParam(
            "token",
            "final, or amended (a check-in corrected by the patient).",
            observation_status_q,
            per_source={"score": score_status_q},
        ),
    },
    "Questionnaire": {
        **_COMMON,
        "url": SearchParam("uri", "The canonical URL, exactly.", uri_q("url")),
        "status": SearchParam(
            "token",
            f"One of {', '.join(_QUESTIONNAIRE_STATUSES)}; comma-separated for any.",
            status_q("definition__status", _QUESTIONNAIRE_STATUSES),
        ),
    },
    "QuestionnaireResponse": {
        **_OF_A_PATIENT,
        "status": SearchParam(
            "token",
            "completed (sent), or in-progress (a draft the patient may resume).",
            status_q("status", _RESPONSE_STATUSES),
        ),
        "authored": SearchParam(
            "date",
            "When it was sent (a draft: begun), UTC days or an instant, prefix eq, ge, le, gt or lt; "
            "repeat for a range.",
            instant_field_q("fhir_authored"),
            repeats=True,
        ),
        "questionnaire": SearchParam(
            "reference",
            "The Questionnaire: its canonical URL (|version optional) or Questionnaire/<id>.",
            canonical_q,
        ),
        "based-on": SearchParam(
            "reference", "The CarePlan (an id, or CarePlan/<id>).", reference_q("plan_id", "CarePlan")
        ),
    },
}


@dataclass(frozen=True)
class Search:
    """A search read from the query string: the filters of each source label (all must hold), the
    page size and number."""

    filters: dict[str, list[Q]]
    count: int
    page: int

    def where(self, label: str) -> list[Q]:
        """The filters for the source labelled ``label`` ("" the type's plain source)."""
        return self.filters.get(label, self.filters[""])


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
    labels = {""}.union(*(spec.per_source for spec in params.values()))
    filters: dict[str, list[Q]] = {label: [] for label in labels}
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
            spec = params[name]
            for value in values:
                if not value:
                    raise SearchError(label, "Give a value.")
                for source in labels:
                    filters[source].append(spec.per_source.get(source, spec.to_q)(name, value))
    return Search(filters=filters, count=count, page=page)
