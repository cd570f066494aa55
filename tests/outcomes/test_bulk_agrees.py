"""The database's outcome definition agrees with the oracle on random histories, on both backends.

Each example writes a random history to one database alias (``using``: the
default database, PostgreSQL under ``make test``, and the embedded SQLite one),
recomputes its snapshot there, and compares every figure with the oracle
(tests/outcomes/oracle.py), exactly: every figure is the exact result rounded
once to a float (outcomes.rules.MEAN_UNITS), on both backends, so a mean, a
change or a percent has one right float and the database must produce it. The
examples pinned with ``@example`` are the float traps: baselines of 10/3, 17/3
and 20/3, a change of exactly -100% and exactly -20%, and the responder
boundary at exactly -2 points and -30%.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careplans.models import CarePlan
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_all, outcome_refresh_plan
from outcomes.rules import outcomes_for_plans
from outcomes.selectors import outcome_export_rows
from tests.outcomes.conftest import BACKENDS, plan_with_history
from tests.outcomes.oracle import Outcome, outcome_from_readings

# 23:30 UTC: already tomorrow in Kiritimati (UTC+14), still today in Los Angeles,
# so a plan's day number depends on the patient's zone.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
ZONES = ["Europe/London", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata"]

History = tuple[list[tuple[int, int]], int, str]


def week(k: int, *values: int) -> list[tuple[int, int]]:
    """Readings on the first days of week k (1-based)."""
    return [(7 * (k - 1) + i, v) for i, v in enumerate(values)]


# Float traps: (week-1 values, week-12 values).
TRAPS = [
    ([4, 3, 3], [2, 1, 1]),  # 10/3 -> 4/3: -2 points, -60%
    ([6, 6, 5], [4, 4, 3]),  # 17/3 -> 11/3: -2 points, -35.29...%
    ([7, 7, 6], [5, 5, 4]),  # 20/3 -> 14/3: exactly -2 points and -30%, a responder
    ([4, 3, 3], [3, 3, 2]),  # 10/3 -> 8/3: exactly -20%
    ([7, 7, 6], [0, 0]),  # 20/3 -> 0: exactly -100%
    ([5], [4]),  # 5 -> 4: exactly -20%
    ([3, 3, 4], [0]),  # 10/3 -> 0: exactly -100%
    ([6, 6, 5], [0]),  # 17/3 -> 0: exactly -100% (once stored as -100.00000000000001)
    ([2, 1, 2], [1, 1, 2]),  # 5/3 -> 4/3: exactly -20%, as 5 -> 4
]


@st.composite
def histories(draw: Any) -> History:
    """(day, NPRS) pairs with whole weeks left empty at random, a plan day for today, a zone."""
    weeks = draw(st.sets(st.integers(min_value=0, max_value=14), max_size=15))
    days: set[int] = set()
    for k in weeks:
        days |= draw(st.sets(st.integers(min_value=7 * k, max_value=7 * k + 6), min_size=1, max_size=7))
    # Baseline 0 and very low baselines are the edge of percent change: make them common.
    low = draw(st.booleans())
    nprs = st.integers(min_value=0, max_value=2 if low else 10)
    readings = [(day, draw(nprs)) for day in sorted(days)]
    today_day = draw(st.integers(min_value=0, max_value=130))
    return readings, today_day, draw(st.sampled_from(ZONES))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b


def assert_agrees(figures: Any, expected: Outcome, *, start: Any) -> None:
    """Every figure of ``figures`` (a snapshot, or a mapping via getattr) against the oracle's."""
    for name in ("baseline", "current", "endpoint", "change", "percent_change"):
        assert _same(figures(name), getattr(expected, name)), name
    for name in ("responder", "worsening", "reached_week_12", "missing_endpoint", "checkin_count"):
        assert figures(name) == getattr(expected, name), name
    last = None if expected.last_day is None else start + timedelta(days=expected.last_day)
    assert figures("last_checkin_date") == last


@pytest.mark.django_db(databases=BACKENDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
@example(history=([*week(1, 7, 7, 6), *week(12, 5, 5, 4)], 90, "Pacific/Kiritimati"))
@example(history=([*week(1, 0, 0), *week(12, 3)], 84, "America/Los_Angeles"))
def test_refresh_agrees_with_the_oracle(using: str, history: History) -> None:
    readings, today_day, zone = history
    local_today = NOW.astimezone(zoneinfo.ZoneInfo(zone)).date()
    start = local_today - timedelta(days=today_day)
    # A fresh patient and plan per example, so examples never see each other's rows.
    plan = plan_with_history(readings, start=start, zone=zone, using=using)
    expected = outcome_from_readings(readings, today_day=today_day)

    assert outcome_refresh_all(now=NOW, plan_ids=[plan.id], using=using) == 1
    snap = OutcomeSnapshot.objects.using(using).get(plan=plan)
    assert_agrees(lambda name: getattr(snap, name), expected, start=start)

    # The export reads the same figures from the snapshot.
    [row] = outcome_export_rows(clinic_ids=[plan.patient.clinic_id], using=using)
    assert_agrees(lambda name: row[name], expected, start=start)
    # So does the pages' reading of a plan whose snapshot a check-in overtook.
    plans = CarePlan.objects.using(using).filter(pk=plan.id)
    read = outcomes_for_plans(plans, today_by_zone={zone: local_today})[plan.id]
    assert_agrees(lambda name: getattr(read, name), expected, start=start)


@pytest.mark.django_db(databases=BACKENDS)
@pytest.mark.parametrize(("first", "twelfth"), TRAPS)
def test_float_traps_agree_with_the_oracle(using: str, first: list[int], twelfth: list[int]) -> None:
    readings = [*week(1, *first), *week(12, *twelfth)]
    start = NOW.date() - timedelta(days=90)
    plan = plan_with_history(readings, start=start, using=using)
    expected = outcome_from_readings(readings, today_day=90)
    # The one-plan path (after a check-in) and the nightly path write the same snapshot.
    snap = outcome_refresh_plan(plan_id=plan.id, today=NOW.date(), using=using)
    assert snap is not None
    assert_agrees(lambda name: getattr(snap, name), expected, start=start)
    assert outcome_refresh_all(now=NOW, plan_ids=[plan.id], using=using) == 0
    [row] = outcome_export_rows(clinic_ids=[plan.patient.clinic_id], using=using)
    assert_agrees(lambda name: row[name], expected, start=start)
    plans = CarePlan.objects.using(using).filter(pk=plan.id)
    read = outcomes_for_plans(plans, today_by_zone={"UTC": NOW.date()})[plan.id]
    assert_agrees(lambda name: getattr(read, name), expected, start=start)


def test_the_snapshot_declares_each_figure_once() -> None:
    from outcomes.rules import MEASURED

    fields = {f.name for f in OutcomeSnapshot._meta.get_fields()} - {"plan", "computed_at"}
    assert set(OutcomeSnapshot.FIGURES) == fields
    assert set(MEASURED) <= fields
    assert set(Outcome.__dataclass_fields__) - {"last_day"} == fields - {"last_checkin_date"}
