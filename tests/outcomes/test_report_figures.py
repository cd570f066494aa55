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

import statistics
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from careplans.models import PlanStatus
from tests.outcomes.conftest import BACKENDS
from tests.outcomes.report_clinics import ZONES, PlanSpec, Reading, plan_spec, report_of, week, write_clinic
from tests.outcomes.report_reference import assert_report_matches

# --- the property test -------------------------------------------------------------

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


ALL_TRAPS: Clinic_ = (
    ["Ada Alder", "Ben Birch", ""],
    [plan_spec(first, twelfth, therapist=k % 3) for k, (first, twelfth) in enumerate(TRAPS[:12])],
)
EDGE_CASES: Clinic_ = (
    ["Ben Birch", "Ada Alder"],
    [
        *(plan_spec(first, twelfth, therapist=1) for first, twelfth in TRAPS[12:]),
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
@example(clinic=(["Ada Alder"], [plan_spec([6, 6, 5], [4, 4, 3])] * 3))
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


# --- the fault -----------------------------------------------------------------


@pytest.mark.django_db
def test_17_3_to_0_is_exactly_minus_100_percent_in_the_first_band() -> None:
    clinic, _, _ = write_clinic(["Ada Alder"], [plan_spec([6, 6, 5], [0, 0, 0])])
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
    clinic, _, _ = write_clinic(["Ada Alder"], [plan_spec([2, 1, 2], [1, 1, 2]), plan_spec([5], [4])])
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
            plan_spec([8, 8], [2]),  # 8 -> 2: a completer and a responder
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
