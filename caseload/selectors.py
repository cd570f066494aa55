"""The therapist's caseload: their clinic's patients with plan, pain and adherence, searched and paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Prefetch, Q, Subquery

from accounts.models import Clinic, Patient, User
from accounts.selectors import clinic_patients
from audit.services import audit_read
from careplans.adherence import Adherence, adherence_for_plans
from careplans.models import CarePlan, PlanStatus
from careplans.selectors import week_label
from checkins.models import PainCheckIn
from conversations.selectors import unread_by_patient
from outcomes.figures import PlanFigures
from outcomes.selectors import outcome_figures

CASELOAD_PAGE_SIZE = 25


@dataclass(frozen=True)
class CaseloadRow:
    patient: Patient
    plan: CarePlan | None
    week: str
    last_checkin: date | None
    adherence: Adherence | None
    outcome: PlanFigures | None  # baseline, current and change, as the record shows them
    invited: bool  # has not set a password yet
    unread: int = 0  # the patient's messages this therapist has not read


@dataclass(frozen=True)
class Caseload:
    page: Page[Any]
    rows: list[CaseloadRow]
    search: str
    total: int


def caseload_for(
    *,
    clinic: Clinic,
    search: str = "",
    page: int | str | None = 1,
    per_page: int = CASELOAD_PAGE_SIZE,
    reader: User | None = None,
) -> Caseload:
    """One page of the clinic's patients with plan week, last check-in, pain, adherence and,
    for ``reader`` (the therapist looking; None: none shown), their unread messages per patient.

    A fixed number of queries whatever the caseload's size: count, page of
    patients (last check-in as a subquery), their active plans, the two
    adherence queries, the unread messages (one query) and the plans' outcome snapshots (one more for plans
    whose snapshot a check-in overtook: ``outcome_figures``).
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
    outcomes = outcome_figures(plans=plans)
    unread = (
        unread_by_patient(user=reader, patient_ids=[patient.pk for patient in patients]) if reader else {}
    )
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
                outcome=outcomes[plan.pk] if plan else None,
                invited=not patient.joined,
                unread=unread.get(patient.pk, 0),
            )
        )
    return Caseload(page=paginated, rows=rows, search=search, total=paginated.paginator.count)
