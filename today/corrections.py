"""A patient corrects a recent check-in: the same answers, checked the same way, kept in the trail.

A check-in of the last ``accounts.localday.CORRECTION_DAYS`` (3) local days (today and
the two before it, in the patient's own calendar) can be corrected: pain (NPRS), side,
the red-flag answers and the note. Its day cannot move. An older check-in is read-only
(code ``checkin_too_old``). A correction is one transaction, like a new check-in: the
rate limit, the change, its ``checkin.corrected`` audit entry with the values before and
after, and a red-flag alert for any flag newly answered yes (today.services.red_flag_raise,
the rule of a new check-in); the alert email and the plan's outcome refresh are queued once
it commits. The therapist sees the check-in marked "edited", with when (``corrected_at``).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.localday import CHECKIN_TOO_OLD, CORRECTION_DAYS, correction_open
from accounts.models import Patient
from audit.services import audit_log
from checkins.models import PainCheckIn
from portal.errors import DomainError
from today.services import (
    CheckInAnswers,
    enqueue_after_commit,
    red_flag_raise,
    refuse_past_rate_limit,
    validate_answers,
)

#: The answers a correction may change, in CheckInAnswers' order (the day never moves).
CORRECTABLE_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(CheckInAnswers))


def too_old(checkin: PainCheckIn, *, patient: Patient) -> DomainError:
    """The refusal of a correction to ``checkin``, older than the correction window."""
    return DomainError(
        f"The check-in of {checkin.local_date:%A %-d %B %Y} can no longer be changed: check-ins "
        f"can be corrected for {CORRECTION_DAYS} days (today and the {CORRECTION_DAYS - 1} days "
        f"before, in {patient.timezone}). Tell your therapist if something in it was wrong.",
        code=CHECKIN_TOO_OLD,
    )


def checkin_correct(
    *,
    patient: Patient,
    checkin_id: int,
    changes: dict[str, Any],
    now: datetime | None = None,
    ip: str | None = None,
) -> tuple[PainCheckIn, bool]:
    """Correct one of ``patient``'s own recent check-ins. Returns (check-in, changed).

    ``changes``: new values by field name, any of ``CORRECTABLE_FIELDS`` (``nprs``: NPRS
    0-10, LOINC 72514-3; ``side``: a ``Side`` value; the four ``flag_*`` red-flag answers,
    DESIGN.md's, as today.services.checkin_submit takes them; ``note``: at most
    ``NOTE_MAX`` characters after trimming); a field left out keeps its value. ``now``: an
    aware datetime (default now). Values equal to the stored ones change nothing: no
    audit entry, no "edited" mark (changed False). Otherwise the check-in is saved with
    ``corrected_at = now``, audited as ``checkin.corrected`` with the changed fields'
    values before and after, a flag newly answered yes opens a red-flag alert as on a new
    check-in, and the plan's outcome refresh (and the alert's email) are queued after commit.

    Raises DomainError: not_found (no check-in ``checkin_id`` of this patient),
    checkin_too_old (older than ``CORRECTION_DAYS``, 3, local days), unknown_field (a
    name not in ``CORRECTABLE_FIELDS``), invalid_nprs (nprs), unknown_side (side),
    too_long (note); RateLimited (code rate_limited) past ``PLINTH_RATE_LIMITS["checkin"]``.
    """
    unknown = sorted(set(changes) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise DomainError(
            f"Only these answers can be corrected: {', '.join(CORRECTABLE_FIELDS)}.",
            field=unknown[0],
            code="unknown_field",
        )
    now = now or timezone.now()
    with transaction.atomic():
        checkin = PainCheckIn.objects.select_for_update().filter(patient=patient, pk=checkin_id).first()
        if checkin is None:
            raise DomainError("No such check-in of yours.", code="not_found")
        if not correction_open(patient=patient, day=checkin.local_date, now=now):
            raise too_old(checkin, patient=patient)
        current = {name: getattr(checkin, name) for name in CORRECTABLE_FIELDS}
        wanted = {**current, **changes}
        if isinstance(wanted["note"], str):
            wanted["note"] = wanted["note"].strip()
        answers = CheckInAnswers(**wanted)
        validate_answers(answers)
        after = asdict(answers)
        changed = [name for name in CORRECTABLE_FIELDS if after[name] != current[name]]
        if not changed:
            return checkin, False
        refuse_past_rate_limit(patient=patient, now=now)
        previous = dict(current)
        for name in changed:
            setattr(checkin, name, after[name])
        checkin.corrected_at = now
        checkin.save(update_fields=[*changed, "corrected_at"])
        audit_log(
            action="checkin.corrected",
            actor=patient.user,
            obj=checkin,
            patient=patient,
            ip=ip,
            data={
                "local_date": checkin.local_date.isoformat(),
                "before": {name: previous[name] for name in changed},
                "after": {name: after[name] for name in changed},
            },
        )
        alert = red_flag_raise(patient=patient, checkin=checkin, previous=previous, now=now, ip=ip)
        enqueue_after_commit(checkin.plan_id, alert.pk if alert else None)
    return checkin, True
