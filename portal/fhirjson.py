"""FHIR JSON plumbing shared by every app that writes FHIR resources (``questionnaires.fhir``, the
``fhir_r4`` server): validation through ``fhir.resources``' R4B models, the bulk export's
unchecked mode, instants and literal references.

Which model package: ``fhir.resources`` 8 ships R5 as its top-level package and R4B (4.3.0) and
STU3 beside it; it has no R4 (4.0.1) package. R4B is R4's technical correction; the resources
Plinth writes (Patient, Practitioner, Organization, Condition, CarePlan, Observation,
Questionnaire, QuestionnaireResponse, Bundle, OperationOutcome, CapabilityStatement) use no
element that differs between 4.0.1 and 4.3.0, so a resource R4B's models accept is valid R4.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

_checking: ContextVar[bool] = ContextVar("fhir_checking", default=True)


@contextmanager
def unchecked() -> Iterator[None]:
    """Within this block ``validated`` leaves the model check out and only drops the empty (None)
    top-level elements, for the bulk export: fhir.resources' validation and dump cost ~1.5 ms a
    resource, hours for 8.4 million Observations. The output is the same dict either way (the
    tests compare both paths on every kind of object Plinth holds, and validate every line of an
    export), and the export still checks one resource of every batch."""
    token = _checking.set(False)
    try:
        yield
    finally:
        _checking.reset(token)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    # What model_dump(exclude_none=True) leaves of a builder's dict: the builders write None only
    # for a top-level element they leave out (the tests compare this with the validated dump).
    return {key: item for key, item in data.items() if item is not None}


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a resource as a dict, with ``resourceType``) checked by fhir.resources' R4B model of
    its type and returned as that model dumps it to JSON (None elements left out). Raises
    pydantic's ValidationError if it is not a valid resource: a defect in a builder, never the
    client's fault. Within ``unchecked()`` the dict without its None elements, unchecked."""
    if not _checking.get():
        return _compact(data)
    model = get_fhir_model_class(data["resourceType"])
    dumped: dict[str, Any] = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    return dumped


def reference(resource_type: str, pk: int | str) -> dict[str, str]:
    """A literal reference within this server: ``{"reference": "Patient/12"}``."""
    return {"reference": f"{resource_type}/{pk}"}


def instant(moment: datetime) -> str:
    """An aware datetime as FHIR JSON writes it, in UTC with "Z" (as fhir.resources dumps it)."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def meta(last_updated: datetime | None) -> dict[str, str] | None:
    """A resource's ``meta`` with its ``lastUpdated`` instant, or None (no meta) when not known."""
    return {"lastUpdated": instant(last_updated)} if last_updated is not None else None
