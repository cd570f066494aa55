"""The shared SVG chart, the patient's trend in words, and adherence by week."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from careplans.adherence_weeks import weekly_adherence
from careplans.models import ExerciseSession
from checkins.charts import PainPoint, pain_chart
from checkins.trend import trend_words
from tests.factories import PlanExerciseFactory
from tests.helpers import make_plan

START = date(2026, 1, 5)


def _points(values: dict[int, int], flags: frozenset[int] = frozenset()) -> list[PainPoint]:
    return [PainPoint(START + timedelta(days=d), v, d in flags) for d, v in values.items()]


def test_chart_draws_days_weeks_baseline_and_red_flags() -> None:
    chart = pain_chart(
        points=_points({0: 6, 1: 5, 9: 4}, flags=frozenset({9})),
        start=START,
        end=START + timedelta(days=83),
        baseline=5.5,
        chart_id="c",
        title="Pain <b>",
    )
    svg = str(chart.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert "Pain &lt;b&gt;" in svg  # text is escaped
    assert svg.count('class="week"') == 13  # 12 weeks, 13 boundaries
    assert ">W1<" in svg and ">W12<" in svg
    assert svg.count('class="flag"') == 1 and svg.count('class="point"') == 2
    assert 'class="baseline"' in svg and "Baseline 5.5" in svg
    # Days 0-1 join; the gap to day 9 breaks the line, so only one polyline.
    assert svg.count("<polyline") == 1
    assert chart.summary.startswith("Pain (0 to 10): 3 check-ins from 5 Jan 2026 to 14 Jan 2026.")
    assert "Lowest 4, highest 6, latest 4" in chart.summary
    assert "Red flags reported on 1 day: 14 Jan 2026." in chart.summary


def test_chart_without_points_says_so() -> None:
    chart = pain_chart(
        points=[], start=START, end=START + timedelta(days=27), week_markers=False, compact=True
    )
    assert "no check-ins yet" in chart.summary
    assert "<polyline" not in str(chart.svg)


def test_trend_words_compare_this_week_with_last() -> None:
    today = START + timedelta(days=13)
    points = _points({**dict.fromkeys(range(0, 7), 6), **dict.fromkeys(range(7, 14), 4)})
    assert trend_words(points, today=today) == (
        "Your pain today was 4 out of 10. Over the last 7 days your average was 4.0, "
        "2.0 points lower than the week before (6.0)."
    )


def test_trend_words_for_a_first_checkin() -> None:
    assert trend_words(_points({0: 5}), today=START) == (
        "Your pain today was 5 out of 10. Check in each day and we will show how it changes."
    )
    assert "No check-ins yet" in trend_words([], today=START)


def test_adherence_by_week(personas: Any) -> None:
    plan = make_plan(personas.patient_a, start=personas.patient_a.local_today() - timedelta(days=10))
    item = PlanExerciseFactory(plan=plan, days_per_week=7)
    for day in [0, 1, 2, 3, 4, 8]:
        ExerciseSession.objects.create(
            patient=personas.patient_a, plan_exercise=item, local_date=plan.start_date + timedelta(days=day)
        )
    weeks = weekly_adherence(plan, today=personas.patient_a.local_today())
    assert [(w.week, w.adherence.done, w.adherence.prescribed) for w in weeks] == [(1, 5, 7), (2, 1, 4)]
    assert [w.adherence.percent for w in weeks] == [71, 25]


def test_trend_words_round_weekly_means_as_every_page_does() -> None:
    """6.25 and 4.25 show as 6.3 and 4.3 (half up, checkins.figures), not 6.2 and 4.2 (Python's
    half-even ``.1f``), the same rounding as the outcome figures beside them."""
    today = START + timedelta(days=13)
    points = _points({3: 4, 4: 4, 5: 4, 6: 5, 10: 6, 11: 6, 12: 6, 13: 7})
    assert trend_words(points, today=today) == (
        "Your pain today was 7 out of 10. Over the last 7 days your average was 6.3, "
        "2.0 points higher than the week before (4.3)."
    )
