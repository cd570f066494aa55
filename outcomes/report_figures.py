"""What the clinic outcome report holds: its figures' types, definitions and caveat.

outcomes.report computes an ``OutcomeReport`` from the database; the page,
the CSV, the PDF and the JSON read it. The definitions are those printed on
the page and in the PDF; outcomes.report's docstring says how each is computed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, F, Q, Sum

from outcomes.intervals import Interval, mean_interval, proportion_interval

BIN_WIDTH = 10


#: Figures from fewer plans than this are marked on the page: their intervals are wide.
FEW = 10


BIN_LOW = -100


BIN_COUNT = 21  # 20 bands of 10 points from -100% to +100%, then "+100% or more"


#: (key, label, lowest baseline, first baseline above): a mean baseline rounded half up to a
#: whole point falls in one; bands of the NPRS as the issue and common practice name them.
SEVERITY = (
    ("none", "No pain at baseline (0)", None, 0.5),
    ("mild", "Mild (1-3)", 0.5, 3.5),
    ("moderate", "Moderate (4-6)", 3.5, 6.5),
    ("severe", "Severe (7-10)", 6.5, None),
)

DEFINITIONS = (
    (
        "Baseline and endpoint",
        "The baseline is the mean pain of week 1 (days 0 to 6), else the first check-in of days 7 to 13. "
        "The 12-week endpoint is the mean of week 12 (days 77 to 83), else the latest check-in of weeks "
        "10 to 12. Pain is the 0-10 numeric rating scale (NPRS).",
    ),
    ("Completers", "Plans with both a baseline and a 12-week endpoint."),
    (
        "Intention to treat",
        "Every plan whose week 12 is over and that has a baseline; a plan without an endpoint counts as "
        "not responding.",
    ),
    ("Responder", "At least 2 points and at least 30% less pain at 12 weeks than at baseline."),
    (
        "Last observation carried forward",
        "A sensitivity check: a plan without an endpoint is judged on its latest pain figure (the mean "
        "of the 7 days ending at its latest check-in) instead of counting as not responding.",
    ),
    (
        "Percent change",
        "100 x (endpoint - baseline) / baseline for each plan; none at a baseline of 0. Negative means "
        "less pain. Low baselines make percentages swing: a change from 1 to 2 is +100%.",
    ),
    (
        "Baseline severity",
        "The baseline rounded to a whole point, half up: under 3.5 is mild (1-3), 3.5 up to 6.5 "
        "moderate (4-6), 6.5 and above severe (7-10); under 0.5 is no pain.",
    ),
    (
        "Confidence intervals",
        "95% intervals: Student's t for means (cut at the ends of the scale), Wilson's for rates. "
        "Figures from fewer than 10 plans are marked few: their intervals are wide.",
    ),
    (
        "Distribution bands",
        "Each band holds its lower edge and not its upper one: exactly -20% is counted in -20% to -10%.",
    ),
)

#: The questionnaires' sections' definition (outcomes.instrument_report): the page and the JSON give it
#: with DEFINITIONS; the PDF under its questionnaires' table, when it has one.
INSTRUMENT_DEFINITIONS = (
    (
        "Questionnaires",
        "Each questionnaire's baseline is its score at intake and its endpoint its score at week 12; the "
        "cohort is the plans whose schedule asks for it, and reached, intention to treat and completers "
        "are as for pain. A responder improves by at least the questionnaire's own minimal clinically "
        "important difference (MCID); the PSFS's change is over the activities rated at both, each against "
        "its own intake rating. A questionnaire not asked at intake (the global rating of change, which "
        "rates the change itself at week 12) has no baseline, change or responders: its week-12 scores are "
        "given instead, and one without an MCID has no responders.",
    ),
)

CAVEAT = (
    "None of these figures has a control group. Pain often falls on its own after a bad spell (regression to "
    "the mean and natural recovery), so these changes are not the effect of treatment alone."
)


@dataclass(frozen=True)
class ReportFilters:
    """Which plans the report counts: condition, plan start dates (inclusive), therapist."""

    condition: str = ""
    start_from: date | None = None
    start_to: date | None = None
    therapist_id: int | None = None


@dataclass(frozen=True)
class Mean:
    """A mean of ``n`` values with its 95% interval (None with fewer than 2 values)."""

    n: int
    value: float | None
    interval: Interval | None = None

    @property
    def few(self) -> bool:
        """Fewer than ``FEW`` values: the interval is wide, and the page says so."""
        return 0 < self.n < FEW


@dataclass(frozen=True)
class Quartiles:
    """Median and interquartile range (25th to 75th percentile) of ``n`` values."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True)
class Rate:
    """``count`` of ``n`` plans, with Wilson's 95% interval in percent."""

    count: int
    n: int
    interval: Interval | None

    @property
    def few(self) -> bool:
        return 0 < self.n < FEW

    @property
    def percent(self) -> float | None:
        return 100 * self.count / self.n if self.n else None


@dataclass(frozen=True)
class FlowStep:
    """One step of the flow: plans still in, and those lost since the step before."""

    label: str
    count: int
    lost: int
    lost_label: str

    @property
    def lost_percent(self) -> float | None:
        before = self.count + self.lost
        return 100 * self.lost / before if before and self.lost_label else None


@dataclass(frozen=True)
class HistogramBin:
    low: int
    high: int | None  # None: open-ended
    count: int

    @property
    def label(self) -> str:
        if self.high is None:
            return f"{_signed(self.low)}% or more"
        return f"{_signed(self.low)}% to {_signed(self.high)}%"


def _signed(value: int) -> str:
    return f"{value:+d}" if value else "0"


@dataclass(frozen=True)
class GroupFigures:
    """The report's figures for all therapists or one (``therapist_id``)."""

    label: str
    therapist_id: int | None
    flow: tuple[FlowStep, ...]
    reached: int
    itt: int
    completers: int
    change: Mean  # NPRS points, completers
    change_quartiles: Quartiles
    percent: Mean  # mean of individual percent changes, completers with a baseline above 0
    percent_quartiles: Quartiles
    mean_baseline: float | None  # completers
    mean_endpoint: float | None
    responders: Rate  # among completers
    responders_itt: Rate  # among ITT plans
    responders_locf: Rate  # among ITT plans, last observation carried forward
    percent_locf: Mean  # mean percent change among ITT plans, LOCF
    baseline_retained: Mean  # ITT plans with an endpoint: their baseline
    baseline_lost: Mean  # ITT plans without one
    histogram: tuple[HistogramBin, ...]

    @property
    def missing(self) -> int:
        """ITT plans without a 12-week endpoint."""
        return self.itt - self.completers

    @property
    def group_means_percent(self) -> float | None:
        """Percent change of the group means: mean endpoint against mean baseline, completers."""
        if self.mean_baseline is None or self.mean_endpoint is None or not self.mean_baseline:
            return None
        return 100 * (self.mean_endpoint - self.mean_baseline) / self.mean_baseline

    @property
    def histogram_max(self) -> int:
        return max((b.count for b in self.histogram), default=0)


@dataclass(frozen=True)
class SeverityRow:
    key: str
    label: str
    itt: int
    completers: int
    change: Mean
    percent: Mean
    responders: Rate


@dataclass(frozen=True)
class InstrumentFigures:
    """One instrument's section: who it is (``name`` e.g. PSFS, ``title``, ``source`` the citation
    or copyright line of its definition, ``mcid`` in words, "" without one) and its figures."""

    code: str
    name: str
    title: str
    source: str
    mcid: str
    better: str
    low: float
    high: float
    cohort: int
    reached: int
    itt: int
    completers: int
    no_baseline: int  # reached plans without a baseline
    no_endpoint: int  # ITT plans without an endpoint
    endpoint_missing: int  # reached plans without an endpoint (with a baseline or not)
    baselines: int  # plans of the cohort scored at intake, reached or not
    baseline: Mean  # completers
    endpoint: Mean  # reached plans with an endpoint
    change: Mean  # completers, the instrument's points
    percent: Mean  # completers with a baseline above 0
    responders: Rate  # among completers
    responders_itt: Rate  # among ITT plans

    @property
    def has_baseline(self) -> bool:
        """Whether any plan of the cohort was scored at intake: else only week-12 figures mean anything."""
        return self.baselines > 0

    @property
    def has_mcid(self) -> bool:
        return bool(self.mcid)


@dataclass(frozen=True)
class OutcomeReport:
    clinic_name: str
    filters: ReportFilters
    as_of: date  # the day the figures were read: which plans are past week 12 depends on it
    overall: GroupFigures
    by_therapist: list[GroupFigures]
    by_severity: list[SeverityRow]
    instruments: tuple[InstrumentFigures, ...] = ()  # outcomes.instrument_report

    @property
    def histogram(self) -> tuple[HistogramBin, ...]:
        return self.overall.histogram


# --- figures from the database's aggregates ---------------------------------------------


def mean_from_sums(
    *, n: int, total: float, squares: float, within: tuple[float | None, float | None]
) -> Mean:
    """The mean of ``n`` values (n >= 1) from their sum and sum of squares, with its 95% interval
    (sample variance, n - 1 denominator; ``within``: the range the mean can take)."""
    mean = total / n
    if n < 2:
        return Mean(n=n, value=mean)
    # The one-pass formula cancels digits when the values hardly differ: a sum of squared
    # deviations within the rounding error of the sums (about n x 2^-52 of the sum of squares;
    # Higham 2002, Accuracy and Stability of Numerical Algorithms, section 4.2) is no spread at
    # all, so three plans of exactly -35.29...% get an interval of that figure, not of noise.
    deviations = squares - total * mean
    if deviations <= 4 * n * sys.float_info.epsilon * squares:
        deviations = 0.0
    interval = mean_interval(n=n, mean=mean, variance=deviations / (n - 1), within=within)
    return Mean(n=n, value=mean, interval=interval)


def rate_of(count: int | None, n: int | None) -> Rate:
    """``count`` of ``n`` plans (None counts as 0) with Wilson's interval."""
    count, n = int(count or 0), int(n or 0)
    return Rate(count=count, n=n, interval=proportion_interval(count=count, n=n))


def histogram_of(counts: Mapping[int, int]) -> tuple[HistogramBin, ...]:
    """Every band of the distribution, from plan counts by band index (0: -100% to -90%)."""
    return tuple(
        HistogramBin(
            low=BIN_LOW + k * BIN_WIDTH,
            high=None if k == BIN_COUNT - 1 else BIN_LOW + (k + 1) * BIN_WIDTH,
            count=int(counts.get(k, 0)),
        )
        for k in range(BIN_COUNT)
    )


def mean_figures(prefix: str, expression: str, population: Q) -> dict[str, Any]:
    """Count, sum and sum of squares: the mean and the sample variance follow from them (``mean_from_sums``).

    Not ``Variance``: on SQLite Django's VAR_SAMP raises on a group of one value
    (PostgreSQL's gives NULL), and a therapist may have one completer.
    """
    return {
        f"{prefix}_n": Count(expression, filter=population),
        f"{prefix}_sum": Sum(expression, filter=population),
        f"{prefix}_sumsq": Sum(F(expression) * F(expression), filter=population),
    }
