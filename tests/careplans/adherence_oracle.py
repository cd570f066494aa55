"""Adherence in plain Python: the oracle the database's definition (careplans.adherence) is held to.

Stated over plan days (day 0 is the plan's start date), as the module docstring
of careplans.adherence words the rule: each exercise is due on ``days_per_week``
days of each plan week, at most on the week's days inside the window; done
sessions count up to what was due in their own week.
"""

from __future__ import annotations

from collections.abc import Iterable


def adherence(
    *,
    length_weeks: int,
    exercises: Iterable[tuple[int, Iterable[int]]],
    today: int,
    since_days: int | None = None,
) -> tuple[int, int]:
    """(sessions done, sessions due) for one plan.

    ``exercises``: (days_per_week, plan days with a session) per exercise;
    ``today``: the patient's today as a plan day; ``since_days``: only the last
    that many days up to today (None: since the start).
    """
    first = 0 if since_days is None else max(0, today - since_days + 1)
    last = min(today, 7 * length_weeks - 1)
    window = set(range(first, last + 1))
    done = due = 0
    for days_per_week, days in exercises:
        ticked = set(days)
        for week in range(length_weeks):
            week_days = window & set(range(7 * week, 7 * week + 7))
            week_due = min(days_per_week, len(week_days))
            due += week_due
            done += min(len(ticked & week_days), week_due)
    return done, due
