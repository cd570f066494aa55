"""Local midnight is a boundary, not a cliff: every reminder time is served, once a day, in every zone.

The property test runs the real job (``reminders_dispatch``) every 5 minutes
across days that include DST changes, for every reminder time the settings
form accepts (every minute of the day) in zones at the edges of the map
(+14, +13, -11, half-hour and 45-minute offsets, a 30-minute DST shift).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts.localday import ANSWER_GRACE
from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from reminders.delivery import reminder_send
from reminders.models import DeliveryStatus, ReminderDelivery
from reminders.services import reminders_dispatch, reminders_due
from reminders.views import ReminderSettingsForm
from reminders.windows import REMINDER_MAX_LATENESS, ReminderWindow
from tests.factories import CarePlanFactory, PainCheckInFactory, PatientFactory

pytestmark = pytest.mark.django_db

ZONES = [
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Tongatapu",  # UTC+13
    "Pacific/Pago_Pago",  # UTC-11
    "Asia/Kolkata",  # UTC+05:30
    "Asia/Kathmandu",  # UTC+05:45
    "Pacific/Chatham",  # UTC+12:45, +13:45 in its summer
    "Australia/Lord_Howe",  # UTC+10:30, a 30-minute DST shift
    "America/St_Johns",  # UTC-03:30 with DST
    "America/New_York",
    "Europe/London",
]

#: UTC spans of about two days, each around DST changes of some of the zones.
SPANS = {
    # New York and St John's spring forward on 8 March 2026.
    "northern-spring": datetime(2026, 3, 7, 0, 0, tzinfo=UTC),
    # Lord Howe, Chatham fall back on 5 April 2026.
    "southern-autumn": datetime(2026, 4, 4, 0, 0, tzinfo=UTC),
    # Chatham springs forward on 27 September 2026.
    "southern-spring": datetime(2026, 9, 26, 0, 0, tzinfo=UTC),
    # London on 25 October, New York and St John's on 1 November 2026 fall back.
    "northern-autumn": datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
}
SPAN = timedelta(hours=52)
RUN_EVERY = timedelta(minutes=5)


def form_reminder_times() -> list[time]:
    """Every reminder time the settings form accepts (it takes hours and minutes)."""
    field = ReminderSettingsForm().fields["reminder_time"]
    return [field.clean(f"{hour:02d}:{minute:02d}") for hour in range(24) for minute in range(60)]


def patients_for_every_time_and_zone(times: list[time]) -> None:
    clinic = Clinic.objects.create(name="Every minute clinic")
    therapist = Therapist.objects.create(
        user=User.objects.create(email="therapist-every@example.test", full_name="T"), clinic=clinic
    )
    pairs = [(zone, at) for zone in ZONES for at in times]
    users = User.objects.bulk_create(
        User(email=f"p{i}@example.test", full_name=f"P{i}", password="!") for i in range(len(pairs))
    )
    patients = Patient.objects.bulk_create(
        Patient(user=user, clinic=clinic, therapist=therapist, timezone=zone, reminder_time=at)
        for user, (zone, at) in zip(users, pairs, strict=True)
    )
    CarePlan.objects.bulk_create(
        CarePlan(
            patient=patient,
            therapist=therapist,
            title="Plan",
            start_date=date(2026, 1, 1),
            length_weeks=52,
            status=PlanStatus.ACTIVE,
        )
        for patient in patients
    )
    # Measure the new rows, as autovacuum would have on a live database: PostgreSQL otherwise
    # plans the due query for the near-empty tables it last measured (estimates of 8 patients
    # for 14,400), and once a make test run spent over 300 s in the query that takes 0.2 s here.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def wall(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def reached(day: date, at: time, zone: str) -> datetime:
    """The first real moment at which the zone's wall clock reads ``day`` ``at`` or later.

    For a time skipped by a spring-forward jump, that is the jump itself.
    """
    naive = datetime.combine(day, at)
    early, late = sorted(naive.replace(tzinfo=ZoneInfo(zone), fold=f).astimezone(UTC) for f in (0, 1))
    if wall(early, zone) >= naive:
        return early
    low, high = int(early.timestamp()), int(late.timestamp())  # jumps happen on whole seconds
    while high - low > 1:  # inside the jump: halve down to the second
        middle = (low + high) // 2
        low, high = (
            (low, middle) if wall(datetime.fromtimestamp(middle, UTC), zone) >= naive else (middle, high)
        )
    return datetime.fromtimestamp(high, UTC)


def runs_over(start: datetime) -> list[datetime]:
    return [start + RUN_EVERY * i for i in range(int(SPAN / RUN_EVERY) + 1)]


def due_by_rule(window: ReminderWindow, times: list[time]) -> list[tuple[time, date]]:
    """The (reminder time, local date) pairs a run with ``window`` finds due, by the window's own bounds."""
    due = []
    for day, low, high in window.days():
        first = 0 if low is None else bisect_right(times, low)
        end = len(times) if high is None else bisect_right(times, high)
        due.extend((at, day) for at in times[first:end])
    return due


@pytest.mark.parametrize("span", list(SPANS))
@pytest.mark.parametrize("zone", ZONES)
def test_every_form_time_is_due_once_a_day_for_a_job_every_5_minutes(zone: str, span: str) -> None:
    """The rule, exhaustively: every minute of the day, every run 5 minutes apart, over DST days.

    ``reminders_due`` builds its query from ``ReminderWindow.days()``; the test
    below holds the query to it on the database.
    """
    times = form_reminder_times()
    assert len(times) == 24 * 60
    runs = runs_over(SPANS[span])
    # The delivery row is unique per patient and local date: the first run that finds
    # a (time, date) due claims it, later ones skip it.
    claimed: dict[tuple[time, date], datetime] = {}
    for now in runs:
        window = ReminderWindow.at(zone, now)
        for key in due_by_rule(window, times):
            if key not in claimed:
                claimed[key] = now
                # What the send checks straight after the claim: not too late.
                assert not window.too_late(key[1], key[0])
    # The local days wholly inside the span, with room for the lateness at both ends.
    first = wall(runs[0] + REMINDER_MAX_LATENESS, zone).date() + timedelta(days=1)
    last = wall(runs[-1] - REMINDER_MAX_LATENESS, zone).date() - timedelta(days=1)
    assert first <= last
    missing, off_time = [], []
    day = first
    while day <= last:
        for at in times:
            if (at, day) not in claimed:
                missing.append((at, day))
                continue
            # On time: claimed within one run interval of the time, on the zone's clock or in
            # real time (a run that lands after a forward jump is late on the clock only; one
            # in an hour repeated by a fall-back was early in real time only).
            on_clock = wall(claimed[at, day], zone) - datetime.combine(day, at)
            in_real_time = claimed[at, day] - reached(day, at, zone)
            if not any(timedelta(0) <= behind < RUN_EVERY for behind in (on_clock, in_real_time)):
                off_time.append((at, day, on_clock, in_real_time))
        day += timedelta(days=1)
    assert missing == [], f"{len(missing)} reminders never due, e.g. {missing[:5]}"
    assert off_time == [], f"{len(off_time)} claimed off time, e.g. {off_time[:5]}"


def edge_moments() -> list[datetime]:
    """Moments at and just after every DST change in the spans, and local midnights at the map's edges.

    Just after (3 minutes, 2 hours 1 minute): the window's two ends each cross the edge.
    """
    moments: set[datetime] = set()
    after = [timedelta(0), timedelta(minutes=3), REMINDER_MAX_LATENESS + timedelta(minutes=1)]
    for zone in ZONES:
        info = ZoneInfo(zone)
        for span, start in SPANS.items():
            for before, now in itertools.pairwise(runs_over(start)):
                shift = before.astimezone(info).utcoffset() != now.astimezone(info).utcoffset()
                midnight = (
                    span == "southern-autumn"
                    and zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Chatham")
                    and wall(before, zone).date() != wall(now, zone).date()
                )
                if shift or midnight:
                    moments.update(now + nudge for nudge in after)
    return sorted(moments)


def test_the_due_query_finds_exactly_what_the_window_rule_says(django_assert_max_num_queries: Any) -> None:
    """Every form time in every zone, at every local midnight and DST change of the spans."""
    times = form_reminder_times()
    patients_for_every_time_and_zone(times)
    who = {pk: (zone, at) for pk, zone, at in Patient.objects.values_list("pk", "timezone", "reminder_time")}
    for now in edge_moments():
        with django_assert_max_num_queries(2):
            found = {(*who[item.patient_id], item.local_date) for item in reminders_due(now=now, limit=10**6)}
        expected = {
            (zone, at, day) for zone in ZONES for at, day in due_by_rule(ReminderWindow.at(zone, now), times)
        }
        assert found == expected, (now, sorted(found ^ expected)[:5])


# --- the example of the field report, through the send ------------------------------


def late_evening_patient(zone: str = "Europe/London", at: time = time(23, 58)) -> Patient:
    patient = PatientFactory(timezone=zone, reminder_time=at)
    CarePlanFactory(patient=patient, start_date=date(2026, 1, 1), length_weeks=52)
    return patient


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def dispatch_at(moment: datetime, capture: Any) -> None:
    with time_machine.travel(moment, tick=False), capture(execute=True):
        reminders_dispatch()


def test_a_2358_reminder_is_sent_by_the_job_running_every_5_minutes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = late_evening_patient()
    for minute in range(23 * 60, 24 * 60 + 30, 5):  # 23:00 to 00:25, every 5 minutes
        dispatch_at(london(2026, 5, 4, 0, 0) + timedelta(minutes=minute), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == [patient.user.email]
    assert "Monday 04 May" in message.subject
    delivery = ReminderDelivery.objects.get(patient=patient)
    assert (delivery.local_date, delivery.status) == (date(2026, 5, 4), DeliveryStatus.SENT)
    assert delivery.sent_at == london(2026, 5, 5, 0, 0)


def test_a_worker_back_after_midnight_sends_the_previous_days_reminder_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = late_evening_patient()
    # Down from 23:50 to 00:03: the first run after it is at 00:03, and again at 00:08.
    dispatch_at(london(2026, 5, 4, 23, 50), django_capture_on_commit_callbacks)
    dispatch_at(london(2026, 5, 5, 0, 3), django_capture_on_commit_callbacks)
    dispatch_at(london(2026, 5, 5, 0, 8), django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[patient.user.email]]
    assert ReminderDelivery.objects.get(patient=patient).local_date == date(2026, 5, 4)
    # The link opens the check-in for the day the reminder is about.
    assert "/checkin/?day=2026-05-04" in mail.outbox[0].body


def test_no_late_reminder_when_the_patient_checked_in_for_that_day(
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = late_evening_patient()
    PainCheckInFactory(plan=patient.plans.get(), local_date=date(2026, 5, 4))
    dispatch_at(london(2026, 5, 5, 0, 3), django_capture_on_commit_callbacks)
    assert mail.outbox == [] and not ReminderDelivery.objects.exists()


def test_a_reminder_more_than_the_maximum_lateness_behind_is_not_sent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    patient = late_evening_patient()
    assert REMINDER_MAX_LATENESS == ANSWER_GRACE == timedelta(hours=2)
    dispatch_at(london(2026, 5, 5, 1, 58), django_capture_on_commit_callbacks)  # 2 hours late: not sent
    dispatch_at(london(2026, 5, 5, 2, 5), django_capture_on_commit_callbacks)
    assert mail.outbox == [] and not ReminderDelivery.objects.filter(patient=patient).exists()
    # A claim made in time but sent only after the limit is skipped, with the reason.
    # Claimed on time on 5 May; its send task (run on commit) is held back past the limit.
    assert reminders_dispatch(now=london(2026, 5, 5, 23, 58)).claimed == 1
    delivery = ReminderDelivery.objects.get(patient=patient)
    with time_machine.travel(london(2026, 5, 6, 1, 58, 30), tick=False):
        assert reminder_send(delivery_id=delivery.pk).outcome == "skipped"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (
        DeliveryStatus.SKIPPED,
        "more than 2:00:00 after the reminder time",
    )
    assert mail.outbox == []


def test_window_bounds_are_the_wall_clock_of_now_and_of_the_lateness_before_it() -> None:
    window = ReminderWindow.at("Asia/Kathmandu", datetime(2026, 5, 4, 19, 0, tzinfo=UTC))  # 00:45 on 5 May
    assert window.days() == [(date(2026, 5, 4), time(22, 45), None), (date(2026, 5, 5), None, time(0, 45))]
    assert window.too_late(date(2026, 5, 4), time(22, 45))
    assert not window.too_late(date(2026, 5, 4), time(22, 46))


def test_no_reminder_for_a_day_before_the_plan_starts() -> None:
    patient = PatientFactory(timezone="Pacific/Kiritimati", reminder_time=time(23, 58))
    CarePlanFactory(patient=patient, start_date=date(2026, 5, 5))
    # 00:03 on 5 May in Kiritimati: the 23:58 reminder of 4 May is for a day before the plan.
    assert reminders_dispatch(now=datetime(2026, 5, 4, 10, 3, tzinfo=UTC)).claimed == 0
    assert not ReminderDelivery.objects.exists()
