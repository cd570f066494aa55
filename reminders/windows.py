"""When a reminder is due: each time zone's reminder window, and the local day a reminder is for."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, DateField, Q, Value, When

from accounts.localday import ANSWER_GRACE
from accounts.models import Patient
from careplans.models import PlanStatus

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
