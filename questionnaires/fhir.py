"""Questionnaires as FHIR: an instrument as a ``Questionnaire``, a patient's response as a
``QuestionnaireResponse`` and one ``Observation`` per score, alone or in a ``Bundle`` of type
collection (the API's export). The FHIR server (``fhir_r4``) serves these same builders, with each
row's ``meta.lastUpdated``; within ``portal.fhirjson.unchecked()`` (the bulk export) they skip
the model check like every other builder.

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

- ``Questionnaire``: the instrument's definition as loaded (a FHIR Questionnaire, checked when it
  was loaded by ``questionnaires.definitions``) with the instrument's id, ``url`` and ``version``.
- ``QuestionnaireResponse``: ``questionnaire`` the instrument's canonical URL with its version
  (``url|version``), ``status`` completed (sent) or in-progress (a draft), ``basedOn`` the care
  plan that scheduled it, ``subject`` and ``author`` the patient (``Patient/<id>``), ``authored``
  when it was sent (a draft: when it was begun), and one ``item`` per answered question in the
  definition's order and nesting (groups kept): an integer rating as ``valueInteger``, a choice as
  ``valueCoding`` (the definition's option), free text (a PSFS activity) as ``valueString``. A
  skipped question has no item.
- ``Observation`` for the response's score (a sent response with a score; none for a draft or a
  response with too few answers to score): category ``survey``, ``code`` the score's LOINC code
  where the instrument's scoring extension names one, else ``SCORE_SYSTEM`` with the
  instrument's code, with the instrument's title as text either way; ``valueQuantity`` the score
  (2 decimal places; unit ``%`` for a percent-of-maximum score, else ``{score}``, UCUM's
  annotation for a unitless score), ``effectiveDateTime`` when it was sent, ``basedOn`` the care
  plan, ``derivedFrom`` the response. Its id is the response's id with ``-score`` (``SCORE_ID``),
  apart from the pain check-ins' Observations, whose ids are plain numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from portal.fhirjson import instant, meta, reference, validated
from questionnaires.definitions import ORDINAL_URL
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus, ScoringMethod

#: The code system of an instrument's score when the instrument names no LOINC code.
SCORE_SYSTEM = "https://plinth.example/fhir/CodeSystem/instrument-score"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
#: The namespace of the bundle entries' ``urn:uuid`` full URLs (stable: one per record).
ENTRY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://plinth.example/fhir")
#: A score Observation's id: its response's id and this suffix ("41-score").
SCORE_ID = "{pk}-score"

FhirJson = dict[str, Any]


def entry_url(resource_type: str, resource_id: str) -> str:
    """The ``urn:uuid`` full URL a bundle gives a resource: the same for the same record every time."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'{resource_type}/{resource_id}')}"


def _patient_reference(response: InstrumentResponse) -> FhirJson:
    return reference("Patient", response.patient_id)


def questionnaire_resource(instrument: Instrument, *, last_updated: datetime | None = None) -> FhirJson:
    """``instrument`` as a FHIR R4 ``Questionnaire``: its definition as loaded, with the
    instrument's id (the definition's own ``id`` is a name, and two clinics may load one), canonical
    ``url`` and ``version``; ``meta.lastUpdated`` ``last_updated`` when given (an instrument is never
    changed once loaded: a new version is a new instrument). Raises ``pydantic.ValidationError``
    only on a defect (the definition was checked when it was loaded)."""
    data: FhirJson = dict(instrument.definition)
    data |= {"id": str(instrument.pk), "url": instrument.url, "version": instrument.version}
    data["meta"] = meta(last_updated)
    return validated(data)


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


def questionnaire_response_resource(
    response: InstrumentResponse, *, last_updated: datetime | None = None
) -> FhirJson:
    """``response`` (its instrument loaded) as a FHIR R4 ``QuestionnaireResponse`` (JSON, validated
    with ``fhir.resources.R4B``; see the module docstring for what it holds). ``id``: the response's
    id; ``meta.lastUpdated`` ``last_updated`` when given (the FHIR server passes the row's).

    Raises ``pydantic.ValidationError`` if the resource is not valid FHIR (a defect, never data).
    """
    instrument = response.instrument
    sent = response.status == ResponseStatus.COMPLETED
    authored = response.completed_at if sent and response.completed_at else response.started_at
    data: FhirJson = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "meta": meta(last_updated),
        "questionnaire": f"{instrument.url}|{instrument.version}",
        "basedOn": [reference("CarePlan", response.plan_id)],
        "status": "completed" if sent else "in-progress",
        "subject": _patient_reference(response),
        "author": _patient_reference(response),
        "authored": instant(authored),
        "item": _items(instrument.definition.get("item") or [], response.answers) or None,
    }
    return validated(data)


def score_observations(
    response: InstrumentResponse, *, derived_from: str | None = None, last_updated: datetime | None = None
) -> list[FhirJson]:
    """The scores of ``response`` (its instrument loaded) as FHIR R4 ``Observation`` resources
    (validated with ``fhir.resources.R4B``): one for a sent response with a score, none otherwise.

    ``derived_from``: the reference to the response the observation points back to (default
    ``QuestionnaireResponse/<id>``; a bundle passes its entry's full URL). ``last_updated``: its
    ``meta.lastUpdated`` when given.
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
        "id": SCORE_ID.format(pk=response.pk),
        "meta": meta(last_updated),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [coding], "text": text},
        "subject": _patient_reference(response),
        "basedOn": [reference("CarePlan", response.plan_id)],
        "performer": [_patient_reference(response)],
        "effectiveDateTime": instant(response.completed_at),
        "issued": instant(response.completed_at),
        "valueQuantity": {"value": round(response.score, 2), "unit": unit, "system": UCUM, "code": unit},
        "derivedFrom": [{"reference": derived_from or f"QuestionnaireResponse/{response.pk}"}],
    }
    return [validated(data)]


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
        "timestamp": instant(now or timezone.now()),
        "entry": entries,
    }
    return validated(data)
