"""The figures as shown: one rounding rule, the state at the start of a plan, the patient's words."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from checkins.charts import PainPoint, pain_chart
from checkins.figures import nprs_tenths, nprs_text, whole_percent
from outcomes.figures import OutcomeState, figures_of, outcome_state, progress_words
from outcomes.models import OutcomeSnapshot

START = date(2026, 3, 10)  # a Tuesday


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (6.75, "6.8"),
        (6.25, "6.3"),
        (20 / 3, "6.7"),
        (10 / 3, "3.3"),
        (5, "5.0"),
        (-0.04, "0.0"),
        (-1.75, "-1.8"),
    ],
)
def test_nprs_figures_round_half_up_to_one_decimal(value: float, shown: str) -> None:
    assert nprs_text(value) == shown
    assert nprs_tenths(value) == Decimal(shown)


@pytest.mark.parametrize(("value", "shown"), [(33.5, 34), (-33.5, -34), (-33.33, -33), (0.4, 0)])
def test_percentages_round_half_up_to_whole_numbers(value: float, shown: int) -> None:
    assert whole_percent(value) == shown


def test_the_chart_labels_its_baseline_as_the_pages_round_it() -> None:
    # 6.25 (four check-ins: 7, 7, 6, 5) is 6.3 beside the chart; "{:.1f}" would say 6.2.
    chart = pain_chart(
        points=[PainPoint(day=START, nprs=7)], start=START, end=START + timedelta(days=83), baseline=6.25
    )
    assert "Baseline 6.3</text>" in chart.svg and "Baseline 6.3." in chart.summary
    assert 'class="baseline"' not in pain_chart(points=[], start=START, end=START, baseline=None).svg


@pytest.mark.parametrize(
    ("day", "has_baseline", "state"),
    [
        (-1, False, OutcomeState.NOT_STARTED),
        (0, True, OutcomeState.BASELINE_FORMING),
        (6, True, OutcomeState.BASELINE_FORMING),
        (7, True, OutcomeState.MEASURED),
        (7, False, OutcomeState.AWAITING_BASELINE),
        (13, False, OutcomeState.AWAITING_BASELINE),
        (14, False, OutcomeState.NO_BASELINE),
        (90, True, OutcomeState.MEASURED),
    ],
)
def test_the_state_follows_the_baseline_window(day: int, has_baseline: bool, state: OutcomeState) -> None:
    # DESIGN.md: week 1 (days 0-6) makes the baseline; without it, the first check-in of days 7-13.
    assert outcome_state(start=START, today=START + timedelta(days=day), has_baseline=has_baseline) == state


def _figures(day: int, **stored: object) -> object:
    snapshot = OutcomeSnapshot(plan_id=1, **stored) if stored else None
    return figures_of(snapshot, plan_id=1, start=START, today=START + timedelta(days=day))


def test_change_is_the_difference_of_the_figures_as_shown() -> None:
    # 6.75 shows as 6.8 and 1.5 as 1.5: the change reads -5.3, not -5.25 rounded to -5.2.
    figures = _figures(40, baseline=6.75, current=1.5, checkin_count=6)
    assert (figures.baseline_text, figures.current_text, figures.change_text) == (  # type: ignore[attr-defined]
        "6.8",
        "1.5",
        "-5.3 points (-78%)",
    )


def test_during_week_one_nothing_is_compared() -> None:
    figures = _figures(2, baseline=5.0, current=5.0, checkin_count=3, worsening=True)
    assert figures.state == OutcomeState.BASELINE_FORMING  # type: ignore[attr-defined]
    assert figures.baseline is None and figures.change is None and not figures.worsening  # type: ignore[attr-defined]
    words = progress_words(figures)  # type: ignore[arg-type]
    assert words.headline == "Your first week sets your starting point."
    assert "You have checked in on 3 days so far. Keep checking in until Monday 16 March" in words.detail


def test_before_the_plan_starts_the_words_say_when_and_what_sets_the_starting_point() -> None:
    words = progress_words(_figures(-3))  # type: ignore[arg-type]
    assert words.headline == "Your plan starts on Tuesday 10 March."
    assert "Your first week sets your starting point" in words.detail


def test_small_changes_read_about_the_same_only_once_measured() -> None:
    words = progress_words(_figures(20, baseline=5.0, current=5.2, checkin_count=9))  # type: ignore[arg-type]
    assert words.headline == "Your pain is about the same as when you started."


def test_a_missed_baseline_says_so() -> None:
    assert progress_words(_figures(10)).headline == "We don't have your starting point yet."  # type: ignore[arg-type]
    assert progress_words(_figures(30, checkin_count=4, current=3.0)).headline == (  # type: ignore[arg-type]
        "We couldn't measure a starting point for this plan."
    )
