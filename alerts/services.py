"""Alert writes: worsening and silence detection, acknowledging, alert emails and the daily digest."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic, Therapist, User
from accounts.zones import local_now_by_zone
from alerts import rules
from alerts.attention_cache import attention_changed
from alerts.models import Alert, AlertKind
from audit.models import AuditEvent
from audit.services import audit_log
from careplans.models import CarePlan
from checkins.figures import nprs_tenths
from portal.errors import DomainError
from portal.validity import max_length_of

#: The longest note an acknowledgement keeps (the model's limit, written once there).
ACK_NOTE_MAX = max_length_of(Alert, "acknowledged_note")


def alert_acknowledge(*, alert: Alert, by: User, note: str = "", ip: str | None = None) -> Alert:
    """Mark an alert as seen by ``by``, a therapist of its patient's clinic; returns it refreshed.

    ``note``: what was done about it, optional, at most ``ACK_NOTE_MAX`` (500) characters
    after trimming; stored on the alert and in its ``alert.acknowledged`` audit entry.
    Acknowledging twice is harmless: the first acknowledgement (its note, and its one
    audit entry) stands.

    Raises DomainError: not_clinic_therapist (``by`` is not a therapist of the patient's
    clinic), too_long (note).
    """
    therapist = getattr(by, "therapist", None)
    if therapist is None or therapist.clinic_id != alert.patient.clinic_id:
        raise DomainError(
            "Only a therapist of this patient's clinic can acknowledge the alert.",
            code="not_clinic_therapist",
        )
    note = note.strip()
    if len(note) > ACK_NOTE_MAX:
        raise DomainError(
            f"The note can be at most {ACK_NOTE_MAX} characters (it has {len(note)}).",
            field="note",
            code="too_long",
        )
    now = timezone.now()
    with transaction.atomic():
        # A conditional update: two therapists clicking at once record one acknowledgement.
        changed = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=by, acknowledged_note=note
        )
        alert.refresh_from_db(fields=["acknowledged_at", "acknowledged_by", "acknowledged_note"])
        if changed:
            attention_changed([alert.patient.clinic_id])
            audit_log(
                action="alert.acknowledged",
                actor=by,
                obj=alert,
                patient=alert.patient,
                ip=ip,
                data={"kind": alert.kind, "note": note},
            )
    return alert


def _alert_recipients(alert: Alert) -> list[str]:
    emails: list[str] = []
    plan = alert.plan
    for therapist in (plan.therapist if plan else None, alert.patient.therapist):
        if therapist is not None and therapist.user.email and therapist.user.email not in emails:
            emails.append(therapist.user.email)
    return emails


def alert_email_deliver(*, alert_id: int) -> int:
    """Email an alert to the plan's therapist (and the patient's, if another). Returns emails sent.

    The row lock is held across the send and ``emailed_at`` is set in the same
    transaction: a second run (a retry, a redelivered message) waits, then finds
    the alert emailed and sends nothing. A failed send rolls back, so the retry
    sends it.
    """
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("patient__user", "patient__therapist__user", "plan__therapist__user")
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:
            return 0
        recipients = _alert_recipients(alert)
        if recipients:
            link = settings.SITE_URL + reverse("patient-record", args=[alert.patient_id])
            name = alert.patient.user.full_name or alert.patient.user.email
            subject = f"Plinth: {alert.get_kind_display().lower()} for {name}"
            body = (
                f"{name} reported a red flag in today's check-in.\n\n"
                f"{alert.detail}\n\n"
                f"Please look at it as soon as you can and acknowledge the alert in Plinth:\n{link}\n"
                if alert.kind == AlertKind.RED_FLAG
                else f"{alert.get_kind_display()} for {name}.\n\n{alert.detail}\n\nOpen Plinth:\n{link}\n"
            )
            send_mail(subject, body, None, recipients)
        Alert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
    return len(recipients)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectResult:
    worsening_raised: int
    worsening_cleared: int
    silence_raised: int
    silence_cleared: int


def _worsening_detail(pain: rules.Pain) -> str:
    if pain.baseline is None or pain.current is None:
        return "Pain is at least 2 points above the baseline."
    # Rounded as every page rounds them (checkins.figures), the rise from the shown figures.
    base, current = nprs_tenths(pain.baseline), nprs_tenths(pain.current)
    return f"Current pain {current}/10 is {current - base} points above the baseline of {base}."


def _silence_detail(last: date | str | None, start: date) -> str:
    if last is None:
        return f"No check-in since the plan started on {start:%a %d %b %Y}."
    day = last if isinstance(last, date) else date.fromisoformat(str(last))
    return f"No check-in for {rules.SILENCE_DAYS} days or more; the last was on {day:%a %d %b %Y}."


def _open(kind: str) -> QuerySet[Alert]:
    return Alert.objects.filter(kind=kind, cleared_at__isnull=True)


def _raise(kind: str, rows: list[tuple[int, int, str]], now: datetime) -> int:
    """Insert one alert per (plan, patient, detail) unless an episode is open.

    The partial unique index turns a race with another detector into a skipped
    row (ON CONFLICT DO NOTHING); the rows read back by this run's timestamp are
    the ones it opened, and each gets its audit event.
    """
    if not rows:
        return 0
    Alert.objects.bulk_create(
        [
            Alert(
                plan_id=plan_id,
                patient_id=patient_id,
                kind=kind,
                detail=detail,
                opened_at=now,
            )
            for plan_id, patient_id, detail in rows
        ],
        ignore_conflicts=True,
    )
    opened = list(
        _open(kind)
        .filter(opened_at=now, patient_id__in=[row[1] for row in rows])
        .values_list("pk", "patient_id", "patient__clinic_id")
    )
    _audit_alerts("alert.opened", [(pk, patient, clinic, kind) for pk, patient, clinic in opened], now)
    attention_changed(clinic for _, _, clinic in opened)
    return len(opened)


def _audit_alerts(action: str, rows: list[tuple[int, int, int, str]], now: datetime) -> None:
    """One audit event per alert that nightly detection opened or cleared, in one INSERT."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=now,
            action=action,
            object_type="alerts.alert",
            object_id=str(pk),
            patient_id=patient_id,
            clinic_id=clinic_id,
            data={"kind": kind, "by": "nightly detection"},
        )
        for pk, patient_id, clinic_id, kind in rows
    )


def _clear(alerts: QuerySet[Alert], now: datetime) -> int:
    cleared = list(alerts.values_list("pk", "patient_id", "patient__clinic_id", "kind"))
    if not cleared:
        return 0
    alerts.filter(pk__in=[row[0] for row in cleared]).update(cleared_at=now)
    _audit_alerts("alert.cleared", cleared, now)
    attention_changed(clinic for _, _, clinic, _ in cleared)
    return len(cleared)


def alerts_detect(*, now: datetime | None = None) -> DetectResult:
    """Raise new worsening and silence episodes, clear the ones that ended. Idempotent.

    ``now``: an aware datetime (default: the current time); silence is counted in
    each patient's own dates at that moment. The rules are alerts.rules, the ones
    the attention list shows: worsening is current pain at least 2 NPRS points above
    baseline (DESIGN.md; 2 points is the NPRS's minimal clinically important
    difference, Farrar et al. 2001, Pain 94:149; Childs et al. 2005, Spine 30:1331);
    silence is no check-in for ``SILENCE_DAYS`` (3) whole local days (DESIGN.md, a
    product rule). Returns how many episodes were raised and cleared of each kind.
    """
    now = now or timezone.now()
    plans = CarePlan.objects.all()
    with transaction.atomic():
        stale = rules.stale_pain(rules.watched_plans(plans))
        worse = rules.worsening_plans(plans, stale=stale)
        worsening_cleared = _clear(
            _open(AlertKind.WORSENING).exclude(Exists(worse.filter(patient=OuterRef("patient")))), now
        )
        new_worse = worse.exclude(Exists(_open(AlertKind.WORSENING).filter(patient=OuterRef("patient"))))
        worsening_raised = _raise(
            AlertKind.WORSENING,
            [
                (
                    plan_id,
                    patient_id,
                    _worsening_detail(
                        rules.pain_of(plan_id=plan_id, snapshot=rules.Pain(base, cur), stale=stale)
                    ),
                )
                for plan_id, patient_id, base, cur in new_worse.values_list(
                    "pk", "patient_id", "outcome__baseline", "outcome__current"
                )
            ],
            now,
        )

        silent = rules.silent_plans(plans, now=now)
        silence_cleared = _clear(
            _open(AlertKind.SILENCE).exclude(Exists(silent.filter(patient=OuterRef("patient")))), now
        )
        new_silent = silent.exclude(Exists(_open(AlertKind.SILENCE).filter(patient=OuterRef("patient"))))
        silence_raised = _raise(
            AlertKind.SILENCE,
            [
                (plan_id, patient_id, _silence_detail(last, start))
                for plan_id, patient_id, last, start in new_silent.annotate(
                    last=rules.last_checkin_date()
                ).values_list("pk", "patient_id", "last", "start_date")
            ],
            now,
        )
    result = DetectResult(worsening_raised, worsening_cleared, silence_raised, silence_cleared)
    if any((worsening_raised, worsening_cleared, silence_raised, silence_cleared)):
        log.info("alerts: %s", result)
    return result


# --- the daily digest ---------------------------------------------------------------


def digest_clinics(*, now: datetime, hour: int | None = None) -> list[int]:
    """Ids of the clinics whose local wall-clock hour at ``now`` (aware) is ``hour`` (0-23; default
    ``settings.ALERT_DIGEST_HOUR``), in their own time zone. Two queries."""
    hour = settings.ALERT_DIGEST_HOUR if hour is None else hour
    zones = list(Clinic.objects.order_by().values_list("timezone", flat=True).distinct())
    local = local_now_by_zone(zones, now)
    wanted = [zone for zone, moment in local.items() if moment.hour == hour]
    return list(Clinic.objects.filter(timezone__in=wanted).values_list("pk", flat=True))


def _undigested(*, now: datetime, clinic_ids: list[int] | None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(emailed_at__isnull=True, acknowledged_at__isnull=True).filter(
        Q(kind__in=(AlertKind.WORSENING, AlertKind.SILENCE))
        | Q(kind=AlertKind.RED_FLAG, opened_at__lt=now - rules.RED_FLAG_EMAIL_GRACE)
    )
    return alerts if clinic_ids is None else alerts.filter(patient__clinic_id__in=clinic_ids)


def _recipient(alert: Alert) -> Therapist | None:
    if alert.plan is not None:
        return alert.plan.therapist
    return alert.patient.therapist


def _digest_body(therapist: Therapist, alerts: list[Alert]) -> str:
    lines = [
        f"Hello {therapist.user.get_short_name()},",
        "",
        f"New alerts for your patients ({len(alerts)}):",
        "",
    ]
    for alert in alerts:
        name = alert.patient.user.full_name or alert.patient.user.email
        link = settings.SITE_URL + reverse("patient-record", args=[alert.patient_id])
        lines += [f"- {name}: {alert.get_kind_display()}", f"  {alert.detail}", f"  {link}", ""]
    lines.append("Acknowledge each alert in Plinth once you have looked at it.")
    return "\n".join(lines) + "\n"


def alerts_digest_send(*, now: datetime | None = None, clinic_ids: list[int] | None = None) -> int:
    """Email each therapist one digest of their alerts not yet emailed. Returns emails sent.

    ``clinic_ids`` None means the clinics whose local digest hour it is. Each
    therapist's alerts are locked (skipping rows another run holds), emailed and
    marked in one transaction: a failed send rolls back and is tried the next
    day; two runs at once never email the same alert twice.
    """
    now = now or timezone.now()
    clinic_ids = digest_clinics(now=now) if clinic_ids is None else clinic_ids
    if not clinic_ids:
        return 0
    pending = _undigested(now=now, clinic_ids=clinic_ids).select_related(
        "patient__user", "patient__therapist__user", "plan__therapist__user"
    )
    by_therapist: dict[int, tuple[Therapist, list[int]]] = {}
    for alert in pending.order_by("opened_at", "pk"):
        therapist = _recipient(alert)
        if therapist is not None:
            by_therapist.setdefault(therapist.pk, (therapist, []))[1].append(alert.pk)
    sent = 0
    for therapist, ids in by_therapist.values():
        with transaction.atomic():
            locked = list(
                Alert.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=ids, emailed_at__isnull=True)
                .select_related("patient__user")
                .order_by("opened_at", "pk")
            )
            if not locked:
                continue
            try:
                send_mail(
                    f"Plinth: {len(locked)} new alert{'s' if len(locked) != 1 else ''}",
                    _digest_body(therapist, locked),
                    None,
                    [therapist.user.email],
                )
            except Exception:
                log.exception("alert digest to therapist %s failed; kept for the next run", therapist.pk)
                transaction.set_rollback(True)
                continue
            Alert.objects.filter(pk__in=[a.pk for a in locked]).update(emailed_at=timezone.now())
            sent += 1
    return sent
