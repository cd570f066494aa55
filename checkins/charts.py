"""Server-rendered SVG pain charts, shared by the patient's check-in page and the record.

No script and no inline styles (the Content-Security-Policy forbids both): the
chart is plain SVG whose look comes from classes in pages.css and phone.css. It carries its
own text alternative (``<title>``/``<desc>``, read by screen readers through
``role="img"``) and the page shows the same data as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from checkins.figures import nprs_text

NPRS_MAX = 10


#: A gap longer than this many days breaks the line, so missed days are visible.
LINE_GAP_DAYS = 3


@dataclass(frozen=True)
class PainPoint:
    day: date
    nprs: int
    red_flag: bool = False


#: No drawing (the compact chart has no separate phone drawing).
NO_SVG = SafeString("")


@dataclass(frozen=True)
class PainChart:
    svg: SafeString
    summary: str
    points: Sequence[PainPoint]
    baseline: float | None
    phone_svg: SafeString = NO_SVG


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def chart_summary(points: Sequence[PainPoint], *, baseline: float | None, subject: str) -> str:
    """The chart in words: what a screen reader announces instead of the picture."""
    if not points:
        return f"{subject}: no check-ins yet."
    values = [p.nprs for p in points]
    latest = points[-1]
    count = f"{len(points)} check-in{'s' if len(points) != 1 else ''}"
    text = (
        f"{subject}: {count} from {_day(points[0].day)} to {_day(latest.day)}. "
        f"Lowest {min(values)}, highest {max(values)}, latest {latest.nprs} out of 10 on {_day(latest.day)}."
    )
    if baseline is not None:
        text += f" Baseline {nprs_text(baseline)}."
    flagged = [p.day for p in points if p.red_flag]
    if flagged:
        shown = ", ".join(_day(d) for d in flagged[:10])
        more = f" and {len(flagged) - 10} more" if len(flagged) > 10 else ""
        text += f" Red flags reported on {len(flagged)} day{'s' if len(flagged) != 1 else ''}: {shown}{more}."
    return text


@dataclass(frozen=True)
class _Frame:
    """A chart's drawing box in SVG user units: the viewBox, the margins round the plot and
    the least room (user units) between two week labels."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    label_room: int


#: The wide chart for screens of 48rem and more (phone.css shows it there, 13-unit text).
WIDE = _Frame(width=760, height=280, left=34, right=14, top=12, bottom=30, label_room=30)
#: The phone chart (and the small trend chart): a narrow box whose 14-unit text stays at least
#: 12 CSS px down to a 320 px screen (phone.css; Plinth issue 15).
PHONE = _Frame(width=300, height=200, left=30, right=10, top=12, bottom=30, label_room=36)


def pain_chart(
    *,
    points: Sequence[PainPoint],
    start: date,
    end: date,
    baseline: float | None = None,
    chart_id: str = "pain-chart",
    title: str = "Pain over time",
    subject: str = "Pain (0 to 10)",
    week_markers: bool = True,
    compact: bool = False,
) -> PainChart:
    """An SVG line chart of NPRS by day from ``start`` to ``end`` (inclusive).

    Days run along x (with a marker at the start of each plan week when
    ``week_markers``), NPRS 0-10 up y; the baseline is a dashed line and
    red-flag days are drawn as triangles, so colour is never the only cue.
    ``baseline`` (NPRS, None: no line) is the figure the page shows beside the
    chart, labelled with the same rounding (``checkins.figures.nprs_text``).
    ``svg`` is the wide drawing (the narrow one when ``compact``); ``phone_svg`` the same
    chart drawn narrow for phones (id ``<chart_id>-phone``; "" when ``compact``): a viewBox
    scaled down to a phone's width would make its text a few pixels high.
    """
    points = sorted(points, key=lambda p: p.day)
    if points:
        start = min(start, points[0].day)
        end = max(end, points[-1].day)
    summary = chart_summary(points, baseline=baseline, subject=subject)

    def draw(frame: _Frame, svg_id: str, css: str) -> SafeString:
        return _draw(
            frame,
            points=points,
            start=start,
            end=end,
            baseline=baseline,
            svg_id=svg_id,
            css=css,
            title=title,
            summary=summary,
            week_markers=week_markers,
        )

    if compact:
        return PainChart(
            svg=draw(PHONE, chart_id, "compact"), summary=summary, points=points, baseline=baseline
        )
    return PainChart(
        svg=draw(WIDE, chart_id, "wide"),
        summary=summary,
        points=points,
        baseline=baseline,
        phone_svg=draw(PHONE, f"{chart_id}-phone", "phone"),
    )


def _draw(
    frame: _Frame,
    *,
    points: Sequence[PainPoint],
    start: date,
    end: date,
    baseline: float | None,
    svg_id: str,
    css: str,
    title: str,
    summary: str,
    week_markers: bool,
) -> SafeString:
    """One drawing of the chart in ``frame``, with class ``pain-chart <css>`` and id ``svg_id``."""
    chart_id = svg_id
    days = max(1, (end - start).days + 1)
    width, height = frame.width, frame.height
    left, right, top, bottom = frame.left, frame.right, frame.top, frame.bottom
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(d: date) -> float:
        if days == 1:
            return left + plot_w / 2
        return left + plot_w * (d - start).days / (days - 1)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / NPRS_MAX)

    out: list[str] = [
        f'<svg class="pain-chart {css}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    # y axis: grid lines and labels every 2 points.
    for v in range(0, NPRS_MAX + 1, 2):
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="axis-label" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        )
    # x axis: week markers (labelled sparsely enough to stay readable) or first/last dates.
    if week_markers:
        weeks = (days + 6) // 7
        step = 1
        while step < weeks and plot_w * 7 * step / max(1, days - 1) < frame.label_room:
            step *= 2
        for k in range(weeks + 1):
            day_x = left + plot_w * min(7 * k, days - 1) / max(1, days - 1)
            out.append(
                f'<line class="week" x1="{day_x:.1f}" x2="{day_x:.1f}" y1="{top}" y2="{top + plot_h}"/>'
            )
            if k < weeks and k % step == 0:
                label_x = left + plot_w * min(7 * k + 3, days - 1) / max(1, days - 1)
                out.append(
                    f'<text class="axis-label" x="{label_x:.1f}" y="{height - 10}" '
                    f'text-anchor="middle">W{k + 1}</text>'
                )
    else:
        out.append(
            f'<text class="axis-label" x="{left}" y="{height - 8}">{start.day} {start:%b}</text>'
            f'<text class="axis-label" x="{width - right}" y="{height - 8}" '
            f'text-anchor="end">{end.day} {end:%b}</text>'
        )
    if baseline is not None:
        by = y(baseline)
        out.append(
            f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{by:.1f}" y2="{by:.1f}"/>'
            f'<text class="baseline-label" x="{width - right - 4}" y="{by - 5:.1f}" '
            f'text-anchor="end">Baseline {nprs_text(baseline)}</text>'
        )
    # The line, broken where days were missed.
    segments: list[list[PainPoint]] = []
    for point in points:
        if segments and (point.day - segments[-1][-1].day).days <= LINE_GAP_DAYS:
            segments[-1].append(point)
        else:
            segments.append([point])
    for segment in segments:
        if len(segment) > 1:
            coords = " ".join(f"{x(p.day):.1f},{y(p.nprs):.1f}" for p in segment)
            out.append(f'<polyline class="line" points="{coords}"/>')
    radius = 2.5 if len(points) > 120 else 4
    for p in points:
        label = f"{_day(p.day)}: {p.nprs} out of 10{', red flag' if p.red_flag else ''}"
        px, py = x(p.day), y(p.nprs)
        if p.red_flag:
            s = 7
            out.append(
                f'<path class="flag" d="M{px:.1f},{py - s:.1f} L{px + s:.1f},{py + s * 0.7:.1f} '
                f'L{px - s:.1f},{py + s * 0.7:.1f} Z"><title>{escape(label)}</title></path>'
            )
        else:
            out.append(
                f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="{radius}">'
                f"<title>{escape(label)}</title></circle>"
            )
    out.append("</svg>")
    # Every piece above is either a number we formatted or text passed through escape().
    return mark_safe("".join(out))  # noqa: S308
