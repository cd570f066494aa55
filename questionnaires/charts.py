"""A server-rendered SVG line chart of one instrument's scores by occasion, for the record.

Drawn as ``checkins.charts`` draws the pain chart (plain SVG styled by pages.css's
``pain-chart`` classes, no script, no inline style, ``<title>``/``<desc>`` for screen readers),
in its narrow frame only: a few occasions need no wide drawing, and the narrow one keeps its
14-unit text readable down to a 320 px phone. The page shows the same scores as a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from questionnaires.figures import score_text

WIDTH, HEIGHT = 300, 216
#: TOP leaves a band for the chart's label (``subject``, baseline SUBJECT_Y) above the y axis's
#: top number (baseline TOP + 4, 14-unit text on a phone): the label ends near 22, the number
#: starts near 30, so neither is drawn over the other.
LEFT, RIGHT, TOP, BOTTOM = 34, 14, 40, 30
SUBJECT_Y = 18
#: The least room (SVG units) between two occasion labels; labels closer than this are skipped.
LABEL_ROOM = 64
#: Grid steps tried in order: the first that gives at most 7 intervals over the range is drawn.
STEPS = (1, 2, 5, 10, 20, 25, 50, 100)


@dataclass(frozen=True)
class ScorePoint:
    occasion: str
    score: float


def score_summary(points: Sequence[ScorePoint], *, subject: str, places: int = 1) -> str:
    """The chart in words, what a screen reader announces instead of the picture; each score to
    ``places`` decimals (``figures.score_places``)."""
    if not points:
        return f"{subject}: no scores yet."
    listed = "; ".join(f"{p.occasion} {score_text(p.score, places)}" for p in points)
    return f"{subject}, {len(points)} score{'s' if len(points) != 1 else ''}: {listed}."


def score_chart(
    *,
    points: Sequence[ScorePoint],
    low: float,
    high: float,
    chart_id: str,
    title: str,
    subject: str,
    places: int = 1,
) -> SafeString:
    """Scores (in occasion order, evenly spaced along x) on the instrument's range ``low`` to
    ``high`` up y, labelled with ``subject`` (e.g. "PSFS score, 0 to 10, higher is better"), each
    score named to ``places`` decimals (``figures.score_places``)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = high - low

    def x(i: int) -> float:
        return LEFT + plot_w / 2 if len(points) == 1 else LEFT + plot_w * i / (len(points) - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / span)

    out = [
        f'<svg class="pain-chart compact" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(score_summary(points, subject=subject, places=places))}</desc>',
        f'<text class="axis-label" x="4" y="{SUBJECT_Y}">{escape(subject)}</text>',
    ]
    step = next((s for s in STEPS if span / s <= 7), STEPS[-1])
    tick = math.ceil(low / step) * step
    while tick <= high:
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="axis-label" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
        tick += step
    for i in _labelled(len(points), plot_w):
        ends = {0: "start", len(points) - 1: "end"} if len(points) > 1 else {}
        anchor = ends.get(i, "middle")
        out.append(
            f'<text class="axis-label" x="{x(i):.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="{anchor}">{escape(points[i].occasion)}</text>'
        )
    if len(points) > 1:
        coords = " ".join(f"{x(i):.1f},{y(p.score):.1f}" for i, p in enumerate(points))
        out.append(f'<polyline class="line" points="{coords}"/>')
    for i, point in enumerate(points):
        out.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(point.score):.1f}" r="4">'
            f"<title>{escape(point.occasion)}: {score_text(point.score, places)}</title></circle>"
        )
    out.append("</svg>")
    # Every piece above is either a number we formatted or text passed through escape().
    return mark_safe("".join(out))  # noqa: S308


def _labelled(count: int, plot_w: int) -> list[int]:
    """Which occasions get a label: every k-th so labels stay ``LABEL_ROOM`` apart, and the last."""
    if count <= 1:
        return list(range(count))
    gap = plot_w / (count - 1)
    stride = max(1, math.ceil(LABEL_ROOM / gap))
    chosen = list(range(0, count, stride))
    if chosen[-1] != count - 1:
        if (count - 1 - chosen[-1]) * gap < LABEL_ROOM:
            chosen.pop()
        chosen.append(count - 1)
    return chosen
