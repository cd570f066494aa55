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
(``reminders.services.REMINDER_MAX_LATENESS``): a reminder sent late still asks
for an answer the patient can give.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Patient
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

    ``day``: a local date of ``patient``; ``now``: an aware datetime (default: now).
    Whether the day lies inside the plan is the caller's check (it knows the plan).

    Raises DomainError: day_in_future (``field``: after the patient's today),
    day_closed (``field``: yesterday after ``ANSWER_GRACE``, 2 hours, or any earlier date).
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
    if day_is_open(patient=patient, day=day, now=now):
        return day
    hours = int(ANSWER_GRACE.total_seconds() // 3600)
    if day == today - timedelta(days=1):
        message = (
            f"The day has changed: answers for {day:%A %-d %B} were taken until {hours} hours after "
            f"the midnight that ended it. It is now {today:%A %-d %B} in {patient.timezone}; send "
            "it again to record it for today."
        )
    else:
        message = (
            f"{day:%A %-d %B %Y} is closed for answers: they can be for today ({today:%A %-d %B} in "
            f"{patient.timezone}) or, until {hours} hours after midnight, for yesterday."
        )
    raise DomainError(message, field=field, code=DAY_CLOSED)
    return day


#: A patient may correct a check-in of the last CORRECTION_DAYS local days (issue 15): today and
#: the two days before it, in their own calendar; an older check-in is read-only.
CORRECTION_DAYS = 3


#: The DomainError code of a correction to a check-in older than that.
CHECKIN_TOO_OLD = "checkin_too_old"


def corrections_since(*, patient: Patient, now: datetime | None = None) -> date:
    """The earliest local date of ``patient`` whose check-in can still be corrected at ``now``
    (aware; default now): their today minus ``CORRECTION_DAYS - 1`` days."""
    return patient.local_today(now) - timedelta(days=CORRECTION_DAYS - 1)


def correction_open(*, patient: Patient, day: date, now: datetime | None = None) -> bool:
    """Whether the check-in of ``day`` (a local date of ``patient``) can be corrected at ``now``."""
    return corrections_since(patient=patient, now=now) <= day <= patient.local_today(now)


class LocalDateField(forms.DateField):
    """The hidden local date a page was rendered for: ISO 8601 (YYYY-MM-DD) only."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        kwargs.setdefault(
            "error_messages", {"invalid": "The day of this form is not a date (YYYY-MM-DD); reload the page."}
        )
        super().__init__(**kwargs)


def page_day(*, patient: Patient, requested: str | None, now: datetime | None = None) -> date:
    """The local date a page renders its form for: ``requested`` (a ``?day=`` query value, as
    sent) when it is an ISO 8601 date still open for answers, else the patient's today."""
    today = patient.local_today(now)
    if not requested:
        return today
    try:
        day = date.fromisoformat(requested)
    except ValueError:
        return today
    return day if day <= today and day_is_open(patient=patient, day=day, now=now) else today
