"""The questionnaire schedule (template to plan, windows in the patient's local dates) and a
patient's responses: drafts, sending, every refusal, scores, the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Patient
from audit.models import AuditEvent
from careplans.models import CarePlan, PlanSchedule
from library.services import LOW_BACK_TEMPLATE_NAME, library_load
from library.template_models import PlanTemplate
from portal.errors import DomainError
from questionnaires.models import InstrumentResponse, ResponseStatus
from questionnaires.scoring import instrument_score
from questionnaires.selectors import questionnaires_due
from questionnaires.services import questionnaires_load_shipped, response_save_draft, response_submit
from tests.conftest import Personas
from tests.helpers import template_plan

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)  # a Monday
PEG = {"pain": 6, "enjoyment": 5, "activity": 7}
PSFS = {"activity-1": "Climbing stairs", "rating-1": 3, "activity-2": "Lifting my son", "rating-2": 4}


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.fixture
def shipped(library: None) -> None:
    questionnaires_load_shipped()


def plan_in(patient: Patient, personas: Personas, zone: str = "Europe/London") -> CarePlan:
    """The low-back template's plan for ``patient`` living in ``zone``, starting on START."""
    patient.timezone = zone
    patient.save(update_fields=["timezone"])
    with time_machine.travel(local(zone, 2026, 3, 2, 9, 0), tick=False):
        return template_plan(patient, personas.owner)


def entry(plan: CarePlan, code: str, occasion: str) -> PlanSchedule:
    return plan.schedule.get(instrument_code=code, occasion=occasion)


def on_day(plan: CarePlan, day: int, zone: str = "Europe/London", hour: int = 10) -> Any:
    """The clock at ``hour`` on the plan's day ``day`` in the patient's zone."""
    when = START + timedelta(days=day)
    return time_machine.travel(local(zone, when.year, when.month, when.day, hour, 0), tick=False)


# --- the schedule ------------------------------------------------------------------------


def test_the_low_back_template_asks_for_psfs_and_peg_at_intake_week_6_and_12_and_groc_at_week_12(
    library: None,
) -> None:
    template = PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME, clinic=None)
    rows = {(s.instrument_code, s.occasion, s.opens_day, s.closes_day) for s in template.schedule.all()}
    assert rows == {
        ("psfs", "intake", 0, 6),
        ("peg", "intake", 0, 6),
        ("psfs", "week 6", 35, 41),
        ("peg", "week 6", 35, 41),
        ("psfs", "week 12", 77, 83),
        ("peg", "week 12", 77, 83),
        ("groc", "week 12", 77, 83),
    }
    library_load()  # a second load adds nothing
    assert template.schedule.count() == 7


def test_a_plan_from_the_template_gets_its_own_copy_of_the_schedule(
    personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    assert plan.schedule.count() == 7
    PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME, clinic=None).schedule.all().delete()
    assert plan.schedule.count() == 7  # later edits of the template leave made plans alone


def test_due_follows_the_patients_local_date_in_auckland(personas: Personas, shipped: None) -> None:
    zone = "Pacific/Auckland"
    plan = plan_in(personas.patient_a, personas, zone)
    plan.patient = personas.patient_a
    # The last minute of day 6 in Auckland (still 6 March in UTC's morning): intake is due.
    with on_day(plan, 6, zone, hour=23):
        titles = [
            (due.schedule.instrument_code, due.schedule.occasion)
            for due in questionnaires_due(plan=plan, today=personas.patient_a.local_today())
        ]
        assert titles == [("peg", "intake"), ("psfs", "intake")] or sorted(titles) == [
            ("peg", "intake"),
            ("psfs", "intake"),
        ]
    # A minute past midnight in Auckland is day 7 there (still day 6 in London): intake has closed.
    when = START + timedelta(days=7)
    with time_machine.travel(local(zone, when.year, when.month, when.day, 0, 1), tick=False):
        assert questionnaires_due(plan=plan, today=personas.patient_a.local_today()) == []
        with pytest.raises(DomainError) as refused:
            response_submit(
                patient=personas.patient_a, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG
            )
        assert refused.value.code == "not_due"
    with on_day(plan, 35, zone):
        due = questionnaires_due(plan=plan, today=personas.patient_a.local_today())
        assert sorted(d.schedule.occasion for d in due) == ["week 6", "week 6"]
        assert {d.closes_on for d in due} == {START + timedelta(days=41)}
    with on_day(plan, 83, zone):
        due = questionnaires_due(plan=plan, today=personas.patient_a.local_today())
        assert sorted(d.schedule.instrument_code for d in due) == ["groc", "peg", "psfs"]


# --- responses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "answers", "refusal", "field"),
    [
        ("peg", {**PEG, "pain": 11}, "answer_out_of_range", "pain"),
        ("peg", {**PEG, "pain": -1}, "answer_out_of_range", "pain"),
        ("peg", {"pain": 6, "enjoyment": 5}, "required", "activity"),
        ("peg", {**PEG, "enjoyment": "five"}, "not_a_number", "enjoyment"),
        ("peg", {**PEG, "mood": 3}, "unknown_item", "mood"),
        ("psfs", {"rating-1": 4}, "required", "activity-1"),
        ("psfs", {**PSFS, "rating-3": 5}, "activity_unnamed", "rating-3"),
        ("psfs", {**PSFS, "activity-2": "climbing  Stairs"}, "activity_repeated", "activity-2"),
        ("psfs", {**PSFS, "activity-1": "x" * 201}, "too_long", "activity-1"),
    ],
)
def test_a_bad_answer_is_refused_with_its_item_and_nothing_is_saved(
    personas: Personas, shipped: None, code: str, answers: dict[str, Any], refusal: str, field: str
) -> None:
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 2), pytest.raises(DomainError) as refused:
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, code, "intake").pk, answers=answers
        )
    assert (refused.value.code, refused.value.field) == (refusal, field)
    assert not InstrumentResponse.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="questionnaire_response").exists()


@pytest.mark.parametrize("save", [response_save_draft, response_submit])
def test_at_week_6_the_intake_activities_keep_their_slots_and_names(
    personas: Personas, shipped: None, save: Any
) -> None:
    """The intake named activities in slots 1 and 3: at week 6 they are asked in slots 1 and 2
    (``earlier_activities`` is compacted); renaming or leaving one out is refused on its linkId
    and saves nothing (the draft stays as it was), a new activity goes in a free slot."""
    plan = plan_in(personas.patient_a, personas)
    patient = personas.patient_a
    intake = {"activity-1": "Climbing stairs", "rating-1": 3, "activity-3": "Gardening", "rating-3": 2}
    with on_day(plan, 1):
        response_submit(patient=patient, schedule_id=entry(plan, "psfs", "intake").pk, answers=intake)
    week6 = entry(plan, "psfs", "week 6").pk
    kept = {"activity-1": " Climbing stairs ", "rating-1": 5, "activity-2": "Gardening", "rating-2": 4}
    with on_day(plan, 36):
        response_save_draft(patient=patient, schedule_id=week6, answers={"activity-1": "Climbing stairs"})
        refused_answers = [
            ({**kept, "activity-2": "Weeding"}, "activity-2"),
            ({**kept, "activity-1": "Gardening", "activity-2": "Climbing stairs"}, "activity-1"),
        ]
        if save is response_submit:  # a draft may leave an intake activity out for now
            refused_answers.append(({**kept, "activity-2": "", "rating-2": None}, "activity-2"))
        for answers, field in refused_answers:
            with pytest.raises(DomainError) as refused:
                save(patient=patient, schedule_id=week6, answers=answers)
            assert (refused.value.code, refused.value.field) == ("activity_renamed", field)
            assert refused.value.message == (
                f"You named this activity '{intake[field.replace('2', '3')]}' at your first "
                "questionnaire; it cannot be renamed here."
            )
            draft = InstrumentResponse.objects.get(schedule_id=week6)
            assert (draft.status, draft.answers) == (ResponseStatus.DRAFT, {"activity-1": "Climbing stairs"})
        saved = save(
            patient=patient, schedule_id=week6, answers={**kept, "activity-3": "Weeding", "rating-3": 1}
        )
    assert saved.answers["activity-1"] == "Climbing stairs" and saved.answers["activity-3"] == "Weeding"


def test_a_questionnaire_outside_its_window_is_not_due(personas: Personas, shipped: None) -> None:
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 34):
        for save in (response_save_draft, response_submit):
            with pytest.raises(DomainError) as refused:
                save(patient=personas.patient_a, schedule_id=entry(plan, "peg", "week 6").pk, answers=PEG)
            assert refused.value.code == "not_due"
    assert not InstrumentResponse.objects.exists()


def test_answers_given_at_an_earlier_moment_are_checked_and_dated_then(
    personas: Personas, shipped: None
) -> None:
    """``now`` (for loading past answers, as the demo clinic does): the window is checked on the
    patient's local date at that moment, not today's, and the response is dated then."""
    plan = plan_in(personas.patient_a, personas)
    then = local("Europe/London", 2026, 3, 4, 19, 30)  # plan day 2, inside the intake window
    later = local("Europe/London", 2026, 3, 6, 8, 0)  # plan day 4
    with on_day(plan, 34):  # the intake window closed weeks ago
        draft = response_save_draft(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS, now=then
        )
        sent = response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG, now=later
        )
        with pytest.raises(DomainError) as refused:
            response_submit(
                patient=personas.patient_a,
                schedule_id=entry(plan, "peg", "week 6").pk,
                answers=PEG,
                now=then,
            )
    assert refused.value.code == "not_due"
    assert (draft.status, draft.started_at, draft.completed_at) == (ResponseStatus.DRAFT, then, None)
    assert (sent.status, sent.started_at, sent.completed_at, sent.score) == (
        ResponseStatus.COMPLETED,
        later,
        later,
        6.0,
    )


def test_another_patients_questionnaire_is_not_found(personas: Personas, shipped: None) -> None:
    plan = plan_in(personas.patient_a, personas)
    plan_in(personas.patient_b, personas)
    with on_day(plan, 2), pytest.raises(DomainError) as refused:
        response_submit(patient=personas.patient_b, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG)
    assert refused.value.code == "not_found"


def test_a_draft_is_kept_resumed_and_sent_once(personas: Personas, shipped: None) -> None:
    plan = plan_in(personas.patient_a, personas)
    schedule_id = entry(plan, "peg", "intake").pk
    with on_day(plan, 1):
        draft = response_save_draft(patient=personas.patient_a, schedule_id=schedule_id, answers={"pain": 6})
    assert (draft.status, draft.answers, draft.score, draft.completed_at) == (
        "draft",
        {"pain": 6},
        None,
        None,
    )
    # A draft's answers are checked as they are given.
    with on_day(plan, 2):
        with pytest.raises(DomainError) as refused:
            response_save_draft(patient=personas.patient_a, schedule_id=schedule_id, answers={"pain": 12})
        assert refused.value.code == "answer_out_of_range"
        # Sending with a required item missing leaves the draft as it was.
        with pytest.raises(DomainError):
            response_submit(patient=personas.patient_a, schedule_id=schedule_id, answers={"pain": 2})
        draft.refresh_from_db()
        assert draft.answers == {"pain": 6}
        due = questionnaires_due(plan=plan, today=personas.patient_a.local_today())
        assert [d.draft for d in due if d.schedule.pk == schedule_id] == [True]
        sent = response_submit(patient=personas.patient_a, schedule_id=schedule_id, answers=PEG)
    assert sent.pk == draft.pk
    assert sent.status == ResponseStatus.COMPLETED and sent.completed_at is not None
    expected = instrument_score(sent.instrument, PEG)
    assert (sent.score, sent.answered, sent.skipped) == (expected.value, 3, 0) == (6.0, 3, 0)
    assert (sent.occasion, sent.opens_on, sent.closes_on) == ("intake", START, START + timedelta(days=6))
    with on_day(plan, 3):
        for save in (response_save_draft, response_submit):
            with pytest.raises(DomainError) as refused:
                save(patient=personas.patient_a, schedule_id=schedule_id, answers=PEG)
            assert refused.value.code == "already_completed"
        assert all(
            d.schedule.pk != schedule_id for d in questionnaires_due(plan=plan, today=START + timedelta(3))
        )
    actions = list(
        AuditEvent.objects.filter(action__startswith="questionnaire_response")
        .order_by("id")
        .values_list("action", "patient_id", "object_id")
    )
    assert actions == [
        ("questionnaire_response.drafted", personas.patient_a.pk, str(sent.pk)),
        ("questionnaire_response.completed", personas.patient_a.pk, str(sent.pk)),
    ]


def test_psfs_and_groc_scores_match_instrument_score(personas: Personas, shipped: None) -> None:
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 0):
        psfs = response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS
        )
    assert psfs.score == instrument_score(psfs.instrument, {"rating-1": 3, "rating-2": 4}).value == 3.5
    assert (psfs.answered, psfs.skipped) == (2, 0)  # three unused activity slots
    with on_day(plan, 80):
        groc = response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "groc", "week 12").pk, answers={"change": 5}
        )
    assert groc.score == 5.0
    with on_day(plan, 81), pytest.raises(DomainError) as refused:
        response_submit(
            patient=personas.patient_a,
            schedule_id=entry(plan, "peg", "week 12").pk,
            answers={**PEG, "pain": 1.5},
        )
    assert refused.value.code == "not_a_number"
