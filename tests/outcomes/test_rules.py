"""Each DESIGN.md outcome rule, with expectations worked out by hand.

Every case runs through the oracle (tests/outcomes/oracle.py) and through the
database's definition (outcomes.rules) on both backends, which must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db.models import DateField, F, Value

from careplans.adherence import DaysBetween
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_all
from tests.factories import CarePlanFactory, PatientFactory
from tests.outcomes.conftest import BACKENDS, plan_with_history
from tests.outcomes.oracle import Outcome, outcome_from_readings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def week(k: int, *values: int) -> list[tuple[int, int]]:
    """Readings on the first days of week k (1-based): day 7(k-1), 7(k-1)+1, ..."""
    return [(7 * (k - 1) + i, v) for i, v in enumerate(values)]


@pytest.fixture
def both(using: str) -> Callable[..., tuple[Outcome, OutcomeSnapshot]]:
    """The oracle's figures, and the snapshot the database writes for the same history (on ``using``)."""

    def run(readings: list[tuple[int, int]], today_day: int = 90) -> tuple[Outcome, OutcomeSnapshot]:
        plan = plan_with_history(readings, start=NOW.date() - timedelta(days=today_day), using=using)
        outcome_refresh_all(now=NOW, plan_ids=[plan.id], using=using)
        snapshot = OutcomeSnapshot.objects.using(using).get(plan=plan)
        return outcome_from_readings(readings, today_day=today_day), snapshot

    return run


pytestmark = pytest.mark.django_db(databases=BACKENDS)


def test_baseline_is_the_week_1_mean(both: Any) -> None:
    # Week 1: 6, 7, 8 -> 7.0; a later check-in on day 8 (9) does not count.
    py, sql = both([*week(1, 6, 7, 8), (8, 9)])
    assert py.baseline == sql.baseline == pytest.approx(7.0)


def test_baseline_falls_back_to_the_first_check_in_of_days_7_to_13(both: Any) -> None:
    # Nothing in week 1; days 9 (5) and 11 (3): the first one, 5.
    py, sql = both([(9, 5), (11, 3)])
    assert py.baseline == sql.baseline == 5.0


def test_no_baseline_without_check_ins_in_the_first_two_weeks(both: Any) -> None:
    py, sql = both([(14, 6), *week(12, 2, 2)])
    assert py.baseline is None and sql.baseline is None
    assert sql.endpoint == 2.0
    assert sql.change is None and sql.percent_change is None and sql.responder is None


def test_baseline_0_leaves_percent_change_undefined_and_is_not_a_responder(both: Any) -> None:
    py, sql = both([*week(1, 0, 0), *week(12, 3)])
    assert sql.baseline == 0.0 and sql.endpoint == 3.0 and sql.change == 3.0
    assert py.percent_change is None and sql.percent_change is None
    assert py.responder is False and sql.responder is False


def test_endpoint_is_the_week_12_mean(both: Any) -> None:
    # Week 12 = days 77-83: 4, 3, 2 -> 3.0 (the day-70 check-in is ignored).
    py, sql = both([*week(1, 8), (70, 9), *week(12, 4, 3, 2)])
    assert py.endpoint == sql.endpoint == pytest.approx(3.0)
    assert sql.change == pytest.approx(-5.0) and sql.percent_change == pytest.approx(-62.5)


def test_endpoint_falls_back_to_the_latest_check_in_of_weeks_10_to_12(both: Any) -> None:
    # Nothing in week 12; days 64 (6) and 75 (4): the latest, 4.
    py, sql = both([*week(1, 8), (64, 6), (75, 4)])
    assert py.endpoint == sql.endpoint == 4.0
    assert sql.missing_endpoint is False


def test_missing_endpoint_once_week_12_is_over(both: Any) -> None:
    # Last check-in on day 50: no endpoint, and week 12 is over (today is day 90).
    py, sql = both([*week(1, 7), (50, 5)])
    assert sql.endpoint is None and sql.reached_week_12 is True
    assert py.missing_endpoint is True and sql.missing_endpoint is True
    assert sql.responder is None


def test_a_plan_that_has_not_reached_week_12(both: Any) -> None:
    # Today is day 83: week 12 is not over, so nothing is missing yet.
    py, sql = both([*week(1, 7), (50, 5)], today_day=83)
    assert py.reached_week_12 is False and sql.reached_week_12 is False
    assert sql.missing_endpoint is False
    # Day 84 is the first day after week 12.
    _, later = both([*week(1, 7), (50, 5)], today_day=84)
    assert later.reached_week_12 is True and later.missing_endpoint is True


def test_responder_at_exactly_2_points_and_30_percent(both: Any) -> None:
    # Baseline (7+7+6)/3 = 20/3, endpoint (5+5+4)/3 = 14/3: change -2, -30% exactly.
    py, sql = both([*week(1, 7, 7, 6), *week(12, 5, 5, 4)])
    assert sql.change == pytest.approx(-2.0) and sql.percent_change == pytest.approx(-30.0)
    assert py.responder is True and sql.responder is True


def test_not_a_responder_at_2_points_but_only_25_percent(both: Any) -> None:
    # Baseline 8, endpoint 6: -2 points is only -25%.
    py, sql = both([*week(1, 8), *week(12, 6)])
    assert sql.change == -2.0 and sql.percent_change == pytest.approx(-25.0)
    assert py.responder is False and sql.responder is False


def test_not_a_responder_at_30_percent_but_under_2_points(both: Any) -> None:
    # Baseline 5, endpoint 3.5 (3 and 4): -1.5 points, -30%.
    py, sql = both([*week(1, 5), *week(12, 3, 4)])
    assert sql.percent_change == pytest.approx(-30.0)
    assert py.responder is False and sql.responder is False


def test_current_is_the_mean_of_the_7_days_ending_at_the_latest_check_in(both: Any) -> None:
    # Latest check-in day 40 (2); days 34..40 hold 6 (day 34) and 2 (day 40); day 33 (9) is out.
    py, sql = both([*week(1, 4), (33, 9), (34, 6), (40, 2)])
    assert py.current == sql.current == pytest.approx(4.0)
    assert sql.last_checkin_date == NOW.date() - timedelta(days=90) + timedelta(days=40)


def test_worsening_when_current_is_2_points_above_baseline(both: Any) -> None:
    py, sql = both([*week(1, 3), (30, 5)])
    assert py.worsening is True and sql.worsening is True
    _, calm = both([*week(1, 3), (30, 4)])
    assert calm.worsening is False


def test_a_replaced_check_in_counts_once_with_its_new_value() -> None:
    # One check-in per patient per day: the second report of day 2 replaces the first.
    start = NOW.date() - timedelta(days=90)
    plan = CarePlanFactory(patient=PatientFactory(timezone="UTC"), start_date=start)
    for day, value in [(0, 6), (2, 9)]:
        PainCheckIn.objects.create(
            patient=plan.patient, plan=plan, local_date=start + timedelta(days=day), nprs=value
        )
    PainCheckIn.objects.update_or_create(
        patient=plan.patient, local_date=start + timedelta(days=2), defaults={"plan": plan, "nprs": 4}
    )
    outcome_refresh_all(now=NOW, plan_ids=[plan.id])
    snap = OutcomeSnapshot.objects.get(plan=plan)
    assert snap.checkin_count == 2
    assert snap.baseline == pytest.approx(5.0)  # (6 + 4) / 2, not (6 + 9 + 4) / 3


def test_the_patients_time_zone_decides_when_week_12_is_over(using: str) -> None:
    # 23:30 UTC on the plan's day 83: already day 84 in Auckland, still day 83 in New York.
    now = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    start = now.date() - timedelta(days=83)
    plans = {
        zone: plan_with_history([], start=start, zone=zone, using=using)
        for zone in ("America/New_York", "Pacific/Auckland")
    }
    outcome_refresh_all(now=now, plan_ids=[p.id for p in plans.values()], using=using)
    snapshots = OutcomeSnapshot.objects.using(using)
    assert snapshots.get(plan=plans["America/New_York"]).reached_week_12 is False
    assert snapshots.get(plan=plans["Pacific/Auckland"]).reached_week_12 is True
    assert snapshots.get(plan=plans["Pacific/Auckland"]).missing_endpoint is True


def test_refresh_all_covers_every_plan_in_batches_and_is_idempotent() -> None:
    plans = [CarePlanFactory(patient=PatientFactory(timezone="UTC")) for _ in range(5)]
    for plan in plans:
        PainCheckIn.objects.create(patient=plan.patient, plan=plan, local_date=plan.start_date, nprs=5)
    assert outcome_refresh_all(now=NOW, batch_size=2) == 5
    # The second run finds every snapshot up to date and writes none.
    assert outcome_refresh_all(now=NOW, batch_size=2) == 0
    assert OutcomeSnapshot.objects.filter(baseline=5.0).count() == 5


def test_nightly_task_recomputes_every_plan() -> None:
    from outcomes.tasks import outcome_recompute_all

    plan = CarePlanFactory(patient=PatientFactory(timezone="UTC"))
    PainCheckIn.objects.create(patient=plan.patient, plan=plan, local_date=plan.start_date, nprs=7)
    assert outcome_recompute_all.delay().get() >= 1
    assert OutcomeSnapshot.objects.get(plan=plan).baseline == 7.0


@pytest.mark.parametrize(
    ("later", "days"), [(date(2026, 3, 2), 30), (date(2025, 12, 31), -31), (date(2026, 1, 31), 0)]
)
def test_days_between_counts_calendar_days_on_both_backends(using: str, later: date, days: int) -> None:
    # The nightly check's readings (outcomes.snapshot_checks._reading) number a check-in by its plan day.
    plan = plan_with_history([], start=date(2026, 1, 31), using=using)
    between = DaysBetween(Value(later, output_field=DateField()), F("start_date"))
    assert CarePlan.objects.using(using).filter(pk=plan.pk).annotate(d=between).get().d == days
