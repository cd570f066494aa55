"""The clinic outcome report: its definitions, and every figure from database aggregates.

The page, the CSV, the PDF and ``outcome_report --format json`` all read the
one ``OutcomeReport`` that ``outcome_report`` returns. Counts, sums, sums of
squares and percentiles come from the database (aggregates over the plans'
outcome snapshots, computed by outcomes.rules); means, variances and the 95%
intervals follow from those aggregates (outcomes.intervals), never from a
loop over plans. The query count is fixed (six: one of them the
questionnaires' sections, outcomes.instrument_report), whatever the number of
plans, therapists, responses or instruments.

Definitions (stated on the page, DEFINITIONS):

- **cohort**: the clinic's plans that match the filters (condition, plan start
  dates, therapist), whatever their status;
- **flow**: assigned -> activated (no longer a draft) -> with a baseline -> with
  a check-in after week 1 -> week 12 over in the patient's calendar -> with a
  12-week endpoint, each step a subset of the one before;
- **reached**: activated plans whose week 12 is over; **intention to treat**
  (ITT): reached plans with a baseline, a missing endpoint counting as not
  responding; **completers**: plans with both a baseline and an endpoint;
- **responder**: at least 2 points and at least 30% less pain at 12 weeks (the
  NPRS's minimal clinically important difference: Farrar et al. 2001, Pain
  94:149; Childs et al. 2005, Spine 30:1331); **last observation carried
  forward** (LOCF, the sensitivity row): an ITT plan without an endpoint is
  judged on its latest pain figure (``current``, the mean of the 7 days ending
  at its latest check-in);
- **baseline severity**: the baseline rounded to a whole point (half up):
  mild 1-3, moderate 4-6, severe 7-10, and none below 0.5;
- **distribution**: 10-point bands of percent change from -100% to +100% and
  one open band above; a band holds its lower edge and not its upper one
  (exactly -20% is in "-20% to -10%"), and every plan with a percent change is
  in exactly one band (outcomes.rules makes exact figures exact).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Floor, Least
from django.utils import timezone

from accounts.models import Clinic
from careplans.adherence import DaysAfter
from careplans.models import CarePlan, PlanStatus
from outcomes.aggregates import Percentile
from outcomes.instrument_report import instrument_report
from outcomes.report_figures import (
    BIN_COUNT,
    BIN_LOW,
    BIN_WIDTH,
    SEVERITY,
    FlowStep,
    GroupFigures,
    Mean,
    OutcomeReport,
    Quartiles,
    ReportFilters,
    SeverityRow,
    histogram_of,
    mean_figures,
    mean_from_sums,
    rate_of,
)
from outcomes.rules import derived_from

# --- the populations, as filters on CarePlan -------------------------------------

ACTIVATED = ~Q(status=PlanStatus.DRAFT)
REACHED = ACTIVATED & Q(outcome__reached_week_12=True)
ITT = REACHED & Q(outcome__baseline__isnull=False)
COMPLETERS = ITT & Q(outcome__endpoint__isnull=False)
WITH_PERCENT = COMPLETERS & Q(outcome__percent_change__isnull=False)

#: The flow's steps: (label, what a plan needs besides the steps before, why a plan was lost
#: here; "" where a plan that stops here is not lost but still running).
_STEPS = (
    ("Plans assigned", Q(), ""),
    ("Activated", ACTIVATED, "left as drafts"),
    ("With a baseline", Q(outcome__baseline__isnull=False), "no check-in in the first two weeks"),
    (
        "With a check-in after week 1",
        Q(outcome__last_checkin_date__gte=DaysAfter(F("start_date"), 7)),
        "no check-in after week 1",
    ),
    ("Week 12 over", Q(outcome__reached_week_12=True), ""),
    ("With a 12-week endpoint", Q(outcome__endpoint__isnull=False), "no check-in in weeks 10 to 12"),
)


def _flow_steps() -> tuple[tuple[str, Q, str], ...]:
    """The steps with each one's whole filter: its own and every earlier step's."""
    steps, so_far = [], Q()
    for label, condition, why in _STEPS:
        so_far &= condition
        steps.append((label, so_far, why))
    return tuple(steps)


FLOW = _flow_steps()


def _locf() -> dict[str, Any]:
    """Responder and percent change with the latest pain figure standing in for a missing endpoint."""
    figures = derived_from(
        baseline=F("outcome__baseline"),
        current=F("outcome__current"),
        endpoint=Coalesce(F("outcome__endpoint"), F("outcome__current")),
        reached_week_12=F("outcome__reached_week_12"),
    )
    return {"locf_responder": figures["responder"], "locf_percent": figures["percent_change"]}


def _quartile_figures(prefix: str, expression: str, population: Q) -> dict[str, Any]:
    return {
        f"{prefix}_q{k}": Percentile(expression, fraction, filter=population)
        for k, fraction in ((1, 0.25), (2, 0.5), (3, 0.75))
    }


def _quartile_aggregates() -> dict[str, Any]:
    return {
        **_quartile_figures("change", "outcome__change", COMPLETERS),
        **_quartile_figures("percent", "outcome__percent_change", WITH_PERCENT),
    }


def _group_aggregates() -> dict[str, Any]:
    """Every figure of a group but its quartiles: counts and sums, which add up across groups."""
    lost = ITT & Q(outcome__endpoint__isnull=True)
    figures: dict[str, Any] = {f"flow{k}": Count("pk", filter=step) for k, (_, step, _) in enumerate(FLOW)}
    figures.update(
        reached=Count("pk", filter=REACHED),
        itt=Count("pk", filter=ITT),
        completers=Count("pk", filter=COMPLETERS),
        responders=Count("pk", filter=COMPLETERS & Q(outcome__responder=True)),
        locf_responders=Count("pk", filter=ITT & Q(locf_responder=True)),
        endpoint_sum=Sum("outcome__endpoint", filter=COMPLETERS),
        **mean_figures("change", "outcome__change", COMPLETERS),
        **mean_figures("percent", "outcome__percent_change", WITH_PERCENT),
        **mean_figures("locf_percent", "locf_percent", ITT),
        **mean_figures("retained", "outcome__baseline", COMPLETERS),
        **mean_figures("lost", "outcome__baseline", lost),
    )
    return figures


#: The range each mean can take, for its interval (outcomes.intervals.mean_interval).
WITHIN: dict[str, tuple[float | None, float | None]] = {
    "change": (-10.0, 10.0),  # NPRS points
    "percent": (-100.0, None),  # no pain is -100%; more pain has no ceiling
    "locf_percent": (-100.0, None),
    "retained": (0.0, 10.0),  # a baseline
    "lost": (0.0, 10.0),
}


def _mean(row: Mapping[str, Any], prefix: str) -> Mean:
    """The mean of ``_mean_figures`` with its 95% interval."""
    n = int(row[f"{prefix}_n"] or 0)
    if not n:
        return Mean(n=0, value=None)
    total, squares = float(row[f"{prefix}_sum"]), float(row[f"{prefix}_sumsq"])
    return mean_from_sums(n=n, total=total, squares=squares, within=WITHIN[prefix])


def _quartiles(row: Mapping[str, Any], prefix: str) -> Quartiles:
    return Quartiles(
        n=int(row[f"{prefix}_n"] or 0),
        median=row[f"{prefix}_q2"],
        q1=row[f"{prefix}_q1"],
        q3=row[f"{prefix}_q3"],
    )


def _flow(row: Mapping[str, Any]) -> tuple[FlowStep, ...]:
    counts = [int(row[f"flow{k}"] or 0) for k in range(len(FLOW))]
    return tuple(
        FlowStep(label=label, count=counts[k], lost=counts[k - 1] - counts[k] if k else 0, lost_label=why)
        for k, (label, _, why) in enumerate(FLOW)
    )


def _group(
    row: Mapping[str, Any], *, label: str, therapist_id: int | None, histogram: Mapping[int, int]
) -> GroupFigures:
    completers = int(row["completers"] or 0)
    return GroupFigures(
        label=label,
        therapist_id=therapist_id,
        flow=_flow(row),
        reached=int(row["reached"] or 0),
        itt=int(row["itt"] or 0),
        completers=int(row["completers"] or 0),
        change=_mean(row, "change"),
        change_quartiles=_quartiles(row, "change"),
        percent=_mean(row, "percent"),
        percent_quartiles=_quartiles(row, "percent"),
        mean_baseline=row["retained_sum"] / completers if completers else None,
        mean_endpoint=row["endpoint_sum"] / completers if completers else None,
        responders=rate_of(row["responders"], row["completers"]),
        responders_itt=rate_of(row["responders"], row["itt"]),
        responders_locf=rate_of(row["locf_responders"], row["itt"]),
        percent_locf=_mean(row, "locf_percent"),
        baseline_retained=_mean(row, "retained"),
        baseline_lost=_mean(row, "lost"),
        histogram=histogram_of(histogram),
    )


def report_plans(
    clinic: Clinic | None, filters: ReportFilters, *, using: str = DEFAULT_DB_ALIAS
) -> QuerySet[CarePlan]:
    """The cohort: the clinic's plans (``clinic=None``: every clinic's) matching ``filters``."""
    plans = CarePlan.objects.using(using).all()
    if clinic is not None:
        plans = plans.filter(patient__clinic=clinic)
    if filters.condition:
        plans = plans.filter(condition=filters.condition)
    if filters.start_from:
        plans = plans.filter(start_date__gte=filters.start_from)
    if filters.start_to:
        plans = plans.filter(start_date__lte=filters.start_to)
    if filters.therapist_id is not None:
        plans = plans.filter(therapist_id=filters.therapist_id)
    return plans.annotate(**_locf())


def _band() -> Least:
    """The distribution band of a plan's percent change: 0 for [-100, -90) ... 20 for 100 and more."""
    return Least(
        Floor((F("outcome__percent_change") - BIN_LOW) / Value(float(BIN_WIDTH))),
        Value(BIN_COUNT - 1),
        output_field=IntegerField(),
    )


def _severity() -> Case:
    whens = []
    for key, _, _, above in SEVERITY:
        if above is not None:
            whens.append(When(outcome__baseline__lt=above, then=Value(key)))
    return Case(*whens, default=Value(SEVERITY[-1][0]))


def _severity_rows(plans: QuerySet[CarePlan]) -> list[SeverityRow]:
    rows = {
        row["severity"]: row
        for row in plans.filter(ITT)
        .annotate(severity=_severity())
        .values("severity")
        .annotate(
            itt=Count("pk"),
            completers=Count("pk", filter=COMPLETERS),
            responders=Count("pk", filter=COMPLETERS & Q(outcome__responder=True)),
            **mean_figures("change", "outcome__change", COMPLETERS),
            **mean_figures("percent", "outcome__percent_change", WITH_PERCENT),
        )
        .order_by()
    }
    empty: dict[str, Any] = defaultdict(lambda: None)
    result = []
    for key, label, _, _ in SEVERITY:
        row = rows.get(key, empty)
        result.append(
            SeverityRow(
                key=key,
                label=label,
                itt=int(row["itt"] or 0),
                completers=int(row["completers"] or 0),
                change=_mean(row, "change"),
                percent=_mean(row, "percent"),
                responders=rate_of(row["responders"], row["completers"]),
            )
        )
    return result


def _label(row: Mapping[str, Any]) -> str:
    return str(row["therapist__user__full_name"] or row["therapist__user__email"])


def outcome_report(
    *, clinic: Clinic | None, filters: ReportFilters | None = None, using: str = DEFAULT_DB_ALIAS
) -> OutcomeReport:
    """The clinic's outcome report (``clinic=None``: every clinic's plans, for commands and benchmarks).

    ``filters``: condition, plan start dates (inclusive) and therapist. Returns the
    figures overall and per therapist (by name), by baseline severity, and the
    distribution of percent change, as the module docstring defines them:
    changes in NPRS points (0-10) and percent of baseline, rates in percent
    with 95% intervals; and each questionnaire's section (outcomes.instrument_report). Six
    queries on the ``using`` database, whatever the number of plans, therapists, responses or
    instruments.
    Raises nothing of its own.
    """
    filters = filters or ReportFilters()
    # The clinic's own date: a clinic in Auckland reads tomorrow's report before London does.
    as_of = (
        timezone.localdate(timezone=zoneinfo.ZoneInfo(str(clinic.timezone)))
        if clinic
        else timezone.localdate()
    )
    plans = report_plans(clinic, filters, using=using)

    bins: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    banded = (
        plans.filter(WITH_PERCENT)
        .annotate(band=_band())
        .values("therapist_id", "band")
        .annotate(n=Count("pk"))
        .values_list("therapist_id", "band", "n")
        .order_by()
    )
    for therapist_id, band, n in banded:
        bins[therapist_id][int(band)] += n
        bins[None][int(band)] += n

    grouped = (
        plans.values("therapist_id", "therapist__user__full_name", "therapist__user__email")
        .annotate(**_group_aggregates())
        .order_by("therapist__user__full_name", "therapist_id")
    )
    rows: list[dict[str, Any]] = [dict(row) for row in grouped]
    # Quartiles apart: an ordered-set aggregate makes PostgreSQL sort every plan's whole row by
    # therapist (past work_mem, on disk, at 100,000 plans) where the sums alone are hashed.
    quartiles = {
        row["therapist_id"]: row
        for row in plans.values("therapist_id").annotate(**_quartile_aggregates()).order_by()
    }
    for row in rows:
        row.update(quartiles.get(row["therapist_id"], {}))
    # Every plan has one therapist, so the clinic's counts and sums are the therapists' added up;
    # only its quartiles need the plans themselves.
    totals: dict[str, Any] = {key: sum(row[key] or 0 for row in rows) for key in _group_aggregates()}
    totals.update(plans.aggregate(**_quartile_aggregates()))
    # Filtered to one therapist, the whole is that therapist.
    label = "All therapists"
    if filters.therapist_id is not None:
        label = _label(rows[0]) if rows else "The chosen therapist (no plans)"
    overall = _group(totals, label=label, therapist_id=None, histogram=bins[None])
    by_therapist = [
        _group(
            row,
            label=_label(row),
            therapist_id=row["therapist_id"],
            histogram=bins[row["therapist_id"]],
        )
        for row in rows
    ]
    return OutcomeReport(
        clinic_name=clinic.name if clinic is not None else "All clinics",
        filters=filters,
        as_of=as_of,
        overall=overall,
        by_therapist=by_therapist,
        by_severity=_severity_rows(plans),
        instruments=instrument_report(plans),
    )


def outcome_conditions(*, clinic: Clinic | None) -> list[str]:
    """The conditions of the clinic's plans, for the report's filter (one query)."""
    plans = CarePlan.objects.exclude(condition="")
    if clinic is not None:
        plans = plans.filter(patient__clinic=clinic)
    return list(plans.order_by("condition").values_list("condition", flat=True).distinct())
