"""Reads for check-ins: the therapist's patient record and the patient's own trend.

Every read starts from the therapist's clinic or from the patient themselves,
and each page's query count is fixed, whatever the number of check-ins.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from careplans.adherence import Adherence, prescribed_sessions
from careplans.models import CarePlan, OutcomeSnapshot, PlanExercise, PlanStatus
from careplans.outcomes import outcomes_for_plans
from patients.charts import PainChart, PainPoint, pain_chart
from patients.models import Alert, ExerciseSession, PainCheckIn, Patient

CHECKINS_PER_PAGE = 20
#: How far back the patient's own trend looks.
TREND_DAYS = 28


def record_plan(patient: Patient) -> CarePlan | None:
    """The active plan, or else the latest plan that ran, so a finished patient still has a record."""
    plans = CarePlan.objects.filter(patient=patient).select_related("therapist__user")
    active = plans.filter(status=PlanStatus.ACTIVE).first()
    if active is not None:
        return active
    return plans.exclude(status=PlanStatus.DRAFT).order_by("-start_date", "-id").first()


@dataclass(frozen=True)
class WeekAdherence:
    week: int
    first: date
    last: date
    adherence: Adherence


def weekly_adherence(plan: CarePlan, *, today: date) -> list[WeekAdherence]:
    """Adherence for each plan week that has begun (two queries).

    Uses the same counting as careplans.adherence: sessions done up to what was
    due per exercise, in a week that has only partly elapsed only the days so far.
    """
    last_day = min(today, plan.end_date)
    if last_day < plan.start_date:
        return []
    items = list(PlanExercise.objects.filter(plan=plan).values_list("id", "days_per_week"))
    done: dict[tuple[int, int], int] = defaultdict(int)
    for item_id, day in ExerciseSession.objects.filter(
        plan_exercise__plan=plan, local_date__gte=plan.start_date, local_date__lte=last_day
    ).values_list("plan_exercise_id", "local_date"):
        done[(item_id, (day - plan.start_date).days // 7)] += 1
    weeks = []
    for index in range((last_day - plan.start_date).days // 7 + 1):
        first = plan.start_date + timedelta(days=7 * index)
        last = min(first + timedelta(days=6), last_day)
        week_done = week_due = 0
        for item_id, days_per_week in items:
            due = prescribed_sessions(
                plan_start=plan.start_date, days_per_week=days_per_week, first=first, last=last
            )
            week_due += due
            week_done += min(done[(item_id, index)], due)
        weeks.append(
            WeekAdherence(week=index + 1, first=first, last=last, adherence=Adherence(week_done, week_due))
        )
    return weeks


def _points(checkins: QuerySet[PainCheckIn]) -> list[PainPoint]:
    return [
        PainPoint(day=day, nprs=nprs, red_flag=any(flags))
        for day, nprs, *flags in checkins.order_by("local_date").values_list(
            "local_date", "nprs", *PainCheckIn.RED_FLAG_FIELDS
        )
    ]


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    plan: CarePlan | None
    today: date
    chart: PainChart | None
    weeks: list[WeekAdherence]
    checkins: Page[PainCheckIn] | None
    open_alerts: list[Alert]
    outcome: OutcomeSnapshot | None

    @property
    def week_now(self) -> int | None:
        return self.plan.week_on(self.today) if self.plan else None


def patient_record(*, patient: Patient, page: int | str | None = 1) -> PatientRecord:
    """Everything the record page shows, in a fixed number of queries."""
    today = patient.local_today()
    plan = record_plan(patient)
    open_alerts = list(
        Alert.objects.filter(patient=patient, acknowledged_at__isnull=True)
        .select_related("checkin", "patient__clinic")
        .order_by("opened_at", "id")
    )
    if plan is None:
        return PatientRecord(patient, None, today, None, [], None, open_alerts, None)
    plan_checkins = PainCheckIn.objects.filter(plan=plan)
    points = _points(plan_checkins)
    # The baseline line, fresh from the check-ins whatever the snapshot's age (one query).
    fresh = outcomes_for_plans(
        CarePlan.objects.filter(pk=plan.pk), today_by_zone={str(patient.timezone): today}
    )
    chart = pain_chart(
        points=points,
        start=plan.start_date,
        end=plan.end_date,
        baseline=fresh[plan.pk].baseline,
        chart_id="record-chart",
        title=f"Pain over the plan {plan.title}",
        subject=f"Pain (0 to 10) for {patient.user.full_name}",
    )
    checkins = Paginator(plan_checkins.order_by("-local_date"), CHECKINS_PER_PAGE).get_page(page)
    return PatientRecord(
        patient=patient,
        plan=plan,
        today=today,
        chart=chart,
        weeks=weekly_adherence(plan, today=today),
        checkins=checkins,
        open_alerts=open_alerts,
        outcome=OutcomeSnapshot.objects.filter(plan=plan).first(),
    )


# --- the patient's own view --------------------------------------------------


@dataclass(frozen=True)
class Trend:
    words: str
    chart: PainChart


def _mean(values: list[int]) -> float | None:
    return fmean(values) if values else None


def trend_words(points: list[PainPoint], *, today: date) -> str:
    """The recent trend in plain words, comparing the last 7 days with the 7 before."""
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
        change = f"{-diff:.1f} point{'s' if abs(diff) >= 1.05 else ''} lower than"
    else:
        change = f"{diff:.1f} point{'s' if abs(diff) >= 1.05 else ''} higher than"
    return (
        f"{text} Over the last 7 days your average was {this_week:.1f}, {change} the week before "
        f"({last_week:.1f})."
    )


def patient_trend(*, patient: Patient, today: date) -> Trend:
    """The patient's last four weeks: words and a small chart (one query)."""
    since = today - timedelta(days=TREND_DAYS - 1)
    points = _points(
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
