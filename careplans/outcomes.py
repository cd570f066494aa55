"""The outcome rules of DESIGN.md, written once.

All windows are in the patient's local dates, counted from the plan's start
date (day 0). Week k covers days 7(k-1) .. 7k-1. NPRS is the 0-10 Numeric Pain
Rating Scale. This module is the plain-Python statement of each rule; any bulk
path that computes them in the database is checked against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean

from django.db import transaction
from django.utils import timezone

from careplans.models import CarePlan, OutcomeSnapshot

WEEK1 = (0, 6)
BASELINE_FALLBACK = (7, 13)
WEEK12 = (77, 83)
ENDPOINT_FALLBACK = (63, 83)
#: A plan has reached week 12 once its day 83 is over in the patient's calendar.
WEEK12_COMPLETE_DAY = 84
RESPONDER_POINTS = -2.0
RESPONDER_PERCENT = -30.0
WORSENING_POINTS = 2.0
#: Means of whole numbers are not exact in binary floating point (20/3 - 14/3 is
#: not exactly 2), so a threshold is met when within this much of it. With NPRS
#: integers and at most 7 values per mean, a real miss is never this close.
TOLERANCE = 1e-9

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


def endpoint_12w(readings: list[Reading]) -> float | None:
    """Mean NPRS of the check-ins in week 12 (days 77-83); if none, the latest
    check-in in weeks 10-12 (days 63-83). Otherwise: no endpoint."""
    week12 = _in(readings, WEEK12)
    if week12:
        return fmean(nprs for _, nprs in week12)
    fallback = sorted(_in(readings, ENDPOINT_FALLBACK))
    return float(fallback[-1][1]) if fallback else None


def change(base: float | None, end: float | None) -> float | None:
    """Change = endpoint - baseline, in points; negative is better."""
    return None if base is None or end is None else end - base


def percent_change(base: float | None, end: float | None) -> float | None:
    """Percent change = 100 x change / baseline; undefined when the baseline is 0."""
    diff = change(base, end)
    return None if diff is None or not base else 100 * diff / base


def responder(base: float | None, end: float | None) -> bool | None:
    """A reduction of at least 2 points and at least 30%. Unknown without an
    endpoint; with a baseline of 0 there is nothing to reduce, so not a responder."""
    diff = change(base, end)
    if diff is None:
        return None
    pct = percent_change(base, end)
    return diff <= RESPONDER_POINTS + TOLERANCE and pct is not None and pct <= RESPONDER_PERCENT + TOLERANCE


def worsening(base: float | None, now: float | None) -> bool:
    """Current is at least 2 points above baseline."""
    return base is not None and now is not None and now - base >= WORSENING_POINTS - TOLERANCE


@dataclass(frozen=True)
class Outcome:
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
    base, now, end = baseline(readings), current(readings), endpoint_12w(readings)
    # Week 12 is over once the patient's local today is day 84 or later; until
    # then a missing endpoint is not yet missing.
    reached = today_day >= WEEK12_COMPLETE_DAY
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


def outcome_for_plan(plan: CarePlan, *, today: date | None = None) -> Outcome:
    """Compute a plan's outcome from its check-ins (one query)."""
    today = today or plan.patient.local_today()
    readings = [
        ((day - plan.start_date).days, nprs) for day, nprs in plan.checkins.values_list("local_date", "nprs")
    ]
    return outcome_from_readings(readings, today_day=(today - plan.start_date).days)


@transaction.atomic
def outcome_refresh_plan(*, plan_id: int, today: date | None = None) -> OutcomeSnapshot | None:
    """Recompute one plan's snapshot from its check-ins. A missing plan is a no-op."""
    plan = CarePlan.objects.select_related("patient").filter(pk=plan_id).first()
    if plan is None:
        return None
    result = outcome_for_plan(plan, today=today)
    snapshot, _ = OutcomeSnapshot.objects.update_or_create(
        plan=plan,
        defaults={
            "baseline": result.baseline,
            "current": result.current,
            "endpoint": result.endpoint,
            "change": result.change,
            "percent_change": result.percent_change,
            "responder": result.responder,
            "worsening": result.worsening,
            "reached_week_12": result.reached_week_12,
            "missing_endpoint": result.missing_endpoint,
            "checkin_count": result.checkin_count,
            "last_checkin_date": (
                plan.start_date + timedelta(days=result.last_day) if result.last_day is not None else None
            ),
            "computed_at": timezone.now(),
        },
    )
    return snapshot
