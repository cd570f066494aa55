"""Reads of questionnaire instruments, and of the questionnaires due on a patient's plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Clinic, Patient
from audit.services import audit_read
from careplans.models import CarePlan, PlanSchedule
from careplans.selectors import active_plan_of
from questionnaires.answers import form_items
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus


def instrument_in_scope(*, code: str, version: str, clinic: Clinic | None) -> Instrument | None:
    """The instrument with this code and version in one scope (``clinic`` None: the shared ones), or None."""
    return Instrument.objects.filter(code=code, version=version, clinic=clinic).first()


def instruments_for_clinic(*, clinic: Clinic) -> QuerySet[Instrument]:
    """The instruments a clinic may use: the shared ones and its own licensed ones, never another's."""
    return Instrument.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))


@dataclass(frozen=True)
class DueQuestionnaire:
    """A questionnaire due today on the patient's active plan: its schedule entry, its
    instrument's title, its window in the patient's local dates, and its response's status (""
    when not started)."""

    schedule: PlanSchedule
    title: str
    opens_on: date
    closes_on: date
    status: str

    @property
    def draft(self) -> bool:
        return self.status == ResponseStatus.DRAFT


def _window(plan: CarePlan, entry: PlanSchedule) -> tuple[date, date]:
    return (
        plan.start_date + timedelta(days=entry.opens_day),
        plan.start_date + timedelta(days=entry.closes_day),
    )


def questionnaires_due(*, plan: CarePlan, today: date) -> list[DueQuestionnaire]:
    """The plan's questionnaires whose window holds ``today`` (the patient's local date) and that
    are not completed, earliest first; one whose instrument is not loaded is left out. One query:
    the instrument's title (as ``instrument_for_plan`` chooses it) and the response's status are
    subqueries."""
    day = (today - plan.start_date).days
    status = InstrumentResponse.objects.filter(schedule=OuterRef("pk")).values("status")[:1]
    title = _instruments_of(plan).filter(code=OuterRef("instrument_code")).values("title")[:1]
    rows = (
        PlanSchedule.objects.filter(plan=plan, opens_day__lte=day, opens_day__gt=day - F("window_days"))
        .annotate(response_status=Subquery(status), instrument_title=Subquery(title))
        .order_by("opens_day", "id")
    )
    return [
        DueQuestionnaire(entry, entry.instrument_title, *_window(plan, entry), entry.response_status or "")
        for entry in rows
        if entry.response_status != ResponseStatus.COMPLETED and entry.instrument_title is not None
    ]


def _instruments_of(plan: CarePlan) -> QuerySet[Instrument]:
    """The instruments a plan may use, its clinic's own first, the latest loaded first."""
    return Instrument.objects.filter(Q(clinic__isnull=True) | Q(clinic_id=plan.patient.clinic_id)).order_by(
        F("clinic").desc(nulls_last=True), "-created_at", "-id"
    )


@dataclass(frozen=True)
class Occasion:
    """A scheduled questionnaire of a patient's active plan, as its page needs it: the plan, the
    schedule entry, the instrument it uses, its window and the response so far (None if none)."""

    plan: CarePlan
    schedule: PlanSchedule
    instrument: Instrument
    opens_on: date
    closes_on: date
    response: InstrumentResponse | None

    def open_on(self, day: date) -> bool:
        return self.opens_on <= day <= self.closes_on


def instrument_for_plan(*, plan: CarePlan, code: str) -> Instrument | None:
    """The instrument a plan's schedule means by ``code``: the plan's clinic's own, else the shared
    one; the latest loaded of either."""
    return _instruments_of(plan).filter(code=code).first()


def occasion_of(*, patient: Patient, schedule_id: int) -> Occasion:
    """One of the questionnaires of ``patient``'s active plan, with its response (whose read is
    recorded); raises Http404 for another patient's, another plan's or an unknown one, and for
    a schedule whose instrument is not loaded."""
    plan = active_plan_of(patient=patient)
    if plan is None:
        raise Http404("No such questionnaire")
    plan.patient = patient
    schedule = get_object_or_404(PlanSchedule.objects.filter(plan=plan), pk=schedule_id)
    instrument = instrument_for_plan(plan=plan, code=schedule.instrument_code)
    if instrument is None:
        raise Http404("No such questionnaire")
    response = InstrumentResponse.objects.filter(schedule=schedule).first()
    if response is not None:
        audit_read([response])
    return Occasion(plan, schedule, instrument, *_window(plan, schedule), response)


def earlier_activities(*, occasion: Occasion) -> list[str]:
    """For a PSFS (an instrument rating named activities): the activities named in this plan's
    earliest completed response of the same instrument code before this occasion, in its slot
    order, so a later occasion asks about them again by name; empty otherwise."""
    first = (
        InstrumentResponse.objects.filter(
            plan=occasion.plan,
            instrument__code=occasion.instrument.code,
            status=ResponseStatus.COMPLETED,
            opens_on__lt=occasion.opens_on,
        )
        .order_by("opens_on", "id")
        .first()
    )
    if first is None:
        return []
    audit_read([first])
    texts = [
        str(first.answers.get(item.activity, "")).strip()
        for item in form_items(occasion.instrument)
        if item.activity is not None
    ]
    return [text for text in texts if text]
