"""Daily reminders (the check-in, the exercises left, the questionnaires due): find who is due,
claim each reminder once, send it once.

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
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Patient
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from questionnaires.selectors import questionnaires_open_for
from reminders.models import DeliveryStatus, ReminderDelivery, ReminderKind
from reminders.tasks import reminder_email_send
from reminders.windows import ReminderWindow, reminder_day_case, reminder_zones

log = logging.getLogger(__name__)


#: Patients looked at per query; each batch costs the same few queries.
BATCH = 1000


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


# --- who is due -----------------------------------------------------------------


def reminders_due(
    *, now: datetime, zones: list[str] | None = None, after_id: int = 0, limit: int = BATCH
) -> list[Due]:
    """The next ``limit`` patients (by id, after ``after_id``) due a reminder at ``now`` (aware).

    Due: reminders on, the local reminder time inside the run's window (passed,
    and at most ``REMINDER_MAX_LATENESS`` ago, on today's or yesterday's local
    date), an active plan started by that date, no reminder row for that date, and
    something to ask for: no check-in for that date, or a questionnaire of the plan
    due that date and not sent (``questionnaires.selectors.questionnaires_open_for``,
    issue 18). One reminder a day covers both. One query, whatever the number of
    patients or zones.
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
            | Exists(questionnaires_open_for(patient=OuterRef("pk"), day=OuterRef("reminder_day")))
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
    """The periodic job: claim and enqueue every due reminder, then sweep up lost ones.

    ``now``: an aware datetime (default: now). Claims in batches of ``BATCH`` patients,
    one transaction each; send tasks are published once each batch commits. Returns
    the counts: due, claimed by this run, re-enqueued, batches.
    """
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
