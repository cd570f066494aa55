"""Writes for questionnaires: loading a definition as an instrument, and the shipped definitions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Clinic, User
from audit.services import audit_log
from portal.errors import DomainError
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.models import Instrument
from questionnaires.selectors import instrument_in_scope

#: The shipped definitions, free to use: PSFS, PEG and the global rating of change.
SHIPPED_DIR = Path(__file__).with_name("definitions")


def instrument_load(
    data: Any, *, clinic: Clinic | None = None, by: User | None = None, ip: str | None = None
) -> Instrument:
    """Load a definition (the parsed JSON of a FHIR Questionnaire) as an instrument.

    ``clinic``: None for a shared instrument, else the clinic whose licensed instrument it is
    (only that clinic sees it). Checked in full first (``definitions.definition_checked``), then
    saved with an ``instrument.loaded`` audit entry in one transaction: a refusal saves nothing.
    Loading a definition identical to the one already loaded for this code, version and scope
    returns that instrument and writes nothing. Returns the instrument.

    Raises ``DefinitionError`` (code ``definition_invalid``, with ``.path`` and ``.reason``) for a
    bad definition and ``DomainError`` code ``instrument_exists`` when this scope already has
    this code and version with a different definition (change the version to load a new one).
    """
    return _loaded(data, clinic=clinic, by=by, ip=ip)[0]


def _loaded(data: Any, *, clinic: Clinic | None, by: User | None, ip: str | None) -> tuple[Instrument, bool]:
    """``instrument_load``'s work; also says whether the instrument is new."""
    checked = definition_checked(data)
    conflict = instrument_conflict(checked, clinic=clinic)
    if conflict is not None:
        raise conflict
    existing = instrument_in_scope(code=checked.code, version=checked.version, clinic=clinic)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            instrument = Instrument.objects.create(
                code=checked.code,
                title=checked.title,
                version=checked.version,
                url=checked.url,
                clinic=clinic,
                definition=checked.data,
                method=checked.method,
                score_min=checked.score_min,
                score_max=checked.score_max,
                better=checked.better,
                mcid=checked.mcid,
                mcid_kind=checked.mcid_kind,
                min_answered=checked.min_answered,
                loinc=checked.loinc,
                loaded_by=by,
            )
            audit_log(
                action="instrument.loaded",
                actor=by,
                obj=instrument,
                clinic=clinic,
                ip=ip,
                data={"code": checked.code, "version": checked.version, "title": checked.title},
            )
    except IntegrityError as error:  # loaded at the same moment by someone else
        raise _exists(checked.code, checked.version) from error
    return instrument, True


def instrument_conflict(checked: CheckedDefinition, *, clinic: Clinic | None) -> DomainError | None:
    """The refusal (code ``instrument_exists``) if this scope holds the definition's code and version
    with a different definition, else None (nothing there, or the same definition)."""
    existing = instrument_in_scope(code=checked.code, version=checked.version, clinic=clinic)
    if existing is None or existing.definition == checked.data:
        return None
    return _exists(checked.code, checked.version)


def _exists(code: str, version: str) -> DomainError:
    return DomainError(
        f"{code} version {version} is already loaded with a different definition; "
        "give the file a new version.",
        field="version",
        code="instrument_exists",
    )


@dataclass(frozen=True)
class ShippedLoadResult:
    loaded: int
    unchanged: int


def questionnaires_load_shipped(*, by: User | None = None) -> ShippedLoadResult:
    """Load every shipped definition (``SHIPPED_DIR/*.json``) as a shared instrument; idempotent.

    One transaction: a refused file (``DefinitionError``, ``instrument_exists``: a shipped file
    changed without a new version) loads none of them. Returns how many were loaded and how many
    were there already.
    """
    loaded = unchanged = 0
    with transaction.atomic():
        for path in sorted(SHIPPED_DIR.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if _loaded(data, clinic=None, by=by, ip=None)[1]:
                loaded += 1
            else:
                unchanged += 1
    return ShippedLoadResult(loaded, unchanged)
