"""The patient's own pain trend: the last four weeks in words and a small chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean

from django.db.models import QuerySet

from accounts.models import Patient
from checkins.charts import PainChart, PainPoint, pain_chart
from checkins.figures import nprs_text
from checkins.models import PainCheckIn

#: How far back the patient's own trend looks.
TREND_DAYS = 28


def pain_points(checkins: QuerySet[PainCheckIn]) -> list[PainPoint]:
    """The check-ins as chart points by local date (NPRS 0-10, red flag if any answer was yes);
    one query."""
    return [
        PainPoint(day=day, nprs=nprs, red_flag=any(flags))
        for day, nprs, *flags in checkins.order_by("local_date").values_list(
            "local_date", "nprs", *PainCheckIn.RED_FLAG_FIELDS
        )
    ]


# --- the patient's own view --------------------------------------------------


@dataclass(frozen=True)
class Trend:
    words: str
    chart: PainChart


def _mean(values: list[int]) -> float | None:
    return fmean(values) if values else None


def trend_words(points: list[PainPoint], *, today: date) -> str:
    """The recent trend in plain words, comparing the last 7 days with the 7 before.

    ``points``: by local date, oldest first; ``today``: the patient's local date.
    Weekly means within 0.5 NPRS points read "about the same": a wording rule for
    rounding, not a clinical one (a clinically important change is 2 points;
    Childs et al. 2005, Spine 30:1331).
    """
    if not points:
        return "No check-ins yet. Check in each day to see how your pain changes."
    latest = points[-1]
    when = "today" if latest.day == today else f"on {latest.day:%A} {latest.day.day} {latest.day:%B}"
    text = f"Your pain {when} was {latest.nprs} out of 10."
    this_week = _mean([p.nprs for p in points if (today - p.day).days < 7])
    last_week = _mean([p.nprs for p in points if 7 <= (today - p.day).days < 14])
    if this_week is None or last_week is None:
        if len(points) == 1:
            return text + " Check in each day and we will show how it changes."
        return text + " Keep checking in: after two weeks we can compare one week with the one before."
    diff = this_week - last_week
    if abs(diff) < 0.5:
        change = "about the same as"
    elif diff < 0:
        change = f"{nprs_text(-diff)} point{'s' if abs(diff) >= 1.05 else ''} lower than"
    else:
        change = f"{nprs_text(diff)} point{'s' if abs(diff) >= 1.05 else ''} higher than"
    return (
        f"{text} Over the last 7 days your average was {nprs_text(this_week)}, {change} the week before "
        f"({nprs_text(last_week)})."
    )


def patient_trend(*, patient: Patient, today: date) -> Trend:
    """The patient's last ``TREND_DAYS`` (28) local dates up to ``today``: words and a small chart
    (one query)."""
    since = today - timedelta(days=TREND_DAYS - 1)
    points = pain_points(
        PainCheckIn.objects.filter(patient=patient, local_date__gte=since, local_date__lte=today)
    )
    chart = pain_chart(
        points=points,
        start=since,
        end=today,
        chart_id="trend-chart",
        title="Your pain over the last 4 weeks",
        subject="Your pain (0 to 10) over the last 4 weeks",
        week_markers=False,
        compact=True,
    )
    return Trend(words=trend_words(points, today=today), chart=chart)
