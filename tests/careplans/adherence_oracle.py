"""Adherence in plain Python: the oracle the database's definition (careplans.adherence) is held to.

Stated over plan days (day 0 is the plan's start date), as the module docstring
of careplans.adherence words the rule: each exercise is due ``sessions_per_day``
sessions on ``days_per_week`` days of each plan week, at most on the week's days
inside the window; a day's sessions count up to ``sessions_per_day`` (session
numbers above it are extra), and a week's up to what was due in that week.
"""

from __future__ import annotations

from collections.abc import Iterable


def adherence(
    *,
    length_weeks: int,
    exercises: Iterable[tuple[int, int, Iterable[tuple[int, int]]]],
    today: int,
    since_days: int | None = None,
) -> tuple[int, int, int]:
    """(sessions done, sessions due, plan days in the window) for one plan.

    ``exercises``: (days_per_week, sessions_per_day, sessions as (plan day, session
    number)) per exercise; ``today``: the patient's today as a plan day;
    ``since_days``: only the last that many days up to today (None: since the start).
    """
    first = 0 if since_days is None else max(0, today - since_days + 1)
    last = min(today, 7 * length_weeks - 1)
    window = set(range(first, last + 1))
    done = due = 0
    for days_per_week, sessions_per_day, sessions in exercises:
        marked = {(day, number) for day, number in sessions if number <= sessions_per_day}
        for week in range(length_weeks):
            week_days = window & set(range(7 * week, 7 * week + 7))
            week_due = min(days_per_week, len(week_days)) * sessions_per_day
            due += week_due
            done += min(sum(1 for day, _ in marked if day in week_days), week_due)
    return done, due, len(window)
