"""A patient's questionnaire response as FHIR: a ``QuestionnaireResponse`` and one ``Observation``
per score, alone or in a ``Bundle`` of type collection (the API's export; issue 20's FHIR server
builds on these same functions).

Which FHIR release: the issue asks for valid R4. ``fhir.resources`` 8.3 ships R5 as its top-level
package and two older releases, ``fhir.resources.R4B`` and ``fhir.resources.STU3``; it has no
plain R4 package. R4B (4.3) is R4's technical correction: ``QuestionnaireResponse``,
``Observation`` and ``Bundle`` have the same elements in R4 and R4B (none that R4B added is used
here), so every resource built here is validated against the R4B models and is valid R4 as
written, and the definitions are checked against the same release (``questionnaires.definitions``).
R5 is not used: its ``QuestionnaireResponse.questionnaire`` and ``Observation`` differ from R4's.
``fhir.resources`` checks structure and value types, not code bindings, so the codes used here
(statuses, categories) are the release's own values, written out below.

What is exported:

- ``QuestionnaireResponse``: ``questionnaire`` the instrument's canonical URL with its version
  (``url|version``), ``status`` completed (sent) or in-progress (a draft), ``subject`` and
  ``author`` the patient (``Patient/<id>``), ``authored`` when it was sent (a draft: when it was
  begun), and one ``item`` per answered question in the definition's order and nesting (groups
  kept): an integer rating as ``valueInteger``, a choice as ``valueCoding`` (the definition's
  option), free text (a PSFS activity) as ``valueString``. A skipped question has no item.
- ``Observation`` for the response's score (a sent response with a score; none for a draft or a
  response with too few answers to score): category ``survey``, ``code`` the score's LOINC code
  where the instrument's scoring extension names one, else ``SCORE_SYSTEM`` with the
  instrument's code, with the instrument's title as text either way; ``valueQuantity`` the score
  (2 decimal places; unit ``%`` for a percent-of-maximum score, else ``{score}``, UCUM's
  annotation for a unitless score), ``effectiveDateTime`` when it was sent, ``derivedFrom`` the
  response.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from questionnaires.definitions import ORDINAL_URL
from questionnaires.models import InstrumentResponse, ResponseStatus, ScoringMethod

#: The code system of an instrument's score when the instrument names no LOINC code.
SCORE_SYSTEM = "https://plinth.example/fhir/CodeSystem/instrument-score"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
#: The namespace of the bundle entries' ``urn:uuid`` full URLs (stable: one per record).
ENTRY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://plinth.example/fhir")

FhirJson = dict[str, Any]


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def entry_url(resource_type: str, resource_id: str) -> str:
    """The ``urn:uuid`` full URL a bundle gives a resource: the same for the same record every time."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'{resource_type}/{resource_id}')}"


def _patient_reference(response: InstrumentResponse) -> FhirJson:
    return {"reference": f"Patient/{response.patient_id}"}


def _answer(node: Mapping[str, Any], value: Any) -> FhirJson | None:
    """One answer as FHIR, or None when the stored value does not fit the item (never stored)."""
    kind = node["type"]
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return {"valueInteger": value}
    if kind in ("string", "text") and isinstance(value, str):
        return {"valueString": value}
    if kind == "choice":
        for option in node.get("answerOption") or []:
            ordinal = next(
                (
                    ext.get("valueDecimal")
                    for ext in option.get("extension", [])
                    if ext.get("url") == ORDINAL_URL
                ),
                None,
            )
            if ordinal is not None and ordinal == value and "valueCoding" in option:
                return {"valueCoding": dict(option["valueCoding"])}
    return None


def _items(nodes: list[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[FhirJson]:
    """The answered items of ``nodes`` in order; a group kept when any item inside it is answered."""
    out: list[FhirJson] = []
    for node in nodes:
        link_id = str(node["linkId"])
        item: FhirJson = {"linkId": link_id}
        if node.get("text"):
            item["text"] = str(node["text"])
        if node["type"] == "group":
            inner = _items(node.get("item") or [], answers)
            if inner:
                out.append(item | {"item": inner})
            continue
        answer = _answer(node, answers.get(link_id))
        if answer is not None:
            out.append(item | {"answer": [answer]})
    return out


def questionnaire_response_resource(response: InstrumentResponse) -> FhirJson:
    """``response`` (its instrument loaded) as a FHIR R4 ``QuestionnaireResponse`` (JSON, validated
    with ``fhir.resources.R4B``; see the module docstring for what it holds). ``id``: the response's id.

    Raises ``pydantic.ValidationError`` if the resource is not valid FHIR (a defect, never data).
    """
    instrument = response.instrument
    sent = response.status == ResponseStatus.COMPLETED
    authored = response.completed_at if sent and response.completed_at else response.started_at
    data: FhirJson = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "questionnaire": f"{instrument.url}|{instrument.version}",
        "status": "completed" if sent else "in-progress",
        "subject": _patient_reference(response),
        "author": _patient_reference(response),
        "authored": _instant(authored),
    }
    items = _items(instrument.definition.get("item") or [], response.answers)
    if items:
        data["item"] = items
    return QuestionnaireResponse.model_validate(data).model_dump(mode="json")


def score_observations(response: InstrumentResponse, *, derived_from: str | None = None) -> list[FhirJson]:
    """The scores of ``response`` (its instrument loaded) as FHIR R4 ``Observation`` resources
    (validated with ``fhir.resources.R4B``): one for a sent response with a score, none otherwise.

    ``derived_from``: the reference to the response the observation points back to (default
    ``QuestionnaireResponse/<id>``; a bundle passes its entry's full URL).
    Raises ``pydantic.ValidationError`` if a resource is not valid FHIR (a defect, never data).
    """
    if response.status != ResponseStatus.COMPLETED or response.score is None or response.completed_at is None:
        return []
    instrument = response.instrument
    text = f"{instrument.title} score"
    coding = (
        {"system": LOINC, "code": instrument.loinc, "display": text}
        if instrument.loinc
        else {"system": SCORE_SYSTEM, "code": instrument.code, "display": text}
    )
    percent = instrument.method == ScoringMethod.PERCENT_OF_MAX
    unit = "%" if percent else "{score}"
    data: FhirJson = {
        "resourceType": "Observation",
        "id": f"{response.pk}-score",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [coding], "text": text},
        "subject": _patient_reference(response),
        "performer": [_patient_reference(response)],
        "effectiveDateTime": _instant(response.completed_at),
        "issued": _instant(response.completed_at),
        "valueQuantity": {"value": round(response.score, 2), "unit": unit, "system": UCUM, "code": unit},
        "derivedFrom": [{"reference": derived_from or f"QuestionnaireResponse/{response.pk}"}],
    }
    return [Observation.model_validate(data).model_dump(mode="json")]


def response_bundle(response: InstrumentResponse, *, now: datetime | None = None) -> FhirJson:
    """``response`` (its instrument loaded) as a FHIR R4 ``Bundle`` of type collection: its
    ``QuestionnaireResponse`` first, then its score ``Observation`` (if any), each entry with a
    stable ``urn:uuid`` full URL, the observation's ``derivedFrom`` pointing at the response's
    entry. ``now``: the bundle's ``timestamp`` (default right now). Validated with
    ``fhir.resources.R4B``; raises ``pydantic.ValidationError`` only on a defect."""
    resource = questionnaire_response_resource(response)
    full_url = entry_url("QuestionnaireResponse", resource["id"])
    entries = [{"fullUrl": full_url, "resource": resource}]
    for observation in score_observations(response, derived_from=full_url):
        entries.append({"fullUrl": entry_url("Observation", observation["id"]), "resource": observation})
    data: FhirJson = {
        "resourceType": "Bundle",
        "id": f"questionnaire-response-{response.pk}",
        "type": "collection",
        "timestamp": _instant(now or timezone.now()),
        "entry": entries,
    }
    return Bundle.model_validate(data).model_dump(mode="json")
