"""The outcome report as data: JSON (``outcome_report --format json``), CSV rows and plain text.

Every format reads the one ``OutcomeReport`` (outcomes.report); nothing is
computed here but rounding for display. Numbers keep two decimals in JSON and
CSV (percent and NPRS points), whole percents and one decimal on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from outcomes.intervals import Interval
from outcomes.report_figures import (
    CAVEAT,
    DEFINITIONS,
    INSTRUMENT_DEFINITIONS,
    GroupFigures,
    InstrumentFigures,
    Mean,
    OutcomeReport,
    Quartiles,
    Rate,
    ReportFilters,
)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2) + 0.0


def _interval(interval: Interval | None) -> list[float | None]:
    return [None, None] if interval is None else [_round(interval.low), _round(interval.high)]


def mean_dict(mean: Mean) -> dict[str, Any]:
    return {"n": mean.n, "mean": _round(mean.value), "ci95": _interval(mean.interval)}


def quartiles_dict(q: Quartiles) -> dict[str, Any]:
    return {"n": q.n, "median": _round(q.median), "iqr": [_round(q.q1), _round(q.q3)]}


def rate_dict(rate: Rate) -> dict[str, Any]:
    return {
        "count": rate.count,
        "n": rate.n,
        "percent": _round(rate.percent),
        "ci95": _interval(rate.interval),
    }


def group_dict(group: GroupFigures) -> dict[str, Any]:
    """One group's figures: NPRS points and percents rounded to 2 decimals, counts as counts."""
    return {
        "group": group.label,
        "flow": [
            {
                "step": step.label,
                "plans": step.count,
                "lost": step.lost,
                "lost_percent": _round(step.lost_percent),
                "why": step.lost_label,
            }
            for step in group.flow
        ],
        "plans_reached_week_12": group.reached,
        "intention_to_treat": group.itt,
        "completers": group.completers,
        "missing_endpoint": group.missing,
        "change_points": {**mean_dict(group.change), **quartiles_dict(group.change_quartiles)},
        "percent_change": {**mean_dict(group.percent), **quartiles_dict(group.percent_quartiles)},
        "percent_change_of_group_means": _round(group.group_means_percent),
        "mean_baseline": _round(group.mean_baseline),
        "mean_endpoint": _round(group.mean_endpoint),
        "responders_completers": rate_dict(group.responders),
        "responders_intention_to_treat": rate_dict(group.responders_itt),
        "responders_last_observation_carried_forward": rate_dict(group.responders_locf),
        "percent_change_last_observation_carried_forward": mean_dict(group.percent_locf),
        "baseline_with_endpoint": mean_dict(group.baseline_retained),
        "baseline_without_endpoint": mean_dict(group.baseline_lost),
        "distribution": [{"band": b.label, "plans": b.count} for b in group.histogram],
    }


def instrument_dict(q: InstrumentFigures) -> dict[str, Any]:
    """One questionnaire's section: who it is, its counts, and its means and rates in its own points."""
    return {
        "instrument": q.code,
        "name": q.name,
        "title": q.title,
        "source": q.source,
        "mcid": q.mcid or None,
        "better": q.better,
        "plans_asked": q.cohort,
        "plans_reached_week_12": q.reached,
        "intention_to_treat": q.itt,
        "completers": q.completers,
        "missing_baseline": q.no_baseline,
        "missing_endpoint": q.no_endpoint if q.has_baseline else q.endpoint_missing,
        "baseline": mean_dict(q.baseline),
        "endpoint": mean_dict(q.endpoint),
        "change_points": mean_dict(q.change),
        "percent_change": mean_dict(q.percent),
        "responders_completers": rate_dict(q.responders) if q.has_mcid else None,
        "responders_intention_to_treat": rate_dict(q.responders_itt) if q.has_mcid else None,
    }


def instrument_rows(q: InstrumentFigures) -> Iterator[list[Any]]:
    """One questionnaire's figures, one a row (as ``group_rows``), its name and source as the group."""
    name = f"{q.name} ({q.source})" if q.source else q.name
    yield _count_row("questionnaire", name, "plans asked for it", q.cohort)
    yield _count_row("questionnaire", name, "week 12 over", q.reached)
    if q.has_baseline:
        yield _count_row("questionnaire", name, "intention to treat", q.itt)
        yield _count_row("questionnaire", name, "completers", q.completers)
        yield _count_row("questionnaire", name, "missing baseline", q.reached, q.no_baseline)
        yield _count_row("questionnaire", name, "missing endpoint", q.itt, q.no_endpoint)
        yield _mean_row("questionnaire", name, "baseline, completers", q.baseline)
        yield _mean_row("questionnaire", name, "change in points, completers", q.change)
        yield _mean_row("questionnaire", name, "percent change (mean of individual), completers", q.percent)
        if q.has_mcid:
            yield _rate_row("questionnaire", name, "responders, completers (%)", q.responders)
            yield _rate_row("questionnaire", name, "responders, intention to treat (%)", q.responders_itt)
    else:
        yield _count_row("questionnaire", name, "missing 12-week score", q.reached, q.endpoint_missing)
    yield _mean_row("questionnaire", name, "score at 12 weeks", q.endpoint)


def report_dict(report: OutcomeReport) -> dict[str, Any]:
    """The whole report as JSON-ready data, with its definitions."""
    filters = report.filters
    return {
        "clinic": report.clinic_name,
        "as_of": report.as_of.isoformat(),
        "filters": {
            "condition": filters.condition or None,
            "start_from": filters.start_from.isoformat() if filters.start_from else None,
            "start_to": filters.start_to.isoformat() if filters.start_to else None,
            "therapist_id": filters.therapist_id,
        },
        "definitions": dict(DEFINITIONS + INSTRUMENT_DEFINITIONS),
        "caveat": CAVEAT,
        "overall": group_dict(report.overall),
        "by_therapist": [group_dict(t) for t in report.by_therapist],
        "by_baseline_severity": [
            {
                "severity": row.label,
                "intention_to_treat": row.itt,
                "completers": row.completers,
                "change_points": mean_dict(row.change),
                "percent_change": mean_dict(row.percent),
                "responders": rate_dict(row.responders),
            }
            for row in report.by_severity
        ],
        "questionnaires": [instrument_dict(q) for q in report.instruments],
    }


def period_text(filters: ReportFilters) -> str:
    """The plans' start dates the filters take, in words ("plans starting 1 July 2026 to 30 ...")."""
    if not filters.start_from and not filters.start_to:
        return "plans starting at any time"
    low = f"{filters.start_from:%-d %B %Y}" if filters.start_from else "the first plan"
    high = f"{filters.start_to:%-d %B %Y}" if filters.start_to else "today"
    return f"plans starting {low} to {high}"


def sentence(text: str) -> str:
    """``text`` with its first letter a capital, the rest as written (names, months)."""
    return text[:1].upper() + text[1:]


def filters_text(filters: ReportFilters, *, therapist_name: str = "") -> str:
    """Every filter in words, the start dates first ("Plans starting ...; condition Low back pain")."""
    parts = [period_text(filters)]
    if filters.condition:
        parts.append(f"condition {filters.condition}")
    if therapist_name:
        parts.append(f"therapist {therapist_name}")
    return sentence("; ".join(parts))


CSV_HEADER = [
    "period",
    "section",
    "group",
    "measure",
    "n",
    "count",
    "value",
    "ci95_low",
    "ci95_high",
    "median",
    "q1",
    "q3",
]


def _mean_row(section: str, group: str, measure: str, mean: Mean, q: Quartiles | None = None) -> list[Any]:
    low, high = _interval(mean.interval)
    quartiles = [None, None, None] if q is None else [_round(q.median), _round(q.q1), _round(q.q3)]
    return [section, group, measure, mean.n, None, _round(mean.value), low, high, *quartiles]


def _rate_row(section: str, group: str, measure: str, rate: Rate) -> list[Any]:
    low, high = _interval(rate.interval)
    return [section, group, measure, rate.n, rate.count, _round(rate.percent), low, high, None, None, None]


def _count_row(
    section: str,
    group: str,
    measure: str,
    n: int | None,
    count: int | None = None,
    value: float | None = None,
) -> list[Any]:
    return [section, group, measure, n, count, _round(value), None, None, None, None, None]


def group_rows(group: GroupFigures) -> Iterator[list[Any]]:
    """One group's figures, one a row: ``n`` the plans a figure rests on, ``count`` those it counts
    (responders, plans lost), ``value`` the figure (points, or percent for rates and changes)."""
    name = group.label
    before = None
    for step in group.flow:
        yield _count_row("flow", name, step.label, step.count)
        if step.lost and step.lost_label and before is not None:
            measure = f"lost before '{step.label}': {step.lost_label} (value: % of the step before)"
            yield _count_row("flow", name, measure, before, step.lost, step.lost_percent)
        elif step.lost and before is not None:
            yield _count_row("flow", name, f"still before '{step.label}' (not lost)", before, step.lost)
        before = step.count
    yield _count_row("populations", name, "intention to treat", group.itt)
    yield _count_row("populations", name, "completers", group.completers)
    yield _count_row("populations", name, "missing endpoint", group.itt, group.missing)
    yield _mean_row("change", name, "change in points, completers", group.change, group.change_quartiles)
    percent = "percent change (mean of individual), completers"
    yield _mean_row("change", name, percent, group.percent, group.percent_quartiles)
    means = "percent change of the group means"
    yield _count_row("change", name, means, group.completers, None, group.group_means_percent)
    locf = "percent change (mean of individual), last observation carried forward"
    yield _mean_row("change", name, locf, group.percent_locf)
    yield _rate_row("responders", name, "responders, completers (%)", group.responders)
    yield _rate_row("responders", name, "responders, intention to treat (%)", group.responders_itt)
    locf = "responders, last observation carried forward (%)"
    yield _rate_row("responders", name, locf, group.responders_locf)
    yield _mean_row("retention", name, "baseline, plans with an endpoint", group.baseline_retained)
    yield _mean_row("retention", name, "baseline, plans without an endpoint", group.baseline_lost)
    for band in group.histogram:
        yield _count_row("distribution", name, f"percent change {band.label}", None, band.count)


def _report_rows(report: OutcomeReport) -> Iterator[list[Any]]:
    # Filtered to one therapist, the whole is that therapist: once, or a sum would count it twice.
    groups = (
        [report.overall]
        if report.filters.therapist_id is not None
        else [report.overall, *report.by_therapist]
    )
    for group in groups:
        yield from group_rows(group)
    for row in report.by_severity:
        yield _count_row("severity", row.label, "intention to treat", row.itt)
        yield _mean_row("severity", row.label, "change in points, completers", row.change)
        yield _mean_row("severity", row.label, "percent change, completers", row.percent)
        yield _rate_row("severity", row.label, "responders, completers (%)", row.responders)
    for q in report.instruments:
        yield from instrument_rows(q)


def report_rows(
    report: OutcomeReport, *, compared: OutcomeReport | None = None, therapist_name: str = ""
) -> Iterator[list[Any]]:
    """The report in long form (``CSV_HEADER``), one figure a row: first what it is (clinic, the
    day of the figures, the filters), then every figure of the period and, with ``compared``,
    of the comparison period, each row naming its period."""
    about = [None, None, None, None, None, None, None]
    yield ["", "about", report.clinic_name, f"figures as of {report.as_of.isoformat()}", *about]
    yield [
        "",
        "about",
        report.clinic_name,
        filters_text(report.filters, therapist_name=therapist_name),
        *about,
    ]
    for each in [report] if compared is None else [report, compared]:
        period = period_text(each.filters)
        for row in _report_rows(each):
            yield [period, *row]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def _ci(interval: Interval | None, unit: str = "") -> str:
    return "" if interval is None else f" (95% CI {interval.low:.1f}{unit} to {interval.high:.1f}{unit})"


def _rate(rate: Rate) -> str:
    if rate.percent is None:
        return "-"
    return f"{rate.percent:.0f}% ({rate.count}/{rate.n}){_ci(rate.interval, '%')}"


def report_text(report: OutcomeReport) -> str:
    """The report for a terminal: the overall figures, then one line per therapist."""
    o = report.overall
    flow = " -> ".join(f"{step.label.lower()} {step.count}" for step in o.flow)
    change = "-" if o.change.value is None else f"{o.change.value:+.2f}{_ci(o.change.interval)}"
    lines = [
        f"Outcomes at 12 weeks: {report.clinic_name}",
        f"  flow: {flow}",
        f"  intention to treat:                {o.itt}",
        f"  completers:                        {o.completers}",
        f"  missing an endpoint:               {o.missing}",
        f"  mean change in points:             {change}",
        f"  mean of percent changes:           {_pct(o.percent.value)}",
        f"  median of percent changes:         {_pct(o.percent_quartiles.median)}",
        f"  percent change of group means:     {_pct(o.group_means_percent)}",
        f"  responders, completers:            {_rate(o.responders)}",
        f"  responders, intention to treat:    {_rate(o.responders_itt)}",
        f"  responders, LOCF:                  {_rate(o.responders_locf)}",
        "",
        f"  {'therapist':<28} {'ITT':>5} {'compl':>6} {'miss':>5} {'mean %':>8} {'median %':>9} "
        f"{'resp':>5} {'ITT':>5}",
    ]
    for t in report.by_therapist:
        resp = "-" if t.responders.percent is None else f"{t.responders.percent:.0f}%"
        itt = "-" if t.responders_itt.percent is None else f"{t.responders_itt.percent:.0f}%"
        lines.append(
            f"  {t.label[:28]:<28} {t.itt:>5} {t.completers:>6} {t.missing:>5} {_pct(t.percent.value):>8} "
            f"{_pct(t.percent_quartiles.median):>9} {resp:>5} {itt:>5}"
        )
    lines += ["", CAVEAT]
    return "\n".join(lines)
