"""The nightly recompute on top of existing snapshots: it rewrites exactly the snapshots
whose figures changed, and what it writes always agrees with the rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alerts.selectors import attention_list
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_all, outcome_refresh_plan
from outcomes.selectors import outcome_figures, snapshot_overtaken
from tests.factories import CarePlanFactory, PatientFactory
from tests.outcomes.oracle import outcome_from_readings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FIGURES = ("baseline", "current", "endpoint", "change", "percent_change")

pytestmark = pytest.mark.django_db


def _plan(today_day: int = 40) -> CarePlan:
    plan: CarePlan = CarePlanFactory(
        patient=PatientFactory(timezone="UTC"), start_date=NOW.date() - timedelta(days=today_day)
    )
    return plan


def _put(plan: CarePlan, readings: dict[int, int]) -> None:
    """Set the check-ins of the given plan days (a later value replaces an earlier one)."""
    for day, nprs in readings.items():
        PainCheckIn.objects.update_or_create(
            patient=plan.patient,
            local_date=plan.start_date + timedelta(days=day),
            defaults={"plan": plan, "nprs": nprs},
        )


def _readings(plan: CarePlan) -> list[tuple[int, int]]:
    return [((d - plan.start_date).days, v) for d, v in plan.checkins.values_list("local_date", "nprs")]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=1e-9)


def _agrees(plan: CarePlan, today_day: int) -> None:
    expected = outcome_from_readings(_readings(plan), today_day=today_day)
    snap = OutcomeSnapshot.objects.get(plan=plan)
    for name in FIGURES:
        assert _same(getattr(snap, name), getattr(expected, name)), name
    assert (snap.responder, snap.worsening, snap.checkin_count) == (
        expected.responder,
        expected.worsening,
        expected.checkin_count,
    )


def test_an_unchanged_snapshot_is_not_rewritten() -> None:
    plans = [_plan() for _ in range(3)]
    for plan in plans:
        _put(plan, {0: 6, 1: 6, 30: 4})
    assert outcome_refresh_all(now=NOW) == 3
    stamps = dict(OutcomeSnapshot.objects.values_list("plan_id", "computed_at"))
    later = NOW + timedelta(hours=1)
    assert outcome_refresh_all(now=later) == 0
    assert dict(OutcomeSnapshot.objects.values_list("plan_id", "computed_at")) == stamps
    # One plan gets a check-in: only its snapshot is written, and stamped.
    _put(plans[1], {31: 2})
    assert outcome_refresh_all(now=later) == 1
    assert OutcomeSnapshot.objects.get(plan=plans[1]).computed_at == later
    assert OutcomeSnapshot.objects.get(plan=plans[0]).computed_at == stamps[plans[0].pk]
    for plan in plans:
        _agrees(plan, 40)


def test_a_check_in_that_changes_no_figure_still_brings_its_snapshot_up_to_date(
    django_assert_num_queries: Any,
) -> None:
    """A check-in's recompute stamps the snapshot even when no figure moved: otherwise it stays
    overtaken for good and every page computes the plan from its check-ins again."""
    plan = _plan()
    _put(plan, {0: 6, 1: 6, 30: 4})
    outcome_refresh_all(plan_ids=[plan.pk])
    # The same answer again for day 30 (a patient's second check-in of the day): no figure changes.
    PainCheckIn.objects.filter(plan=plan, local_date=plan.start_date + timedelta(days=30)).update(
        received_at=timezone.now()
    )
    overtaken = OutcomeSnapshot.objects.filter(snapshot_overtaken())
    assert overtaken.exists()
    checked = timezone.now()
    assert outcome_refresh_all(plan_ids=[plan.pk], now=checked) == 0
    assert not overtaken.exists()
    assert OutcomeSnapshot.objects.get(plan=plan).computed_at == checked
    plan = CarePlan.objects.select_related("patient").get(pk=plan.pk)
    with django_assert_num_queries(1):  # the snapshot only: nothing computed from the check-ins
        outcome_figures(plans=[plan])
    _agrees(plan, 40)


def test_a_check_in_to_a_plan_with_no_change_is_stamped_by_the_one_plan_refresh_too() -> None:
    plan = _plan()
    _put(plan, {0: 5, 35: 3})
    outcome_refresh_plan(plan_id=plan.pk, today=NOW.date())
    PainCheckIn.objects.filter(plan=plan).update(received_at=timezone.now())
    snapshot = outcome_refresh_plan(plan_id=plan.pk, today=NOW.date())
    assert snapshot is not None
    assert not OutcomeSnapshot.objects.filter(snapshot_overtaken()).exists()


@pytest.mark.parametrize(
    ("change", "current"),
    [
        ({31: 2}, (4 + 2) / 2),  # a newer check-in: the week moves to days 25-31
        ({30: 8}, (3 + 8) / 2),  # the latest one replaced: same week, new value
        ({28: 1}, (3 + 1 + 4) / 3),  # an earlier day of the same week
        ({20: 9}, (3 + 4) / 2),  # outside the week: current unchanged
    ],
)
def test_current_follows_the_checkins_whatever_the_snapshot_held(
    change: dict[int, int], current: float
) -> None:
    plan = _plan()
    _put(plan, {0: 6, 1: 6, 26: 3, 30: 4})
    outcome_refresh_all(now=NOW)
    assert OutcomeSnapshot.objects.get(plan=plan).current == (3 + 4) / 2
    _put(plan, change)
    outcome_refresh_all(now=NOW)
    assert OutcomeSnapshot.objects.get(plan=plan).current == current
    _agrees(plan, 40)


def test_the_latest_checkin_deleted() -> None:
    plan = _plan()
    _put(plan, {0: 6, 10: 5, 30: 4})
    outcome_refresh_all(now=NOW)
    PainCheckIn.objects.filter(plan=plan, local_date=plan.start_date + timedelta(days=30)).delete()
    assert outcome_refresh_all(now=NOW) == 1
    snap = OutcomeSnapshot.objects.get(plan=plan)
    assert (snap.current, snap.checkin_count) == (5.0, 2)
    _agrees(plan, 40)


def test_a_plan_that_lost_every_checkin_is_rewritten() -> None:
    # On PostgreSQL the nightly check joins the check-ins, so this plan is not among its
    # rows; the count of snapshots that had check-ins gives it away.
    plans = [_plan() for _ in range(3)]
    for plan in plans:
        _put(plan, {0: 6, 10: 5, 30: 4})
    outcome_refresh_all(now=NOW)
    PainCheckIn.objects.filter(plan=plans[1]).delete()
    assert outcome_refresh_all(now=NOW) == 1
    snap = OutcomeSnapshot.objects.get(plan=plans[1])
    assert (snap.baseline, snap.current, snap.checkin_count, snap.last_checkin_date) == (None, None, 0, None)
    _agrees(plans[1], 40)


def test_reaching_week_12_alone_rewrites_the_snapshot() -> None:
    plan = _plan(today_day=83)
    _put(plan, {0: 6, 60: 3})
    outcome_refresh_all(now=NOW)
    assert OutcomeSnapshot.objects.get(plan=plan).reached_week_12 is False
    assert outcome_refresh_all(now=NOW + timedelta(days=1)) == 1
    snap = OutcomeSnapshot.objects.get(plan=plan)
    assert (snap.reached_week_12, snap.missing_endpoint) == (True, True)


def test_attention_list_trusts_a_snapshot_the_nightly_left_alone(personas: Any) -> None:
    plan = CarePlanFactory(
        patient=personas.patient_a,
        therapist=personas.owner,
        start_date=personas.patient_a.local_today() - timedelta(days=20),
    )
    _put(plan, {d: 2 for d in range(7)} | {d: 6 for d in range(14, 21)})
    outcome_refresh_all()
    outcome_refresh_all()  # nothing changed: the row keeps its stamp, still newer than every check-in
    snap = OutcomeSnapshot.objects.get(plan=plan)
    assert snap.worsening is True
    latest = plan.checkins.order_by("-received_at").values_list("received_at", flat=True)[0]
    assert snap.computed_at >= latest
    kinds = [r.kind for row in attention_list(clinic=personas.clinic) for r in row.reasons]
    assert "worsening" in kinds


@st.composite
def edits(draw: Any) -> tuple[dict[int, int], dict[int, int], list[int], int]:
    """A history, then new or replaced check-ins and deletions, and the day of the second run."""
    nprs = st.integers(min_value=0, max_value=10)
    first = draw(st.dictionaries(st.integers(min_value=0, max_value=90), nprs, max_size=25))
    second = draw(st.dictionaries(st.integers(min_value=0, max_value=95), nprs, max_size=8))
    deleted = draw(st.lists(st.sampled_from(sorted(first)), max_size=3)) if first else []
    return first, second, deleted, draw(st.integers(min_value=0, max_value=100))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=edits())
def test_recompute_after_edits_agrees_with_the_rules(
    case: tuple[dict[int, int], dict[int, int], list[int], int],
) -> None:
    first, second, deleted, today_day = case
    plan = _plan(today_day=today_day)
    _put(plan, first)
    outcome_refresh_all(now=NOW, plan_ids=[plan.pk])
    _put(plan, second)
    PainCheckIn.objects.filter(
        plan=plan, local_date__in=[plan.start_date + timedelta(days=d) for d in deleted]
    ).delete()
    outcome_refresh_all(now=NOW, plan_ids=[plan.pk])
    _agrees(plan, today_day)
    # A third run finds nothing to change.
    assert outcome_refresh_all(now=NOW, plan_ids=[plan.pk]) == 0


@st.composite
def edits_keeping_the_latest(draw: Any) -> tuple[dict[int, int], dict[int, int], list[int], int]:
    """A history, then new values, added days and deletions that all leave its latest check-in where it is.

    On PostgreSQL the nightly check then states the new figures itself (its ``current``
    reads the week before the stored latest date) instead of handing the plan to the
    per-plan definition, so this holds its aggregates, fallbacks included, to the rules.
    """
    nprs = st.integers(min_value=0, max_value=10)
    first = draw(st.dictionaries(st.integers(min_value=0, max_value=90), nprs, min_size=1, max_size=25))
    latest = max(first)
    replaced = draw(st.dictionaries(st.sampled_from(sorted(first)), nprs, max_size=5))
    added = draw(st.dictionaries(st.integers(min_value=0, max_value=latest), nprs, max_size=5))
    earlier = sorted(day for day in first if day != latest)
    deleted = draw(st.lists(st.sampled_from(earlier), max_size=3)) if earlier else []
    return first, added | replaced, deleted, draw(st.integers(min_value=0, max_value=100))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=edits_keeping_the_latest())
# The fallbacks at the edges of their windows, and check-ins dated before the plan started.
@example(case=({13: 5, 40: 3}, {40: 4}, [], 50))
@example(case=({6: 2, 7: 6, 40: 3}, {40: 4}, [6], 50))
@example(case=({0: 5, 63: 4, 70: 3}, {70: 2}, [], 90))
@example(case=({0: 5, 63: 4, 90: 1}, {90: 2}, [], 95))
@example(case=({0: 5, 62: 4, 76: 3, 90: 1}, {90: 2}, [76], 95))
@example(case=({-3: 9, 9: 5, 40: 3}, {40: 4}, [], 50))
@example(case=({-3: 9, 90: 2}, {90: 3}, [], 95))
def test_recompute_when_the_latest_checkin_stays_agrees_with_the_rules(
    case: tuple[dict[int, int], dict[int, int], list[int], int],
) -> None:
    first, second, deleted, today_day = case
    plan = _plan(today_day=today_day)
    _put(plan, first)
    outcome_refresh_all(now=NOW, plan_ids=[plan.pk])
    _put(plan, second)
    PainCheckIn.objects.filter(
        plan=plan, local_date__in=[plan.start_date + timedelta(days=d) for d in deleted]
    ).delete()
    outcome_refresh_all(now=NOW, plan_ids=[plan.pk])
    _agrees(plan, today_day)
    assert outcome_refresh_all(now=NOW, plan_ids=[plan.pk]) == 0


@pytest.mark.parametrize("edited", [1, 12])
def test_a_few_or_many_changed_snapshots_agree_with_the_rules(edited: int) -> None:
    # On PostgreSQL a few changed snapshots are recomputed plan by plan, many by a second
    # pass over the check-ins (outcomes.recompute.RECHECK_SHARE): both write the rules' figures.
    plans = [_plan() for _ in range(12)]
    for plan in plans:
        _put(plan, {1: 7, 3: 6, 9: 5, 20: 5, 33: 4, 36: 4})
    assert outcome_refresh_all(now=NOW) == 12
    for plan in plans[:edited]:
        _put(plan, {3: 2, 20: 9, 34: 1})  # week 1, a middle day, and the week of the latest
    assert outcome_refresh_all(now=NOW) == edited
    for plan in plans:
        _agrees(plan, 40)
