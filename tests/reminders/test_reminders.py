"""Reminders: who is due across time zones and DST, the claim, the send once, the opt-out."""

from __future__ import annotations

import smtplib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Patient
from audit.models import AuditEvent
from careplans.models import PlanStatus
from reminders.delivery import reminder_send
from reminders.models import DeliveryStatus, ReminderDelivery
from reminders.preferences import optout_token
from reminders.services import reminder_claim, reminders_dispatch, reminders_due, reminders_requeue
from tests.factories import CarePlanFactory, PainCheckInFactory, PatientFactory
from tests.helpers import bulk_patients

pytestmark = pytest.mark.django_db

#: The clock of the tests that send: the job and the send read the time themselves.
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
#: A reminder time just behind NOON in UTC, so it is due (and not too late) at NOON.
JUST_DUE = time(11, 30)


@pytest.fixture(autouse=True)
def clock() -> Any:
    with time_machine.travel(NOON, tick=True) as traveller:
        yield traveller


def patient_in(zone: str, at: time, **extra: Any) -> Patient:
    patient = PatientFactory(timezone=zone, reminder_time=at, **extra)
    CarePlanFactory(patient=patient, start_date=date(2020, 1, 1), length_weeks=52)
    return patient


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock moment in ``zone``, as an aware UTC datetime."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def due_ids(now: datetime) -> list[int]:
    return [item.patient_id for item in reminders_due(now=now)]


def run_day(patient: Patient, moments: list[datetime]) -> list[date]:
    """Run the job at each moment; return the local dates a reminder was claimed for."""
    claimed = []
    for moment in moments:
        due = [item for item in reminders_due(now=moment) if item.patient_id == patient.pk]
        if reminder_claim(due=due, now=moment):
            claimed.extend(item.local_date for item in due)
    return claimed


def every_15_minutes(start: datetime, hours: int) -> list[datetime]:
    return [start + timedelta(minutes=15 * i) for i in range(hours * 4)]


# --- time zones and DST --------------------------------------------------------


def test_new_york_reminder_is_due_only_after_local_time() -> None:
    patient = patient_in("America/New_York", time(18, 0))
    assert patient.pk not in due_ids(local("America/New_York", 2026, 1, 15, 17, 59))
    assert patient.pk in due_ids(local("America/New_York", 2026, 1, 15, 18, 0))


def test_spring_forward_reminder_in_the_missing_hour_goes_once() -> None:
    # 8 March 2026: New York clocks jump from 02:00 to 03:00, so 02:30 never happens.
    patient = patient_in("America/New_York", time(2, 30))
    start = local("America/New_York", 2026, 3, 8, 0, 0)
    claimed = run_day(patient, every_15_minutes(start, 24))
    assert claimed == [date(2026, 3, 8)]
    first = ReminderDelivery.objects.get(patient=patient)
    assert first.claimed_at == local("America/New_York", 2026, 3, 8, 3, 0)


def test_fall_back_reminder_in_the_repeated_hour_goes_once() -> None:
    # 1 November 2026: New York's 01:00-02:00 happens twice.
    patient = patient_in("America/New_York", time(1, 30))
    start = local("America/New_York", 2026, 11, 1, 0, 0)
    claimed = run_day(patient, every_15_minutes(start, 6))
    assert claimed == [date(2026, 11, 1)]
    assert ReminderDelivery.objects.get(patient=patient).claimed_at == local(
        "America/New_York", 2026, 11, 1, 1, 30, fold=0
    )


def test_each_day_across_both_dst_changes_gets_exactly_one_reminder() -> None:
    patient = patient_in("America/New_York", time(8, 0))
    for first_day in (date(2026, 3, 6), date(2026, 10, 30)):
        start = local("America/New_York", first_day.year, first_day.month, first_day.day, 0, 0)
        claimed = run_day(patient, every_15_minutes(start, 4 * 24))
        assert claimed == [first_day + timedelta(days=n) for n in range(4)]


@pytest.mark.parametrize(
    ("zone", "utc_due"),
    [
        # Kolkata is UTC+05:30 all year: 09:00 local is 03:30 UTC.
        ("Asia/Kolkata", datetime(2026, 6, 1, 3, 30, tzinfo=UTC)),
        # Auckland in its summer is UTC+13: 09:00 on 1 Jan local is 20:00 UTC on 31 Dec.
        ("Pacific/Auckland", datetime(2025, 12, 31, 20, 0, tzinfo=UTC)),
    ],
)
def test_reminder_time_and_local_date_follow_the_patient_zone(zone: str, utc_due: datetime) -> None:
    patient = patient_in(zone, time(9, 0))
    assert patient.pk not in due_ids(utc_due - timedelta(minutes=1))
    due = [item for item in reminders_due(now=utc_due) if item.patient_id == patient.pk]
    assert [item.local_date for item in due] == [utc_due.astimezone(ZoneInfo(zone)).date()]


def test_auckland_dst_days_each_get_one_reminder() -> None:
    # Auckland: clocks go back on 5 April 2026 and forward on 27 September 2026.
    patient = patient_in("Pacific/Auckland", time(2, 30))
    for first_day in (date(2026, 4, 4), date(2026, 9, 26)):
        start = local("Pacific/Auckland", first_day.year, first_day.month, first_day.day, 0, 0)
        claimed = run_day(patient, every_15_minutes(start, 3 * 24))
        assert claimed == [first_day + timedelta(days=n) for n in range(3)]


def test_not_due_when_checked_in_switched_off_no_plan_or_not_started() -> None:
    now = datetime(2026, 5, 4, 18, 30, tzinfo=UTC)  # 19:30 in London
    due = patient_in("Europe/London", time(18, 0))
    checked_in = patient_in("Europe/London", time(18, 0))
    PainCheckInFactory(plan=checked_in.plans.get(), local_date=date(2026, 5, 4))
    switched_off = patient_in("Europe/London", time(18, 0), reminders_enabled=False)
    no_plan = PatientFactory(timezone="Europe/London", reminder_time=time(18, 0))
    stopped = patient_in("Europe/London", time(18, 0))
    stopped.plans.update(status=PlanStatus.STOPPED)
    not_started = PatientFactory(timezone="Europe/London", reminder_time=time(18, 0))
    CarePlanFactory(patient=not_started, start_date=date(2026, 5, 5))
    later = patient_in("Europe/London", time(22, 0))
    assert due_ids(now) == [due.pk]
    assert {checked_in.pk, switched_off.pk, no_plan.pk, stopped.pk, not_started.pk, later.pk}.isdisjoint(
        due_ids(now)
    )


@pytest.mark.parametrize("n", [1, 8])
def test_due_query_and_claim_use_constant_queries(n: int) -> None:
    zones = ["Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "Pacific/Chatham"]
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    for index, zone in enumerate(zones):
        # Each zone 15 minutes behind its own clock; Chatham is already on 5 May.
        just_due = (now - timedelta(minutes=15)).astimezone(ZoneInfo(zone)).time()
        bulk_patients(n, zones=[zone], reminder_time=just_due, prefix=f"z{index}-")
    with CaptureQueriesContext(connection) as ctx:
        due = reminders_due(now=now, zones=zones)
        reminder_claim(due=due, now=now)
    assert len(due) == n * len(zones)
    assert len(ctx.captured_queries) == 3  # select due, insert, read back


def test_two_claims_of_the_same_patients_split_the_rows() -> None:
    patients = [patient_in("UTC", JUST_DUE) for _ in range(4)]
    now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    due = reminders_due(now=now)
    first = reminder_claim(due=due[:3], now=now)
    second = reminder_claim(due=due, now=now)
    assert len(first) == 3 and len(second) == 1
    assert set(first).isdisjoint(second)
    assert ReminderDelivery.objects.count() == len(patients)


# --- sending once ---------------------------------------------------------------


def claimed_delivery(patient: Patient, now: datetime | None = None) -> ReminderDelivery:
    now = now or datetime.now(UTC)
    due = [item for item in reminders_due(now=now) if item.patient_id == patient.pk]
    [delivery_id] = reminder_claim(due=due, now=now)
    return ReminderDelivery.objects.get(pk=delivery_id)


def test_dispatch_sends_each_due_patient_one_email_however_often_it_runs(
    django_capture_on_commit_callbacks: Any,
) -> None:
    patients = [patient_in("UTC", JUST_DUE) for _ in range(3)]
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            reminders_dispatch()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.user.email for p in patients)
    assert set(ReminderDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_task_delivered_twice_sends_once() -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))
    assert reminder_send(delivery_id=delivery.pk).outcome == "sent"
    assert reminder_send(delivery_id=delivery.pk).outcome == "busy"
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert delivery.sent_at is not None


def test_email_links_to_checkin_week_settings_and_optout(settings: Any) -> None:
    settings.SITE_URL = "https://plinth.example"
    patient = patient_in("UTC", JUST_DUE)
    plan = patient.plans.get()
    delivery = claimed_delivery(patient)
    reminder_send(delivery_id=delivery.pk)
    [message] = mail.outbox
    week = plan.week_on(delivery.local_date)
    assert "https://plinth.example/checkin/" in message.body
    assert f"week {week} of 52" in message.body
    assert "https://plinth.example/settings/" in message.body
    assert f"https://plinth.example/reminders/stop/{optout_token(patient.pk)}/" in message.body
    assert message.extra_headers["Message-ID"].startswith(f"<reminder.{delivery.pk}.")


def test_send_in_progress_is_not_taken_over_until_its_lease_runs_out() -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))
    future = datetime.now(UTC) + timedelta(minutes=5)
    ReminderDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, lease_until=future)
    assert reminder_send(delivery_id=delivery.pk).outcome == "busy"
    # A worker killed mid-send: the lease runs out and the send happens (at least once).
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        lease_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert reminder_send(delivery_id=delivery.pk).outcome == "sent"
    assert len(mail.outbox) == 1


def test_sweep_turns_a_dead_send_into_a_failure_that_is_sent_again(
    django_capture_on_commit_callbacks: Any,
) -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))
    expired = datetime.now(UTC) - timedelta(seconds=1)
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, lease_until=expired, attempts=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_requeue(now=datetime.now(UTC)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert len(mail.outbox) == 1


def test_failed_send_records_reason_backs_off_and_never_resends_once_sent(monkeypatch: Any) -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))

    def refuse(self: Any, *args: Any, **kwargs: Any) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMessage.send", refuse)
        result = reminder_send(delivery_id=delivery.pk)
    assert result.outcome == "failed"
    assert result.retry_in is not None and 60 <= result.retry_in < 2 * 60 * 60
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "SMTPServerDisconnected" in delivery.error and delivery.attempts == 1
    assert reminder_send(delivery_id=delivery.pk).outcome == "sent"
    assert reminder_send(delivery_id=delivery.pk).outcome == "busy"
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 2, "")


def test_gives_up_after_the_last_attempt(monkeypatch: Any, settings: Any) -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))
    ReminderDelivery.objects.filter(pk=delivery.pk).update(attempts=settings.REMINDER_MAX_ATTEMPTS - 1)
    monkeypatch.setattr(
        "django.core.mail.EmailMessage.send", lambda *a, **k: (_ for _ in ()).throw(OSError("x"))
    )
    assert reminder_send(delivery_id=delivery.pk).retry_in is None
    assert reminders_requeue(now=datetime.now(UTC) + timedelta(days=1)) == 0


def test_send_that_died_on_its_last_attempt_is_recorded_not_retried(settings: Any) -> None:
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE))
    expired = datetime.now(UTC) - timedelta(seconds=1)
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, lease_until=expired, attempts=settings.REMINDER_MAX_ATTEMPTS
    )
    assert reminders_requeue(now=datetime.now(UTC)) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (
        DeliveryStatus.FAILED,
        "interrupted mid-send on the last attempt",
    )


def test_checked_in_after_the_claim_skips_the_email() -> None:
    patient = patient_in("UTC", JUST_DUE)
    delivery = claimed_delivery(patient)
    PainCheckInFactory(plan=patient.plans.get(), local_date=delivery.local_date)
    assert reminder_send(delivery_id=delivery.pk).outcome == "skipped"
    assert mail.outbox == []


def test_sweep_requeues_a_lost_claim_once_its_lease_runs_out(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REMINDER_REQUEUE_AFTER = 60
    now = datetime.now(UTC)
    delivery = claimed_delivery(patient_in("UTC", JUST_DUE), now)
    assert reminders_requeue(now=now) == 0
    with pytest.MonkeyPatch.context() as patched:
        sent: list[int] = []
        patched.setattr("reminders.services._enqueue_sends", lambda ids: sent.extend(ids))
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_requeue(now=now + timedelta(seconds=61)) == 1
            assert reminders_requeue(now=now + timedelta(seconds=62)) == 0  # lease pushed forward
    assert sent == [delivery.pk]


# --- opt-out by the signed link ----------------------------------------------------


def test_optout_link_switches_reminders_off_without_login(client: Any) -> None:
    patient = patient_in("UTC", JUST_DUE)
    url = f"/reminders/stop/{optout_token(patient.pk)}/"
    page = client.get(url)
    assert page.status_code == 200 and b"Stop my reminders" in page.content
    patient.refresh_from_db()
    assert patient.reminders_enabled  # a GET (a link scanner) changes nothing
    done = client.post(url)
    assert done.status_code == 200 and b"Reminders switched off" in done.content
    patient.refresh_from_db()
    assert not patient.reminders_enabled
    assert AuditEvent.objects.filter(patient=patient, action="patient.reminders_opted_out").count() == 1
    assert patient.pk not in due_ids(datetime.now(UTC))


def test_tampered_optout_link_is_refused(client: Any) -> None:
    patient = patient_in("UTC", JUST_DUE)
    other = patient_in("UTC", JUST_DUE)
    token = optout_token(patient.pk)
    _, _, signature = token.partition(":")
    forged = optout_token(other.pk).split(":", 1)[0] + ":" + signature
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense"):
        response = client.post(f"/reminders/stop/{bad}/")
        assert response.status_code == 400
        assert b"This link does not work" in response.content
    assert Patient.objects.filter(reminders_enabled=False).count() == 0
