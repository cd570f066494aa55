"""Which local day an answer belongs to: local midnight is a boundary, not a cliff.

A check-in, or an exercise marked done on the Today page, belongs to the local
date the patient answered for (the date the page was rendered for), not to the
date on which the server happens to receive it. The rule, in one place:

- the day may be today (the patient's own date at ``now``);
- or yesterday, while yesterday is still open: until ``ANSWER_GRACE`` (2 hours)
  after the local midnight that ended it, so a form opened at 23:58 and sent at
  00:02 counts for the evening it was opened on;
- never a day in the future, never before yesterday, and never yesterday once
  the grace period is over: the patient is then asked to record it for today
  instead (the page re-renders with the new date; the API answers 400).

Check-in reminders use the same bound as their maximum lateness
(``careplans.reminders.REMINDER_MAX_LATENESS``): a reminder sent late still asks
for an answer the patient can give.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from patients.models import Patient
from portal.errors import DomainError

#: How long after local midnight the day before still takes answers (issue 13).
ANSWER_GRACE = timedelta(hours=2)

#: The DomainError codes of a day that is not (or no longer) open for answers.
DAY_IN_FUTURE = "day_in_future"
DAY_CLOSED = "day_closed"


def day_is_open(*, patient: Patient, day: date, now: datetime | None = None) -> bool:
    """Whether ``day`` (a local date of ``patient``) still takes answers at ``now`` (aware; default now).

    Open means today, or yesterday until ``ANSWER_GRACE`` after the local midnight
    that ended it (measured in real time, so a DST change does not stretch it).
    """
    now = now or timezone.now()
    today = patient.local_today(now)
    if day == today:
        return True
    return day == today - timedelta(days=1) and patient.local_today(now - ANSWER_GRACE) <= day


def answer_day(
    *, patient: Patient, day: date | None, now: datetime | None = None, field: str = "local_date"
) -> date:
    """The local date an answer is recorded for: ``day`` once validated, or today when ``day`` is None.

    ``now`` is an aware datetime (default: now). Raises ``DomainError`` naming
    ``field`` with code ``day_in_future`` for a date after the patient's today,
    or ``day_closed`` for yesterday after the grace period or any earlier date.
    Whether the day lies inside the plan is the caller's check (it knows the plan).
    """
    now = now or timezone.now()
    today = patient.local_today(now)
    if day is None:
        return today
    if day > today:
        raise DomainError(
            f"{day:%A %-d %B %Y} has not started yet where you are (it is {today:%A %-d %B} in "
            f"{patient.timezone}).",
            field=field,
            code=DAY_IN_FUTURE,
        )
    if not day_is_open(patient=patient, day=day, now=now):
        raise DomainError(
            f"The day has changed: answers for {day:%A %-d %B} were taken until "
            f"{int(ANSWER_GRACE.total_seconds() // 3600)} hours after the midnight that ended it. "
            f"It is now {today:%A %-d %B} in {patient.timezone}; send it again to record it for today.",
            field=field,
            code=DAY_CLOSED,
        )
    return day
