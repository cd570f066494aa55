"""The outcome rules of DESIGN.md in plain Python: the oracle the database's definition is held to.

The product computes every figure in the database (outcomes.rules). This
module states each rule over a list of (day since plan start, NPRS) readings,
as directly as the design words it, so a test can compute the expected
figures for a history without any SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from statistics import fmean

# The design's numbers, written out again on purpose: an oracle that imported
# them from the product would agree with a wrong constant.
WEEK1 = (0, 6)
BASELINE_FALLBACK = (7, 13)
WEEK12 = (77, 83)
ENDPOINT_FALLBACK = (63, 83)
WEEK12_COMPLETE_DAY = 84
RESPONDER_POINTS = -2.0
RESPONDER_PERCENT = -30.0
WORSENING_POINTS = 2.0

Reading = tuple[int, int]  # (day since plan start, NPRS)


def _in(readings: Iterable[Reading], window: tuple[int, int]) -> list[Reading]:
    low, high = window
    return [(day, nprs) for day, nprs in readings if low <= day <= high]


def baseline(readings: list[Reading]) -> float | None:
    """Mean NPRS of the check-ins in week 1 (days 0-6). If there are none, the
    first check-in in days 7-13. Otherwise: no baseline."""
    week1 = _in(readings, WEEK1)
    if week1:
        return fmean(nprs for _, nprs in week1)
    fallback = sorted(_in(readings, BASELINE_FALLBACK))
    return float(fallback[0][1]) if fallback else None


def current(readings: list[Reading]) -> float | None:
    """Mean NPRS of the check-ins in the last 7 days that have any: the 7 days
    ending at the latest check-in."""
    if not readings:
        return None
    latest = max(day for day, _ in readings)
    return fmean(nprs for _, nprs in _in(readings, (latest - 6, latest)))


def endpoint(readings: list[Reading]) -> float | None:
    """Mean NPRS of the check-ins in week 12 (days 77-83); if none, the latest
    check-in in weeks 10-12 (days 63-83). Otherwise: no endpoint."""
    week12 = _in(readings, WEEK12)
    if week12:
        return fmean(nprs for _, nprs in week12)
    fallback = sorted(_in(readings, ENDPOINT_FALLBACK))
    return float(fallback[-1][1]) if fallback else None


def _exact(mean: float) -> Fraction:
    """The exact mean a float mean of at most 7 whole numbers stands for (its nearest seventh,
    sixth, ... or whole number): arithmetic on these is exact, as on paper."""
    return Fraction(mean).limit_denominator(7)


def change(base: float | None, end: float | None) -> float | None:
    """Change = endpoint - baseline, in points; negative is better. Exact, rounded once."""
    return None if base is None or end is None else float(_exact(end) - _exact(base))


def percent_change(base: float | None, end: float | None) -> float | None:
    """Percent change = 100 x change / baseline; undefined when the baseline is 0. Exact, rounded once."""
    if base is None or end is None or not base:
        return None
    return float(100 * (_exact(end) - _exact(base)) / _exact(base))


def responder(base: float | None, end: float | None) -> bool | None:
    """A reduction of at least 2 points and at least 30%. Unknown without an
    endpoint; with a baseline of 0 there is nothing to reduce, so not a responder."""
    if base is None or end is None:
        return None
    if not base:
        return False
    diff = _exact(end) - _exact(base)
    return diff <= RESPONDER_POINTS and 100 * diff / _exact(base) <= RESPONDER_PERCENT


def worsening(base: float | None, now: float | None) -> bool:
    """Current is at least 2 points above baseline."""
    return base is not None and now is not None and _exact(now) - _exact(base) >= WORSENING_POINTS


@dataclass(frozen=True)
class Outcome:
    """Every figure of one plan, named as OutcomeSnapshot.FIGURES (days instead of dates)."""

    baseline: float | None
    current: float | None
    endpoint: float | None
    change: float | None
    percent_change: float | None
    responder: bool | None
    worsening: bool
    reached_week_12: bool
    missing_endpoint: bool
    checkin_count: int
    last_day: int | None


def outcome_from_readings(readings: list[Reading], *, today_day: int) -> Outcome:
    """All the rules for one plan, given (day, NPRS) pairs and today's plan day."""
    # Week 12 is over once the patient's local today is day 84 or later; until
    # then a missing endpoint is not yet missing, and there is no endpoint yet:
    # the fallback's days 63-83 are still coming.
    reached = today_day >= WEEK12_COMPLETE_DAY
    base, now = baseline(readings), current(readings)
    end = endpoint(readings) if reached else None
    return Outcome(
        baseline=base,
        current=now,
        endpoint=end,
        change=change(base, end),
        percent_change=percent_change(base, end),
        responder=responder(base, end),
        worsening=worsening(base, now),
        reached_week_12=reached,
        missing_endpoint=reached and end is None,
        checkin_count=len(readings),
        last_day=max((day for day, _ in readings), default=None),
    )
