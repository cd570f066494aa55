"""Daily check-in reminders: find who is due, claim each reminder once, send it once.

The database, not the broker, is the record of what must happen. A dispatch
run (every 5 minutes from beat) finds the due patients in batches, claims one
``ReminderDelivery`` row per patient and local date (a unique row: of two runs
at the same moment, only the one whose insert won enqueues a send), and sweeps
up deliveries whose task was lost (a Redis restart drops queued messages; a
worker killed with SIGKILL leaves its messages unacknowledged until the 2-hour
visibility timeout). Tasks are only a nudge: a duplicate message is harmless,
a lost one is re-enqueued by the next sweep.

Delivery guarantee: at least once, with a window of milliseconds. A send
first takes a lease with a conditional update (status ``sending``), talks to
SMTP, then records ``sent``. A process killed after the SMTP server accepted
the message but before ``sent`` was committed leaves a ``sending`` row whose
lease runs out; the sweep then sends it again. We chose that over at most
once (never retrying an interrupted send) because a missed reminder is lost
silently while a rare second one is merely noticed, and the Message-ID is
fixed per delivery so mail clients fold such a repeat into one. Every other
interruption (kill before or during the SMTP dialogue, broker loss, SMTP
down) ends in exactly one email.
"""

from __future__ import annotations

import logging
import random
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Case, DateField, Exists, F, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from careplans.models import CarePlan, DeliveryStatus, PlanStatus, ReminderDelivery, ReminderKind
from patients.audit import audit_log
from patients.localday import ANSWER_GRACE
from patients.models import PainCheckIn, Patient, User
from patients.zones import zone_canonical
from portal.errors import DomainError

log = logging.getLogger(__name__)

#: Patients looked at per query; each batch costs the same few queries.
BATCH = 1000
OPTOUT_SALT = "plinth.reminders.optout"
#: An opt-out link keeps working well past the life of a 12-week plan.
OPTOUT_MAX_AGE = timedelta(days=180)
UNFINISHED = (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class Due:
    patient_id: int
    local_date: date


@dataclass(frozen=True)
class DispatchResult:
    due: int
    claimed: int
    requeued: int
    batches: int


@dataclass(frozen=True)
class SendResult:
    outcome: str  # sent, failed, skipped, busy
    retry_in: int | None = None


# --- time zones ---------------------------------------------------------------

#: A reminder goes out at the first run at or after its local time, and never
#: more than this late: a worker down at 23:58 and back at 00:03 still sends the
#: reminder for the day before (once, unless the patient checked in for it); one
#: back only after 02:00 does not. The same bound as the grace period during which
#: a check-in for the day before is still accepted, so a late reminder always asks
#: for an answer the patient can still give.
REMINDER_MAX_LATENESS = ANSWER_GRACE


@dataclass(frozen=True)
class ReminderWindow:
    """The local wall-clock moments whose reminders a run at ``now`` serves, in one zone.

    A reminder at local time ``t`` on date ``d`` is due when ``start < d t <= end``,
    where ``end`` is the zone's wall clock at ``now`` and ``start`` its wall clock
    ``REMINDER_MAX_LATENESS`` earlier. Windows of runs 5 minutes apart overlap, so
    every reminder time falls in at least one (the delivery row makes it one send),
    across midnight as within a day. Comparing wall-clock times is what makes DST
    harmless: on a spring-forward day a 02:30 reminder (a time that never happens)
    is due from 03:00, and on a fall-back day 01:30 happens twice but the delivery
    row of that local date already exists the second time.
    """

    start: datetime  # naive, local wall clock, excluded
    end: datetime  # naive, local wall clock, included

    @classmethod
    def at(cls, zone: str, now: datetime) -> ReminderWindow:
        """The window of a run at ``now`` (aware) in the IANA zone ``zone``."""
        info = zoneinfo.ZoneInfo(zone)
        return cls(
            start=(now - REMINDER_MAX_LATENESS).astimezone(info).replace(tzinfo=None),
            end=now.astimezone(info).replace(tzinfo=None),
        )

    def days(self) -> list[tuple[date, time | None, time | None]]:
        """Each local date the window touches, with its (excluded low, included high) reminder times.

        ``None`` means the bound is the date's own start or end. Two dates at
        most, since the lateness is far below a day.
        """
        days = []
        day = self.start.date()
        while day <= self.end.date():
            low = self.start.time() if day == self.start.date() else None
            high = self.end.time() if day == self.end.date() else None
            days.append((day, low, high))
            day += timedelta(days=1)
        return days

    def too_late(self, day: date, at: time) -> bool:
        """Whether the reminder of ``day`` at ``at`` is more than the maximum lateness behind."""
        return datetime.combine(day, at) <= self.start


def local_now_by_zone(zones: Iterable[str], now: datetime) -> dict[str, datetime]:
    """Each zone's wall-clock time at ``now``."""
    return {zone: now.astimezone(zoneinfo.ZoneInfo(zone)) for zone in zones}


def zone_case(values: dict[str, Any], output_field: Any, *, field: str = "timezone") -> Case:
    """A CASE over time zones, so one query can ask per-zone questions of every row."""
    whens = [When(**{field: zone}, then=Value(value)) for zone, value in values.items()]
    return Case(*whens, default=Value(None), output_field=output_field)


def reminder_day_case(windows: dict[str, ReminderWindow]) -> Case:
    """A CASE giving each patient row the local date whose reminder is due now, or NULL.

    One branch per zone and date the zone's window touches, on the patient's
    ``timezone`` and ``reminder_time``: one query asks every zone at once.
    """
    whens = []
    for zone, window in windows.items():
        for day, low, high in window.days():
            condition = Q(timezone=zone)
            if low is not None:
                condition &= Q(reminder_time__gt=low)
            if high is not None:
                condition &= Q(reminder_time__lte=high)
            whens.append(When(condition, then=Value(day)))
    return Case(*whens, default=Value(None), output_field=DateField())


def reminder_zones() -> list[str]:
    """The time zones of the patients who may get a reminder (one query)."""
    return list(
        Patient.objects.filter(reminders_enabled=True, plans__status=PlanStatus.ACTIVE)
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )


# --- who is due -----------------------------------------------------------------


def reminders_due(
    *, now: datetime, zones: list[str] | None = None, after_id: int = 0, limit: int = BATCH
) -> list[Due]:
    """The next ``limit`` patients (by id, after ``after_id``) due a reminder at ``now`` (aware).

    Due: reminders on, the local reminder time inside the run's window (passed,
    and at most ``REMINDER_MAX_LATENESS`` ago, on today's or yesterday's local
    date), an active plan started by that date, and no check-in and no reminder
    row for that date. One query, whatever the number of patients or zones.
    """
    zones = reminder_zones() if zones is None else zones
    if not zones:
        return []
    day = reminder_day_case({zone: ReminderWindow.at(zone, now) for zone in zones})
    rows = (
        Patient.objects.filter(pk__gt=after_id, reminders_enabled=True, timezone__in=zones)
        .annotate(reminder_day=day)
        .filter(reminder_day__isnull=False)
        .filter(
            Exists(
                CarePlan.objects.filter(
                    patient=OuterRef("pk"), status=PlanStatus.ACTIVE, start_date__lte=OuterRef("reminder_day")
                )
            )
        )
        .filter(
            ~Exists(PainCheckIn.objects.filter(patient=OuterRef("pk"), local_date=OuterRef("reminder_day")))
        )
        .filter(
            ~Exists(
                ReminderDelivery.objects.filter(
                    patient=OuterRef("pk"), local_date=OuterRef("reminder_day"), kind=ReminderKind.CHECKIN
                )
            )
        )
        .order_by("pk")
        .values_list("pk", "reminder_day")[:limit]
    )
    return [Due(patient_id=pk, local_date=_as_date(day)) for pk, day in rows]


def _as_date(value: Any) -> date:
    # SQLite hands a CASE of dates back as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def reminder_claim(*, due: list[Due], now: datetime) -> list[int]:
    """Insert the unique delivery rows; return the ids of the rows this call inserted.

    Rows another run inserted first are skipped by the database (ON CONFLICT DO
    NOTHING / INSERT OR IGNORE). Reading back by this call's token tells which
    rows are ours: only their claimer sends them. Two queries per batch.
    """
    if not due:
        return []
    token = uuid.uuid4().hex
    lease = now + timedelta(seconds=settings.REMINDER_REQUEUE_AFTER)
    ReminderDelivery.objects.bulk_create(
        [
            ReminderDelivery(
                patient_id=item.patient_id,
                local_date=item.local_date,
                kind=ReminderKind.CHECKIN,
                status=DeliveryStatus.CLAIMED,
                claimed_at=now,
                claim_token=token,
                lease_until=lease,
            )
            for item in due
        ],
        ignore_conflicts=True,
    )
    return list(
        ReminderDelivery.objects.filter(claim_token=token).order_by("pk").values_list("pk", flat=True)
    )


def _enqueue_sends(ids: list[int]) -> None:
    """Publish one send task per delivery; stop at the first broker error.

    The unpublished rows keep their state with their lease run out, so the next
    sweep (5 minutes later) publishes them again instead of waiting for the lease.
    """
    from careplans.tasks import reminder_email_send

    for index, delivery_id in enumerate(ids):
        try:
            reminder_email_send.delay(delivery_id)
        except Exception:
            log.exception("broker unavailable: %d reminder(s) left for the next sweep", len(ids) - index)
            ReminderDelivery.objects.filter(
                pk__in=ids[index:], status__in=(DeliveryStatus.CLAIMED, DeliveryStatus.FAILED)
            ).update(lease_until=timezone.now())
            return


def reminders_requeue(*, now: datetime, limit: int = 5 * BATCH) -> int:
    """Re-enqueue unfinished deliveries whose lease ran out: a lost task, a killed
    worker's send, a failed send whose back-off is over. Returns how many."""
    oldest = (now - timedelta(days=1)).date()  # no local date is more than a day behind UTC
    # A send that died on its last allowed attempt is not tried again; record it.
    ReminderDelivery.objects.filter(
        status=DeliveryStatus.SENDING, lease_until__lt=now, attempts__gte=settings.REMINDER_MAX_ATTEMPTS
    ).update(status=DeliveryStatus.FAILED, error="interrupted mid-send on the last attempt", lease_until=None)
    stale = ReminderDelivery.objects.filter(
        status__in=UNFINISHED,
        lease_until__lt=now,
        local_date__gte=oldest,
        attempts__lt=settings.REMINDER_MAX_ATTEMPTS,
    )
    ids = list(stale.order_by("lease_until").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    # A send whose lease ran out died mid-way (see the module docstring): it
    # becomes a failure on record, which the send takes up again at once.
    stale.filter(pk__in=ids, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED, error="interrupted mid-send (worker lost); sending again"
    )
    # Pushing the lease forward keeps the next sweep from publishing them again
    # while these messages are still in the queue.
    lease = now + timedelta(seconds=settings.REMINDER_REQUEUE_AFTER)
    stale.filter(pk__in=ids).update(lease_until=lease)
    transaction.on_commit(lambda: _enqueue_sends(ids))
    return len(ids)


def reminders_dispatch(*, now: datetime | None = None) -> DispatchResult:
    """The periodic job: claim and enqueue every due reminder, then sweep up lost ones."""
    now = now or timezone.now()
    zones = reminder_zones()
    after, due_count, claimed, batches = 0, 0, 0, 0
    while True:
        due = reminders_due(now=now, zones=zones, after_id=after)
        if not due:
            break
        batches += 1
        with transaction.atomic():
            ids = reminder_claim(due=due, now=now)
            transaction.on_commit(lambda ids=ids: _enqueue_sends(ids))  # type: ignore[misc]
        due_count += len(due)
        claimed += len(ids)
        after = due[-1].patient_id
        if len(due) < BATCH:
            break
    with transaction.atomic():
        requeued = reminders_requeue(now=now)
    if claimed or requeued:
        log.info("reminders: %d due, %d claimed, %d re-enqueued", due_count, claimed, requeued)
    return DispatchResult(due=due_count, claimed=claimed, requeued=requeued, batches=batches)


# --- sending --------------------------------------------------------------------


def reminder_backoff(attempt: int) -> int:
    """Seconds before retry ``attempt`` + 1: exponential, jittered, capped at 30 minutes
    (far below the broker's 2-hour visibility timeout)."""
    base = int(settings.REMINDER_RETRY_BACKOFF) * 2 ** max(0, attempt - 1)
    capped: int = min(base, 30 * 60)
    return capped + random.randint(0, max(1, capped // 5))


def _skip_reason(delivery: ReminderDelivery, plan: CarePlan | None, now: datetime) -> str:
    patient = delivery.patient
    if not patient.reminders_enabled:
        return "reminders switched off"
    if plan is None:
        return "no active plan"
    if ReminderWindow.at(patient.timezone, now).too_late(delivery.local_date, patient.reminder_time):
        return f"more than {REMINDER_MAX_LATENESS} after the reminder time"
    if PainCheckIn.objects.filter(patient=patient, local_date=delivery.local_date).exists():
        return "checked in before the reminder went out"
    return ""


def reminder_send(*, delivery_id: int, connection: Any = None) -> SendResult:
    """Send one claimed reminder, once. Safe to call any number of times for the same row."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.REMINDER_SEND_LEASE)
    # The claim of the send (healthchecks style): exactly one caller changes the row.
    took = (
        ReminderDelivery.objects.filter(pk=delivery_id, sent_at__isnull=True)
        .filter(
            Q(status__in=(DeliveryStatus.CLAIMED, DeliveryStatus.FAILED))
            | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        )
        .update(status=DeliveryStatus.SENDING, lease_until=lease, attempts=F("attempts") + 1)
    )
    if took != 1:
        return SendResult("busy")
    delivery = ReminderDelivery.objects.select_related("patient__user").get(pk=delivery_id)
    plan = CarePlan.objects.filter(patient_id=delivery.patient_id, status=PlanStatus.ACTIVE).first()
    reason = _skip_reason(delivery, plan, now)
    if reason or plan is None:
        ReminderDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SKIPPED, error=reason, lease_until=None
        )
        return SendResult("skipped")
    message = reminder_message(delivery=delivery, plan=plan)
    message.connection = connection
    try:
        message.send()
    except Exception as exc:  # SMTP refusals, connection errors, timeouts: all retried alike
        final = delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS
        wait = None if final else reminder_backoff(delivery.attempts)
        ReminderDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED,
            error=f"attempt {delivery.attempts}: {type(exc).__name__}: {exc}"[:1000],
            lease_until=None if wait is None else timezone.now() + timedelta(seconds=wait),
        )
        log.warning("reminder %s failed (attempt %d): %s", delivery_id, delivery.attempts, exc)
        return SendResult("failed", retry_in=wait)
    ReminderDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), error="", lease_until=None
    )
    return SendResult("sent")


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def optout_token(patient_id: int) -> str:
    return signing.dumps(patient_id, salt=OPTOUT_SALT)


def optout_patient(token: str) -> Patient | None:
    """The patient a signed opt-out link names; None for a tampered or expired link."""
    try:
        patient_id = signing.loads(token, salt=OPTOUT_SALT, max_age=OPTOUT_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(patient_id, int):
        return None
    return Patient.objects.select_related("user").filter(pk=patient_id).first()


def optout_url(patient_id: int) -> str:
    return _absolute(reverse("reminders-optout", args=[optout_token(patient_id)]))


def reminder_message(*, delivery: ReminderDelivery, plan: CarePlan) -> EmailMessage:
    patient = delivery.patient
    user = patient.user
    week = plan.week_on(delivery.local_date)
    stop = optout_url(patient.pk)
    body = (
        f"Hello {user.get_short_name()},\n\n"
        f"Time for your check-in for {delivery.local_date:%A %-d %B}: how is your pain? "
        "It takes a minute.\n"
        # The day rides in the link: a reminder sent just after midnight asks about the day before.
        f"{_absolute(reverse('checkin'))}?day={delivery.local_date.isoformat()}\n\n"
        f'You are in week {week} of {plan.length_weeks} of "{plan.title}".\n\n'
        f"This reminder comes at {patient.reminder_time:%H:%M} ({patient.timezone}) each day. "
        f"To change the time or switch reminders off, open your settings:\n"
        f"{_absolute(reverse('patient-settings'))}\n\n"
        f"Stop these reminders with one click:\n{stop}\n"
    )
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "plinth.local"
    return EmailMessage(
        subject=f"Your check-in for {delivery.local_date:%A %d %B}",
        body=body,
        to=[user.email],
        headers={
            # Fixed per delivery: a repeat after a crash is recognisable as the same message.
            "Message-ID": f"<reminder.{delivery.pk}.{delivery.local_date:%Y%m%d}@{domain}>",
            "List-Unsubscribe": f"<{stop}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# --- the patient's choices --------------------------------------------------------


def reminder_settings_update(
    *,
    patient: Patient,
    reminder_time: time,
    timezone_name: str,
    reminders_enabled: bool,
    by: User,
    ip: str | None = None,
) -> Patient:
    """Change a patient's reminder time, time zone and on/off switch.

    ``timezone_name`` is an IANA name or alias, stored canonically (patients.zones:
    "NZ" -> "Pacific/Auckland"); the patient's current zone is accepted unchanged even
    if the list no longer has it. Raises ``DomainError`` (code ``unknown_zone``, field
    ``timezone``) for any other name.
    """
    if timezone_name != patient.timezone:
        try:
            timezone_name = zone_canonical(timezone_name)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], field="timezone", code="unknown_zone") from exc
    before = {
        "reminder_time": patient.reminder_time.strftime("%H:%M"),
        "timezone": patient.timezone,
        "reminders_enabled": patient.reminders_enabled,
    }
    with transaction.atomic():
        patient.reminder_time = reminder_time.replace(second=0, microsecond=0)
        patient.timezone = timezone_name
        patient.reminders_enabled = reminders_enabled
        patient.save(update_fields=["reminder_time", "timezone", "reminders_enabled"])
        after = {
            "reminder_time": patient.reminder_time.strftime("%H:%M"),
            "timezone": patient.timezone,
            "reminders_enabled": patient.reminders_enabled,
        }
        if after != before:
            audit_log(
                action="patient.reminder_settings_changed",
                actor=by,
                obj=patient,
                ip=ip,
                data={"before": before, "after": after},
            )
    return patient


def reminders_opt_out(*, patient: Patient, ip: str | None = None) -> bool:
    """Switch reminders off from the emailed link. Returns whether anything changed."""
    with transaction.atomic():
        changed = Patient.objects.filter(pk=patient.pk, reminders_enabled=True).update(
            reminders_enabled=False
        )
        if changed:
            patient.reminders_enabled = False
            audit_log(action="patient.reminders_opted_out", obj=patient, ip=ip, data={"via": "email link"})
    return bool(changed)
