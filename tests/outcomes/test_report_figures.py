"""Every figure of the clinic outcome report against a reference computed here from the raw check-ins.

The report (outcomes.report) aggregates the per-plan snapshots that
``outcome_refresh_all`` writes. These tests write a clinic's plans and
check-ins, refresh the snapshots, build the report, and hold each figure to a
reference computed in the test: the per-plan figures from the plain-Python
oracle (tests/outcomes/oracle.py), exact means, changes and percents as
fractions, then Python's ``statistics`` for means, sample variances, medians
and quartiles (``statistics.quantiles(method="inclusive")`` interpolates as
PERCENTILE_CONT does, Hyndman and Fan's definition 7; checked by hand below),
and SciPy for Student's t and Wilson's intervals. The definitions followed are
those of outcomes.report's module docstring.

Backends: the property test runs on both aliases (``BACKENDS``): the default
database (PostgreSQL under ``make test``, SQLite in the fast lane) and the
embedded SQLite one (``outcome_report(using=...)``), so that one run under
PostgreSQL checks both backends. The other tests use the default database only.
"""

from __future__ import annotations

import itertools
import math
import statistics
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.intervals import Interval
from outcomes.recompute import outcome_refresh_all
from outcomes.report import outcome_report
from outcomes.report_figures import (
    GroupFigures,
    HistogramBin,
    Mean,
    OutcomeReport,
    Quartiles,
    Rate,
    ReportFilters,
    SeverityRow,
)
from tests.outcomes import oracle
from tests.outcomes.conftest import BACKENDS

# 23:30 UTC: already tomorrow in Kiritimati (UTC+14), still today in Los Angeles.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
ZONES = ["UTC", "Europe/London", "America/Los_Angeles", "Pacific/Kiritimati"]
Reading = tuple[int, int]  # (day since the plan's start, NPRS)

_serial = itertools.count()


def week(k: int, *values: int) -> list[Reading]:
    """Readings on the first days of week k (1-based)."""
    return [(7 * (k - 1) + i, v) for i, v in enumerate(values)]


# --- writing a clinic -------------------------------------------------------------


@dataclass(frozen=True)
class PlanSpec:
    """One plan of a generated clinic: its therapist (an index), status, readings, today's plan day, zone."""

    therapist: int
    status: str
    readings: tuple[Reading, ...]
    today_day: int = 100
    zone: str = "UTC"


@dataclass(frozen=True)
class Written:
    spec: PlanSpec
    plan_id: int
    therapist_id: int


def make_clinic(names: Sequence[str], *, using: str = DEFAULT_DB_ALIAS) -> tuple[Clinic, list[Therapist]]:
    """A fresh clinic with one therapist per name (an empty name: the report labels them by email)."""
    n = next(_serial)
    clinic = Clinic.objects.db_manager(using).create(name=f"Report clinic {n}")
    therapists = [
        Therapist.objects.db_manager(using).create(
            user=User.objects.db_manager(using).create(email=f"rt{n}-{k}@report.test", full_name=name),
            clinic=clinic,
        )
        for k, name in enumerate(names)
    ]
    return clinic, therapists


def add_plan(clinic: Clinic, therapist: Therapist, spec: PlanSpec, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """A patient (in ``spec.zone``) of ``clinic`` and their plan with ``therapist``, started so that
    the patient's local today (at NOW) is plan day ``spec.today_day``, with one check-in per reading."""
    n = next(_serial)
    local_today = NOW.astimezone(zoneinfo.ZoneInfo(spec.zone)).date()
    start = local_today - timedelta(days=spec.today_day)
    patient = Patient.objects.db_manager(using).create(
        user=User.objects.db_manager(using).create(email=f"rp{n}@report.test"),
        clinic=clinic,
        timezone=spec.zone,
    )
    plan = CarePlan.objects.db_manager(using).create(
        patient=patient, therapist=therapist, title="Knee plan", start_date=start, status=spec.status
    )
    PainCheckIn.objects.db_manager(using).bulk_create(
        PainCheckIn(patient=patient, plan=plan, local_date=start + timedelta(days=day), nprs=nprs)
        for day, nprs in spec.readings
    )
    return plan.pk


def write_clinic(
    names: Sequence[str], specs: Sequence[PlanSpec], *, using: str = DEFAULT_DB_ALIAS
) -> tuple[Clinic, list[Therapist], list[Written]]:
    """The clinic and its plans, with every snapshot refreshed at NOW."""
    clinic, therapists = make_clinic(names, using=using)
    written = []
    for spec in specs:
        therapist = therapists[spec.therapist % len(therapists)]
        written.append(Written(spec, add_plan(clinic, therapist, spec, using=using), therapist.pk))
    outcome_refresh_all(now=NOW, plan_ids=[w.plan_id for w in written], using=using)
    return clinic, therapists, written


def report_of(clinic: Clinic, *, using: str = DEFAULT_DB_ALIAS) -> OutcomeReport:
    return outcome_report(clinic=clinic, filters=ReportFilters(), using=using)


# --- the reference ------------------------------------------------------------------


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


# --- 1. the property test -------------------------------------------------------------

# Float traps and band edges: (week-1 values, week-12 values).
TRAPS = [
    ([6, 6, 5], [0]),  # 17/3 -> 0: exactly -100%, band 0
    ([7, 7, 6], [0, 0]),  # 20/3 -> 0: exactly -100%
    ([3, 3, 4], [0]),  # 10/3 -> 0: exactly -100%
    ([2, 1, 2], [1, 1, 2]),  # 5/3 -> 4/3: exactly -20%, band 8
    ([5], [4]),  # 5 -> 4: exactly -20%, band 8
    ([4, 3, 3], [3, 3, 2]),  # 10/3 -> 8/3: exactly -20%
    ([7, 7, 6], [5, 5, 4]),  # 20/3 -> 14/3: exactly -2 points and -30%, a responder; band 7
    ([4, 3, 3], [2, 1, 1]),  # 10/3 -> 4/3: -2 points, -60%
    ([6, 6, 5], [4, 4, 3]),  # 17/3 -> 11/3: -2 points, -35.29...%
    ([10], [9]),  # exactly -10%: band 9
    ([4], [4]),  # exactly 0%: band 10
    ([3, 3, 4], [4]),  # 10/3 -> 4: exactly +20%: band 12
    ([5], [10]),  # exactly +100%: the open band, 20
    ([1], [10]),  # +900%: the open band
    ([0, 0, 0], [3]),  # baseline 0: a change, no percent, not a responder
    ([0], [0]),  # baseline 0 -> 0
    ([0, 1], [0]),  # baseline 1/2: "mild" (half up), -100%
    ([3, 4], [3]),  # baseline 7/2: "moderate" (half up)
    ([6, 7], [2]),  # baseline 13/2: "severe" (half up)
]

STATUSES = [PlanStatus.ACTIVE, PlanStatus.ACTIVE, PlanStatus.COMPLETED, PlanStatus.STOPPED, PlanStatus.DRAFT]


@st.composite
def random_readings(draw: Any) -> list[Reading]:
    """As test_bulk_agrees: whole weeks empty at random, low NPRS (baseline 0) half the time."""
    weeks = draw(st.sets(st.integers(min_value=0, max_value=14), max_size=15))
    days: set[int] = set()
    for k in weeks:
        days |= draw(st.sets(st.integers(min_value=7 * k, max_value=7 * k + 6), min_size=1, max_size=7))
    nprs = st.integers(min_value=0, max_value=2 if draw(st.booleans()) else 10)
    return [(day, draw(nprs)) for day in sorted(days)]


NPRS = st.integers(min_value=0, max_value=10)


@st.composite
def plan_specs(draw: Any) -> PlanSpec:
    status = draw(st.sampled_from(STATUSES))
    kind = draw(st.sampled_from(["random", "trap", "trap", "week 12 only", "no endpoint", "baseline 0"]))
    readings: list[Reading]
    if status == PlanStatus.DRAFT:
        readings = []  # a draft has no check-ins
    elif kind == "trap":
        first, twelfth = draw(st.sampled_from(TRAPS))
        readings = [*week(1, *first), *week(12, *twelfth)]
    elif kind == "week 12 only":  # an endpoint and no baseline
        readings = week(12, *draw(st.lists(NPRS, min_size=1, max_size=7)))
    elif kind == "no endpoint":  # a baseline, perhaps a check-in after week 1, nothing in weeks 10-12
        readings = week(1, *draw(st.lists(NPRS, min_size=1, max_size=7)))
        readings += week(draw(st.integers(min_value=2, max_value=9)), *draw(st.lists(NPRS, max_size=3)))
    elif kind == "baseline 0":
        readings = [*week(1, *draw(st.lists(st.just(0), min_size=1, max_size=3))), *week(12, draw(NPRS))]
    else:
        readings = draw(random_readings())
    # Mostly past week 12; the boundary (day 83 not over, day 84 over) and plans still running too.
    today_day = draw(st.one_of(st.sampled_from([83, 84, 100]), st.integers(min_value=0, max_value=130)))
    return PlanSpec(
        therapist=draw(st.integers(min_value=0, max_value=2)),
        status=status,
        readings=tuple(readings),
        today_day=today_day,
        zone=draw(st.sampled_from(ZONES)),
    )


Clinic_ = tuple[list[str], list[PlanSpec]]


@st.composite
def clinics(draw: Any) -> Clinic_:
    names = draw(
        st.lists(st.sampled_from(["Ada Alder", "Ben Birch", "Cy Cedar", ""]), min_size=1, max_size=3)
    )
    return names, draw(st.lists(plan_specs(), max_size=12))


def _spec(first: list[int], twelfth: list[int], therapist: int = 0, **kw: Any) -> PlanSpec:
    return PlanSpec(therapist, PlanStatus.ACTIVE, (*week(1, *first), *week(12, *twelfth)), **kw)


ALL_TRAPS: Clinic_ = (
    ["Ada Alder", "Ben Birch", ""],
    [_spec(first, twelfth, therapist=k % 3) for k, (first, twelfth) in enumerate(TRAPS[:12])],
)
EDGE_CASES: Clinic_ = (
    ["Ben Birch", "Ada Alder"],
    [
        *(_spec(first, twelfth, therapist=1) for first, twelfth in TRAPS[12:]),
        PlanSpec(0, PlanStatus.DRAFT, ()),  # a draft
        PlanSpec(0, PlanStatus.STOPPED, (*week(1, 8), *week(12, 2))),  # stopped: still counted
        PlanSpec(0, PlanStatus.ACTIVE, tuple(week(12, 0))),  # an endpoint and no baseline
        PlanSpec(0, PlanStatus.ACTIVE, (*week(1, 5, 6), *week(4, 5))),  # no endpoint
        PlanSpec(1, PlanStatus.ACTIVE, tuple(week(1, 7, 7)), today_day=83),  # week 12 not over
        PlanSpec(1, PlanStatus.ACTIVE, (*week(1, 7, 7), (83, 3)), today_day=84),  # just over
        PlanSpec(1, PlanStatus.ACTIVE, ((8, 6), (70, 2)), zone="Pacific/Kiritimati"),  # fallbacks
        PlanSpec(1, PlanStatus.ACTIVE, ((0, 5), (7, 5))),  # a check-in on day 7: after week 1
        PlanSpec(0, PlanStatus.COMPLETED, ((0, 5), (6, 5))),  # the latest on day 6: not after week 1
    ],
)


@pytest.mark.django_db(databases=BACKENDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clinic=clinics())
@example(clinic=(["Ada Alder"], []))
@example(clinic=ALL_TRAPS)
@example(clinic=EDGE_CASES)
# Three equal percents (17/3 -> 11/3, -35.29...% each): no spread, so the interval is the mean itself.
# The report's variance (sum of squares - sum x mean) cancels to about 1e-13 instead of 0 here, so its
# interval is -35.2941188 to -35.2941165 around -35.2941176 (found by this test; see the report).
@example(clinic=(["Ada Alder"], [_spec([6, 6, 5], [4, 4, 3])] * 3))
def test_every_figure_agrees_with_the_reference(using: str, clinic: Clinic_) -> None:
    names, specs = clinic
    # A fresh clinic per example: the report is by clinic, so examples never see each other's plans.
    made, therapists, written = write_clinic(names, specs, using=using)
    assert_report_matches(report_of(made, using=using), written, therapists)


def test_inclusive_quantiles_interpolate_as_percentile_cont() -> None:
    """PERCENTILE_CONT(p) of n sorted values is at position p(n - 1), linearly interpolated.

    [1, 2, 3, 4]: q1 at 0.75 -> 1 + 0.75 x (2 - 1) = 1.75; median at 1.5 -> 2.5; q3 at 2.25 -> 3.25.
    [1, 2, 3, 4, 10]: q1 at 1 -> 2; median at 2 -> 3; q3 at 3 -> 4.
    """
    assert statistics.quantiles([1, 2, 3, 4], n=4, method="inclusive") == [1.75, 2.5, 3.25]
    assert statistics.quantiles([1, 2, 3, 4, 10], n=4, method="inclusive") == [2, 3, 4]


# --- 2. the fault -----------------------------------------------------------------


@pytest.mark.django_db
def test_17_3_to_0_is_exactly_minus_100_percent_in_the_first_band() -> None:
    clinic, _, _ = write_clinic(["Ada Alder"], [_spec([6, 6, 5], [0, 0, 0])])
    report = report_of(clinic)
    assert report.overall.completers == 1
    assert report.overall.percent.value == -100.0
    assert report.overall.percent_quartiles.median == -100.0
    assert report.histogram[0].label == "-100% to -90%"
    assert report.histogram[0].count == 1
    assert sum(b.count for b in report.histogram) == 1 == report.overall.percent.n


@pytest.mark.django_db
def test_minus_20_percent_is_in_the_band_it_opens() -> None:
    # 5/3 -> 4/3 and 5 -> 4: both exactly -20%, the lower edge of "-20% to -10%" (index 8).
    clinic, _, _ = write_clinic(["Ada Alder"], [_spec([2, 1, 2], [1, 1, 2]), _spec([5], [4])])
    report = report_of(clinic)
    assert report.overall.percent.value == -20.0
    assert report.histogram[8].label == "-20% to -10%"
    assert report.histogram[8].count == 2
    assert sum(b.count for b in report.histogram) == 2 == report.overall.percent.n


@pytest.mark.django_db
def test_a_plan_with_an_endpoint_and_no_baseline_is_neither_completer_nor_itt() -> None:
    clinic, _, _ = write_clinic(
        ["Ada Alder"],
        [
            _spec([8, 8], [2]),  # 8 -> 2: a completer and a responder
            PlanSpec(0, PlanStatus.ACTIVE, tuple(week(12, 0, 0))),  # week 12 only: an endpoint, no baseline
        ],
    )
    overall = report_of(clinic).overall
    assert overall.reached == 2
    assert (overall.itt, overall.completers) == (1, 1)
    assert (overall.responders.count, overall.responders.n) == (1, 1)
    assert overall.responders.percent == 100.0
    assert (overall.responders_itt.count, overall.responders_itt.n) == (1, 1)
    assert (overall.responders_locf.count, overall.responders_locf.n) == (1, 1)
    assert overall.change.n == 1 and overall.percent.n == 1
    assert [s.count for s in overall.flow] == [2, 2, 1, 1, 1, 1]


# --- 3. a clinic by hand ----------------------------------------------------------------------

HAND = (
    ["Ada Alder", "Ben Birch"],
    [
        # Ada (therapist 0)
        _spec([8, 8, 8], [4]),  # P1: 8 -> 4, -4 points, -50%, responder, severe
        _spec([6], [5]),  # P2: 6 -> 5, -1, -16.67%, not a responder, moderate
        PlanSpec(0, PlanStatus.ACTIVE, (*week(1, 5, 4), *week(6, 4))),  # P3: 4.5, no endpoint, current 4
        PlanSpec(0, PlanStatus.ACTIVE, tuple(week(12, 2))),  # P8: no baseline
        # Ben (therapist 1)
        _spec([0, 0], [2], therapist=1),  # P4: 0 -> 2, +2 points, no percent, none
        _spec([3], [1], therapist=1),  # P5: 3 -> 1, -2, -66.67%, responder, mild
        PlanSpec(1, PlanStatus.DRAFT, ()),  # P6: a draft
        _spec([7, 6], [3], therapist=1),  # P7: 6.5 -> 3, -3.5, -53.85%, responder, severe (6.5 -> 7)
    ],
)


def r2(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def r2i(interval: Interval | None) -> tuple[float, float] | None:
    return None if interval is None else (round(interval.low, 2), round(interval.high, 2))


@pytest.mark.django_db
def test_a_small_clinic_by_hand() -> None:
    clinic, _, _ = write_clinic(*HAND)  # every plan started 100 days ago: week 12 is over
    report = report_of(clinic)
    o = report.overall

    # Flow: 8 assigned; 7 activated (P6 a draft); 6 with a baseline (P8 has none); all 6 have a
    # check-in after week 1 (P3 on day 35); week 12 over for all 6; 5 with an endpoint (P3 none).
    assert [(s.count, s.lost) for s in o.flow] == [(8, 0), (7, 1), (6, 1), (6, 0), (6, 0), (5, 1)]
    # Reached: the 7 activated plans; ITT: those with a baseline, 6; completers: P1 P2 P4 P5 P7.
    assert (o.reached, o.itt, o.completers, o.missing) == (7, 6, 5, 1)

    # Change (completers): -4, -1, +2, -2, -3.5. Sum -8.5, mean -1.7.
    # Deviations -2.3, 0.7, 3.7, -0.3, -1.8; squares 5.29 + 0.49 + 13.69 + 0.09 + 3.24 = 22.8;
    # s^2 = 22.8 / 4 = 5.7; SE = sqrt(5.7 / 5) = sqrt(1.14) = 1.067708; t(0.975, 4) = 2.776445;
    # half-width 2.776445 x 1.067708 = 2.964437: -1.7 -+ 2.964437 = (-4.664437, 1.264437).
    assert (o.change.n, r2(o.change.value), r2i(o.change.interval)) == (5, -1.7, (-4.66, 1.26))
    # Sorted -4, -3.5, -2, -1, 2: q1 at position 0.25 x 4 = 1 -> -3.5; median at 2 -> -2; q3 at 3 -> -1.
    q = o.change_quartiles
    assert (q.n, q.q1, q.median, q.q3) == (5, -3.5, -2.0, -1.0)

    # Percent (completers with a baseline above 0): P1 -50, P2 -100/6 = -16.666667, P5 -200/3 =
    # -66.666667, P7 -350/6.5 = -53.846154. Sum -187.179487, mean -46.794872.
    # Deviations -3.205128, 30.128205, -19.871795, -7.051282; squares 10.272847 + 907.709402 +
    # 394.888560 + 49.720579 = 1362.591387; s^2 = 1362.591387 / 3 = 454.197129, s = 21.311901;
    # SE = 21.311901 / 2 = 10.655950; t(0.975, 3) = 3.182446; half-width 33.911986:
    # (-80.706858, -12.882886).
    assert (o.percent.n, r2(o.percent.value), r2i(o.percent.interval)) == (4, -46.79, (-80.71, -12.88))
    # Sorted -66.666667, -53.846154, -50, -16.666667: q1 at 0.75 -> -66.666667 + 0.75 x 12.820513
    # = -57.051282; median at 1.5 -> (-53.846154 - 50) / 2 = -51.923077; q3 at 2.25 -> -50 + 0.25 x
    # 33.333333 = -41.666667.
    q = o.percent_quartiles
    assert (q.n, r2(q.q1), r2(q.median), r2(q.q3)) == (4, -57.05, -51.92, -41.67)

    # Mean baseline of completers (8 + 6 + 0 + 3 + 6.5) / 5 = 23.5 / 5 = 4.7; endpoint
    # (4 + 5 + 2 + 1 + 3) / 5 = 15 / 5 = 3; percent of the group means 100 x (3 - 4.7) / 4.7 = -36.17.
    assert (r2(o.mean_baseline), r2(o.mean_endpoint), r2(o.group_means_percent)) == (4.7, 3.0, -36.17)

    # Wilson, z = 1.959964, z^2 = 3.841459: centre (p + z^2 / 2n) / (1 + z^2 / n), half-width
    # z sqrt(p(1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n).
    # Responders among completers: P1, P5, P7 = 3 of 5, p = 0.6: 1 + 3.841459 / 5 = 1.768292;
    # centre (0.6 + 0.384146) / 1.768292 = 0.556546; half z sqrt(0.048 + 0.038415) = 1.959964 x
    # 0.293964 = 0.576159, / 1.768292 = 0.325829: (23.07%, 88.24%).
    assert (o.responders.count, o.responders.n, o.responders.percent) == (3, 5, 60.0)
    assert r2i(o.responders.interval) == (23.07, 88.24)
    # ITT: 3 of 6, p = 0.5: 1 + 3.841459 / 6 = 1.640243; centre (0.5 + 0.320122) / 1.640243 = 0.5;
    # half 1.959964 x sqrt(0.041667 + 0.026676) = 1.959964 x 0.261425 = 0.512384, / 1.640243 =
    # 0.312383: (18.76%, 81.24%).
    assert (o.responders_itt.count, o.responders_itt.n) == (3, 6)
    assert r2i(o.responders_itt.interval) == (18.76, 81.24)
    # LOCF: P3 is judged on its current 4 (4.5 -> 4: -0.5 points, not a responder): still 3 of 6.
    assert (o.responders_locf.count, o.responders_locf.n) == (3, 6)
    assert r2i(o.responders_locf.interval) == (18.76, 81.24)
    # LOCF percent: the 4 percents above and P3's 100 x -0.5 / 4.5 = -11.111111; sum -198.290598,
    # mean -39.658120 (n = 5; P4 has a baseline of 0).
    assert (o.percent_locf.n, r2(o.percent_locf.value)) == (5, -39.66)

    # Lost against retained: the completers' baselines, mean 4.7 (n = 5); P3's 4.5 (n = 1, no interval).
    assert (o.baseline_retained.n, r2(o.baseline_retained.value)) == (5, 4.7)
    assert (o.baseline_lost.n, o.baseline_lost.value, o.baseline_lost.interval) == (1, 4.5, None)

    # Bands: -66.67 -> floor(33.33 / 10) = 3; -53.85 -> 4; -50 -> 5; -16.67 -> floor(83.33 / 10) = 8.
    assert {k: b.count for k, b in enumerate(o.histogram) if b.count} == {3: 1, 4: 1, 5: 1, 8: 1}

    ada, ben = report.by_therapist
    assert (ada.label, ben.label) == ("Ada Alder", "Ben Birch")
    # Ada: P1 P2 P3 P8. Flow 4, 4, 3, 3, 3, 2; ITT 3 (P1 P2 P3), completers 2 (P1 P2).
    assert [s.count for s in ada.flow] == [4, 4, 3, 3, 3, 2]
    assert (ada.reached, ada.itt, ada.completers) == (4, 3, 2)
    # Changes -4, -1: mean -2.5; s^2 = (1.5^2 + 1.5^2) / 1 = 4.5; SE = sqrt(4.5 / 2) = 1.5;
    # t(0.975, 1) = 12.706205; half-width 19.059307: (-21.559307, 16.559307), cut at the ends of
    # the scale (a change is -10 to +10 points): (-10, 10).
    assert (r2(ada.change.value), r2i(ada.change.interval)) == (-2.5, (-10.0, 10.0))
    # Responders 1 of 2, p = 0.5: 1 + 3.841459 / 2 = 2.920730; centre 0.5; half 1.959964 x
    # sqrt(0.125 + 0.240091) = 1.959964 x 0.604228 = 1.184265, / 2.920730 = 0.405470: (9.45%, 90.55%).
    assert (ada.responders.count, ada.responders.n, r2i(ada.responders.interval)) == (1, 2, (9.45, 90.55))
    # Ben: P4 P5 P6 P7. Flow 4, 3, 3, 3, 3, 3; ITT 3, completers 3; changes +2, -2, -3.5: mean
    # -3.5 / 3 = -1.166667; deviations 3.166667, -0.833333, -2.333333; squares 10.027778 + 0.694444 +
    # 5.444444 = 16.166667; s^2 = 8.083333; SE = sqrt(8.083333 / 3) = 1.641476; t(0.975, 2) =
    # 4.302653; half-width 7.062700: (-8.229367, 5.896034).
    assert [s.count for s in ben.flow] == [4, 3, 3, 3, 3, 3]
    assert (ben.reached, ben.itt, ben.completers) == (3, 3, 3)
    assert (r2(ben.change.value), r2i(ben.change.interval)) == (-1.17, (-8.23, 5.9))
    # Responders 2 of 3 (P5, P7), p = 2/3: 1 + 3.841459 / 3 = 2.280486; centre (0.666667 + 0.640243) /
    # 2.280486 = 0.573081; half 1.959964 x sqrt(0.074074 + 0.106707) = 1.959964 x 0.425184 =
    # 0.833345, / 2.280486 = 0.365425: (20.77%, 93.85%).
    assert (ben.responders.count, ben.responders.n, r2i(ben.responders.interval)) == (2, 3, (20.77, 93.85))

    # Severity (ITT plans by baseline rounded half up): none P4 (0); mild P5 (3); moderate P2 (6),
    # P3 (4.5 -> 5); severe P1 (8), P7 (6.5 -> 7).
    rows = {row.key: row for row in report.by_severity}
    assert [(k, rows[k].itt, rows[k].completers) for k in SEVERITY_KEYS] == [
        ("none", 1, 1),
        ("mild", 1, 1),
        ("moderate", 2, 1),
        ("severe", 2, 2),
    ]
    # Severe: changes -4, -3.5, mean -3.75; s^2 = (0.25^2 + 0.25^2) / 1 = 0.125; SE = sqrt(0.125 / 2)
    # = 0.25; half-width 12.706205 x 0.25 = 3.176551: (-6.926551, -0.573449). Responders 2 of 2:
    # 1 + 3.841459 / 2 = 2.920730; centre (1 + 0.960365) / 2.920730 = 0.671192; half 1.959964 x
    # sqrt(0 + 0.240091) / 2.920730 = 0.960365 / 2.920730 = 0.328808: (34.24%, 100%).
    severe = rows["severe"]
    assert (r2(severe.change.value), r2i(severe.change.interval)) == (-3.75, (-6.93, -0.57))
    assert (severe.responders.count, r2i(severe.responders.interval)) == (2, (34.24, 100.0))
    # None: P4's change +2 (n = 1, no interval), no percent, 0 responders of 1.
    none = rows["none"]
    assert (none.change.n, none.change.value, none.change.interval, none.percent.n) == (1, 2.0, None, 0)
    assert (none.responders.count, none.responders.n) == (0, 1)


# --- 4. the query count ----------------------------------------------------------------------


def _queries(names: list[str], plans: int) -> int:
    specs = [_spec([6, 6, 5], [k % 5], therapist=k) for k in range(plans)]
    clinic, _, _ = write_clinic(names, specs)
    with CaptureQueriesContext(connection) as ctx:
        report_of(clinic)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_plans_or_therapists() -> None:
    assert _queries(["Ada Alder"], 2) == 6
    assert _queries(["Ada Alder"], 12) == 6
    assert _queries(["Ada Alder", "Ben Birch", "Cy Cedar", "Di Dogwood"], 12) == 6
