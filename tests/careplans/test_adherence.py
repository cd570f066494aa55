"""Adherence = sessions done / sessions prescribed so far, capped week by week.

The database computes it (careplans.adherence); tests/careplans/adherence_oracle.py states
the rule in Python, and the property test below holds the two to each other.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careplans.adherence import TodayByZone, adherence_by_plan, adherence_for_plans, prescribed_sessions
from careplans.models import CarePlan, ExerciseSession, PlanStatus
from tests.careplans import adherence_oracle as oracle
from tests.factories import CarePlanFactory, PlanExerciseFactory

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)


def _plan(days_per_week: int = 7) -> Any:
    plan = CarePlanFactory(start_date=START, status=PlanStatus.ACTIVE)
    plan_exercise = PlanExerciseFactory(plan=plan, days_per_week=days_per_week)
    return plan, plan_exercise


def _tick(plan_exercise: Any, *days: int) -> None:
    ExerciseSession.objects.bulk_create(
        ExerciseSession(
            patient=plan_exercise.plan.patient,
            plan_exercise=plan_exercise,
            local_date=START + timedelta(days=d),
        )
        for d in days
    )


def test_prescribed_sessions_follow_plan_weeks() -> None:
    assert (
        prescribed_sessions(plan_start=START, days_per_week=7, first=START, last=START + timedelta(days=9))
        == 10
    )
    assert (
        prescribed_sessions(plan_start=START, days_per_week=5, first=START, last=START + timedelta(days=9))
        == 8
    )
    assert (
        prescribed_sessions(plan_start=START, days_per_week=3, first=START, last=START - timedelta(days=1))
        == 0
    )


def test_done_over_prescribed_so_far() -> None:
    plan, plan_exercise = _plan()
    _tick(plan_exercise, 0, 1, 2, 4)
    result = adherence_for_plans([plan], today=START + timedelta(days=4))[plan.pk]
    assert (result.done, result.prescribed, result.percent) == (4, 5, 80)


def test_extra_sessions_in_one_week_do_not_make_up_for_a_missed_week() -> None:
    plan, plan_exercise = _plan(days_per_week=3)
    _tick(plan_exercise, 0, 1, 2, 3, 4, 5, 6)  # every day of week 1, nothing in week 2
    result = adherence_for_plans([plan], today=START + timedelta(days=13))[plan.pk]
    assert (result.done, result.prescribed) == (3, 6)
    assert result.percent == 50


def test_sessions_before_the_start_do_not_count_and_nothing_due_is_none() -> None:
    plan, plan_exercise = _plan()
    _tick(plan_exercise, -1)
    result = adherence_for_plans([plan], today=START - timedelta(days=1))[plan.pk]
    assert (result.done, result.prescribed, result.percent) == (0, 0, None)


def test_last_days_window_uses_each_plans_own_today() -> None:
    plan, plan_exercise = _plan()
    _tick(plan_exercise, 0, 8, 9)
    today = START + timedelta(days=9)
    recent = adherence_for_plans([plan], today={plan.pk: today}, since_days=7)[plan.pk]
    assert (recent.done, recent.prescribed) == (2, 7)
    so_far = adherence_for_plans([plan], today={plan.pk: today})[plan.pk]
    assert (so_far.done, so_far.prescribed) == (3, 10)


def test_two_queries_for_many_plans(django_assert_num_queries: Any) -> None:
    plans = [_plan()[0] for _ in range(6)]
    with django_assert_num_queries(2):
        result = adherence_for_plans(plans, today=START + timedelta(days=3))
    assert set(result) == {plan.pk for plan in plans}


@st.composite
def histories(draw: Any) -> tuple[int, list[tuple[int, list[int]]], int, int | None]:
    """A plan length, its exercises (days per week, ticked plan days up to today), today, a window."""
    length_weeks = draw(st.integers(min_value=1, max_value=14))
    today = draw(st.integers(min_value=-3, max_value=7 * length_weeks + 10))
    # Sessions are recorded on the patient's today or earlier, within the plan (a few before its
    # start too, which must not count).
    latest = min(today, 7 * length_weeks - 1)
    days = (
        st.lists(st.integers(min_value=-3, max_value=latest), unique=True, max_size=40)
        if latest >= -3
        else st.just([])
    )
    exercises = draw(st.lists(st.tuples(st.integers(min_value=1, max_value=7), days), min_size=1, max_size=3))
    return length_weeks, exercises, today, draw(st.sampled_from([None, 7, 3, 15]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
@example(history=(2, [(3, [0, 1, 2, 3, 4, 5, 6])], 13, None))  # a full week of extra sessions
@example(history=(3, [(5, [5, 6, 7, 8, 9, 10, 11, 12, 13])], 13, 7))  # the window starts mid-week
@example(history=(1, [(7, [-2, -1, 0, 6])], 9, None))  # before the start, and after the end
def test_the_database_agrees_with_the_oracle(
    history: tuple[int, list[tuple[int, list[int]]], int, int | None],
) -> None:
    length_weeks, exercises, today, since_days = history
    plan = CarePlanFactory(start_date=START, length_weeks=length_weeks, status=PlanStatus.ACTIVE)
    for days_per_week, days in exercises:
        item = PlanExerciseFactory(plan=plan, days_per_week=days_per_week)
        _tick(item, *days)
    expected = oracle.adherence(
        length_weeks=length_weeks, exercises=exercises, today=today, since_days=since_days
    )
    local_today = START + timedelta(days=today)
    result = adherence_for_plans([plan], today=local_today, since_days=since_days)[plan.pk]
    assert (result.done, result.prescribed) == expected
    # The attention list's entry: the plans as a queryset, today by the patient's time zone.
    zone = TodayByZone({str(plan.patient.timezone): local_today})
    by_zone = adherence_by_plan(CarePlan.objects.filter(pk=plan.pk), today=zone, since_days=since_days)[
        plan.pk
    ]
    assert (by_zone.done, by_zone.prescribed) == expected
