"""The patient's questionnaire pages: one due questionnaire as a short scrolling form (each
question a fieldset with its legend, plain radios and text inputs, no script needed), saved as a
draft to finish later or sent; and the page after sending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import patient_of, patient_required
from portal.access import client_ip
from portal.errors import DomainError, RateLimited
from questionnaires.answers import Answer, FormItem, answer_problems, form_items
from questionnaires.models import ResponseStatus
from questionnaires.selectors import Occasion, earlier_activities, occasion_of, questionnaires_due
from questionnaires.services import response_save_draft, response_submit

#: The form's two buttons (``name="action"``).
SEND, DRAFT = "send", "draft"


@dataclass(frozen=True)
class Question:
    """One question as the page shows it: the item, its answer so far and its error; a rating of
    an activity (the PSFS) carries its activity's text item, answer and error, and ``named`` when
    the activity was named at an earlier occasion (shown by name, to rate again)."""

    item: FormItem
    value: Answer
    error: str
    activity: FormItem | None = None
    activity_value: str = ""
    activity_error: str = ""
    named: bool = False

    @property
    def chosen(self) -> str:
        return "" if self.value is None else str(self.value)

    @property
    def asked(self) -> str:
        """The question's words; a rating names its activity as typed, kept in a draft, posted
        back with an error, or named at an earlier occasion (``FormItem.asked``)."""
        return self.item.asked(self.activity_value)


def _answers_from(data: Mapping[str, str], items: list[FormItem]) -> dict[str, Answer]:
    """The posted answers: a scored item's whole number (kept as the text sent when it is not one,
    so the check says so), a text item's words; nothing for an item left out."""
    answers: dict[str, Answer] = {}
    for item in items:
        raw = data.get(item.link_id, "").strip()
        if item.kind == "display" or not raw:
            continue
        if item.scored:
            try:
                answers[item.link_id] = int(raw)
            except ValueError:
                answers[item.link_id] = raw
        else:
            answers[item.link_id] = raw
    return answers


def _questions(
    items: list[FormItem], answers: Mapping[str, Answer], errors: Mapping[str, str], named: list[str]
) -> list[Question]:
    """The page's questions in order; an activity's text item goes with its rating. The n-th
    activity slot holds the n-th name in ``named`` (shown by name, whatever was posted there:
    a refused rename shows the earlier name again); the slots after them are free."""
    by_id = {item.link_id: item for item in items}
    paired = {item.activity for item in items if item.activity}
    questions = []
    slot = 0
    for item in items:
        if item.link_id in paired:
            continue
        activity = by_id.get(item.activity) if item.activity else None
        if activity is None:
            questions.append(Question(item, answers.get(item.link_id), errors.get(item.link_id, "")))
            continue
        earlier = named[slot] if slot < len(named) else ""
        slot += 1
        text = earlier or str(answers.get(activity.link_id) or "")
        questions.append(
            Question(
                item,
                answers.get(item.link_id),
                errors.get(item.link_id, ""),
                activity=activity,
                activity_value=text,
                activity_error=errors.get(activity.link_id, ""),
                named=bool(earlier),
            )
        )
    return questions


def _not_open(request: HttpRequest, occasion: Occasion) -> HttpResponse:
    """The patient's own questionnaire outside its window, in words with the way back to Today:
    sent ("You sent this on ..."; 410), its window passed unsent ("This questionnaire closed on
    ..."; 410), or not open yet ("This questionnaire opens on ..."; 404). Nothing is saved."""
    patient = patient_of(request)
    response = occasion.response
    sent_on = None
    if response is not None and response.status == ResponseStatus.COMPLETED and response.completed_at:
        sent_on = patient.local_today(response.completed_at)
    upcoming = sent_on is None and patient.local_today() < occasion.opens_on
    return render(
        request,
        "questionnaires/questionnaire_closed.html",
        {"occasion": occasion, "instrument": occasion.instrument, "sent_on": sent_on, "upcoming": upcoming},
        status=404 if upcoming else 410,
    )


@patient_required
@require_http_methods(["GET", "POST"])
def questionnaire(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """A questionnaire due today on the patient's active plan; once sent, the page after sending.
    Outside its window, a page saying when it was sent, closed or opens (``_not_open``); anyone
    else's is not there (404)."""
    patient = patient_of(request)
    occasion = occasion_of(patient=patient, schedule_id=schedule_id)
    if not occasion.open_on(patient.local_today()):
        return _not_open(request, occasion)
    if occasion.response is not None and occasion.response.status == ResponseStatus.COMPLETED:
        return redirect("questionnaire-done", schedule_id=schedule_id)
    items = form_items(occasion.instrument)
    named = earlier_activities(occasion=occasion)
    errors: dict[str, str] = {}
    general = ""
    status = 200
    retry_after: int | None = None
    if request.method == "POST":
        action = DRAFT if request.POST.get("action") == DRAFT else SEND
        answers = _answers_from(request.POST, items)
        problems = answer_problems(occasion.instrument, answers, complete=action == SEND, named=named)
        if not problems:
            save = response_save_draft if action == DRAFT else response_submit
            try:
                save(patient=patient, schedule_id=schedule_id, answers=answers, ip=client_ip(request))
            except RateLimited as error:
                problems, retry_after = [error], error.retry_after
            except DomainError as error:
                problems = [error]
            else:
                if action == DRAFT:
                    messages.success(
                        request,
                        f"Your answers to {occasion.instrument.title} are kept. "
                        f"Finish it by {occasion.closes_on:%A %-d %B}.",
                    )
                    return redirect("today")
                return redirect("questionnaire-done", schedule_id=schedule_id)
        for problem in problems:
            if problem.field:
                errors.setdefault(problem.field, problem.message)
            else:
                general = problem.message
        status = 400 if retry_after is None else 429
    else:
        answers = dict(occasion.response.answers) if occasion.response is not None else {}
    questions = _questions(items, answers, errors, named)
    summary = [(q.item.link_id, q.error or q.activity_error) for q in questions]
    page = render(
        request,
        "questionnaires/questionnaire.html",
        {
            "occasion": occasion,
            "instrument": occasion.instrument,
            "questions": questions,
            "errors": [row for row in summary if row[1]],
            "general": general,
            "has_draft": occasion.response is not None,
            "later": bool(named),
        },
        status=status,
    )
    if retry_after is not None:
        page["Retry-After"] = str(retry_after)
    return page


@patient_required
@require_GET
def questionnaire_done(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """After sending: thanks, and the next questionnaire due today if there is one. Not sent yet:
    back to the questionnaire."""
    patient = patient_of(request)
    occasion = occasion_of(patient=patient, schedule_id=schedule_id)
    if occasion.response is None or occasion.response.status != ResponseStatus.COMPLETED:
        return redirect("questionnaire", schedule_id=schedule_id)
    due = questionnaires_due(plan=occasion.plan, today=patient.local_today())
    return render(
        request,
        "questionnaires/questionnaire_done.html",
        {"occasion": occasion, "response": occasion.response, "next": due[0] if due else None},
    )
