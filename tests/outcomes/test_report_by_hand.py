"""The clinic outcome report on a small clinic worked out by hand, and its query count, which does
not grow with plans or therapists (the reference and the property test: test_report_figures.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careplans.models import PlanStatus
from outcomes.intervals import Interval
from tests.outcomes.report_clinics import PlanSpec, plan_spec, report_of, week, write_clinic
from tests.outcomes.report_reference import SEVERITY_KEYS

# --- a clinic by hand ----------------------------------------------------------------------

HAND = (
    ["Ada Alder", "Ben Birch"],
    [
        # Ada (therapist 0)
        plan_spec([8, 8, 8], [4]),  # P1: 8 -> 4, -4 points, -50%, responder, severe
        plan_spec([6], [5]),  # P2: 6 -> 5, -1, -16.67%, not a responder, moderate
        PlanSpec(0, PlanStatus.ACTIVE, (*week(1, 5, 4), *week(6, 4))),  # P3: 4.5, no endpoint, current 4
        PlanSpec(0, PlanStatus.ACTIVE, tuple(week(12, 2))),  # P8: no baseline
        # Ben (therapist 1)
        plan_spec([0, 0], [2], therapist=1),  # P4: 0 -> 2, +2 points, no percent, none
        plan_spec([3], [1], therapist=1),  # P5: 3 -> 1, -2, -66.67%, responder, mild
        PlanSpec(1, PlanStatus.DRAFT, ()),  # P6: a draft
        plan_spec([7, 6], [3], therapist=1),  # P7: 6.5 -> 3, -3.5, -53.85%, responder, severe (6.5 -> 7)
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


# --- the query count ----------------------------------------------------------------------


def _queries(names: list[str], plans: int) -> int:
    specs = [plan_spec([6, 6, 5], [k % 5], therapist=k) for k in range(plans)]
    clinic, _, _ = write_clinic(names, specs)
    with CaptureQueriesContext(connection) as ctx:
        report_of(clinic)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_plans_or_therapists() -> None:
    assert _queries(["Ada Alder"], 2) == 6
    assert _queries(["Ada Alder"], 12) == 6
    assert _queries(["Ada Alder", "Ben Birch", "Cy Cedar", "Di Dogwood"], 12) == 6
