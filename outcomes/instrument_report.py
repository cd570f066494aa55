"""The clinic outcome report's questionnaire sections (issue 18): per instrument, from database aggregates.

Same definitions as pain (outcomes.report), over the plans' ``InstrumentOutcome`` rows
(outcomes.instrument_outcomes): the **cohort** is the report's plans whose schedule asks for the
instrument; **reached**: activated plans whose week 12 is over; **intention to treat** (ITT): reached
plans with a baseline, a missing endpoint counting as not responding; **completers**: plans with both
a baseline and an endpoint. Missing counts: reached plans without a baseline, ITT plans without an
endpoint. Counts, sums and sums of squares come from one GROUP BY instrument; means and 95% intervals
follow from them (outcomes.intervals), so one query serves any number of plans, responses and
instruments.

An instrument the schedule does not ask at intake (the global rating of change, a rating of the change
itself, asked only at week 12) has no baseline: its section gives the week-12 ratings (mean with
interval) and their missing count, and no change or responders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet

from careplans.models import CarePlan, PlanStatus
from outcomes.report_figures import InstrumentFigures, Mean, mean_figures, mean_from_sums, rate_of
from questionnaires.definitions import definition_checked
from questionnaires.models import Better, Instrument, McidKind
from questionnaires.scoring import instrument_source

#: From an instrument to its plans' rows: the report groups by instrument, one row per plan.
ROWS = "plan_outcomes__"

#: Activated plans (no longer drafts), named by status: a negated lookup across the relation would
#: become a subquery inside every count.
ACTIVATED_STATUSES = [status for status in PlanStatus.values if status != PlanStatus.DRAFT]
REACHED = Q(**{f"{ROWS}plan__status__in": ACTIVATED_STATUSES, f"{ROWS}plan__outcome__reached_week_12": True})
ITT = REACHED & Q(**{f"{ROWS}baseline__isnull": False})
COMPLETERS = ITT & Q(**{f"{ROWS}endpoint__isnull": False})
WITH_PERCENT = COMPLETERS & Q(**{f"{ROWS}percent_change__isnull": False})
ENDPOINTS = REACHED & Q(**{f"{ROWS}endpoint__isnull": False})


def _aggregates() -> dict[str, Any]:
    """Counts, sums and sums of squares over an instrument's plan rows (``ROWS``)."""
    row = f"{ROWS}pk"
    return {
        "cohort": Count(row),
        "reached": Count(row, filter=REACHED),
        "itt": Count(row, filter=ITT),
        "completers": Count(row, filter=COMPLETERS),
        "no_baseline": Count(row, filter=REACHED & Q(**{f"{ROWS}baseline__isnull": True})),
        "no_endpoint": Count(row, filter=ITT & Q(**{f"{ROWS}endpoint__isnull": True})),
        "endpoint_missing": Count(row, filter=REACHED & Q(**{f"{ROWS}endpoint__isnull": True})),
        "responders": Count(row, filter=COMPLETERS & Q(**{f"{ROWS}responder": True})),
        "baselines": Count(f"{ROWS}baseline"),
        **mean_figures("baseline", f"{ROWS}baseline", COMPLETERS),
        **mean_figures("endpoint", f"{ROWS}endpoint", ENDPOINTS),
        **mean_figures("change", f"{ROWS}change", COMPLETERS),
        **mean_figures("percent", f"{ROWS}percent_change", WITH_PERCENT),
    }


def _mean(row: Mapping[str, Any], prefix: str, within: tuple[float | None, float | None]) -> Mean:
    n = int(row[f"{prefix}_n"] or 0)
    if not n:
        return Mean(n=0, value=None)
    total, squares = float(row[f"{prefix}_sum"]), float(row[f"{prefix}_sumsq"])
    return mean_from_sums(n=n, total=total, squares=squares, within=within)


def mcid_words(instrument: Instrument) -> str:
    """The instrument's MCID as the page states it, e.g. "an improvement of 2 points (higher is
    better)"; "" when it has none."""
    if instrument.mcid is None:
        return ""
    size = f"{float(instrument.mcid):g}"
    unit = f"{size} points" if instrument.mcid_kind == McidKind.POINTS else f"{size}% of the baseline"
    way = "higher" if instrument.better == Better.HIGHER else "lower"
    return f"an improvement of at least {unit} ({way} is better)"


def _figures(instrument: Instrument, row: Mapping[str, Any]) -> InstrumentFigures:
    checked = definition_checked(instrument.definition)
    low, high = float(instrument.score_min), float(instrument.score_max)
    span = high - low
    percent_within: tuple[float | None, float | None] = (-100.0, None) if low >= 0 else (None, None)
    count = {key: int(row[key] or 0) for key in ("cohort", "reached", "itt", "completers")}
    return InstrumentFigures(
        code=instrument.code,
        name=str(checked.data.get("name") or instrument.code.upper()),
        title=instrument.title,
        source=instrument_source(checked),
        mcid=mcid_words(instrument),
        better=instrument.better,
        low=low,
        high=high,
        **count,
        no_baseline=int(row["no_baseline"] or 0),
        no_endpoint=int(row["no_endpoint"] or 0),
        endpoint_missing=int(row["endpoint_missing"] or 0),
        baselines=int(row["baselines"] or 0),
        baseline=_mean(row, "baseline", (low, high)),
        endpoint=_mean(row, "endpoint", (low, high)),
        change=_mean(row, "change", (-span, span)),
        percent=_mean(row, "percent", percent_within),
        responders=rate_of(row["responders"], count["completers"]),
        responders_itt=rate_of(row["responders"], count["itt"]),
    )


def instrument_report(plans: QuerySet[CarePlan]) -> tuple[InstrumentFigures, ...]:
    """Each instrument's figures over the report's cohort ``plans`` (outcome_report's queryset), by
    title; an instrument no plan of the cohort asks for is left out. One query, whatever the number
    of plans, responses or instruments. Changes in the instrument's points, rates in percent with
    Wilson's 95% interval, means with Student's t interval. Raises nothing of its own.
    """
    instruments = (
        Instrument.objects.using(plans.db)
        .filter(plan_outcomes__plan__in=plans.values("pk"))  # the aggregates count only these rows
        .annotate(**_aggregates())
        .order_by("title", "version", "pk")
    )
    return tuple(_figures(instrument, vars(instrument)) for instrument in instruments)
