"""The outcome report as a PDF for a board meeting: two A4 pages (portal.pdf, fpdf2).

Page 1: the headline comparison with its caveat, the main figures with their
95% intervals, and the flow of plans. Page 2: the distribution of percent
change (bars with their counts written on them), baseline severity, lost
against retained, by therapist, the questionnaires (one row each: name and source, ITT,
completers, mean change, responders) and the definitions. It reads the one ``OutcomeReport``
the page shows (outcomes.report).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import date

from fpdf.fonts import FontFace

from outcomes.report_figures import CAVEAT, DEFINITIONS, INSTRUMENT_DEFINITIONS, Mean, OutcomeReport, Rate
from outcomes.report_formats import filters_text, period_text, sentence
from portal.pdf import BRAND, FONT, INK, MUTED, Document, undrawable

logger = logging.getLogger(__name__)

BAR = (120, 134, 152)
BETTER = (8, 68, 103)


def _num(value: float | None, unit: str = "", digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return f"{text}{unit}".replace("-", "\N{MINUS SIGN}")


def _mean(mean: Mean, unit: str = "", signed: bool = True) -> str:
    if mean.value is None:
        return "-"
    text = _num(mean.value, unit, signed=signed)
    if mean.interval is not None:
        low, high = (
            _num(mean.interval.low, unit, signed=signed),
            _num(mean.interval.high, unit, signed=signed),
        )
        text += f" ({low} to {high})"
    return f"{text}; few plans" if mean.few else text


def _rate(rate: Rate) -> str:
    if rate.percent is None:
        return "-"
    text = f"{rate.percent:.0f}% ({rate.count} of {rate.n})"
    if rate.interval is not None:
        text += f", {rate.interval.low:.0f}% to {rate.interval.high:.0f}%"
    return f"{text}; few plans" if rate.few else text


def _table(pdf: Document, rows: Sequence[Sequence[str]], widths: Sequence[int], size: float = 9) -> None:
    pdf.set_font(FONT, "", size)
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)  # the histogram's bars leave theirs set
    pdf.drawn.extend(cell for row in rows for cell in row)
    heading = FontFace(emphasis="BOLD", color=BRAND, fill_color=(236, 241, 246))
    with pdf.table(
        col_widths=widths, line_height=size * 0.48, headings_style=heading, padding=0.8, text_align="LEFT"
    ) as table:
        for row in rows:
            line = table.row()
            for cell in row:
                line.cell(cell)
    pdf.ln(2)


def _heading(pdf: Document, text: str) -> None:
    pdf.ln(0.5)
    pdf.para(text, size=12, style="B", color=BRAND)
    pdf.ln(0.5)


def _histogram(pdf: Document, report: OutcomeReport) -> None:
    bins = report.overall.histogram
    peak = max(report.overall.histogram_max, 1)
    left, width, height = pdf.l_margin + 8, pdf.epw - 10, 32.0
    top = pdf.get_y() + 2
    bottom = top + height
    bar_w = width / len(bins)
    pdf.set_draw_color(*MUTED)
    pdf.line(left, bottom, left + width, bottom)
    pdf.set_font(FONT, "", 7)
    for k, band in enumerate(bins):
        h = height * band.count / peak
        pdf.set_fill_color(*(BETTER if band.high is not None and band.high <= 0 else BAR))
        if band.count:
            pdf.rect(left + k * bar_w + 0.4, bottom - h, bar_w - 0.8, h, style="F")
            pdf.set_text_color(*INK)
            pdf.set_xy(left + k * bar_w, bottom - h - 4)
            pdf.cell(bar_w, 4, str(band.count), align="C")
        if k % 5 == 0:
            pdf.set_text_color(*MUTED)
            pdf.set_xy(left + k * bar_w - 6, bottom + 0.5)
            pdf.cell(12, 4, _num(band.low, "%", 0), align="C")
    pdf.set_xy(pdf.l_margin, bottom + 5)
    pdf.para(
        "Plans in each 10-point band of percent change at 12 weeks (dark: less pain). A band holds its "
        "lower edge and not its upper one.",
        size=8.5,
        color=MUTED,
    )
    pdf.ln(2)


def _comparison(pdf: Document, report: OutcomeReport, compared: OutcomeReport) -> None:
    _heading(pdf, "Against the comparison period")
    a, b = report.overall, compared.overall
    rows = [
        ["Figure", sentence(period_text(report.filters)), sentence(period_text(compared.filters))],
        ["Plans assigned", str(a.flow[0].count), str(b.flow[0].count)],
        ["Week 12 over, with a baseline (intention to treat)", str(a.itt), str(b.itt)],
        ["Completers", str(a.completers), str(b.completers)],
        ["Mean change, points", _mean(a.change), _mean(b.change)],
        ["Mean of percent changes, completers", _mean(a.percent, "%"), _mean(b.percent, "%")],
        ["Responders, intention to treat", _rate(a.responders_itt), _rate(b.responders_itt)],
    ]
    _table(pdf, rows, (58, 58, 58), size=8.5)


def _therapists(pdf: Document, report: OutcomeReport) -> None:
    _heading(pdf, "By therapist")
    rows = [["Therapist", "ITT", "Completers", "Mean change, points", "Responders, ITT"]]
    for t in report.by_therapist:
        rows.append([t.label, str(t.itt), str(t.completers), _mean(t.change), _rate(t.responders_itt)])
    _table(pdf, rows, (44, 12, 20, 46, 52), size=8.5)


def _questionnaires(pdf: Document, report: OutcomeReport) -> None:
    _heading(pdf, "Questionnaires")
    rows = [["Questionnaire (source)", "ITT", "Completers", "Mean change, points", "Responders, ITT"]]
    for q in report.instruments:
        name = f"{q.name} ({q.source})" if q.source else q.name
        if q.has_baseline:
            responders = _rate(q.responders_itt) if q.has_mcid else "no MCID"
            rows.append([name, str(q.itt), str(q.completers), _mean(q.change), responders])
        else:
            week12 = f"week 12 mean {_mean(q.endpoint)}"
            rows.append([name, "-", str(q.endpoint.n), week12, "no baseline"])
    _table(pdf, rows, (44, 12, 20, 46, 52), size=8.5)
    for term, text in INSTRUMENT_DEFINITIONS:
        pdf.labelled([f"{term}: ", text], size=7.5)


def report_pdf(
    report: OutcomeReport, *, compared: OutcomeReport | None = None, therapist_name: str = "", printed: date
) -> bytes:
    """The report as PDF bytes: two A4 pages (see the module docstring); with ``compared``,
    the comparison period's main figures beside the report's.

    ``therapist_name``: the therapist filter's name, if any; ``printed``: the date on the
    footer. A character no packaged font draws is logged (``outcomes.report_pdf``, ERROR).
    """
    o = report.overall
    names = [
        report.clinic_name,
        therapist_name,
        report.filters.condition,
        *(t.label for t in report.by_therapist),
        *(f"{q.name}{q.source}" for q in report.instruments),
    ]
    footer = f"{report.clinic_name} - outcomes at 12 weeks - printed {printed:%-d %B %Y}"
    pdf = Document(footer, text="".join(names) + footer)
    pdf.drawn.append(footer)
    pdf.set_title(f"Outcomes at 12 weeks: {report.clinic_name}")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.para(f"Outcomes at 12 weeks: {report.clinic_name}", size=17, style="B", color=BRAND)
    pdf.para(
        f"{filters_text(report.filters, therapist_name=therapist_name)}. Figures as of "
        f"{report.as_of:%-d %B %Y}.",
        size=10,
        color=MUTED,
    )
    pdf.ln(2)

    _heading(pdf, "Headline figures")
    if not o.itt:
        pdf.para("No plans with a baseline have reached week 12 yet with these filters.", size=10.5)
    else:
        itt = o.responders_itt
        pdf.para(
            f"As published headlines are computed (the mean of each plan's percent change, over the "
            f"{o.percent.n} completers with a baseline above 0): {_mean(o.percent, '%')}. The same "
            f"measure over every plan whose week 12 is over ({o.percent_locf.n}; latest pain for a "
            f"missing endpoint): {_mean(o.percent_locf, '%')}. Intention to treat: {itt.count} of the "
            f"{itt.n} plans with a baseline improved by at least 2 points and 30% ({_rate(itt)}).",
            size=10,
        )
    pdf.para(CAVEAT, size=9, color=MUTED)
    pdf.ln(2)

    _heading(pdf, "Figures (95% confidence intervals)")
    _table(
        pdf,
        [
            ["Figure", "Plans", "Value"],
            ["Change in pain, points (mean)", str(o.change.n), _mean(o.change)],
            [
                "Change in pain, points (median, IQR)",
                str(o.change_quartiles.n),
                f"{_num(o.change_quartiles.median, signed=True)} "
                f"({_num(o.change_quartiles.q1, signed=True)} to {_num(o.change_quartiles.q3, signed=True)})",
            ],
            ["Percent change (mean of individual)", str(o.percent.n), _mean(o.percent, "%")],
            [
                "Percent change (median, IQR)",
                str(o.percent_quartiles.n),
                f"{_num(o.percent_quartiles.median, '%', signed=True)} "
                f"({_num(o.percent_quartiles.q1, '%', signed=True)} to "
                f"{_num(o.percent_quartiles.q3, '%', signed=True)})",
            ],
            [
                "Percent change of the group means",
                str(o.completers),
                _num(o.group_means_percent, "%", signed=True),
            ],
            ["Responders, completers", str(o.responders.n), _rate(o.responders)],
            ["Responders, intention to treat", str(o.responders_itt.n), _rate(o.responders_itt)],
            [
                "Responders, last observation carried forward",
                str(o.responders_locf.n),
                _rate(o.responders_locf),
            ],
        ],
        (70, 14, 90),
    )

    _heading(pdf, "Flow of plans")
    rows = [["Step", "Plans", "Lost at this step"]]
    for step in o.flow:
        lost = ""
        if step.lost and step.lost_label:
            lost = f"{step.lost} ({step.lost_percent:.0f}%): {step.lost_label}"
        elif step.lost:
            lost = f"{step.lost} still before week 12 (not lost)"
        rows.append([step.label, str(step.count), lost])
    _table(pdf, rows, (62, 16, 96))
    if compared is not None:
        _comparison(pdf, report, compared)

    pdf.add_page()
    _heading(pdf, "Distribution of percent change")
    _histogram(pdf, report)

    _heading(pdf, "By baseline severity")
    severity = [["Baseline", "ITT", "Completers", "Mean change, points", "Mean % change", "Responders"]]
    for row in report.by_severity:
        severity.append(
            [
                row.label,
                str(row.itt),
                str(row.completers),
                _num(row.change.value, signed=True),
                _num(row.percent.value, "%", 0, signed=True),
                _rate(row.responders),
            ]
        )
    _table(pdf, severity, (36, 12, 20, 30, 24, 52), size=8.5)
    pdf.para("Low baselines make percentages swing: from 1 to 2 points is +100%.", size=8.5, color=MUTED)

    _heading(pdf, "Lost against retained")
    _table(
        pdf,
        [
            ["Intention-to-treat plans", "Plans", "Baseline pain, mean (95% CI)"],
            ["With a 12-week endpoint", str(o.baseline_retained.n), _mean(o.baseline_retained, signed=False)],
            ["Without one", str(o.baseline_lost.n), _mean(o.baseline_lost, signed=False)],
        ],
        (60, 16, 98),
    )

    if report.by_therapist:
        _therapists(pdf, report)
    if report.instruments:
        _questionnaires(pdf, report)

    _heading(pdf, "Definitions")
    for term, text in DEFINITIONS:
        pdf.labelled([f"{term}: ", text], size=7.5)
    missing = undrawable("".join(pdf.drawn))
    if missing:
        logger.error(
            "Outcome report PDF: no font draws %s",
            ", ".join(f"U+{ord(char):04X} {unicodedata.name(char, '?')}" for char in missing),
        )
    return bytes(pdf.output())
