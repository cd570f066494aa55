"""Adherence = sessions done / sessions prescribed so far, capped day by day and week by week.

The database computes it (careplans.adherence); tests/careplans/adherence_oracle.py states
the rule in Python, and the property test below holds the two to each other.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careplans.adherence import (
    TodayByZone,
    adherence_by_plan,
    adherence_for_plans,
    prescribed_sessions,
)
from careplans.adherence_weeks import weekly_adherence
from careplans.models import CarePlan, ExerciseSession, PlanStatus
from tests.careplans import adherence_oracle as oracle
from tests.factories import CarePlanFactory, PlanExerciseFactory

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)


def _plan(days_per_week: int = 7, sessions_per_day: int = 1) -> Any:
    plan = CarePlanFactory(start_date=START, status=PlanStatus.ACTIVE)
    plan_exercise = PlanExerciseFactory(
        plan=plan, days_per_week=days_per_week, sessions_per_day=sessions_per_day
    )
    return plan, plan_exercise


def _tick(plan_exercise: Any, *days: int, number: int = 1) -> None:
    ExerciseSession.objects.bulk_create(
        ExerciseSession(
            patient=plan_exercise.plan.patient,
            plan_exercise=plan_exercise,
            local_date=START + timedelta(days=d),
            number=number,
        )
        for d in days
    )


def _sessions(plan_exercise: Any, sessions: list[tuple[int, int]]) -> None:
    ExerciseSession.objects.bulk_create(
        ExerciseSession(
            patient=plan_exercise.plan.patient,
            plan_exercise=plan_exercise,
            local_date=START + timedelta(days=day),
            number=number,
        )
        for day, number in sessions
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
    # "2 times a day, 5 days a week" over 10 days: 8 exercise-days, 16 sessions.
    assert (
        prescribed_sessions(
            plan_start=START,
            days_per_week=5,
            first=START,
            last=START + timedelta(days=9),
            sessions_per_day=2,
        )
        == 16
    )


def test_one_of_two_daily_sessions_is_half_of_that_exercise_day() -> None:
    plan, plan_exercise = _plan(sessions_per_day=2)
    _tick(plan_exercise, 0, number=1)
    result = adherence_for_plans([plan], today=START)[plan.pk]
    assert (result.done, result.prescribed, result.percent) == (1, 2, 50)
    _tick(plan_exercise, 0, number=2)
    result = adherence_for_plans([plan], today=START)[plan.pk]
    assert (result.done, result.prescribed, result.percent) == (2, 2, 100)


def test_sessions_above_the_days_prescription_do_not_lift_adherence_over_100() -> None:
    # Marked as session 3 when the plan prescribed 3 a day, then lowered to 2.
    plan, plan_exercise = _plan(sessions_per_day=2)
    _sessions(plan_exercise, [(0, 1), (0, 2), (0, 3), (1, 3)])
    result = adherence_for_plans([plan], today=START + timedelta(days=1))[plan.pk]
    assert (result.done, result.prescribed, result.percent) == (2, 4, 50)
    weeks = weekly_adherence(plan, today=START + timedelta(days=1))
    assert [(w.adherence.done, w.adherence.prescribed) for w in weeks] == [(2, 4)]


def test_the_first_day_with_nothing_marked_is_said_as_such() -> None:
    plan, plan_exercise = _plan(sessions_per_day=2)
    first = adherence_for_plans([plan], today=START)[plan.pk]
    assert (first.done, first.prescribed, first.days, first.first_day) == (0, 2, 1, True)
    _tick(plan_exercise, 0)
    assert not adherence_for_plans([plan], today=START)[plan.pk].first_day
    second = adherence_for_plans([plan], today=START + timedelta(days=1))[plan.pk]
    assert (second.days, second.first_day) == (2, False)


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


Exercise = tuple[int, int, list[tuple[int, int]]]


@st.composite
def histories(draw: Any) -> tuple[int, list[Exercise], int, int | None]:
    """A plan length, its exercises (days per week, sessions per day, marked (plan day, session)
    up to today), today, a window."""
    length_weeks = draw(st.integers(min_value=1, max_value=14))
    today = draw(st.integers(min_value=-3, max_value=7 * length_weeks + 10))
    # Sessions are recorded on the patient's today or earlier, within the plan (a few before its
    # start too, which must not count), numbered up to 3 (some above a lowered prescription).
    latest = min(today, 7 * length_weeks - 1)
    marks = (
        st.lists(
            st.tuples(st.integers(min_value=-3, max_value=latest), st.integers(min_value=1, max_value=3)),
            unique=True,
            max_size=40,
        )
        if latest >= -3
        else st.just([])
    )
    exercises = draw(
        st.lists(
            st.tuples(st.integers(min_value=1, max_value=7), st.integers(min_value=1, max_value=2), marks),
            min_size=1,
            max_size=3,
        )
    )
    return length_weeks, exercises, today, draw(st.sampled_from([None, 7, 3, 15]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
@example(history=(2, [(3, 1, [(d, 1) for d in range(7)])], 13, None))  # a full week of extra sessions
@example(history=(3, [(5, 1, [(d, 1) for d in range(5, 14)])], 13, 7))  # the window starts mid-week
@example(history=(1, [(7, 1, [(-2, 1), (-1, 1), (0, 1), (6, 1)])], 9, None))  # before the start and after
@example(history=(1, [(7, 2, [(0, 1)])], 0, None))  # one of two sessions on the first day: 1 of 2
@example(history=(2, [(3, 2, [(d, n) for d in range(7) for n in (1, 2, 3)])], 8, None))  # capped day, week
@example(history=(2, [(2, 2, [(d, n) for d in range(5, 9) for n in (1, 2)])], 9, 7))  # window mid-week
def test_the_database_agrees_with_the_oracle(
    history: tuple[int, list[Exercise], int, int | None],
) -> None:
    length_weeks, exercises, today, since_days = history
    plan = CarePlanFactory(start_date=START, length_weeks=length_weeks, status=PlanStatus.ACTIVE)
    for days_per_week, sessions_per_day, marks in exercises:
        item = PlanExerciseFactory(plan=plan, days_per_week=days_per_week, sessions_per_day=sessions_per_day)
        _sessions(item, marks)
    expected = oracle.adherence(
        length_weeks=length_weeks, exercises=exercises, today=today, since_days=since_days
    )
    local_today = START + timedelta(days=today)
    result = adherence_for_plans([plan], today=local_today, since_days=since_days)[plan.pk]
    assert (result.done, result.prescribed, result.days) == expected
    # The attention list's entry: the plans as a queryset, today by the patient's time zone.
    zone = TodayByZone({str(plan.patient.timezone): local_today})
    by_zone = adherence_by_plan(CarePlan.objects.filter(pk=plan.pk), today=zone, since_days=since_days)[
        plan.pk
    ]
    assert (by_zone.done, by_zone.prescribed, by_zone.days) == expected
    if since_days is None:
        # The record's week-by-week table sums to the same figures.
        weeks = weekly_adherence(plan, today=local_today)
        assert (
            sum(w.adherence.done for w in weeks),
            sum(w.adherence.prescribed for w in weeks),
        ) == expected[:2]
