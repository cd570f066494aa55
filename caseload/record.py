"""Reads for check-ins: the therapist's patient record and the patient's own trend.

Every read starts from the therapist's clinic or from the patient themselves,
and each page's query count is fixed, whatever the number of check-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db.models import Q

from accounts.models import Patient
from accounts.selectors import InvitationStatus, invitation_status
from alerts.models import Alert
from careplans.adherence_weeks import WeekAdherence, weekly_adherence
from careplans.models import CarePlan, PlanStatus
from checkins.charts import PainChart, pain_chart
from checkins.models import PainCheckIn
from checkins.trend import pain_points
from outcomes.figures import PlanFigures
from outcomes.selectors import plan_outcome
from portal.pages import mailto
from questionnaires.selectors import PatientQuestionnaires, patient_questionnaires

CHECKINS_PER_PAGE = 20


#: How many of the latest acknowledged alerts the record lists (with who, when and the note).
ACKNOWLEDGED_SHOWN = 10


def record_plan(patient: Patient) -> CarePlan | None:
    """The active plan, or else the latest plan that ran, so a finished patient still has a record."""
    plans = CarePlan.objects.filter(patient=patient).select_related("therapist__user")
    active = plans.filter(status=PlanStatus.ACTIVE).first()
    if active is not None:
        return active
    return plans.exclude(status=PlanStatus.DRAFT).order_by("-start_date", "-id").first()


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    plan: CarePlan | None
    today: date
    chart: PainChart | None
    weeks: list[WeekAdherence]
    checkins: Page[PainCheckIn] | None
    open_alerts: list[Alert]
    outcome: PlanFigures | None
    acknowledged_alerts: list[Alert]
    account: InvitationStatus
    questionnaires: PatientQuestionnaires | None = None

    @property
    def week_now(self) -> int | None:
        return self.plan.week_on(self.today) if self.plan else None

    @property
    def message_url(self) -> str:
        """A ``mailto:`` link to the patient: Plinth has no messaging of its own ("" without an email)."""
        email = self.patient.user.email
        return mailto(email, subject="About your care plan") if email else ""


def patient_record(*, patient: Patient, page: int | str | None = 1) -> PatientRecord:
    """Everything the record page shows, in a fixed number of queries.

    The plan is ``record_plan``'s; ``page`` is the 1-based page of its check-ins, newest
    first, ``CHECKINS_PER_PAGE`` (20) a page (a bad value gives the first or last page).
    The outcome (``outcomes.selectors.plan_outcome``) is the one the caseload, the
    patient's progress page and the API show, and the chart's dashed line is its
    baseline (none while it forms). ``today`` is the patient's local date. The plan's
    questionnaires are ``questionnaires.selectors.patient_questionnaires``'s.
    Without a plan, only the alerts (open, and the ``ACKNOWLEDGED_SHOWN`` latest
    acknowledged) and the account's invitation state.
    """
    today = patient.local_today()
    plan = record_plan(patient)
    # One query: the open alerts and the latest acknowledged ones (a subquery picks those).
    alerts = Alert.objects.filter(patient=patient)
    latest_acknowledged = alerts.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at", "-id")
    shown = list(
        alerts.filter(
            Q(acknowledged_at__isnull=True) | Q(pk__in=latest_acknowledged.values("pk")[:ACKNOWLEDGED_SHOWN])
        ).select_related("checkin", "patient__clinic", "acknowledged_by")
    )
    open_alerts = sorted((a for a in shown if a.is_open), key=lambda a: (a.opened_at, a.pk))
    acknowledged = sorted(
        (a for a in shown if not a.is_open), key=lambda a: (a.acknowledged_at, a.pk), reverse=True
    )
    account = invitation_status(patient=patient)
    if plan is None:
        return PatientRecord(patient, None, today, None, [], None, open_alerts, None, acknowledged, account)
    plan.patient = patient
    plan_checkins = PainCheckIn.objects.filter(plan=plan)
    points = pain_points(plan_checkins)
    outcome = plan_outcome(plan=plan)
    chart = pain_chart(
        points=points,
        start=plan.start_date,
        end=plan.end_date,
        baseline=outcome.baseline_value,
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
        outcome=outcome,
        acknowledged_alerts=acknowledged,
        account=account,
        questionnaires=patient_questionnaires(patient=patient, plan=plan, today=today),
    )
