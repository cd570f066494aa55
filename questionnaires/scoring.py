"""Scoring a questionnaire's answers, the change between two scores, and the PSFS over visits.

The methods (named in each definition's Plinth scoring extension, ``questionnaires.definitions``):

- ``mean``: the mean of the answered items. PSFS (Stratford et al. 1995, Physiotherapy Canada
  47:258-263) and PEG (Krebs et al. 2009, J Gen Intern Med 24:733-738) are scored so.
- ``sum``: the sum of the items; only when every item is answered (a definition may not lower
  ``minAnswered`` for a sum: a sum over fewer items is a different score).
- ``percent_of_max``: the answered items' total above their lowest values, as a percent of the
  most they could total: 100 x sum(answer - low) / sum(high - low). With items scored from 0 this
  is the Oswestry Disability Index's rule for a missed section, total / (5 x sections answered)
  x 100 (Fairbank & Pynsent 2000, Spine 25:2940-2952), which pro-rates over answered items.

Every method gives no score (None) when fewer items are answered than the definition's
``minAnswered`` (default 1: a mean of nothing is no score). How many skips a licensed instrument
tolerates is its publisher's rule, so the clinic's definition file states it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portal.errors import DomainError
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.figures import score_places, score_text
from questionnaires.models import Better, Instrument, McidKind, ScoringMethod


@dataclass(frozen=True)
class Score:
    """``value``: the score in the definition's range, or None with too few answers; ``answered``
    and ``skipped``: how many scored items were answered and left out (an unused activity slot of
    the PSFS, its rating empty, is not counted as left out)."""

    value: float | None
    answered: int
    skipped: int


@dataclass(frozen=True)
class Change:
    """From ``baseline`` to ``current``: ``points`` (current - baseline), ``improvement`` (the same
    in points, positive when better in the instrument's direction), ``percent`` (the improvement
    as a percent of the baseline; None when the baseline is 0), and ``meaningful``: at least the
    instrument's MCID (None when it has none, or the MCID is in percent and the baseline is 0)."""

    points: float
    improvement: float
    percent: float | None
    meaningful: bool | None


def _checked(definition: Instrument | CheckedDefinition) -> CheckedDefinition:
    # An instrument's definition was checked when it was loaded; checking it again (a few
    # milliseconds) keeps one reading of the file rather than a second copy of its items.
    return (
        definition if isinstance(definition, CheckedDefinition) else definition_checked(definition.definition)
    )


def instrument_score(definition: Instrument | CheckedDefinition, answers: Mapping[str, int | None]) -> Score:
    """Score one completed questionnaire.

    ``answers``: linkId of each scored item to its value (an integer item's number, a choice's
    ordinal value), None or absent when skipped. Returns a ``Score`` by the definition's method
    (this module's docstring). Raises ``DomainError`` with ``field`` the linkId: code
    ``unknown_item`` for a linkId that is not a scored item, ``answer_out_of_range`` for a value
    outside the item's range or not one of its choices.
    """
    checked = _checked(definition)
    items = {item.link_id: item for item in checked.items}
    for link_id in answers:
        if link_id not in items:
            raise DomainError(
                f"{link_id!r} is not a scored item of {checked.title}.", field=link_id, code="unknown_item"
            )
    given: list[tuple[int, int, int]] = []
    for item in checked.items:
        value = answers.get(item.link_id)
        if value is None:
            continue
        allowed = item.allowed if item.allowed is not None else range(item.low, item.high + 1)
        if isinstance(value, bool) or value not in allowed:
            raise DomainError(
                f"{value!r} is not an answer to {item.link_id!r} ({item.low} to {item.high}).",
                field=item.link_id,
                code="answer_out_of_range",
            )
        given.append((value, item.low, item.high))
    answered = len(given)
    # An activity's rating left empty is an unused activity slot (a PSFS names 3 to 5 of the
    # patient's own; a named activity's rating is required at sending, answers.answer_problems),
    # not a question skipped.
    skipped = sum(1 for item in checked.items if answers.get(item.link_id) is None and item.activity is None)
    if answered < checked.min_answered:
        return Score(None, answered, skipped)
    if checked.method == ScoringMethod.MEAN:
        value_: float = sum(v for v, _, _ in given) / answered
    elif checked.method == ScoringMethod.SUM:
        value_ = float(sum(v for v, _, _ in given))
    else:
        value_ = 100 * sum(v - low for v, low, _ in given) / sum(high - low for _, low, high in given)
    return Score(value_, answered, skipped)


def score_change(definition: Instrument | CheckedDefinition, *, baseline: float, current: float) -> Change:
    """The change from ``baseline`` to ``current`` (scores of this instrument) and whether it matters.

    Improvement is toward the instrument's ``better``. ``meaningful`` compares it with the MCID:
    in points (PSFS: 2 points on the mean score, Horn et al. 2012, J Orthop Sports Phys Ther
    42:30-42; Stratford 1995) or in percent of the baseline (PEG: a 30% reduction, Krebs 2009,
    following the IMMPACT benchmark for pain, Dworkin et al. 2008, J Pain 9:105-121).
    """
    checked = _checked(definition)
    points = current - baseline
    improvement = points if checked.better == Better.HIGHER else -points
    percent = 100 * improvement / abs(baseline) if baseline else None
    meaningful: bool | None = None
    if checked.mcid is not None:
        measured = improvement if checked.mcid_kind == McidKind.POINTS else percent
        # A tiny tolerance: 7.0 -> 4.9 is a 30% reduction, though in floats it is 29.999...
        meaningful = None if measured is None else measured >= float(checked.mcid) - 1e-9
    return Change(points, improvement, percent, meaningful)


def activity_key(text: str) -> str:
    """An activity's identity across visits: its text, case and spacing ignored
    ("Climbing  stairs" and "climbing stairs" are one activity)."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def psfs_visit_ratings(
    definition: Instrument | CheckedDefinition, *, texts: Mapping[str, str], answers: Mapping[str, int | None]
) -> dict[str, int | None]:
    """One PSFS visit as activity to rating: each rating item paired with the text of the activity
    item it names (``ACTIVITY_URL``), keyed by ``activity_key``; slots with no activity named are
    left out, so activities are known by what the patient called them, not by slot.

    ``texts``: linkId of each activity item to its text; ``answers``: as for ``instrument_score``.
    Raises ``DomainError``: ``activity_unnamed`` (field the rating's linkId) for a rating with no
    activity, ``activity_repeated`` (field the activity's linkId) for one activity named twice.
    """
    checked = _checked(definition)
    instrument_score(checked, answers)  # the same refusals for unknown items and values out of range
    ratings: dict[str, int | None] = {}
    for item in checked.items:
        if item.activity is None:
            continue
        key = activity_key(texts.get(item.activity, ""))
        if not key:
            if answers.get(item.link_id) is not None:
                raise DomainError(
                    "Name the activity this rates.", field=item.link_id, code="activity_unnamed"
                )
            continue
        if key in ratings:
            raise DomainError(f"{key!r} is named twice.", field=item.activity, code="activity_repeated")
        ratings[key] = answers.get(item.link_id)
    return ratings


@dataclass(frozen=True)
class PsfsVisitScore:
    """One visit of the PSFS: ``score`` the mean rating over the activities rated at this visit
    (None if none); ``change`` the mean, over this visit's rated activities that were rated
    before, of (this rating - that activity's first rating), None when none was; ``compared``
    how many activities that change covers; ``new`` the activities first rated at this visit."""

    score: float | None
    change: float | None
    compared: int
    new: tuple[str, ...]


def psfs_scores(visits: Sequence[Mapping[str, int | None]]) -> list[PsfsVisitScore]:
    """Score PSFS visits in order, each activity from the visit it was first rated.

    ``visits``: oldest first, each activity (by ``activity_key``, as ``psfs_visit_ratings`` gives)
    to its 0-10 rating, None when named but not rated. The patient may name a new activity at any
    visit (Stratford 1995 asks at each follow-up about the activities named before, and a problem
    may bring a new one): it counts in that visit's score and, from the next visit, in the change
    against its own first rating, never against an intake where it was not asked. Returns one
    ``PsfsVisitScore`` per visit.
    """
    first: dict[str, int] = {}
    scores = []
    for visit in visits:
        rated = {activity: rating for activity, rating in visit.items() if rating is not None}
        before = {
            activity: rating - first[activity] for activity, rating in rated.items() if activity in first
        }
        new = tuple(activity for activity in rated if activity not in first)
        for activity in new:
            first[activity] = rated[activity]
        scores.append(
            PsfsVisitScore(
                score=sum(rated.values()) / len(rated) if rated else None,
                change=sum(before.values()) / len(before) if before else None,
                compared=len(before),
                new=new,
            )
        )
    return scores


_CITATION = re.compile(r"\(([A-Z][^()]*\b\d{4})\)")


_SOURCES = re.compile(r"\bSources?:\s*(.+)$", re.DOTALL)


def instrument_source(definition: Instrument | CheckedDefinition) -> str:
    """Where the instrument comes from, for a report.

    Args: an ``Instrument`` or a checked definition. Returns the citation its definition's
    ``copyright`` line names in parentheses (e.g. "Stratford et al. 1995"); else the references
    its ``description`` lists after "Sources:" (the global rating of change: Jaeschke et al.
    1989 and Kamper et al. 2009); else the copyright line itself; else "". Without a closing
    full stop: the report's "Source: {source}." adds its own
    (outcomes/templates/outcomes/_instruments.html). Raises nothing.
    """
    checked = _checked(definition)
    copyright_ = str(checked.data.get("copyright", "")).strip()
    found = _CITATION.search(copyright_)
    if found:
        return found.group(1).strip().rstrip(".")
    listed = _SOURCES.search(str(checked.data.get("description", "")))
    return (listed.group(1) if listed else copyright_).strip().rstrip(".").rstrip()


def change_words(definition: Instrument | CheckedDefinition, change: Change, *, span: str = "") -> str:
    """``change`` in a sentence a therapist reads beside the scores: the points with their sign,
    the percent for an MCID in percent, and whether it reaches the MCID, worded with the
    instrument's direction and cited from the definition's copyright line when it names its
    source, e.g. "PSFS +2.5 points, at least the 2-point minimal clinically important difference
    (Stratford et al. 1995)". The instrument is named by its definition's ``name`` (PSFS, PEG);
    ``span`` follows the points, e.g. " from intake to week 6"; the points shown by the
    instrument's rule (``figures.score_places``)."""
    checked = _checked(definition)
    points = score_text(change.points, score_places(checked), signed=True)
    text = f"{checked.data.get('name') or checked.code.upper()} {points} points{span}"
    if checked.mcid_kind == McidKind.PERCENT and change.percent is not None:
        way = "reduction" if change.points < 0 else "increase"
        text += f" (a {abs(change.percent):.0f}% {way})"
    if checked.mcid is None:
        return f"{text}; this instrument has no minimal clinically important difference."
    better = "reduction" if checked.better == Better.LOWER else "increase"
    size = f"{float(checked.mcid):g}"
    unit = f"{size}-point" if checked.mcid_kind == McidKind.POINTS else f"{size}%"
    mcid = f"the {unit} {better} that is the minimal clinically important difference"
    found = _CITATION.search(str(checked.data.get("copyright", "")))
    cited = f" ({found.group(1)})" if found else ""
    if change.meaningful is None:
        return f"{text}; {mcid} is a percent of the first score, which is 0, so it cannot be judged{cited}."
    verdict = "at least" if change.meaningful else "short of"
    return f"{text}, {verdict} {mcid}{cited}."
