"""A questionnaire's item errors: every one is tied to its controls for assistive technology
(``aria-invalid`` and ``aria-describedby`` naming the message), on every shipped instrument; and
a PSFS activity is a pair, its name and its rating, refused by the service when one is missing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from portal.errors import DomainError
from questionnaires.models import InstrumentResponse
from questionnaires.services import response_save_draft, response_submit
from tests.conftest import Personas, login
from tests.portal.test_aria_references import dangling
from tests.questionnaires.test_responses import entry, on_day, plan_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


class Controls(HTMLParser):
    """Each form control (by name) and fieldset with its attributes, and each error's id and text."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, list[dict[str, str]]] = {}
        self.fieldsets: list[dict[str, str]] = []
        self.errors: dict[str, str] = {}
        self._error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") != "hidden" and values.get("name"):
            self.controls.setdefault(values["name"], []).append(values)
        if tag == "fieldset":
            self.fieldsets.append(values)
        if tag == "p" and "field-error" in values.get("class", "").split():
            self._error = values["id"]

    def handle_data(self, data: str) -> None:
        if self._error is not None:
            self.errors[self._error] = self.errors.get(self._error, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._error = None


def unlinked_errors(html: str) -> list[str]:
    """Each item error whose item's controls lack ``aria-invalid="true"`` or an
    ``aria-describedby`` naming the error's id: ``"<linkId>: <what is missing>"``."""
    page = Controls()
    page.feed(html)
    problems = []
    for error_id in page.errors:
        link_id = error_id.removesuffix("-error")
        controls = page.controls.get(link_id, [])
        if not controls:
            problems.append(f"{link_id}: no control")
        for control in controls:
            if control.get("aria-invalid") != "true":
                problems.append(f"{link_id}: a control without aria-invalid")
            if error_id not in control.get("aria-describedby", "").split():
                problems.append(f"{link_id}: a control not described by {error_id}")
    for fieldset in page.fieldsets:
        described = "has-error" in fieldset.get("class", "").split() and "aria-describedby" in fieldset
        if described and fieldset.get("aria-invalid") != "true":
            problems.append(f"fieldset described by {fieldset['aria-describedby']}: no aria-invalid")
    return problems


def test_a_radio_without_aria_invalid_is_found() -> None:
    page = (
        '<fieldset class="has-error" aria-describedby="change-error">'
        '<input type="radio" name="change" value="1" aria-describedby="change-error">'
        '<p class="field-error" id="change-error">Answer this question.</p></fieldset>'
    )
    assert unlinked_errors(page) == [
        "change: a control without aria-invalid",
        "fieldset described by change-error: no aria-invalid",
    ]


@pytest.mark.parametrize("code", ["groc", "peg", "psfs"])
def test_every_item_error_is_tied_to_its_controls(
    client: Client, personas: Personas, shipped: None, code: str
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    url = reverse("questionnaire", kwargs={"schedule_id": entry(plan, code, "week 12").pk})
    with on_day(plan, 78):
        # Nothing answered, then a PSFS rating with no activity named: each item errs.
        response = client.post(url, {"action": "send"})
        second = client.post(url, {"action": "send", "rating-2": "4"}) if code == "psfs" else response
    for page in (response, second):
        html = page.content.decode()
        assert page.status_code == 400
        assert 'class="field-error"' in html
        assert unlinked_errors(html) == []
        assert dangling(html) == []
    if code == "groc":
        assert 'aria-invalid="true" aria-describedby="change-error"' in response.content.decode()


# --- a PSFS activity is a name and a rating ----------------------------------------------------


UNRATED = {"activity-1": "Climbing stairs", "activity-2": "Lifting my son", "rating-2": 4}
UNNAMED = {"activity-1": "Climbing stairs", "rating-1": 3, "rating-2": 6}


@pytest.mark.parametrize(
    ("answers", "code", "field", "message"),
    [
        (
            UNRATED,
            "activity_unrated",
            "rating-1",
            "Rate 'Climbing stairs' from 0 to 10, or remove the activity.",
        ),
        (
            {"activity-1": "Climbing stairs", "rating-1": 3, "activity-4": "  Gardening "},
            "activity_unrated",
            "rating-4",
            "Rate 'Gardening' from 0 to 10, or remove the activity.",
        ),
        (UNNAMED, "activity_unnamed", "rating-2", "Name the activity you rated 6, or clear its rating."),
        (
            {"activity-1": "Climbing stairs", "rating-1": 3, "activity-3": "   ", "rating-3": 0},
            "activity_unnamed",
            "rating-3",
            "Name the activity you rated 0, or clear its rating.",
        ),
    ],
)
def test_sending_half_an_activity_is_refused_beside_it_and_nothing_is_saved(
    personas: Personas, shipped: None, answers: dict[str, object], code: str, field: str, message: str
) -> None:
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 2), pytest.raises(DomainError) as refused:
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=answers
        )
    assert (refused.value.code, refused.value.field, refused.value.message) == (code, field, message)
    assert not InstrumentResponse.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="questionnaire_response").exists()


def test_a_draft_may_hold_a_name_not_yet_rated_but_never_a_rating_without_a_name(
    personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    schedule_id = entry(plan, "psfs", "intake").pk
    with on_day(plan, 2):
        draft = response_save_draft(patient=personas.patient_a, schedule_id=schedule_id, answers=UNRATED)
        assert draft.answers == UNRATED
        with pytest.raises(DomainError) as refused:
            response_save_draft(patient=personas.patient_a, schedule_id=schedule_id, answers=UNNAMED)
    assert refused.value.code == "activity_unnamed"
    draft.refresh_from_db()
    assert draft.answers == UNRATED


def test_the_page_shows_the_refusal_beside_the_activity(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    url = reverse("questionnaire", kwargs={"schedule_id": entry(plan, "psfs", "intake").pk})
    with on_day(plan, 2):
        response = client.post(
            url,
            {
                "activity-1": "Climbing stairs",
                "activity-2": "Lifting my son",
                "rating-2": "4",
                "action": "send",
            },
        )
    html = response.content.decode()
    assert response.status_code == 400
    words = "Rate &#x27;Climbing stairs&#x27; from 0 to 10, or remove the activity."
    assert f'<a href="#q-rating-1">{words}</a>' in html
    beside = html.split('id="q-rating-1"', 1)[1].split("</fieldset>\n  </fieldset>", 1)[0]
    assert f'<p class="field-error" id="rating-1-error">{words}</p>' in beside
    assert 'value="Climbing stairs"' in beside
    assert unlinked_errors(html) == []
    assert not InstrumentResponse.objects.exists()
