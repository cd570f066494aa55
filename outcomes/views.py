"""Outcome pages: the patient's progress in plain words, the clinic's outcome report."""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import date, timedelta

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.access import patient_of, patient_required, therapist_of, therapist_required
from accounts.models import Patient
from accounts.selectors import clinic_therapist_names
from careplans.models import CarePlan, PlanStatus
from checkins.charts import pain_chart
from checkins.models import PainCheckIn
from checkins.trend import pain_points
from outcomes.figures import progress_words
from outcomes.report import outcome_conditions, outcome_report
from outcomes.report_figures import (
    CAVEAT,
    DEFINITIONS,
    INSTRUMENT_DEFINITIONS,
    GroupFigures,
    OutcomeReport,
    ReportFilters,
)
from outcomes.report_formats import CSV_HEADER, filters_text, period_text, report_rows, sentence
from outcomes.report_pdf import report_pdf
from outcomes.selectors import plan_outcome
from portal.spreadsheet import csv_download

# --- the patient's progress ---------------------------------------------------


def _patient_plan(patient: Patient) -> CarePlan | None:
    """The active plan, else the most recent one that was ever started."""
    plans = CarePlan.objects.filter(patient=patient).exclude(status=PlanStatus.DRAFT)
    return plans.filter(status=PlanStatus.ACTIVE).first() or plans.order_by("-start_date", "-id").first()


@patient_required
def progress(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request)
    plan = _patient_plan(patient)
    context: dict[str, object] = {"plan": plan}
    if plan is not None:
        today = patient.local_today()
        plan.patient = patient
        # The figures the therapist's record shows; current at once after a check-in.
        outcome = plan_outcome(plan=plan)
        points = pain_points(PainCheckIn.objects.filter(plan=plan))
        end = max(plan.start_date, min(today, plan.end_date))
        context.update(
            outcome=outcome,
            words=progress_words(outcome),
            chart=pain_chart(
                points=points,
                start=plan.start_date,
                end=end,
                baseline=outcome.baseline_value,
                chart_id="progress-chart",
                title="Your pain over time",
                subject="Your pain (0 to 10)",
            ),
            week=plan.week_on(today),
        )
    return render(request, "outcomes/progress.html", context)


# --- the clinic outcome report ------------------------------------------------


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(required=False, label=label, widget=forms.DateInput(attrs={"type": "date"}))


class ReportFilterForm(forms.Form):
    condition = forms.ChoiceField(required=False, label="Condition")
    therapist = forms.ChoiceField(required=False, label="Therapist")
    start_from = _date_field("Plans starting from")
    start_to = _date_field("Plans starting until")
    compare_from = _date_field("Compare with plans starting from")
    compare_to = _date_field("Compare with plans starting until")

    def __init__(
        self, *args: object, conditions: list[str], therapists: list[tuple[int, str]], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        condition, therapist = self.fields["condition"], self.fields["therapist"]
        assert isinstance(condition, forms.ChoiceField) and isinstance(therapist, forms.ChoiceField)
        condition.choices = [("", "All conditions"), *((c, c) for c in conditions)]
        therapist.choices = [("", "All therapists"), *((str(pk), name) for pk, name in therapists)]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        # Read before any add_error, which drops its field from the cleaned data.
        given = [bool(self.data.get("compare_from")), bool(self.data.get("compare_to"))]
        for low_name, high_name in (("start_from", "start_to"), ("compare_from", "compare_to")):
            low, high = data.get(low_name), data.get(high_name)
            if isinstance(low, date) and isinstance(high, date) and low > high:
                self.add_error(high_name, "Must be on or after the 'from' date.")
        if any(given) and not all(given):
            name = "compare_to" if given[0] else "compare_from"
            self.add_error(name, "Give both dates of the period to compare with.")
        return data


def _filters(form: ReportFilterForm) -> tuple[ReportFilters, ReportFilters | None]:
    """The report's filters and, with a comparison period, the comparison's (same condition and
    therapist). Call only with a valid form."""
    data = form.cleaned_data
    filters = ReportFilters(
        condition=data["condition"] or "",
        start_from=data["start_from"],
        start_to=data["start_to"],
        therapist_id=int(data["therapist"]) if data["therapist"] else None,
    )
    if data["compare_from"] and data["compare_to"]:
        return filters, replace(filters, start_from=data["compare_from"], start_to=data["compare_to"])
    return filters, None


def _quarter(day: date) -> tuple[date, date]:
    """The calendar quarter holding ``day``: its first and last dates."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = date(first.year + (first.month == 10), (first.month + 3 - 1) % 12 + 1, 1)
    return first, after - timedelta(days=1)


def quarter_links(today: date, *, keep: dict[str, str]) -> list[tuple[str, str]]:
    """Ready-made comparisons, as (label, query string): this quarter against the last, and the
    last against the one before, keeping the condition and therapist of ``keep``."""
    this = _quarter(today)
    last = _quarter(this[0] - timedelta(days=1))
    before = _quarter(last[0] - timedelta(days=1))
    links = []
    for label, period, other in (
        ("This quarter against the last", this, last),
        ("Last quarter against the one before", last, before),
    ):
        query = QueryDict(mutable=True)
        query.update(
            {name: value for name, value in keep.items() if name in ("condition", "therapist") and value}
        )
        query.update(
            {
                "start_from": period[0].isoformat(),
                "start_to": period[1].isoformat(),
                "compare_from": other[0].isoformat(),
                "compare_to": other[1].isoformat(),
            }
        )
        links.append((label, query.urlencode()))
    return links


def _f(value: float) -> str:
    return f"{value:.1f}"


def histogram_svg(group: GroupFigures, *, element_id: str = "hist") -> SafeString:
    """Bars of one group's percent-change distribution; the page repeats the counts in a table.

    Bars for a reduction carry their own class, and every bar has a tooltip
    title, so colour is never the only cue. ``element_id`` keeps the ids of
    several charts on one page apart.
    """
    bins = group.histogram
    width, height, left, bottom, top = 640, 240, 44, 50, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(group.histogram_max, 1)
    bar_w = plot_w / len(bins)
    total = sum(b.count for b in bins)
    if total:
        shown = "; ".join(f"{b.label}: {b.count}" for b in bins if b.count)
        desc = f"{total} plan{'' if total == 1 else 's'} with a percent change. {shown}."
    else:
        desc = "No plans with a percent change yet."
    bars = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        (
            (
                "bar bar-better" if b.high is not None and b.high <= 0 else "bar",
                _f(left + k * bar_w + 1),
                _f(top + plot_h * (1 - b.count / peak)),
                _f(bar_w - 2),
                _f(plot_h * b.count / peak),
                b.label,
                f"{b.count} plan" if b.count == 1 else f"{b.count} plans",
            )
            for k, b in enumerate(bins)
        ),
    )
    ticks = format_html_join(
        "",
        '<text class="tick" x="{}" y="{}" text-anchor="middle">{}%</text>',
        ((_f(left + k * bar_w), top + plot_h + 16, bins[k].low) for k in range(0, len(bins), 5)),
    )
    return format_html(
        '<svg class="histogram" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">Percent change in pain at 12 weeks, {}: number of plans</title>'
        '<desc id="{}-desc">{}</desc>'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">0</text>'
        "{}{}"
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">'
        "Percent change from baseline (negative: less pain)</text></svg>",
        width,
        height,
        element_id,
        element_id,
        element_id,
        group.label,
        element_id,
        desc,
        left,
        top + plot_h,
        width - 8,
        top + plot_h,
        left - 6,
        top + 10,
        peak,
        left - 6,
        top + plot_h,
        bars,
        ticks,
        _f(left + plot_w / 2),
        height - 8,
    )


def report_csv(
    report: OutcomeReport, *, compared: OutcomeReport | None, therapist_name: str, filename: str
) -> HttpResponse:
    """The report in long form, one figure a row, as a spreadsheet download (portal.spreadsheet:
    byte-order mark, formula-like names neutralised, numbers as numbers)."""
    rows = report_rows(report, compared=compared, therapist_name=therapist_name)
    return csv_download(filename=filename, header=CSV_HEADER, rows=rows)


def _refused_download(form: ReportFilterForm) -> HttpResponse:
    """A download asked for with filters that do not hold: a 400 naming each field and why,
    never a file of other figures than the ones asked for."""
    lines = [f"{name}: {' '.join(str(error) for error in errors)}" for name, errors in form.errors.items()]
    text = "The report was not made: these filters do not hold.\n" + "\n".join(lines) + "\n"
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


@therapist_required
def clinic_report(request: HttpRequest) -> HttpResponse:
    clinic = therapist_of(request).clinic
    therapists = clinic_therapist_names(clinic=clinic)
    form = ReportFilterForm(
        request.GET or None, conditions=outcome_conditions(clinic=clinic), therapists=therapists
    )
    # The clinic's date, as the report's (this quarter begins at the clinic's midnight).
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(str(clinic.timezone)))
    fmt = request.GET.get("format")
    valid = not form.is_bound or form.is_valid()
    if not valid and fmt in ("csv", "pdf"):
        return _refused_download(form)
    context: dict[str, object] = {
        "clinic": clinic,
        "form": form,
        "report": None,
        "definitions": DEFINITIONS + INSTRUMENT_DEFINITIONS,
        "caveat": CAVEAT,
        "quarter_links": quarter_links(today, keep=request.GET.dict()),
    }
    if not valid:
        # Figures for other plans than the ones asked for would be read as the answer: none.
        return render(request, "outcomes/outcome_report.html", context)
    filters, compare_filters = _filters(form) if form.is_bound else (ReportFilters(), None)
    report = outcome_report(clinic=clinic, filters=filters)
    compared = outcome_report(clinic=clinic, filters=compare_filters) if compare_filters else None
    therapist_name = dict(therapists).get(filters.therapist_id or 0, "")
    if fmt == "csv":
        return report_csv(
            report,
            compared=compared,
            therapist_name=therapist_name,
            filename=f"outcomes-{today:%Y-%m-%d}.csv",
        )
    if fmt == "pdf":
        pdf = report_pdf(report, compared=compared, therapist_name=therapist_name, printed=today)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="outcomes-{today:%Y-%m-%d}.pdf"'
        return response
    params = request.GET.copy()
    params["format"] = "csv"
    csv_query = params.urlencode()
    params["format"] = "pdf"
    context.update(
        report=report,
        compared=compared,
        filters_text=filters_text(filters, therapist_name=therapist_name),
        compared_text=sentence(period_text(compare_filters)) if compare_filters else "",
        period=sentence(period_text(filters)),
        histogram=histogram_svg(report.overall),
        therapist_histograms=[
            (group, histogram_svg(group, element_id=f"hist-{k}"))
            for k, group in enumerate(report.by_therapist)
        ],
        csv_query=csv_query,
        pdf_query=params.urlencode(),
        filtered=filters != ReportFilters(),
    )
    return render(request, "outcomes/outcome_report.html", context)
