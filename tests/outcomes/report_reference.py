"""The outcome report's reference, computed from the raw check-ins of a written clinic (exact
fractions, Python's statistics, SciPy), and the assertion that holds every figure of a report to it.
The definitions followed are those of outcomes.report's module docstring."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from fractions import Fraction
from typing import Any

import pytest
from scipy import stats

from accounts.models import Therapist
from careplans.models import PlanStatus
from outcomes.intervals import Interval
from outcomes.report_figures import (
    GroupFigures,
    HistogramBin,
    Mean,
    OutcomeReport,
    Quartiles,
    Rate,
    SeverityRow,
)
from tests.outcomes import oracle
from tests.outcomes.report_clinics import Written


def exact(mean: float | None) -> Fraction | None:
    """The exact NPRS mean a float stands for (a mean of at most 7 whole numbers)."""
    return None if mean is None else Fraction(mean).limit_denominator(7)


@dataclass(frozen=True)
class Ref:
    """One plan as the reference sees it: status, the oracle's figures, exact values."""

    therapist_id: int
    activated: bool
    outcome: oracle.Outcome
    after_week_1: bool  # a check-in on day 7 or later
    base: Fraction | None
    end: Fraction | None
    locf_end: Fraction | None

    @property
    def reached(self) -> bool:
        return self.activated and self.outcome.reached_week_12

    @property
    def itt(self) -> bool:
        return self.reached and self.base is not None

    @property
    def completer(self) -> bool:
        return self.itt and self.end is not None

    @property
    def change(self) -> Fraction:
        assert self.base is not None and self.end is not None
        return self.end - self.base

    @property
    def percent(self) -> Fraction | None:
        """Exact percent change of a completer; None at baseline 0."""
        if not self.completer or not self.base:
            return None
        return 100 * self.change / self.base

    @property
    def locf_percent(self) -> Fraction | None:
        if not self.itt or not self.base or self.locf_end is None:
            return None
        assert self.base is not None
        return 100 * (self.locf_end - self.base) / self.base


def reference_plan(w: Written) -> Ref:
    readings = list(w.spec.readings)
    outcome = oracle.outcome_from_readings(readings, today_day=w.spec.today_day)
    end = outcome.endpoint if outcome.endpoint is not None else outcome.current
    return Ref(
        therapist_id=w.therapist_id,
        activated=w.spec.status != PlanStatus.DRAFT,
        outcome=outcome,
        after_week_1=any(day >= 7 for day, _ in readings),
        base=exact(outcome.baseline),
        end=exact(outcome.endpoint),
        locf_end=exact(end),
    )


POINTS, PERCENT, BASELINE = (-10.0, 10.0), (-100.0, None), (0.0, 10.0)


def ref_mean(values: Sequence[Fraction], within: tuple[float, float | None]) -> Mean:
    """Mean and 95% t interval from the exact values: mean +- t(0.975, n - 1) x s / sqrt(n),
    cut at the ends of the range ``within`` the mean can take."""
    n = len(values)
    if not n:
        return Mean(n=0, value=None)
    mean = statistics.mean(values)
    if n < 2:
        return Mean(n=n, value=float(mean))
    s = math.sqrt(statistics.variance(values))  # exact sample variance (n - 1), one rounding
    half = float(stats.t.ppf(0.975, n - 1)) * s / math.sqrt(n)
    low, high = max(float(mean) - half, within[0]), float(mean) + half
    if within[1] is not None:
        high = min(high, within[1])
    return Mean(n=n, value=float(mean), interval=Interval(low, high))


def ref_quartiles(values: Sequence[Fraction]) -> Quartiles:
    n = len(values)
    if not n:
        return Quartiles(n=0, median=None, q1=None, q3=None)
    if n == 1:
        only = float(values[0])
        return Quartiles(n=1, median=only, q1=only, q3=only)
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert q2 == statistics.median(values)
    return Quartiles(n=n, median=float(q2), q1=float(q1), q3=float(q3))


def ref_rate(count: int, n: int) -> Rate:
    if not n:
        return Rate(count=count, n=0, interval=None)
    ci = stats.binomtest(count, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(count=count, n=n, interval=Interval(100 * float(ci.low), 100 * float(ci.high)))


def band(percent: Fraction) -> int:
    """The distribution band of an exact percent change: floor((pct + 100) / 10), at most 20."""
    return min(math.floor((percent + 100) / 10), 20)


def ref_histogram(refs: Sequence[Ref]) -> tuple[HistogramBin, ...]:
    counts = [0] * 21
    for r in refs:
        if r.percent is not None:
            counts[band(r.percent)] += 1
    return tuple(
        HistogramBin(low=-100 + 10 * k, high=None if k == 20 else -90 + 10 * k, count=counts[k])
        for k in range(21)
    )


def ref_group(refs: Sequence[Ref], *, label: str, therapist_id: int | None) -> dict[str, Any]:
    activated = [r for r in refs if r.activated]
    with_baseline = [r for r in activated if r.base is not None]
    after = [r for r in with_baseline if r.after_week_1]
    over = [r for r in after if r.outcome.reached_week_12]
    with_endpoint = [r for r in over if r.end is not None]
    flow = [len(refs), len(activated), len(with_baseline), len(after), len(over), len(with_endpoint)]
    itt = [r for r in refs if r.itt]
    completers = [r for r in refs if r.completer]
    lost = [r for r in itt if r.end is None]
    percents = [r.percent for r in completers if r.percent is not None]
    locf_percents = [p for p in (r.locf_percent for r in itt) if p is not None]
    responders = sum(bool(r.outcome.responder) for r in completers)
    locf_responders = sum(
        bool(oracle.responder(r.outcome.baseline, float(r.locf_end) if r.locf_end is not None else None))
        for r in itt
    )
    changes = [r.change for r in completers]
    return {
        "label": label,
        "therapist_id": therapist_id,
        "flow_counts": flow,
        "flow_lost": [0, *(flow[k - 1] - flow[k] for k in range(1, 6))],
        "reached": sum(r.reached for r in refs),
        "itt": len(itt),
        "completers": len(completers),
        "missing": len(lost),
        "change": ref_mean(changes, POINTS),
        "change_quartiles": ref_quartiles(changes),
        "percent": ref_mean(percents, PERCENT),
        "percent_quartiles": ref_quartiles(percents),
        "mean_baseline": float(statistics.mean(r.base for r in completers if r.base is not None))
        if completers
        else None,
        "mean_endpoint": float(statistics.mean(r.end for r in completers if r.end is not None))
        if completers
        else None,
        "responders": ref_rate(responders, len(completers)),
        "responders_itt": ref_rate(responders, len(itt)),
        "responders_locf": ref_rate(locf_responders, len(itt)),
        "percent_locf": ref_mean(locf_percents, PERCENT),
        "baseline_retained": ref_mean([r.base for r in completers if r.base is not None], BASELINE),
        "baseline_lost": ref_mean([r.base for r in lost if r.base is not None], BASELINE),
        "histogram": ref_histogram(refs),
    }


def actual_group(g: GroupFigures) -> dict[str, Any]:
    return {
        "label": g.label,
        "therapist_id": g.therapist_id,
        "flow_counts": [s.count for s in g.flow],
        "flow_lost": [s.lost for s in g.flow],
        "reached": g.reached,
        "itt": g.itt,
        "completers": g.completers,
        "missing": g.missing,
        "change": g.change,
        "change_quartiles": g.change_quartiles,
        "percent": g.percent,
        "percent_quartiles": g.percent_quartiles,
        "mean_baseline": g.mean_baseline,
        "mean_endpoint": g.mean_endpoint,
        "responders": g.responders,
        "responders_itt": g.responders_itt,
        "responders_locf": g.responders_locf,
        "percent_locf": g.percent_locf,
        "baseline_retained": g.baseline_retained,
        "baseline_lost": g.baseline_lost,
        "histogram": g.histogram,
    }


SEVERITY_KEYS = ("none", "mild", "moderate", "severe")


def severity(base: Fraction) -> str:
    """The baseline rounded half up to a whole point: 0 none, 1-3 mild, 4-6 moderate, 7-10 severe."""
    whole = math.floor(base + Fraction(1, 2))
    return "none" if whole == 0 else "mild" if whole <= 3 else "moderate" if whole <= 6 else "severe"


def ref_severity(refs: Sequence[Ref]) -> list[dict[str, Any]]:
    rows = []
    for key in SEVERITY_KEYS:
        itt = [r for r in refs if r.itt and r.base is not None and severity(r.base) == key]
        completers = [r for r in itt if r.completer]
        rows.append(
            {
                "key": key,
                "itt": len(itt),
                "completers": len(completers),
                "change": ref_mean([r.change for r in completers], POINTS),
                "percent": ref_mean([r.percent for r in completers if r.percent is not None], PERCENT),
                "responders": ref_rate(sum(bool(r.outcome.responder) for r in completers), len(completers)),
            }
        )
    return rows


def actual_severity(rows: Sequence[SeverityRow]) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "itt": row.itt,
            "completers": row.completers,
            "change": row.change,
            "percent": row.percent,
            "responders": row.responders,
        }
        for row in rows
    ]


def assert_close(actual: Any, expected: Any, path: str = "") -> None:
    """Counts, labels and flags exactly; floats to rel 1e-9 / abs 1e-9; recursing into dataclasses."""
    if isinstance(expected, float):
        assert isinstance(actual, float), f"{path}: {actual!r} is not a float (expected {expected!r})"
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), f"{path}: {actual!r} != {expected!r}"
    elif is_dataclass(expected) and not isinstance(expected, type):
        assert type(actual) is type(expected), f"{path}: {actual!r} is not a {type(expected).__name__}"
        for field in fields(expected):
            assert_close(getattr(actual, field.name), getattr(expected, field.name), f"{path}.{field.name}")
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), path
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), f"{path}: {len(actual)} items, expected {len(expected)}"
        for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{k}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_report_matches(
    report: OutcomeReport, written: Sequence[Written], therapists: Sequence[Therapist]
) -> None:
    refs = [reference_plan(w) for w in written]
    assert_close(actual_group(report.overall), ref_group(refs, label="All therapists", therapist_id=None))

    # One row per therapist with a plan in the cohort, by name then id; an empty name shows the email.
    with_plans = sorted(
        (t for t in therapists if any(r.therapist_id == t.pk for r in refs)),
        key=lambda t: (t.user.full_name, t.pk),
    )
    assert [g.therapist_id for g in report.by_therapist] == [t.pk for t in with_plans]
    for group, therapist in zip(report.by_therapist, with_plans, strict=True):
        mine = [r for r in refs if r.therapist_id == therapist.pk]
        label = therapist.user.full_name or therapist.user.email
        assert_close(actual_group(group), ref_group(mine, label=label, therapist_id=therapist.pk))

    assert_close(actual_severity(report.by_severity), ref_severity(refs))

    # Every plan with a percent change is in exactly one band, overall and per therapist.
    with_percent = sum(r.percent is not None for r in refs)
    assert sum(b.count for b in report.overall.histogram) == with_percent == report.overall.percent.n
    assert sum(g.percent.n for g in report.by_therapist) == with_percent
    for group in report.by_therapist:
        assert sum(b.count for b in group.histogram) == group.percent.n
