"""Reads for patients. Therapist reads start from the clinic; patient reads from the patient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from careplans.adherence import Adherence, adherence_for_plans
from careplans.models import CarePlan, OutcomeSnapshot, PlanExercise, PlanStatus
from careplans.outcomes import outcomes_for_plans
from careplans.selectors import plan_items, week_label
from patients.audit import audit_read
from patients.models import Alert, AlertKind, Clinic, ExerciseSession, Invitation, PainCheckIn, Patient
from patients.services import token_hash

CASELOAD_PAGE_SIZE = 25


def clinic_patients(*, clinic: Clinic) -> QuerySet[Patient]:
    """The only way into patients for therapists: another clinic's patient is not found."""
    return Patient.objects.filter(clinic=clinic).select_related("user", "clinic")


def patient_for_clinic(*, clinic: Clinic, patient_id: int) -> Patient:
    """A patient of ``clinic`` to show a therapist; raises Http404 for any other id.

    The read is noted for the audit trail (patients.audit.audit_read).
    """
    patient = get_object_or_404(clinic_patients(clinic=clinic), pk=patient_id)
    audit_read([patient])
    return patient


@dataclass(frozen=True)
class CaseloadRow:
    patient: Patient
    plan: CarePlan | None
    week: str
    last_checkin: date | None
    adherence: Adherence | None
    invited: bool  # has not set a password yet


@dataclass(frozen=True)
class Caseload:
    page: Page[Any]
    rows: list[CaseloadRow]
    search: str
    total: int


def caseload_for(
    *, clinic: Clinic, search: str = "", page: int | str | None = 1, per_page: int = CASELOAD_PAGE_SIZE
) -> Caseload:
    """One page of the clinic's patients with plan week, last check-in and adherence.

    A fixed number of queries whatever the caseload's size: count, page of
    patients (last check-in as a subquery), their active plans, and the two
    adherence queries.
    """
    last_checkin = (
        PainCheckIn.objects.filter(patient=OuterRef("pk")).order_by("-local_date").values("local_date")[:1]
    )
    qs = (
        clinic_patients(clinic=clinic)
        .annotate(last_checkin=Subquery(last_checkin))
        .prefetch_related(
            Prefetch(
                "plans",
                queryset=CarePlan.objects.filter(status=PlanStatus.ACTIVE),
                to_attr="active_plans",
            )
        )
        .order_by("user__full_name", "pk")
    )
    search = search.strip()
    for word in search.split()[:5]:
        qs = qs.filter(Q(user__full_name__icontains=word) | Q(user__email__icontains=word))
    paginated = Paginator(qs, per_page).get_page(page)
    patients = list(paginated.object_list)
    audit_read(patients)
    plans: list[CarePlan] = []
    today: dict[int, date] = {}
    for patient in patients:
        plan = patient.active_plans[0] if patient.active_plans else None  # type: ignore[attr-defined]
        if plan is not None:
            plan.patient = patient
            plans.append(plan)
            today[plan.pk] = patient.local_today()
    adherence = adherence_for_plans(plans, today=today)
    by_patient = {plan.patient_id: plan for plan in plans}
    rows = []
    for patient in patients:
        plan = by_patient.get(patient.pk)
        rows.append(
            CaseloadRow(
                patient=patient,
                plan=plan,
                week=week_label(plan, today[plan.pk]) if plan else "",
                last_checkin=patient.last_checkin,  # type: ignore[attr-defined]
                adherence=adherence[plan.pk] if plan else None,
                invited=not patient.user.has_usable_password(),
            )
        )
    return Caseload(page=paginated, rows=rows, search=search, total=paginated.paginator.count)


def patient_plans(*, patient: Patient) -> QuerySet[CarePlan]:
    return patient.plans.select_related("therapist__user").order_by("-created_at", "-id")


def invitation_for_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("patient__user").filter(token_hash=token_hash(token)).first()


def pending_invitation(*, patient: Patient) -> Invitation | None:
    return patient.invitations.order_by("-created_at").first()


@dataclass(frozen=True)
class TodayItem:
    item: PlanExercise
    done_today: bool
    done_this_week: int
    # Exercises prescribed on fewer than 7 days a week rest once the week's quota is met.
    due: bool


@dataclass
class TodayView:
    patient: Patient
    today: date
    plan: CarePlan | None = None
    week: str = ""
    adherence: Adherence | None = None
    items: list[TodayItem] = field(default_factory=list)
    started: bool = True
    finished: bool = False

    @property
    def due(self) -> list[TodayItem]:
        return [entry for entry in self.items if entry.due]

    @property
    def resting(self) -> list[TodayItem]:
        return [entry for entry in self.items if not entry.due]

    @property
    def done_count(self) -> int:
        return sum(1 for entry in self.items if entry.done_today)


def active_plan_of(*, patient: Patient) -> CarePlan | None:
    return (
        CarePlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE)
        .select_related("therapist__user", "patient__clinic")
        .first()
    )


def checkin_on(*, patient: Patient, day: date) -> PainCheckIn | None:
    """The patient's check-in on one of their local dates, if they made one."""
    return PainCheckIn.objects.filter(patient=patient, local_date=day).first()


def today_for(*, patient: Patient) -> TodayView:
    """The patient's day on their own date: five queries whatever the plan's size."""
    today = patient.local_today()
    plan = active_plan_of(patient=patient)
    if plan is None:
        return TodayView(patient=patient, today=today)
    plan.patient = patient
    items = plan_items(plan=plan)
    week_start = plan.start_date + timedelta(days=7 * max(0, (today - plan.start_date).days // 7))
    done_days = list(
        ExerciseSession.objects.filter(
            plan_exercise__plan=plan, local_date__gte=week_start, local_date__lte=today
        ).values_list("plan_exercise_id", "local_date")
    )
    entries = []
    for item in items:
        days = [day for item_id, day in done_days if item_id == item.pk]
        done_today = today in days
        entries.append(
            TodayItem(
                item=item,
                done_today=done_today,
                done_this_week=len(days),
                due=done_today or len(days) < item.days_per_week,
            )
        )
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    return TodayView(
        patient=patient,
        today=today,
        plan=plan,
        week=week_label(plan, today),
        adherence=adherence,
        items=entries,
        started=today >= plan.start_date,
        finished=today > plan.end_date,
    )


def today_entry(*, patient: Patient, item_id: int) -> tuple[TodayView, TodayItem | None]:
    view = today_for(patient=patient)
    return view, next((entry for entry in view.items if entry.item.pk == item_id), None)


# --- today's attention list ----------------------------------------------------

#: Why a patient needs attention, most urgent first.
ATTENTION_RANK: dict[str, int] = {"red_flag": 0, "worsening": 1, "silence": 2, "adherence": 3}
SILENCE_DAYS = 3
LOW_ADHERENCE = 0.5


@dataclass(frozen=True)
class AttentionReason:
    kind: str
    text: str
    # Within a kind, a larger weight is more urgent (older alert, bigger rise, longer silence).
    weight: float = 0.0

    @property
    def rank(self) -> int:
        return ATTENTION_RANK[self.kind]


@dataclass
class AttentionRow:
    patient_id: int
    name: str
    reasons: list[AttentionReason] = field(default_factory=list)

    @property
    def url(self) -> str:
        return reverse("patient-record", args=[self.patient_id])

    @property
    def top(self) -> AttentionReason:
        return min(self.reasons, key=lambda r: (r.rank, -r.weight))

    @property
    def is_red_flag(self) -> bool:
        return self.top.kind == "red_flag"


def _plan_pain(
    plans: Sequence[CarePlan], *, today: Mapping[int, date]
) -> dict[int, tuple[bool, float, float]]:
    """(worsening, baseline, current) per active plan with a baseline and check-ins (careplans.outcomes).

    A snapshot computed after the plan's latest check-in arrived is used as it
    is; the others (no snapshot yet, or the recompute has not run) are computed
    from their check-ins in one query. ``today``: each plan's local date.
    """
    pain: dict[int, tuple[bool, float | None, float | None]] = {}
    stale: list[int] = []
    for plan in plans:
        last_received = plan.last_received  # type: ignore[attr-defined]
        if last_received is None:
            continue
        try:
            snapshot = plan.outcome
        except OutcomeSnapshot.DoesNotExist:
            snapshot = None
        if snapshot is not None and snapshot.computed_at >= last_received:
            pain[plan.pk] = (snapshot.worsening, snapshot.baseline, snapshot.current)
        else:
            stale.append(plan.pk)
    if stale:
        zones = {str(plan.patient.timezone): today[plan.pk] for plan in plans if plan.pk in set(stale)}
        fresh = outcomes_for_plans(CarePlan.objects.filter(pk__in=stale), today_by_zone=zones)
        for plan_id, outcome in fresh.items():
            pain[plan_id] = (outcome.worsening, outcome.baseline, outcome.current)
    return {
        plan_id: (worsening, base, now)
        for plan_id, (worsening, base, now) in pain.items()
        if base is not None and now is not None
    }


def attention_list(*, clinic: Clinic, now: datetime | None = None) -> list[AttentionRow]:
    """Who needs the clinic's attention today, most urgent first, with the reasons in words.

    Open red-flag alerts, pain worsening (current at least 2 points above
    baseline), no check-in for 3 days or more on an active plan, adherence
    under 50% in the last 7 days. A fixed number of queries whatever the
    caseload: alerts, active plans, stale outcomes, and two for adherence.
    """
    now = now or timezone.now()
    rows: dict[int, AttentionRow] = {}
    shown: list[Patient] = []

    def row_for(patient: Patient) -> AttentionRow:
        if patient.pk not in rows:
            rows[patient.pk] = AttentionRow(patient.pk, patient.user.full_name or patient.user.email)
            shown.append(patient)
        return rows[patient.pk]

    alerts = (
        Alert.objects.filter(patient__clinic=clinic, kind=AlertKind.RED_FLAG, acknowledged_at__isnull=True)
        .select_related("patient__user")
        .order_by("opened_at", "id")
    )
    for alert in alerts:
        age_hours = (now - alert.opened_at).total_seconds() / 3600
        row_for(alert.patient).reasons.append(
            AttentionReason(
                "red_flag",
                f"Red flag, not yet acknowledged. {alert.detail}".strip(),
                weight=age_hours,
            )
        )

    plans = list(
        CarePlan.objects.filter(patient__clinic=clinic, status=PlanStatus.ACTIVE)
        .select_related("patient__user", "outcome")
        .annotate(last_date=Max("checkins__local_date"), last_received=Max("checkins__received_at"))
    )
    today = {plan.pk: plan.patient.local_today(now) for plan in plans}
    pain = _plan_pain(plans, today=today)
    adherence = adherence_for_plans(plans, today=today, since_days=7)
    for plan in plans:
        day = today[plan.pk]
        if day < plan.start_date:
            continue
        worsening, base, current = pain.get(plan.pk, (False, 0.0, 0.0))
        if worsening:
            row_for(plan.patient).reasons.append(
                AttentionReason(
                    "worsening",
                    f"Pain worsening: {current:.1f} on average in the latest week of check-ins, "
                    f"{current - base:.1f} points above the baseline of {base:.1f}.",
                    weight=current - base,
                )
            )
        last = plan.last_date
        # Whole days gone by without a check-in; today is not over, so it does not count.
        quiet = (day - last).days - 1 if last else (day - plan.start_date).days
        if quiet >= SILENCE_DAYS:
            text = (
                f"No check-in for {quiet} full days (last on {last:%a %d %b})."
                if last
                else f"No check-in yet, {quiet} full days into the plan."
            )
            row_for(plan.patient).reasons.append(AttentionReason("silence", text, weight=quiet))
        week = adherence.get(plan.pk)
        if week is not None and week.ratio is not None and week.ratio < LOW_ADHERENCE:
            row_for(plan.patient).reasons.append(
                AttentionReason(
                    "adherence",
                    f"Adherence {week.percent}% in the last 7 days "
                    f"({week.done} of {week.prescribed} exercise sessions done).",
                    weight=1 - week.ratio,
                )
            )
    for row in rows.values():
        row.reasons.sort(key=lambda r: (r.rank, -r.weight))
    audit_read(shown)
    return sorted(rows.values(), key=lambda r: (r.top.rank, -r.top.weight, r.name.lower(), r.patient_id))
