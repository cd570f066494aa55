"""Reads for patients. Therapist reads start from the clinic; patient reads from the patient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from careplans.adherence import Adherence, TodayByZone, adherence_by_plan, adherence_for_plans
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.reminders import local_now_by_zone
from careplans.selectors import clinic_plans, plan_items, week_label
from patients import alert_rules
from patients.audit import audit_read
from patients.models import Alert, AuditEvent, Clinic, ExerciseSession, Invitation, PainCheckIn, Patient
from patients.services import token_hash

CASELOAD_PAGE_SIZE = 25


# --- tenant access: one queryset and one access function per object kind ----------------
#
# Every therapist-facing page and API view reaches patient data through these (and
# careplans.selectors.clinic_plans / plan_for_clinic / plan_exercise_of): a queryset
# for lists, and for one object a function that answers 404 for another clinic's id
# (never 403, which would confirm it exists) and notes the read for the audit trail.
# tests/api/test_tenant_access.py fails if a view or API module filters by clinic itself.


def clinic_patients(*, clinic: Clinic) -> QuerySet[Patient]:
    """The only way into patients for therapists: another clinic's patient is not found."""
    return Patient.objects.filter(clinic=clinic).select_related("user", "clinic", "therapist__user")


def clinic_alerts(*, clinic: Clinic) -> QuerySet[Alert]:
    """The only way into alerts for therapists: the alerts of ``clinic``'s patients."""
    return Alert.objects.filter(patient__clinic=clinic).select_related("patient__user", "patient__clinic")


def alert_for_clinic(*, clinic: Clinic, alert_id: int) -> Alert:
    """An alert of ``clinic``'s patients, its check-in loaded; raises Http404 for any other id.

    The read is noted for the audit trail (patients.audit.audit_read).
    """
    alert = get_object_or_404(clinic_alerts(clinic=clinic).select_related("checkin"), pk=alert_id)
    audit_read([alert])
    return alert


def clinic_checkins(*, clinic: Clinic) -> QuerySet[PainCheckIn]:
    """The only way into check-ins for therapists: those of ``clinic``'s patients."""
    return PainCheckIn.objects.filter(patient__clinic=clinic)


def clinic_audit_events(*, clinic: Clinic) -> QuerySet[AuditEvent]:
    """The clinic's own audit trail (entries written with ``clinic``'s id), patients' users loaded."""
    return AuditEvent.objects.filter(clinic=clinic).select_related("patient__user")


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


#: How many of the most urgent patients the caseload page lists; the rest are one link away.
ATTENTION_TOP = 15
#: Patients per page of the full attention page.
ATTENTION_PAGE_SIZE = 50


@dataclass(frozen=True)
class Attention:
    """Who needs attention: the rows shown (most urgent first) out of ``total`` patients."""

    rows: list[AttentionRow]
    total: int
    page: Page[AttentionRow] | None = None  # the full attention page's page, when paginated

    @property
    def more(self) -> int:
        """Patients who need attention beyond the rows shown."""
        return self.total - len(self.rows) if self.page is None else 0


def _attention_ranked(*, clinic: Clinic, now: datetime) -> list[AttentionRow]:
    """Every patient of ``clinic`` who needs attention at ``now``, most urgent first, reasons sorted.

    The rules (patients.alert_rules) run in the database: the plans come back as
    plain columns with their two rule flags, not as objects, and nobody is noted
    as read here; adherence comes back as two numbers per plan (careplans.adherence).
    Queries: red flags, stale pain (two), time zones, plans, adherence (two).
    """
    rows: dict[int, AttentionRow] = {}

    def row_for(patient_id: int, name: str) -> AttentionRow:
        if patient_id not in rows:
            rows[patient_id] = AttentionRow(patient_id, name)
        return rows[patient_id]

    alerts = (
        alert_rules.open_red_flags(clinic_alerts(clinic=clinic))
        .order_by("opened_at", "id")
        .values_list("patient_id", "patient__user__full_name", "patient__user__email", "opened_at", "detail")
    )
    for patient_id, full_name, email, opened_at, detail in alerts:
        age_hours = (now - opened_at).total_seconds() / 3600
        row_for(patient_id, full_name or email).reasons.append(
            AttentionReason("red_flag", f"Red flag, not yet acknowledged. {detail}".strip(), weight=age_hours)
        )

    watched = alert_rules.watched_plans(clinic_plans(clinic=clinic))
    stale = alert_rules.stale_pain(watched)
    # Plans as bare objects (the fields adherence reads) with their rule flags and the
    # figures the reasons quote as columns: no patient, user or outcome objects per plan.
    plans = list(
        alert_rules.with_rule_flags(watched, now=now, stale=stale)
        .select_related(None)
        .only("pk", "patient_id", "start_date", "length_weeks")
        .annotate(
            patient_name=F("patient__user__full_name"),
            patient_email=F("patient__user__email"),
            patient_zone=F("patient__timezone"),
            snapshot_baseline=F("outcome__baseline"),
            snapshot_current=F("outcome__current"),
        )
        .order_by()
    )
    local = local_now_by_zone({plan.patient_zone for plan in plans}, now)
    today = {plan.pk: local[plan.patient_zone].date() for plan in plans}
    adherence = adherence_by_plan(
        watched,
        today=TodayByZone({zone: moment.date() for zone, moment in local.items()}),
        since_days=alert_rules.ADHERENCE_DAYS,
    )
    for plan in plans:
        name = plan.patient_name or plan.patient_email
        if plan.alert_worsening:  # type: ignore[attr-defined]
            snapshot = alert_rules.Pain(plan.snapshot_baseline, plan.snapshot_current)
            pain = alert_rules.pain_of(plan_id=plan.pk, snapshot=snapshot, stale=stale)
            # A worsening plan has both figures (the rule needs them); 0.0 only satisfies the types.
            base, current = pain.baseline or 0.0, pain.current or 0.0
            row_for(plan.patient_id, name).reasons.append(
                AttentionReason(
                    "worsening",
                    f"Pain worsening: {current:.1f} on average in the latest week of check-ins, "
                    f"{current - base:.1f} points above the baseline of {base:.1f}.",
                    weight=current - base,
                )
            )
        if plan.alert_silent:  # type: ignore[attr-defined]
            last = plan.last_checkin  # type: ignore[attr-defined]
            quiet = alert_rules.quiet_days(today=today[plan.pk], last=last, start=plan.start_date)
            text = (
                f"No check-in for {quiet} full days (last on {last:%a %d %b})."
                if last
                else f"No check-in yet, {quiet} full days into the plan."
            )
            row_for(plan.patient_id, name).reasons.append(AttentionReason("silence", text, weight=quiet))
        week = adherence.get(plan.pk)
        if week is not None and alert_rules.low_adherence(week):
            row_for(plan.patient_id, name).reasons.append(
                AttentionReason(
                    "adherence",
                    f"Adherence {week.percent}% in the last {alert_rules.ADHERENCE_DAYS} days "
                    f"({week.done} of {week.prescribed} exercise sessions done).",
                    weight=1 - (week.ratio or 0.0),  # low_adherence: a ratio exists
                )
            )
    for row in rows.values():
        row.reasons.sort(key=lambda r: (r.rank, -r.weight))
    return sorted(rows.values(), key=lambda r: (r.top.rank, -r.top.weight, r.name.lower(), r.patient_id))


def _audit_shown(*, clinic: Clinic, rows: list[AttentionRow]) -> None:
    """Note the patients of ``rows`` (and only those) as read: one query for their records."""
    if rows:
        audit_read(clinic_patients(clinic=clinic).filter(pk__in=[row.patient_id for row in rows]))


def attention_top(*, clinic: Clinic, now: datetime | None = None, limit: int = ATTENTION_TOP) -> Attention:
    """The ``limit`` most urgent patients of ``clinic`` today, and how many need attention in all.

    ``now``: an aware datetime (default: the current time). Ranked as
    ``attention_list``; only the rows returned are noted as read for the audit
    trail. A fixed number of queries whatever the caseload (``attention_list``'s).
    """
    ranked = _attention_ranked(clinic=clinic, now=now or timezone.now())
    shown = ranked[:limit]
    _audit_shown(clinic=clinic, rows=shown)
    return Attention(rows=shown, total=len(ranked))


def attention_page(
    *,
    clinic: Clinic,
    now: datetime | None = None,
    page: int | str | None = 1,
    per_page: int = ATTENTION_PAGE_SIZE,
) -> Attention:
    """One page (1-based; an invalid number gives the nearest page) of everyone who needs attention.

    Ranked as ``attention_list``; only the page's patients are noted as read.
    A fixed number of queries whatever the caseload.
    """
    ranked = _attention_ranked(clinic=clinic, now=now or timezone.now())
    paginated = Paginator(ranked, per_page).get_page(page)
    shown = list(paginated.object_list)
    _audit_shown(clinic=clinic, rows=shown)
    return Attention(rows=shown, total=len(ranked), page=paginated)


def attention_list(*, clinic: Clinic, now: datetime | None = None) -> list[AttentionRow]:
    """Who needs the clinic's attention today, most urgent first, with the reasons in words.

    ``now``: an aware datetime (default: the current time). The reasons are the
    rules of patients.alert_rules, the ones the alert job raises alerts by: open
    red-flag alerts, pain worsening (current at least 2 points above baseline),
    no check-in for 3 days or more on an active plan, and adherence under 50% in
    the last 7 days. A patient's most urgent reason ranks them: red flag (oldest
    first), worsening (largest rise first), silence (longest first), adherence
    (lowest first), then by name. Every patient listed is noted as read for the
    audit trail; pages show ``attention_top`` or ``attention_page`` instead.
    A fixed number of queries whatever the caseload: red flags, stale pain (two),
    time zones, the active plans with their rule flags, two for adherence, and
    the listed patients for the audit trail.
    """
    ranked = _attention_ranked(clinic=clinic, now=now or timezone.now())
    _audit_shown(clinic=clinic, rows=ranked)
    return ranked
