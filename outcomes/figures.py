"""A plan's outcome figures as every page, list, API and export shows them, from its snapshot.

One plan has one baseline, one current and one change, wherever they appear:
this module turns a plan's ``OutcomeSnapshot`` (computed by outcomes.rules)
into those figures, rounded once (``checkins.figures``), with the plan's
state at the start (DESIGN.md "Outcome formulas": the baseline is the mean of
week 1, days 0-6; without one, the first check-in of days 7-13).

- **baseline, current** (NPRS 0-10) as shown: one decimal, half up;
- **change** = current - baseline, the difference of the two figures as shown
  (so "5.0 to 3.3" always reads "-1.7", never "-1.6"), and its **percent** of
  the baseline (from the unrounded means, a whole number; none at baseline 0);
- **change at 12 weeks** = endpoint - baseline, the same way, with the
  snapshot's percent change (the report's figure).

While week 1 is still running the baseline is forming: no baseline is shown,
nothing is compared, and the chart draws no baseline line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from checkins.figures import nprs_tenths, nprs_text, whole_percent
from outcomes.models import OutcomeSnapshot
from outcomes.rules import BASELINE_FALLBACK, WEEK1

#: Shown changes smaller than this (NPRS points) read "about the same" to the patient: a wording
#: rule for rounding, not a clinical one (a clinically important change is 2 points; Childs et al.
#: 2005, Spine 30:1331).
SAME_POINTS = Decimal("0.5")


class OutcomeState(StrEnum):
    """Where a plan stands with its baseline (the API and the export name these values)."""

    NOT_STARTED = "not_started"  # before the plan's start date
    BASELINE_FORMING = "baseline_forming"  # days 0-6: week 1's check-ins make the baseline
    AWAITING_BASELINE = "awaiting_baseline"  # days 7-13, none in week 1: the first check-in sets it
    NO_BASELINE = "no_baseline"  # no check-in in days 0-13: nothing to compare with
    MEASURED = "measured"  # a baseline: change can be measured


def _signed(value: Decimal) -> str:
    return f"+{value}" if value > 0 else str(value)


@dataclass(frozen=True)
class PlanFigures:
    """One plan's outcome as shown; raw means (``*_value``, NPRS floats) only for drawing."""

    plan_id: int
    state: OutcomeState
    start: date
    today: date
    checkin_count: int
    baseline_value: float | None  # None unless MEASURED
    current_value: float | None
    endpoint_value: float | None
    percent_change_at_12_value: float | None
    responder: bool | None
    worsening: bool
    reached_week_12: bool
    missing_endpoint: bool

    @property
    def measured(self) -> bool:
        return self.state == OutcomeState.MEASURED

    @property
    def baseline(self) -> Decimal | None:
        return None if self.baseline_value is None else nprs_tenths(self.baseline_value)

    @property
    def current(self) -> Decimal | None:
        return None if self.current_value is None else nprs_tenths(self.current_value)

    @property
    def endpoint(self) -> Decimal | None:
        return None if self.endpoint_value is None else nprs_tenths(self.endpoint_value)

    @property
    def change(self) -> Decimal | None:
        """Current - baseline as shown (NPRS points; negative is better); None without both."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def percent(self) -> int | None:
        """100 x (current - baseline) / baseline, a whole number; None without both or at baseline 0."""
        if self.baseline_value is None or self.current_value is None or not self.baseline_value:
            return None
        return whole_percent(100 * (self.current_value - self.baseline_value) / self.baseline_value)

    @property
    def change_at_12(self) -> Decimal | None:
        """Endpoint - baseline as shown (NPRS points); None without both."""
        if self.baseline is None or self.endpoint is None:
            return None
        return self.endpoint - self.baseline

    @property
    def percent_at_12(self) -> int | None:
        if self.baseline is None or self.percent_change_at_12_value is None:
            return None
        return whole_percent(self.percent_change_at_12_value)

    @property
    def week1_last_day(self) -> date:
        return self.start + timedelta(days=WEEK1[1])

    @property
    def baseline_last_day(self) -> date:
        """The last date a first check-in can still set the baseline (day 13)."""
        return self.start + timedelta(days=BASELINE_FALLBACK[1])

    @property
    def baseline_text(self) -> str:
        return "" if self.baseline is None else nprs_text(self.baseline)

    @property
    def current_text(self) -> str:
        return "" if self.current is None else nprs_text(self.current)

    @property
    def change_text(self) -> str:
        """ "-1.7 points (-33%)", "+0.5 points", or "" without a change."""
        if self.change is None:
            return ""
        text = f"{_signed(self.change)} points"
        return text if self.percent is None else f"{text} ({'+' if self.percent > 0 else ''}{self.percent}%)"

    @property
    def change_at_12_text(self) -> str:
        if self.change_at_12 is None:
            return ""
        text = f"{_signed(self.change_at_12)} points"
        pct = self.percent_at_12
        return text if pct is None else f"{text} ({'+' if pct > 0 else ''}{pct}%)"


def outcome_state(*, start: date, today: date, has_baseline: bool) -> OutcomeState:
    """The plan's state on ``today`` (the patient's local date), its plan starting on ``start``."""
    day = (today - start).days
    if day < 0:
        return OutcomeState.NOT_STARTED
    if day <= WEEK1[1]:
        return OutcomeState.BASELINE_FORMING
    if has_baseline:
        return OutcomeState.MEASURED
    if day <= BASELINE_FALLBACK[1]:
        return OutcomeState.AWAITING_BASELINE
    return OutcomeState.NO_BASELINE


def figures_of(snapshot: OutcomeSnapshot | None, *, plan_id: int, start: date, today: date) -> PlanFigures:
    """``snapshot``'s figures as shown (None: a plan with no snapshot and so no check-in yet).

    ``start``: the plan's start date; ``today``: the patient's local date. Raises nothing.
    """
    has_baseline = snapshot is not None and snapshot.baseline is not None
    state = outcome_state(start=start, today=today, has_baseline=has_baseline)
    if snapshot is None:
        snapshot = OutcomeSnapshot(plan_id=plan_id)
    return PlanFigures(
        plan_id=plan_id,
        state=state,
        start=start,
        today=today,
        checkin_count=snapshot.checkin_count,
        baseline_value=snapshot.baseline if state == OutcomeState.MEASURED else None,
        current_value=snapshot.current,
        endpoint_value=snapshot.endpoint,
        percent_change_at_12_value=snapshot.percent_change,
        responder=snapshot.responder,
        worsening=bool(snapshot.worsening) and state == OutcomeState.MEASURED,
        reached_week_12=snapshot.reached_week_12,
        missing_endpoint=snapshot.missing_endpoint,
    )


# --- the patient's words ----------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    headline: str
    detail: str


def _long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _points(value: Decimal) -> str:
    """3.0 -> "3 points", 1.5 -> "1.5 points", 1.0 -> "1 point"."""
    text = str(value).removesuffix(".0")
    return f"{text} point{'' if text == '1' else 's'}"


def progress_words(figures: PlanFigures) -> Progress:
    """The outcome in plain words for the patient: now against when they started.

    At the start of a plan (before it, and through week 1) the words say that
    the first week sets the starting point, never a comparison.
    """
    if figures.state == OutcomeState.NOT_STARTED:
        return Progress(
            f"Your plan starts on {_long(figures.start)}.",
            "Your first week sets your starting point: check in each day that week, and from then on "
            "you will see how your pain changes.",
        )
    if figures.state == OutcomeState.BASELINE_FORMING:
        count = figures.checkin_count
        if not count:
            detail = (
                f"Check in on any day of your first week (until {_long(figures.week1_last_day)}) "
                "and we can measure how your pain changes from there."
            )
        else:
            detail = (
                f"You have checked in on {count} day{'' if count == 1 else 's'} so far. Keep checking in "
                f"until {_long(figures.week1_last_day)}; from then on we compare your pain with this "
                "starting point."
            )
        return Progress("Your first week sets your starting point.", detail)
    if figures.state == OutcomeState.AWAITING_BASELINE:
        return Progress(
            "We don't have your starting point yet.",
            f"Check in today: a check-in by {_long(figures.baseline_last_day)} gives us the starting point.",
        )
    if figures.state == OutcomeState.NO_BASELINE:
        return Progress(
            "We couldn't measure a starting point for this plan.",
            "There were no check-ins in its first two weeks. Your therapist still sees every check-in.",
        )
    base, now, diff = figures.baseline, figures.current, figures.change
    if now is None or diff is None:
        return Progress(f"Your starting point is {base} out of 10.", "Check in today to see how it compares.")
    start = f"You started at {base} out of 10 and your pain is now {now}."
    if abs(diff) < SAME_POINTS:
        return Progress("Your pain is about the same as when you started.", start)
    percent = figures.percent
    if diff < 0:
        pct = f", a {-percent}% reduction" if percent is not None else ""
        return Progress(f"Your pain is {_points(-diff)} lower than when you started{pct}.", start)
    pct = f" ({percent}% more)" if percent is not None else ""
    return Progress(
        f"Your pain is {_points(diff)} higher than when you started{pct}.",
        f"{start} If it keeps going up, tell your therapist.",
    )
