"""Outcome pages: the patient's progress in plain words, the clinic's outcome report."""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.access import patient_of, patient_required, therapist_of, therapist_required
from accounts.models import Patient
from careplans.models import CarePlan, PlanStatus
from checkins.charts import pain_chart
from checkins.models import PainCheckIn
from checkins.trend import pain_points
from outcomes.figures import progress_words
from outcomes.report import GroupFigures, OutcomeReport, ReportFilters, outcome_conditions, outcome_report
from outcomes.selectors import plan_outcome
from portal.spreadsheet import Cell, csv_download

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


class ReportFilterForm(forms.Form):
    condition = forms.ChoiceField(required=False, label="Condition")
    start_from = forms.DateField(
        required=False, label="Plans starting from", widget=forms.DateInput(attrs={"type": "date"})
    )
    start_to = forms.DateField(
        required=False, label="Plans starting until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, conditions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["condition"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All conditions"), *((c, c) for c in conditions)]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        low, high = data.get("start_from"), data.get("start_to")
        if isinstance(low, date) and isinstance(high, date) and low > high:
            self.add_error("start_to", "Must be on or after the 'from' date.")
        return data


def _filters(form: ReportFilterForm) -> ReportFilters:
    if not form.is_valid():
        # Invalid filters are shown with their errors; the report stays unfiltered.
        return ReportFilters()
    return ReportFilters(
        condition=form.cleaned_data["condition"] or "",
        start_from=form.cleaned_data["start_from"],
        start_to=form.cleaned_data["start_to"],
    )


def _f(value: float) -> str:
    return f"{value:.1f}"


def histogram_svg(report: OutcomeReport) -> SafeString:
    """Bars of the percent-change distribution; the page repeats the counts in a table.

    Bars for a reduction carry their own class, and every bar has a tooltip
    title, so colour is never the only cue.
    """
    bins = report.histogram
    width, height, left, bottom, top = 640, 240, 44, 50, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(report.histogram_max, 1)
    bar_w = plot_w / len(bins)
    total = sum(b.count for b in bins)
    if total:
        shown = "; ".join(f"{b.label}: {b.count}" for b in bins if b.count)
        desc = f"{total} plans with a percent change. {shown}."
    else:
        desc = "No plans with a percent change yet."
    bars = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} plans</title></rect>',
        (
            (
                "bar bar-better" if b.high is not None and b.high <= 0 else "bar",
                _f(left + k * bar_w + 1),
                _f(top + plot_h * (1 - b.count / peak)),
                _f(bar_w - 2),
                _f(plot_h * b.count / peak),
                b.label,
                b.count,
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
        '<svg class="histogram" viewBox="0 0 {} {}" role="img" aria-labelledby="hist-title hist-desc">'
        '<title id="hist-title">Percent change in pain at 12 weeks: number of plans</title>'
        '<desc id="hist-desc">{}</desc>'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">0</text>'
        "{}{}"
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">'
        "Percent change from baseline (negative means less pain)</text></svg>",
        width,
        height,
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


CSV_HEADER = [
    "group",
    "plans_reached_week_12",
    "with_endpoint",
    "missing_endpoint",
    "mean_percent_change",
    "median_percent_change",
    "percent_change_of_group_means",
    "responder_rate_with_endpoint",
    "responder_rate_intention_to_treat",
]


def _csv_row(group: GroupFigures) -> list[Cell]:
    return [
        group.label,
        group.reached,
        group.with_endpoint,
        group.missing,
        group.mean_percent,
        group.median_percent,
        group.group_means_percent,
        group.responder_rate_endpoint,
        group.responder_rate_itt,
    ]


def report_csv(report: OutcomeReport, *, filename: str) -> HttpResponse:
    """The report's overall row and one row per therapist, as a spreadsheet download
    (portal.spreadsheet: byte-order mark, formula-like names neutralised, numbers as numbers)."""
    rows = (_csv_row(group) for group in [report.overall, *report.by_therapist])
    return csv_download(filename=filename, header=CSV_HEADER, rows=rows)


@therapist_required
def clinic_report(request: HttpRequest) -> HttpResponse:
    clinic = therapist_of(request).clinic
    form = ReportFilterForm(request.GET or None, conditions=outcome_conditions(clinic=clinic))
    filters = _filters(form)
    report = outcome_report(clinic=clinic, filters=filters)
    if request.GET.get("format") == "csv":
        return report_csv(report, filename=f"outcomes-{date.today():%Y-%m-%d}.csv")
    params = request.GET.copy()
    params["format"] = "csv"
    return render(
        request,
        "outcomes/outcome_report.html",
        {
            "clinic": clinic,
            "form": form,
            "report": report,
            "histogram": histogram_svg(report),
            "csv_query": params.urlencode(),
            "filtered": filters != ReportFilters(),
        },
    )
