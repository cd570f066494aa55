"""The set-based SQL recompute agrees with the plain-Python rules on random histories."""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careplans.models import OutcomeSnapshot
from careplans.outcomes import outcome_from_readings
from careplans.outcomes_bulk import outcome_refresh_all, outcome_rows
from patients.models import PainCheckIn
from tests.factories import CarePlanFactory, PatientFactory

# 23:30 UTC: already tomorrow in Kiritimati (UTC+14), still today in Los Angeles,
# so a plan's day number depends on the patient's zone.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
ZONES = ["Europe/London", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata"]


@st.composite
def histories(draw: Any) -> tuple[list[tuple[int, int]], int, str]:
    """(day, NPRS) pairs with whole weeks left empty at random, a plan day for today, a zone."""
    weeks = draw(st.sets(st.integers(min_value=0, max_value=14), max_size=15))
    days: set[int] = set()
    for week in weeks:
        days |= draw(st.sets(st.integers(min_value=7 * week, max_value=7 * week + 6), min_size=1, max_size=7))
    # Baseline 0 and very low baselines are the edge of percent change: make them common.
    low = draw(st.booleans())
    nprs = st.integers(min_value=0, max_value=2 if low else 10)
    readings = [(day, draw(nprs)) for day in sorted(days)]
    today_day = draw(st.integers(min_value=0, max_value=130))
    return readings, today_day, draw(st.sampled_from(ZONES))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=1e-9)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_bulk_recompute_agrees_with_the_rules(history: tuple[list[tuple[int, int]], int, str]) -> None:
    readings, today_day, zone = history
    local_today = NOW.astimezone(zoneinfo.ZoneInfo(zone)).date()
    start = local_today - timedelta(days=today_day)
    # A fresh patient and plan per example, so examples never see each other's rows.
    plan = CarePlanFactory(patient=PatientFactory(timezone=zone), start_date=start)
    PainCheckIn.objects.bulk_create(
        PainCheckIn(patient=plan.patient, plan=plan, local_date=start + timedelta(days=day), nprs=nprs)
        for day, nprs in readings
    )
    expected = outcome_from_readings(readings, today_day=today_day)

    assert outcome_refresh_all(now=NOW, plan_ids=[plan.id]) == 1
    snap = OutcomeSnapshot.objects.get(plan=plan)
    for name in ("baseline", "current", "endpoint", "change", "percent_change"):
        assert _same(getattr(snap, name), getattr(expected, name)), name
    assert snap.responder == expected.responder
    assert snap.worsening == expected.worsening
    assert snap.reached_week_12 == expected.reached_week_12
    assert snap.missing_endpoint == expected.missing_endpoint
    assert snap.checkin_count == expected.checkin_count
    last = None if expected.last_day is None else start + timedelta(days=expected.last_day)
    assert snap.last_checkin_date == last

    # The export path shares the SQL: same figures, straight from the check-ins.
    [row] = [r for r in outcome_rows(now=NOW, clinic_ids=[plan.patient.clinic_id]) if r.plan_start == start]
    assert _same(row.percent_change, expected.percent_change)
    assert row.responder == expected.responder
