"""The therapist's page of a plan's questionnaires: the schedule (which instruments, at which
occasion, open when, where each stands) and each instrument's questions as the patient reads
them, read-only. The builder (``careplans``) lists the schedule and links here."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import therapist_of, therapist_required
from careplans.selectors import plan_for_clinic
from questionnaires.answers import FormItem, form_items
from questionnaires.models import Instrument
from questionnaires.scoping import OccasionStatus, schedule_of

#: Each occasion's status (``scoping.OccasionStatus``) in the therapist's words.
STATUS_WORDS = {
    OccasionStatus.NOT_DUE: "Not open yet",
    OccasionStatus.DUE: "Open now",
    OccasionStatus.DRAFT: "Begun, not sent",
    OccasionStatus.COMPLETED: "Sent",
    OccasionStatus.MISSED: "Missed",
}


@dataclass(frozen=True)
class AskedQuestion:
    """One line of an instrument as the patient meets it: ``words`` (an instruction, a question),
    ``answer`` how it is answered ("" for an instruction) and ``instruction`` for the first."""

    words: str
    answer: str
    instruction: bool = False


@dataclass(frozen=True)
class AskedInstrument:
    """One instrument of the schedule, its questions in the definition's order, and whether it
    rates activities the patient names (the PSFS: asked again by name at later occasions)."""

    instrument: Instrument
    questions: list[AskedQuestion]
    rates_activities: bool


def asked_questions(items: list[FormItem]) -> list[AskedQuestion]:
    """``items`` (``answers.form_items``) as the patient's form words them: an activity's name is
    asked "What is the activity?", its rating names it (``FormItem.asked``, shown here before a
    name is typed), a number by its range, a choice by its options."""
    activities = {item.activity for item in items if item.activity}
    questions = []
    for item in items:
        optional = "" if item.required or item.activity else " (optional)"
        if item.kind == "display":
            questions.append(AskedQuestion(item.text, "", instruction=True))
        elif item.link_id in activities:
            questions.append(AskedQuestion("What is the activity?" + optional, "in their own words"))
        elif item.kind == "text":
            questions.append(AskedQuestion(item.text + optional, "in their own words"))
        elif item.kind == "integer":
            low, high = item.options[0][0], item.options[-1][0]
            questions.append(AskedQuestion(item.asked() + optional, f"a number from {low} to {high}"))
        else:
            choices = "; ".join(words for _, words in item.options)
            questions.append(AskedQuestion(item.text + optional, f"one of: {choices}"))
    return questions


@therapist_required
@require_GET
def plan_questionnaires(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A plan of the therapist's clinic (another clinic's: 404): its questionnaire schedule
    (``scoping.schedule_of``, on the patient's local date; the responses' reads noted for the
    audit trail there, the plan's by ``plan_for_clinic``) and what each instrument asks."""
    plan = plan_for_clinic(clinic=therapist_of(request).clinic, plan_id=plan_id)
    rows = schedule_of(plan=plan, today=plan.patient.local_today())
    asked: dict[int, AskedInstrument] = {}
    for row in rows:
        if row.instrument is not None and row.instrument.pk not in asked:
            items = form_items(row.instrument)
            asked[row.instrument.pk] = AskedInstrument(
                row.instrument, asked_questions(items), any(item.activity for item in items)
            )
    return render(
        request,
        "questionnaires/plan_questionnaires.html",
        {
            "plan": plan,
            "rows": [(row, STATUS_WORDS[row.status]) for row in rows],
            "asked": list(asked.values()),
        },
    )
