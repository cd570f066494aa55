"""Writes for pain check-ins and alerts. One service; every write all or nothing.

A check-in is one transaction: the rate limit, the check-in, its audit entry
and any alert are written together or not at all.

A check-in belongs to the local date the patient answered for: the page sends
the date it was rendered for, the API an optional ``local_date``. The server
still decides whether that date takes answers (``accounts.localday``): today,
or yesterday until 2 hours after local midnight, never a future date, an older
one, or one before the plan starts. Without a date, it is the patient's own
calendar date when the server receives it: a patient in Los Angeles checking
in at 23:30 reports for that evening's date, one in Sydney at 00:30 for the
new day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.localday import answer_day
from accounts.models import Patient
from alerts.attention_cache import attention_changed
from alerts.models import Alert, AlertKind
from alerts.tasks import alert_email_send
from audit.selectors import refuse_past_audited_limit
from audit.services import audit_log
from careplans.models import CarePlan, PlanStatus
from checkins.models import NPRS_MAX, NPRS_MIN, PainCheckIn, Side
from checkins.redflags import RED_FLAGS, Urgency
from outcomes.services import outcome_recompute_enqueue
from portal.errors import BROKER_ERRORS, DomainError
from portal.validity import max_length_of

log = logging.getLogger(__name__)


NOTE_MAX = max_length_of(PainCheckIn, "note")


# Side.values builds a new list on every access.
_SIDES = frozenset(Side.values)


#: What a replaced check-in keeps in the audit trail.
CHECKIN_VALUE_FIELDS: tuple[str, ...] = ("nprs", "side", *PainCheckIn.RED_FLAG_FIELDS, "note", "received_at")


@dataclass(frozen=True)
class CheckInAnswers:
    """One day's answers as the patient gave them, already typed."""

    nprs: int
    side: str
    flag_leg_weakness: bool = False
    flag_bladder_bowel: bool = False
    flag_fever: bool = False
    flag_weight_loss: bool = False
    note: str = ""


def validate_answers(answers: CheckInAnswers) -> None:
    """Raise DomainError invalid_nprs (nprs), unknown_side (side) or too_long (note) for bad answers."""
    # The forms and the API check the same things first; this is the last word
    # for any other caller (the database also refuses NPRS outside 0-10).
    nprs = answers.nprs
    if isinstance(nprs, bool) or not isinstance(nprs, int) or not NPRS_MIN <= nprs <= NPRS_MAX:
        raise DomainError(
            f"Pain must be a whole number from {NPRS_MIN} to {NPRS_MAX}.", field="nprs", code="invalid_nprs"
        )
    if answers.side not in _SIDES:
        raise DomainError(
            f"Side must be one of: {', '.join(Side.values)}.", field="side", code="unknown_side"
        )
    if len(answers.note) > NOTE_MAX:
        raise DomainError(f"The note can be at most {NOTE_MAX} characters.", field="note", code="too_long")


def checkin_values(checkin: PainCheckIn) -> dict[str, Any]:
    """The answers of ``checkin`` as the audit trail keeps them (``CHECKIN_VALUE_FIELDS``)."""
    values = {name: getattr(checkin, name) for name in CHECKIN_VALUE_FIELDS}
    # Always with microseconds, so entries compare as text.
    values["received_at"] = checkin.received_at.isoformat(timespec="microseconds")
    return values


def _publish(what: str, send: Callable[[], Any]) -> None:
    """Enqueue a task without ever failing the request that caused it.

    With the broker down the check-in is already committed; the nightly jobs
    recompute outcomes and the alert stays visible in the app, so logging is
    the right response, not a 500.
    """
    try:
        send()
    except BROKER_ERRORS:
        log.exception("could not enqueue %s; the nightly job will catch up", what)


def _no_active_plan() -> DomainError:
    return DomainError(
        "You have no active care plan, so there is nothing to check in against yet. "
        "Your therapist starts a plan for you.",
        field="plan",
        code="no_active_plan",
    )


def _plan_not_started(start: date) -> DomainError:
    return DomainError(
        f"Your plan starts on {start:%A %d %B}; check-ins open on that day.",
        field="plan",
        code="plan_not_started",
    )


#: The audit actions of a saved check-in: what the rate limit counts (a correction, today.corrections,
#: is one more save).
CHECKIN_ACTIONS: tuple[str, ...] = ("checkin.created", "checkin.replaced", "checkin.corrected")


def refuse_past_rate_limit(*, patient: Patient, now: datetime) -> None:
    """Raise ``RateLimited`` if ``patient`` already saved ``settings.PLINTH_RATE_LIMITS["checkin"]``
    check-ins (saves, corrections included: ``CHECKIN_ACTIONS``) in this window; ``now`` an aware
    datetime. The window and the count: ``audit.selectors.refuse_past_audited_limit``."""
    refuse_past_audited_limit(
        patient=patient, actions=CHECKIN_ACTIONS, limit="checkin", now=now, what="check-ins"
    )


def enqueue_after_commit(plan_id: int, alert_id: int | None) -> None:
    """Once the transaction commits: email alert ``alert_id`` (if any), refresh plan ``plan_id``'s outcome."""
    if alert_id is not None:
        transaction.on_commit(
            lambda: _publish(f"alert email {alert_id}", lambda: alert_email_send.delay(alert_id))
        )
    # Coalesced: skipped while a recompute of this plan is queued and not yet started.
    transaction.on_commit(
        lambda: _publish(f"outcome recompute {plan_id}", lambda: outcome_recompute_enqueue(plan_id))
    )


def _red_flag_detail(checkin: PainCheckIn) -> str:
    """The alert's words for the therapist: the flags most urgent first (checkins.redflags), an
    emergency said as one, then the pain."""
    flags = [
        f"{flag.name} (an emergency: the patient was told to call emergency services)"
        if flag.urgency is Urgency.EMERGENCY
        else flag.name
        for flag in RED_FLAGS
        if getattr(checkin, flag.field)
    ]
    return f"Reported on {checkin.local_date:%a %d %b %Y}: {'; '.join(flags)}. Pain {checkin.nprs}/10."


def red_flag_raise(
    *,
    patient: Patient,
    checkin: PainCheckIn,
    previous: dict[str, Any] | None,
    now: datetime,
    ip: str | None,
) -> Alert | None:
    """Open a red-flag alert for the flags ``checkin`` (of ``patient``) answers yes that ``previous`` did not.

    ``previous``: the check-in's values before this save (``checkin_values``), None for a
    new one. The same answers saved twice are one thing for the therapist to see: no
    flag newly answered yes, no alert (returns None). Writes the ``alert.opened`` audit
    entry; the caller emails it after commit (``enqueue_after_commit``).
    """
    raised = [
        name
        for name in PainCheckIn.RED_FLAG_FIELDS
        if getattr(checkin, name) and not (previous and previous[name])
    ]
    if not raised:
        return None
    alert = Alert.objects.create(
        patient=patient,
        plan_id=checkin.plan_id,
        checkin=checkin,
        kind=AlertKind.RED_FLAG,
        detail=_red_flag_detail(checkin),
        opened_at=now,
    )
    attention_changed([patient.clinic_id])
    audit_log(
        action="alert.opened",
        actor=patient.user,
        obj=alert,
        patient=patient,
        ip=ip,
        data={"kind": alert.kind, "flags": raised},
    )
    return alert


def checkin_submit(
    *,
    patient: Patient,
    nprs: int,
    side: str,
    flag_leg_weakness: bool = False,
    flag_bladder_bowel: bool = False,
    flag_fever: bool = False,
    flag_weight_loss: bool = False,
    note: str = "",
    local_date: date | None = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> tuple[PainCheckIn, bool]:
    """Record the check-in of one local date, or replace its earlier one. Returns (check-in, replaced).

    ``nprs``: pain now, a whole number of NPRS points 0-10 (Numeric Pain Rating
    Scale, LOINC 72514-3); ``side``: a ``Side`` value; the four ``flag_*`` answers are
    DESIGN.md's red flags: new leg weakness and loss of bowel or bladder control
    (signs of cauda equina syndrome), fever (infection), unexplained weight loss
    (cancer), specific causes of low back pain to exclude (NICE NG59, 2016, rec. 1.1.1);
    ``note``: at most ``NOTE_MAX`` characters after trimming. ``local_date`` is the
    patient's date the answers are for (None: their today at ``now``, an aware datetime
    defaulting to now). A red-flag answer not already given that day opens an alert
    at once; its email and the plan's outcome recompute are enqueued only once the
    transaction commits (pages show the new figures at once all the same:
    outcomes.selectors computes a plan whose snapshot a check-in overtook).

    Raises DomainError: invalid_nprs (nprs), unknown_side (side), too_long (note),
    day_in_future (local_date), day_closed (local_date; see
    ``accounts.localday.answer_day``), outside_plan (local_date: before the plan's
    start), no_active_plan (plan), plan_not_started (plan: no date given, and the
    plan starts later); RateLimited (code rate_limited) past
    ``PLINTH_RATE_LIMITS["checkin"]``.
    """
    answers = CheckInAnswers(
        nprs=nprs,
        side=side,
        flag_leg_weakness=flag_leg_weakness,
        flag_bladder_bowel=flag_bladder_bowel,
        flag_fever=flag_fever,
        flag_weight_loss=flag_weight_loss,
        note=note.strip(),
    )
    validate_answers(answers)
    now = now or timezone.now()
    day = answer_day(patient=patient, day=local_date, now=now)
    fields: dict[str, Any] = {**asdict(answers), "received_at": now}
    return _submit_in_transaction(
        patient=patient, day=day, chosen=local_date is not None, fields=fields, ip=ip
    )


def _before_plan(start: date, day: date) -> DomainError:
    return DomainError(
        f"Your plan starts on {start:%A %-d %B}, so there is no check-in for {day:%A %-d %B}.",
        field="local_date",
        code="outside_plan",
    )


def _submit_in_transaction(
    *, patient: Patient, day: date, chosen: bool, fields: dict[str, Any], ip: str | None
) -> tuple[PainCheckIn, bool]:
    now: datetime = fields["received_at"]
    with transaction.atomic():
        # Only what the check-in needs (the plan's start), not the therapist that
        # selectors.active_plan_of joins.
        plan = (
            CarePlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
            .only("id", "start_date")
            .first()
        )
        if plan is None:
            raise _no_active_plan()
        if day < plan.start_date:
            raise _before_plan(plan.start_date, day) if chosen else _plan_not_started(plan.start_date)
        # Counted where the check-in is written, inside its transaction, so the limit
        # holds for the page and the API alike.
        refuse_past_rate_limit(patient=patient, now=now)
        fields = {"plan": plan, **fields}
        existing = PainCheckIn.objects.select_for_update().filter(patient=patient, local_date=day).first()
        if existing is None:
            try:
                # A savepoint, so a second tab's insert racing ours becomes a replace.
                with transaction.atomic():
                    checkin = PainCheckIn.objects.create(patient=patient, local_date=day, **fields)
            except IntegrityError:
                existing = PainCheckIn.objects.select_for_update().get(patient=patient, local_date=day)
        previous: dict[str, Any] | None = None
        if existing is not None:
            previous = checkin_values(existing)
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            checkin = existing
        replaced = previous is not None
        audit_log(
            action="checkin.replaced" if replaced else "checkin.created",
            actor=patient.user,
            obj=checkin,
            patient=patient,
            ip=ip,
            data={"local_date": day.isoformat(), "new": checkin_values(checkin), "replaced": previous},
        )
        # A replacement raises a new alert only for a flag it adds.
        alert = red_flag_raise(patient=patient, checkin=checkin, previous=previous, now=now, ip=ip)
        enqueue_after_commit(plan.pk, alert.pk if alert else None)
    return checkin, replaced
