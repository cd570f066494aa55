"""Scoring each shipped instrument and an ODI-shaped one against examples computed by hand."""

from __future__ import annotations

import pytest

from portal.errors import DomainError
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.scoring import (
    PsfsVisitScore,
    activity_key,
    instrument_score,
    psfs_scores,
    psfs_visit_ratings,
    score_change,
)
from tests.questionnaires.shapes import odi_shaped, shipped


@pytest.fixture(scope="module")
def psfs() -> CheckedDefinition:
    return definition_checked(shipped("psfs"))


@pytest.fixture(scope="module")
def peg() -> CheckedDefinition:
    return definition_checked(shipped("peg"))


@pytest.fixture(scope="module")
def groc() -> CheckedDefinition:
    return definition_checked(shipped("groc"))


@pytest.fixture(scope="module")
def odi() -> CheckedDefinition:
    return definition_checked(odi_shaped())


# --- PEG: the mean of three 0-10 items; a 30% reduction matters (Krebs 2009) -------------------


def test_peg_is_the_mean_of_its_three_items(peg: CheckedDefinition) -> None:
    score = instrument_score(peg, {"pain": 7, "enjoyment": 6, "activity": 5})
    assert (score.value, score.answered, score.skipped) == (6.0, 3, 0)


def test_peg_with_an_item_skipped_is_the_mean_of_the_other_two(peg: CheckedDefinition) -> None:
    score = instrument_score(peg, {"pain": 8, "enjoyment": None, "activity": 6})
    assert (score.value, score.answered, score.skipped) == (7.0, 2, 1)
    assert instrument_score(peg, {"pain": 9}).value == 9.0


def test_peg_with_nothing_answered_has_no_score(peg: CheckedDefinition) -> None:
    assert instrument_score(peg, {}).value is None


@pytest.mark.parametrize(
    ("baseline", "current", "improvement", "percent", "meaningful"),
    [
        (6.0, 4.2, 1.8, 30.0, True),  # exactly 30% lower: a responder
        (6.0, 3.0, 3.0, 50.0, True),
        (6.0, 4.5, 1.5, 25.0, False),  # 25%: not enough
        (6.0, 7.0, -1.0, -100 / 6, False),  # worse
        (0.0, 0.0, 0.0, None, None),  # no pain at baseline: a percent of nothing is no answer
    ],
)
def test_peg_responder_is_a_reduction_of_30_percent_or_more(
    peg: CheckedDefinition,
    baseline: float,
    current: float,
    improvement: float,
    percent: float | None,
    meaningful: bool | None,
) -> None:
    change = score_change(peg, baseline=baseline, current=current)
    assert change.points == pytest.approx(current - baseline)
    assert change.improvement == pytest.approx(improvement)
    assert change.percent == (None if percent is None else pytest.approx(percent))
    assert change.meaningful is meaningful


# --- GROC: one item, -7 to +7, higher is better --------------------------------------------------


@pytest.mark.parametrize("answer", [-7, -3, 0, 5, 7])
def test_groc_is_its_one_answer(groc: CheckedDefinition, answer: int) -> None:
    assert instrument_score(groc, {"change": answer}).value == float(answer)


def test_groc_skipped_has_no_score_and_no_mcid(groc: CheckedDefinition) -> None:
    assert instrument_score(groc, {"change": None}).value is None
    change = score_change(groc, baseline=0, current=4)
    assert (change.improvement, change.meaningful) == (4, None)


@pytest.mark.parametrize("answer", [8, -8, True])
def test_an_answer_that_is_not_an_option_is_refused(groc: CheckedDefinition, answer: int) -> None:
    with pytest.raises(DomainError) as caught:
        instrument_score(groc, {"change": answer})
    assert (caught.value.code, caught.value.field) == ("answer_out_of_range", "change")


def test_an_answer_to_an_item_that_is_not_scored_is_refused(peg: CheckedDefinition) -> None:
    with pytest.raises(DomainError) as caught:
        instrument_score(peg, {"pain": 3, "instructions": 1})
    assert (caught.value.code, caught.value.field) == ("unknown_item", "instructions")


def test_an_integer_item_refuses_a_value_outside_its_range(peg: CheckedDefinition) -> None:
    with pytest.raises(DomainError) as caught:
        instrument_score(peg, {"pain": 11})
    assert (caught.value.code, caught.value.field) == ("answer_out_of_range", "pain")


# --- An ODI-shaped definition: percent of the maximum over answered items -------------------------


def _odi_answers(values: list[int | None]) -> dict[str, int | None]:
    return {f"section-{n}": value for n, value in enumerate(values, start=1)}


def test_odi_shaped_all_answered_is_the_total_over_50_as_a_percent(odi: CheckedDefinition) -> None:
    # 1+2+3+0+5+4+2+1+0+2 = 20 of 50
    score = instrument_score(odi, _odi_answers([1, 2, 3, 0, 5, 4, 2, 1, 0, 2]))
    assert score.value == pytest.approx(40.0)


def test_odi_shaped_with_two_skipped_is_the_total_over_5_per_answered_item(odi: CheckedDefinition) -> None:
    # 1+2+3+5+4+2+0 +0 = 17 of 8 x 5 = 40: 42.5% (with the skips as 0 it would read 34%)
    score = instrument_score(odi, _odi_answers([1, 2, 3, None, 5, 4, 2, None, 0, 0]))
    assert (score.value, score.answered, score.skipped) == (pytest.approx(42.5), 8, 2)


def test_odi_shaped_with_three_skipped_has_no_score(odi: CheckedDefinition) -> None:
    score = instrument_score(odi, _odi_answers([1, 2, 3, None, 5, 4, None, None, 0, 0]))
    assert (score.value, score.answered, score.skipped) == (None, 7, 3)


def test_odi_shaped_change_of_ten_points_down_is_meaningful(odi: CheckedDefinition) -> None:
    assert score_change(odi, baseline=42.5, current=32.5).meaningful is True
    assert score_change(odi, baseline=42.5, current=34.0).meaningful is False


# --- PSFS: the mean of the rated activities; each activity scored from its first rating -----------


def _visit(psfs: CheckedDefinition, slots: dict[int, tuple[str, int | None]]) -> dict[str, int | None]:
    texts = {f"activity-{slot}": text for slot, (text, _) in slots.items()}
    answers = {f"rating-{slot}": rating for slot, (_, rating) in slots.items()}
    return psfs_visit_ratings(psfs, texts=texts, answers=answers)


def test_psfs_score_is_the_mean_of_the_rated_activities_and_unused_slots_are_not_skipped(
    psfs: CheckedDefinition,
) -> None:
    score = instrument_score(psfs, {"rating-1": 3, "rating-2": 2, "rating-3": None})
    assert (score.value, score.answered, score.skipped) == (2.5, 2, 0)


def test_psfs_a_new_activity_at_week_6_is_scored_from_then_only(psfs: CheckedDefinition) -> None:
    intake = _visit(psfs, {1: ("Climbing stairs", 3), 2: ("Lifting my child", 2), 3: ("Running", None)})
    week_3 = _visit(psfs, {1: ("Climbing stairs", 5), 2: ("Lifting my child", 4), 3: ("Running", 2)})
    week_6 = _visit(
        psfs,
        {
            1: ("Climbing stairs", 7),
            2: ("Lifting my child", 6),
            3: ("Running", 4),
            4: ("Kneeling in the garden", 1),
        },
    )
    # The same activities in other slots, written differently: still the same activities.
    week_9 = _visit(
        psfs,
        {
            1: ("Kneeling in the garden", 5),
            2: ("climbing  Stairs", 8),
            3: ("Lifting my child ", 7),
            5: ("running", 5),
        },
    )
    assert week_9 == {"kneeling in the garden": 5, "climbing stairs": 8, "lifting my child": 7, "running": 5}
    scores = psfs_scores([intake, week_3, week_6, week_9])
    assert scores[0] == PsfsVisitScore(
        score=2.5, change=None, compared=0, new=("climbing stairs", "lifting my child")
    )
    # Running was named at intake but first rated at week 3: its baseline is week 3's 2.
    # (5-3 + 4-2) / 2 = 2; the mean of 5, 4, 2 is 11/3.
    assert scores[1].score == pytest.approx(11 / 3)
    assert (scores[1].change, scores[1].compared, scores[1].new) == (2.0, 2, ("running",))
    # Week 6: the new activity counts in the score (7+6+4+1)/4 = 4.5, not in the change:
    # (7-3 + 6-2 + 4-2) / 3 = 10/3.
    assert scores[2].score == 4.5
    assert scores[2].change == pytest.approx(10 / 3)
    assert (scores[2].compared, scores[2].new) == (3, ("kneeling in the garden",))
    # Week 9: kneeling against its own week-6 rating: (8-3 + 7-2 + 5-2 + 5-1) / 4 = 17/4.
    assert scores[3] == PsfsVisitScore(score=6.25, change=4.25, compared=4, new=())


def test_psfs_mcid_is_two_points(psfs: CheckedDefinition) -> None:
    assert score_change(psfs, baseline=2.5, current=4.5).meaningful is True
    assert score_change(psfs, baseline=2.5, current=4.0).meaningful is False
    assert score_change(psfs, baseline=4.5, current=2.5).meaningful is False


def test_psfs_a_rating_without_its_activity_named_is_refused(psfs: CheckedDefinition) -> None:
    with pytest.raises(DomainError) as caught:
        psfs_visit_ratings(psfs, texts={"activity-1": "Walking"}, answers={"rating-1": 4, "rating-2": 5})
    assert (caught.value.code, caught.value.field) == ("activity_unnamed", "rating-2")


def test_psfs_one_activity_named_twice_is_refused(psfs: CheckedDefinition) -> None:
    with pytest.raises(DomainError) as caught:
        psfs_visit_ratings(
            psfs,
            texts={"activity-1": "Walking", "activity-2": "walking"},
            answers={"rating-1": 4, "rating-2": 5},
        )
    assert (caught.value.code, caught.value.field) == ("activity_repeated", "activity-2")


def test_activity_key_ignores_case_and_spacing() -> None:
    assert activity_key("  Climbing\tthe  STAIRS ") == "climbing the stairs"
