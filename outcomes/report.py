"""The clinic outcome report: reads of the outcome snapshots, every figure a database aggregate.

Plans count once their week 12 is over in the patient's calendar (draft plans,
never started, do not count). Missing endpoints are counted, never dropped: the
intention-to-treat responder rate counts them as not responding.

The query count is fixed (overall, by therapist, histogram, and on SQLite one
query for the medians), whatever the number of plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Floor, Least

from accounts.models import Clinic
from careplans.models import CarePlan, PlanStatus
from outcomes.models import OutcomeSnapshot

#: Histogram of percent change: 10-point bins from -100% to +100%, then one open bin.
BIN_WIDTH = 10


BIN_LOW = -100


BIN_COUNT = 21


class Median(Aggregate):
    """PostgreSQL's ordered-set aggregate; SQLite gets its medians from _sqlite_medians."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class ReportFilters:
    condition: str = ""
    start_from: date | None = None
    start_to: date | None = None


@dataclass(frozen=True)
class GroupFigures:
    label: str
    therapist_id: int | None
    reached: int
    with_endpoint: int
    missing: int
    mean_percent: float | None
    median_percent: float | None
    mean_baseline: float | None
    mean_endpoint: float | None
    responders: int

    @property
    def group_means_percent(self) -> float | None:
        """Percent change of the group means: mean endpoint against mean baseline."""
        if self.mean_baseline is None or self.mean_endpoint is None or not self.mean_baseline:
            return None
        return 100 * (self.mean_endpoint - self.mean_baseline) / self.mean_baseline

    @property
    def responder_rate_endpoint(self) -> float | None:
        """Responders among the plans with a 12-week endpoint."""
        return 100 * self.responders / self.with_endpoint if self.with_endpoint else None

    @property
    def responder_rate_itt(self) -> float | None:
        """Responders among all plans that reached week 12; a missing endpoint counts as not responding."""
        return 100 * self.responders / self.reached if self.reached else None


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
class OutcomeReport:
    overall: GroupFigures
    by_therapist: list[GroupFigures]
    histogram: list[HistogramBin]

    @property
    def histogram_max(self) -> int:
        return max((b.count for b in self.histogram), default=0)


def _reached(clinic: Clinic | None, filters: ReportFilters) -> QuerySet[OutcomeSnapshot]:
    qs = OutcomeSnapshot.objects.filter(reached_week_12=True).exclude(plan__status=PlanStatus.DRAFT)
    if clinic is not None:
        qs = qs.filter(plan__patient__clinic=clinic)
    if filters.condition:
        qs = qs.filter(plan__condition=filters.condition)
    if filters.start_from:
        qs = qs.filter(plan__start_date__gte=filters.start_from)
    if filters.start_to:
        qs = qs.filter(plan__start_date__lte=filters.start_to)
    return qs


def _figures() -> dict[str, Any]:
    with_change = Q(change__isnull=False)
    figures: dict[str, Any] = {
        "reached": Count("pk"),
        "with_endpoint": Count("endpoint"),
        "missing": Count("pk", filter=Q(missing_endpoint=True)),
        "mean_percent": Avg("percent_change"),
        # Group means over the same plans: those with both a baseline and an endpoint.
        "mean_baseline": Avg("baseline", filter=with_change),
        "mean_endpoint": Avg("endpoint", filter=with_change),
        "responders": Count("pk", filter=Q(responder=True)),
    }
    if connection.vendor == "postgresql":
        figures["median_percent"] = Median("percent_change")
    return figures


def _group(
    row: Mapping[str, Any], *, label: str, therapist_id: int | None, median: float | None
) -> GroupFigures:
    return GroupFigures(
        label=label,
        therapist_id=therapist_id,
        reached=row["reached"] or 0,
        with_endpoint=row["with_endpoint"] or 0,
        missing=row["missing"] or 0,
        mean_percent=row["mean_percent"],
        median_percent=row.get("median_percent", median),
        mean_baseline=row["mean_baseline"],
        mean_endpoint=row["mean_endpoint"],
        responders=row["responders"] or 0,
    )


def _sqlite_medians(qs: QuerySet[OutcomeSnapshot]) -> dict[int | None, float]:
    """Medians of percent change overall (key None) and per therapist, still in the database.

    SQLite has no PERCENTILE_CONT: rank the values in order per group, then
    average the one or two in the middle (the ordered-offset median).
    """
    inner, params = (
        qs.filter(percent_change__isnull=False)
        .values_list("plan__therapist_id", "percent_change")
        .query.sql_with_params()
    )
    sql = f"""
WITH v(therapist_id, pct) AS ({inner}),
ranked AS (
    SELECT therapist_id, pct,
           ROW_NUMBER() OVER (PARTITION BY therapist_id ORDER BY pct) AS rn,
           COUNT(*) OVER (PARTITION BY therapist_id) AS n
    FROM v
    UNION ALL
    SELECT NULL, pct, ROW_NUMBER() OVER (ORDER BY pct), COUNT(*) OVER ()
    FROM v
)
SELECT therapist_id, AVG(pct) FROM ranked
WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY therapist_id"""  # noqa: S608 - the inner query is Django's, with its parameters kept apart
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1] for row in cursor.fetchall()}


def outcome_report(*, clinic: Clinic | None, filters: ReportFilters | None = None) -> OutcomeReport:
    """The clinic's outcome report (``clinic=None``: every clinic, for commands and benchmarks).

    Counts the snapshots of non-draft plans whose week 12 is over, narrowed by
    ``filters`` (condition; plan start dates, inclusive). Returns the overall figures,
    one ``GroupFigures`` per therapist (by name) and the histogram of percent change.
    Changes are in NPRS points (0-10) and percent of baseline; a responder (as
    outcomes.rules computes it) improved by at least 2 points and 30%, the minimal
    clinically important difference of the NPRS (Farrar et al. 2001, Pain 94:149;
    Childs et al. 2005, Spine 30:1331). Three queries, four on SQLite.
    """
    filters = filters or ReportFilters()
    qs = _reached(clinic, filters)
    medians = _sqlite_medians(qs) if connection.vendor != "postgresql" else {}
    overall_row = qs.aggregate(**_figures())
    overall = _group(overall_row, label="All therapists", therapist_id=None, median=medians.get(None))

    rows = (
        qs.values("plan__therapist_id", "plan__therapist__user__full_name")
        .annotate(**_figures())
        .order_by("plan__therapist__user__full_name", "plan__therapist_id")
    )
    by_therapist = [
        _group(
            row,
            label=row["plan__therapist__user__full_name"],
            therapist_id=row["plan__therapist_id"],
            median=medians.get(row["plan__therapist_id"]),
        )
        for row in rows
    ]

    bins = dict(
        qs.filter(percent_change__isnull=False)
        .annotate(
            bin=Least(
                Floor((F("percent_change") - BIN_LOW) / Value(float(BIN_WIDTH))),
                Value(BIN_COUNT - 1),
                output_field=IntegerField(),
            )
        )
        .values("bin")
        .annotate(n=Count("pk"))
        .values_list("bin", "n")
        .order_by()
    )
    histogram = [
        HistogramBin(
            low=BIN_LOW + k * BIN_WIDTH,
            high=None if k == BIN_COUNT - 1 else BIN_LOW + (k + 1) * BIN_WIDTH,
            count=int(bins.get(k, 0)),
        )
        for k in range(BIN_COUNT)
    ]

    return OutcomeReport(overall=overall, by_therapist=by_therapist, histogram=histogram)


def outcome_conditions(*, clinic: Clinic | None) -> list[str]:
    """The conditions of the clinic's plans, for the report's filter (one query)."""
    plans = CarePlan.objects.exclude(condition="")
    if clinic is not None:
        plans = plans.filter(patient__clinic=clinic)
    return list(plans.order_by("condition").values_list("condition", flat=True).distinct())
