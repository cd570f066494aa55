"""Reads of questionnaire instruments, and of the questionnaires due on a patient's plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.safestring import SafeString

from accounts.models import Clinic, Patient
from audit.services import audit_read
from careplans.adherence import DaysBetween
from careplans.models import CarePlan, PlanSchedule, PlanStatus
from careplans.selectors import active_plan_of
from questionnaires.answers import form_items
from questionnaires.charts import ScorePoint, score_chart
from questionnaires.definitions import CheckedDefinition, definition_checked
from questionnaires.figures import score_places
from questionnaires.models import Better, Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoring import activity_key, change_words, psfs_scores, psfs_visit_ratings, score_change


def instrument_in_scope(*, code: str, version: str, clinic: Clinic | None) -> Instrument | None:
    """The instrument with this code and version in one scope (``clinic`` None: the shared ones), or None."""
    return Instrument.objects.filter(code=code, version=version, clinic=clinic).first()


def instruments_for_clinic(*, clinic: Clinic) -> QuerySet[Instrument]:
    """The instruments a clinic may use: the shared ones and its own licensed ones, never another's."""
    return Instrument.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))


#: How long a questionnaire takes, as the patient is told: issue 18's design target ("completed on
#: a phone in under a minute per instrument"); the shipped ones ask one to ten questions.
QUESTIONNAIRE_TIME = "about a minute"


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
        PlanSchedule.objects.filter(_open_on_plan_day(day), plan=plan)
        .annotate(response_status=Subquery(status), instrument_title=Subquery(title))
        .order_by("opens_day", "id")
    )
    return [
        DueQuestionnaire(entry, entry.instrument_title, *_window(plan, entry), entry.response_status or "")
        for entry in rows
        if entry.response_status != ResponseStatus.COMPLETED and entry.instrument_title is not None
    ]


def _open_on_plan_day(day: int | F) -> Q:
    """A schedule entry's window holds plan day ``day`` (0 = the start date; a number or an
    expression): days ``opens_day`` to ``opens_day + window_days - 1``, as
    ``library.template_models.week_opens_day`` places week k."""
    return Q(opens_day__lte=day, opens_day__gt=day - F("window_days"))


def questionnaires_open_for(*, patient: Any, day: Any) -> QuerySet[PlanSchedule]:
    """For a query over patients: the questionnaires of ``patient``'s active plan (an ``OuterRef``
    to a patient id) whose window holds ``day`` (an expression giving the patient's local date,
    e.g. an ``OuterRef`` to an annotation), not sent yet, and whose instrument is loaded for the
    plan's clinic: the rule of ``questionnaires_due`` in SQL, for ``Exists`` (the daily reminder
    asks it of every patient in one query)."""
    loaded = Instrument.objects.filter(code=OuterRef("instrument_code")).filter(
        Q(clinic__isnull=True) | Q(clinic_id=OuterRef("plan__patient__clinic_id"))
    )
    return (
        PlanSchedule.objects.filter(plan__patient=patient, plan__status=PlanStatus.ACTIVE)
        .annotate(plan_day=DaysBetween(day, F("plan__start_date")))
        .filter(_open_on_plan_day(F("plan_day")))
        .filter(Exists(loaded))
        .exclude(
            Exists(
                InstrumentResponse.objects.filter(schedule=OuterRef("pk"), status=ResponseStatus.COMPLETED)
            )
        )
    )


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
    order, so a later occasion asks about them again by name; empty otherwise (and for an
    instrument rating no activities, without a query).

    The list is compacted: an empty slot of the first response is left out, so the n-th name
    belongs in the n-th activity slot of the later occasion (the page puts it there and
    ``answers.answer_problems`` holds it there); the slots after them are free for new ones."""
    slots = [item.activity for item in form_items(occasion.instrument) if item.activity is not None]
    if not slots:
        return []
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
    texts = [str(first.answers.get(slot, "")).strip() for slot in slots]
    return [text for text in texts if text]


# --- a patient's responses, for the therapist's record ----------------------------------


@dataclass(frozen=True)
class ResponseRow:
    """One occasion of an instrument: its response (a draft: "started, not sent")."""

    response: InstrumentResponse

    @property
    def sent(self) -> bool:
        return self.response.status == ResponseStatus.COMPLETED


@dataclass(frozen=True)
class ActivityRatings:
    """A PSFS activity as the patient first named it, and its rating at each sent occasion
    (None: not named or not rated then)."""

    name: str
    ratings: tuple[int | None, ...]


@dataclass(frozen=True)
class InstrumentHistory:
    """One instrument's responses on a plan in occasion order, the chart of its scores, the
    change from the first score to the latest in words ("" with fewer than two), and for an
    instrument rating named activities (the PSFS) each activity's ratings by sent occasion."""

    instrument: Instrument
    rows: list[ResponseRow]
    chart: SafeString
    change: str
    occasions: list[str]
    activities: list[ActivityRatings]
    #: The decimals its scores are shown with (``figures.score_places``).
    places: int = 1

    @property
    def scored(self) -> list[InstrumentResponse]:
        return [row.response for row in self.rows if row.sent and row.response.score is not None]


@dataclass(frozen=True)
class NextQuestionnaire:
    """The earliest questionnaire of the plan open now or later and not sent: its instrument's
    title, occasion and window in the patient's local dates."""

    title: str
    occasion: str
    opens_on: date
    closes_on: date


@dataclass(frozen=True)
class PatientQuestionnaires:
    instruments: list[InstrumentHistory]
    next: NextQuestionnaire | None


def patient_questionnaires(*, patient: Patient, plan: CarePlan, today: date) -> PatientQuestionnaires:
    """``patient``'s responses on ``plan`` (a plan of theirs the caller has scoped to the clinic),
    grouped by instrument (by title) in occasion order, each with its scores' chart and change
    (``scoring.score_change``, worded by ``scoring.change_words``) and, for the PSFS, its
    activities by name (``scoring.psfs_visit_ratings``); with the plan's next questionnaire not
    sent whose window has not closed by ``today`` (the patient's local date).

    Three queries whatever the number of responses: the responses with their instruments, the
    read noted for the audit trail (``audit_read``, none without responses) and the next one.
    A PSFS's change is ``scoring.psfs_scores``'s at the latest occasion: over that occasion's
    activities rated before, each against its own first rating, so an activity named later is
    never compared with an intake where it was not asked.
    """
    responses = list(
        InstrumentResponse.objects.filter(patient=patient, plan=plan)
        .select_related("instrument")
        .order_by("opens_on", "id")
    )
    audit_read(responses)
    grouped: dict[int, list[InstrumentResponse]] = {}
    for response in responses:
        grouped.setdefault(response.instrument_id, []).append(response)
    histories = [_history(found) for found in grouped.values()]
    histories.sort(key=lambda h: (h.instrument.title, h.instrument.pk))
    day = (today - plan.start_date).days
    title = _instruments_of(plan).filter(code=OuterRef("instrument_code")).values("title")[:1]
    upcoming = (
        PlanSchedule.objects.filter(plan=plan, opens_day__gt=day - F("window_days"))
        .exclude(responses__status=ResponseStatus.COMPLETED)
        .annotate(instrument_title=Subquery(title))
        .filter(instrument_title__isnull=False)
        .order_by("opens_day", "instrument_code")
        .first()
    )
    following = (
        NextQuestionnaire(upcoming.instrument_title, upcoming.occasion, *_window(plan, upcoming))
        if upcoming is not None
        else None
    )
    return PatientQuestionnaires(histories, following)


def _history(responses: list[InstrumentResponse]) -> InstrumentHistory:
    instrument = responses[0].instrument
    checked = definition_checked(instrument.definition)  # once per instrument, not per response
    sent = [r for r in responses if r.status == ResponseStatus.COMPLETED]
    scored = [r for r in sent if r.score is not None]
    name = str(checked.data.get("name") or instrument.code.upper())
    low, high = float(instrument.score_min), float(instrument.score_max)
    better = "higher" if instrument.better == Better.HIGHER else "lower"
    chart = score_chart(
        points=[ScorePoint(r.occasion, r.score) for r in scored if r.score is not None],
        low=low,
        high=high,
        chart_id=f"scores-{instrument.code}-{instrument.pk}",
        title=f"{instrument.title}: scores by occasion",
        subject=f"{name} score, {low:g} to {high:g}, {better} is better",
        places=score_places(checked),
    )
    activities: list[ActivityRatings] = []
    change = ""
    if any(item.activity for item in checked.items):
        activities, change = _activities(checked, sent)
    elif len(scored) > 1 and scored[0].score is not None and scored[-1].score is not None:
        moved = score_change(checked, baseline=scored[0].score, current=scored[-1].score)
        change = change_words(checked, moved, span=f" from {scored[0].occasion} to {scored[-1].occasion}")
    return InstrumentHistory(
        instrument=instrument,
        rows=[ResponseRow(r) for r in responses],
        chart=chart,
        change=change,
        occasions=[r.occasion for r in sent],
        activities=activities,
        places=score_places(checked),
    )


def _activities(
    checked: CheckedDefinition, sent: list[InstrumentResponse]
) -> tuple[list[ActivityRatings], str]:
    """The activities of sent PSFS responses by name with their ratings by occasion, and the
    change at the latest occasion (``scoring.psfs_scores``) in words ("" when it has none)."""
    names: dict[str, str] = {}
    visits: list[dict[str, int | None]] = []
    for response in sent:
        texts = {k: v for k, v in response.answers.items() if isinstance(v, str)}
        scored = {k: v for k, v in response.answers.items() if isinstance(v, int) and not isinstance(v, bool)}
        visits.append(psfs_visit_ratings(checked, texts=texts, answers=scored))
        for item in checked.items:
            text = texts.get(item.activity or "", "").strip()
            if text:
                names.setdefault(activity_key(text), text)
    rows = [ActivityRatings(name, tuple(visit.get(key) for visit in visits)) for key, name in names.items()]
    if not visits:
        return rows, ""
    latest = psfs_scores(visits)[-1]
    if latest.change is None:
        return rows, ""
    first: dict[str, int] = {}
    for visit in visits:
        for key, rating in visit.items():
            if rating is not None:
                first.setdefault(key, rating)
    compared = [key for key, rating in visits[-1].items() if rating is not None and key not in latest.new]
    baseline = sum(first[key] for key in compared) / len(compared)
    moved = score_change(checked, baseline=baseline, current=baseline + latest.change)
    many = "activity" if latest.compared == 1 else "activities"
    span = f" by {sent[-1].occasion} against each activity's first rating ({latest.compared} {many})"
    return rows, change_words(checked, moved, span=span)
