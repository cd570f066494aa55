"""Writes for questionnaires: loading a definition as an instrument, the shipped definitions, and a
patient's responses (a draft kept to resume, a response sent and scored)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import Clinic, Patient, User
from audit.selectors import refuse_past_audited_limit
from audit.services import audit_log
from portal.errors import DomainError
from questionnaires.answers import Answer, answer_problems, scored_answers
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoring import instrument_score
from questionnaires.selectors import Occasion, earlier_activities, instrument_in_scope, occasion_of
from questionnaires.signals import response_completed

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


# --- a patient's responses ------------------------------------------------------------


def _writable(
    *, patient: Patient, schedule_id: int, now: datetime
) -> tuple[Occasion, InstrumentResponse | None]:
    """The occasion (``selectors.occasion_of``) and its response locked for the write; refuses
    ``not_found`` for anyone else's or an unknown one, ``not_due`` outside the window (on the
    patient's local date at ``now``) and ``already_completed`` once sent."""
    try:
        occasion = occasion_of(patient=patient, schedule_id=schedule_id)
    except Http404 as error:
        raise DomainError("No such questionnaire.", code="not_found") from error
    if not occasion.open_on(patient.local_today(now)):
        raise DomainError(
            f"This questionnaire is open from {occasion.opens_on:%A %-d %B} "
            f"to {occasion.closes_on:%A %-d %B}.",
            code="not_due",
        )
    response = InstrumentResponse.objects.select_for_update().filter(schedule=occasion.schedule).first()
    if response is not None and response.status == ResponseStatus.COMPLETED:
        raise DomainError("You have already sent this questionnaire.", code="already_completed")
    return occasion, response


def _checked_answers(
    occasion: Occasion, answers: Mapping[str, Answer], *, complete: bool
) -> dict[str, Answer]:
    kept = {k: (v.strip() if isinstance(v, str) else v) for k, v in answers.items()}
    kept = {k: v for k, v in kept.items() if v is not None and v != ""}
    named = earlier_activities(occasion=occasion)
    problems = answer_problems(occasion.instrument, kept, complete=complete, named=named)
    if problems:
        raise problems[0]
    return kept


def _saved(
    occasion: Occasion,
    response: InstrumentResponse | None,
    patient: Patient,
    fields: dict[str, Any],
    *,
    now: datetime,
) -> InstrumentResponse:
    if response is None:
        try:
            with transaction.atomic():
                return InstrumentResponse.objects.create(
                    patient=patient,
                    plan=occasion.plan,
                    schedule=occasion.schedule,
                    instrument=occasion.instrument,
                    occasion=occasion.schedule.occasion,
                    opens_on=occasion.opens_on,
                    closes_on=occasion.closes_on,
                    started_at=now,
                    **fields,
                )
        except IntegrityError as error:  # the same questionnaire sent twice at once
            raise DomainError(
                "This questionnaire was saved a moment ago; open it again.", code="conflict"
            ) from error
    for name, value in fields.items():
        setattr(response, name, value)
    response.save(update_fields=list(fields))
    return response


#: The audit action of a kept draft: what the drafts' rate limit counts.
DRAFTED = "questionnaire_response.drafted"


def refuse_past_draft_limit(*, patient: Patient, now: datetime) -> None:
    """Raise ``RateLimited`` if ``patient`` already kept ``PLINTH_RATE_LIMITS["questionnaire_draft"]``
    drafts (30 a minute by default) in this window, page and API together; ``now`` an aware
    datetime. As the check-ins' limit, from the audit trail
    (``audit.selectors.refuse_past_audited_limit``): a person saving by hand never comes near it;
    a script saving in a loop stops filling the audit trail."""
    refuse_past_audited_limit(
        patient=patient, actions=(DRAFTED,), limit="questionnaire_draft", now=now, what="questionnaire drafts"
    )


@transaction.atomic
def response_save_draft(
    *,
    patient: Patient,
    schedule_id: int,
    answers: Mapping[str, Answer],
    ip: str | None = None,
    now: datetime | None = None,
) -> InstrumentResponse:
    """Keep the answers so far of one of the patient's due questionnaires, to resume later.

    ``answers``: linkId to a whole number (scored items) or text; None or "" for unanswered.
    Each given answer is checked as at sending (``answers.answer_problems``), required items
    may be missing. Replaces an earlier draft's answers; audited ``questionnaire_response.drafted``.

    ``now``: the moment the patient answers, default right now. The window is checked on the
    patient's local date at that moment and a new response's ``started_at`` is that moment; an
    earlier moment is only for loading answers given then (the demo clinic,
    ``portal.management.commands.demo_clinic``), never for a request.

    Raises DomainError: ``not_found`` (not a questionnaire of the patient's active plan),
    ``not_due``, ``already_completed``, or the first of ``answer_problems`` (``field`` the linkId;
    at a later PSFS occasion ``activity_renamed`` when an activity named at the first one,
    ``selectors.earlier_activities``, is renamed or left out of its slot); ``RateLimited``
    (``rate_limited``) past ``refuse_past_draft_limit``, nothing saved.
    """
    now = now or timezone.now()
    occasion, response = _writable(patient=patient, schedule_id=schedule_id, now=now)
    refuse_past_draft_limit(patient=patient, now=now)
    kept = _checked_answers(occasion, answers, complete=False)
    response = _saved(occasion, response, patient, {"answers": kept}, now=now)
    audit_log(
        action=DRAFTED,
        actor=patient.user,
        obj=response,
        ip=ip,
        data={"instrument": occasion.instrument.code, "occasion": response.occasion, "answered": len(kept)},
    )
    return response


@transaction.atomic
def response_submit(
    *,
    patient: Patient,
    schedule_id: int,
    answers: Mapping[str, Answer],
    ip: str | None = None,
    now: datetime | None = None,
) -> InstrumentResponse:
    """Send one of the patient's due questionnaires: checked in full (every required item
    answered), scored with ``scoring.instrument_score``, completed; audited
    ``questionnaire_response.completed``. A draft becomes the completed response. One
    transaction: a refusal saves nothing (an earlier draft stays as it was).

    ``now``: as for ``response_save_draft``; ``completed_at`` (and a new response's
    ``started_at``) is that moment. Once committed, sends ``signals.response_completed`` (the
    plan's outcome figures are recomputed).

    Raises as ``response_save_draft``, and ``required`` (``field`` the linkId) for a required
    item left out.
    """
    now = now or timezone.now()
    occasion, response = _writable(patient=patient, schedule_id=schedule_id, now=now)
    kept = _checked_answers(occasion, answers, complete=True)
    score = instrument_score(occasion.instrument, scored_answers(occasion.instrument, kept))
    response = _saved(
        occasion,
        response,
        patient,
        {
            "answers": kept,
            "status": ResponseStatus.COMPLETED,
            "score": score.value,
            "answered": score.answered,
            "skipped": score.skipped,
            "completed_at": now,
        },
        now=now,
    )
    audit_log(
        action="questionnaire_response.completed",
        actor=patient.user,
        obj=response,
        ip=ip,
        data={"instrument": occasion.instrument.code, "occasion": response.occasion, "score": score.value},
    )
    plan_id, response_id = response.plan_id, response.pk
    transaction.on_commit(
        lambda: response_completed.send(sender=InstrumentResponse, plan_id=plan_id, response_id=response_id)
    )
    return response
