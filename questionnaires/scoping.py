"""Who reads which instruments, schedules and responses: the querysets and access functions the API
uses (tenancy by construction: another clinic's object, or another patient's, is not found), and a
plan's questionnaire schedule with where each occasion stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Clinic, Patient
from audit.services import audit_read
from careplans.models import CarePlan, PlanSchedule, PlanStatus
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus


def instruments_for(*, clinic: Clinic | None) -> QuerySet[Instrument]:
    """The instruments a user of ``clinic`` may use: the shared ones and the clinic's own licensed
    ones, never another clinic's; ``clinic`` None (staff, no clinic): the shared ones only."""
    shared = Q(clinic__isnull=True)
    return Instrument.objects.filter(shared | Q(clinic=clinic) if clinic is not None else shared)


def instrument_by_key(*, clinic: Clinic | None, key: str) -> Instrument:
    """One instrument ``instruments_for(clinic=clinic)`` holds, by id (digits) or by code (the one a
    plan of the clinic uses for that code: its own, else the shared one, the latest loaded).
    Raises Http404 for anything else (another clinic's instrument too)."""
    visible = instruments_for(clinic=clinic)
    if key.isascii() and key.isdigit() and len(key) <= 18:
        return get_object_or_404(visible, pk=int(key))
    found = visible.filter(code=key).order_by(F("clinic").desc(nulls_last=True), "-created_at", "-id").first()
    if found is None:
        raise Http404("No such instrument")
    return found


def clinic_responses(*, clinic: Clinic) -> QuerySet[InstrumentResponse]:
    """The only way into responses for therapists: those of ``clinic``'s patients, instrument
    loaded. Notes no read: callers note what they show."""
    return InstrumentResponse.objects.filter(patient__clinic=clinic).select_related("instrument")


def own_responses(*, patient: Patient) -> QuerySet[InstrumentResponse]:
    """``patient``'s own responses, instrument loaded (drafts too: theirs to resume)."""
    return InstrumentResponse.objects.filter(patient=patient).select_related("instrument")


def own_plan(*, patient: Patient, plan_id: int) -> CarePlan:
    """One of ``patient``'s plans that is theirs to see (not a draft, the therapist's work in
    progress); raises Http404 for any other id. No read noted: the patient's own."""
    plan = get_object_or_404(
        CarePlan.objects.filter(patient=patient).exclude(status=PlanStatus.DRAFT), pk=plan_id
    )
    plan.patient = patient
    return plan


# --- a plan's schedule ------------------------------------------------------------------


class OccasionStatus:
    """Where a scheduled questionnaire stands on the patient's local date (``schedule_of``)."""

    NOT_DUE = "not_due"
    DUE = "due"
    DRAFT = "draft"
    COMPLETED = "completed"
    MISSED = "missed"
    ALL = (NOT_DUE, DUE, DRAFT, COMPLETED, MISSED)


@dataclass(frozen=True)
class ScheduledOccasion:
    """One questionnaire of a plan's schedule: the entry, the instrument it resolves to (None when
    not loaded for the clinic), its window in the patient's local dates, its response (None when
    not begun) and its ``status`` (an ``OccasionStatus`` value)."""

    entry: PlanSchedule
    instrument: Instrument | None
    opens_on: date
    closes_on: date
    response: InstrumentResponse | None
    status: str


def _status(
    *, opens_on: date, closes_on: date, response: InstrumentResponse | None, day: date, open_plan: bool
) -> str:
    if response is not None and response.status == ResponseStatus.COMPLETED:
        return OccasionStatus.COMPLETED
    if day < opens_on:
        return OccasionStatus.NOT_DUE
    if not open_plan or day > closes_on:
        return OccasionStatus.MISSED
    return OccasionStatus.DRAFT if response is not None else OccasionStatus.DUE


def schedule_of(*, plan: CarePlan, today: date) -> list[ScheduledOccasion]:
    """``plan``'s questionnaires (a plan the caller has scoped), earliest window first, each with
    its status on ``today`` (the patient's local date):

    - ``completed``: sent; ``not_due``: its window has not opened (a draft plan's, all not sent);
    - on an active plan, inside the window: ``draft`` when begun and kept, else ``due``;
    - ``missed``: not sent and its window closed, or the plan ended (completed or stopped) after
      the window opened; a window that would have opened after the plan ended stays ``not_due``.

    Three queries whatever the number of responses: the entries, their responses (noted for the
    audit trail: ``audit_read``) and the plan's instruments (``instrument_for_plan``'s choice).
    """
    entries = list(PlanSchedule.objects.filter(plan=plan).order_by("opens_day", "instrument_code", "id"))
    responses = {
        response.schedule_id: response
        for response in InstrumentResponse.objects.filter(plan=plan).select_related("instrument")
    }
    audit_read(responses.values())
    chosen: dict[str, Instrument] = {}
    for loaded in instruments_for(clinic=plan.patient.clinic).order_by(
        F("clinic").desc(nulls_last=True), "-created_at", "-id"
    ):
        chosen.setdefault(loaded.code, loaded)
    day = today
    if plan.status in (PlanStatus.COMPLETED, PlanStatus.STOPPED) and plan.ended_at is not None:
        day = min(today, plan.patient.local_today(plan.ended_at))
    open_plan = plan.status == PlanStatus.ACTIVE
    rows = []
    for entry in entries:
        opens_on = plan.start_date + timedelta(days=entry.opens_day)
        closes_on = plan.start_date + timedelta(days=entry.closes_day)
        response = responses.get(entry.pk)
        status = _status(
            opens_on=opens_on,
            closes_on=closes_on,
            response=response,
            day=day,
            open_plan=open_plan or plan.status == PlanStatus.DRAFT,
        )
        if plan.status == PlanStatus.DRAFT and status != OccasionStatus.COMPLETED:
            status = OccasionStatus.NOT_DUE
        instrument: Instrument | None = (
            response.instrument if response is not None else chosen.get(entry.instrument_code)
        )
        rows.append(ScheduledOccasion(entry, instrument, opens_on, closes_on, response, status))
    return rows
