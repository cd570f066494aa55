"""Safety first (issue 15): the four red-flag questions start unanswered and must each be answered;
the guidance after a "yes" gives one instruction, the most urgent, with the clinic's details."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from alerts.models import Alert
from audit.models import AuditEvent
from checkins.models import PainCheckIn
from checkins.redflags import ACTIONS, HEADINGS, RED_FLAGS, Urgency, red_flag_guidance
from tests.conftest import login
from today.forms import RED_FLAG_QUESTIONS
from today.services import checkin_submit

pytestmark = pytest.mark.django_db

FLAGS = PainCheckIn.RED_FLAG_FIELDS
ANSWERS = {"nprs": "4", "side": "left", "note": ""}
ALL_NO = {name: "no" for name in FLAGS}
#: Every non-empty combination of "yes" answers (15).
COMBINATIONS = [set(combo) for size in range(1, 5) for combo in itertools.combinations(FLAGS, size)]


def _radios(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}"[^>]*>', html)


def _guidance(html: str) -> str:
    match = re.search(r'<section class="guidance[^"]*".*?</section>', html, re.S)
    assert match, "no guidance on the page"
    return match.group(0)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _post(client: Client, **flags: str) -> Any:
    return client.post(reverse("checkin"), {**ANSWERS, **flags}, follow=True)


@pytest.fixture
def patient_client(client: Client, personas: Any, plan_a_two_weeks_in: Any) -> Client:
    return login(client, personas.patient_a.user)


def _clinic_details(clinic: Any) -> None:
    clinic.phone = "020 7946 0321"
    clinic.address = "14 Wharf Lane\nLondon\nSE1 9ZZ"
    clinic.email = "desk@northside.example.org"
    clinic.out_of_hours = "When we are closed, call NHS 111."
    clinic.full_clean()
    clinic.save()


# --- the questions start unanswered, and each must be answered ----------------------------


def test_a_new_checkin_has_no_safety_answer_chosen(patient_client: Client) -> None:
    html = patient_client.get(reverse("checkin")).content.decode()
    for name in FLAGS:
        radios = _radios(html, name)
        assert len(radios) == 2, name
        assert not any("checked" in radio for radio in radios), radios


@pytest.mark.parametrize(
    "unanswered", [set(FLAGS), {"flag_bladder_bowel"}, {"flag_leg_weakness", "flag_weight_loss"}]
)
def test_unanswered_safety_questions_are_each_named_and_nothing_is_saved(
    patient_client: Client, unanswered: set[str]
) -> None:
    answered = {name: "yes" if name == "flag_fever" else "no" for name in FLAGS if name not in unanswered}
    response = patient_client.post(reverse("checkin"), {**ANSWERS, **answered})
    assert response.status_code == 400
    html = response.content.decode()
    summary = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert summary, "no error summary"
    for name, question in RED_FLAG_QUESTIONS.items():
        # The summary names exactly the unanswered questions; each one's own error sits with it.
        assert (question in summary.group(1)) == (name in unanswered), question
        assert (f'id="id_{name}-error"' in html) == (name in unanswered), name
    assert html.count("Answer this question, yes or no.") == len(unanswered)
    # What was answered is kept, so the patient only adds what is missing.
    for name, value in answered.items():
        assert any(f'value="{value}"' in radio and "checked" in radio for radio in _radios(html, name))
    assert not PainCheckIn.objects.exists()
    assert not Alert.objects.exists()
    assert not AuditEvent.objects.exists()


def test_answering_every_question_no_saves_without_guidance(patient_client: Client, personas: Any) -> None:
    response = _post(patient_client, **ALL_NO)
    assert response.redirect_chain[-1][0].startswith(reverse("checkin-done"))
    assert 'class="guidance' not in response.content.decode()
    assert not PainCheckIn.objects.get(patient=personas.patient_a).has_red_flag


def test_changing_a_checkin_shows_the_patients_own_earlier_answers(
    patient_client: Client, personas: Any
) -> None:
    checkin_submit(patient=personas.patient_a, nprs=5, side="left", flag_fever=True)
    html = patient_client.get(reverse("checkin")).content.decode()
    for name in FLAGS:
        [chosen] = [radio for radio in _radios(html, name) if "checked" in radio]
        assert f'value="{"yes" if name == "flag_fever" else "no"}"' in chosen, name


def test_the_api_keeps_its_documented_default_and_says_what_an_omitted_flag_means(
    personas: Any, plan_a_two_weeks_in: Any
) -> None:
    """v1 records an omitted flag as false (today.api.RED_FLAG_OMITTED says why it stays);
    the schema says so on every flag, so a client knows it must ask."""
    schema = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    request = schema["CheckInCreateRequest"]
    assert request["required"] == ["nprs", "side"]
    for name in FLAGS:
        assert request["properties"][name]["default"] is False
        assert "Omitted: recorded as false" in request["properties"][name]["description"], name
    api = APIClient()
    api.force_authenticate(personas.patient_a.user)
    response = api.post("/api/v1/checkins/", {"nprs": 3, "side": "left", "flag_fever": True}, format="json")
    assert response.status_code == 201
    stored = PainCheckIn.objects.get(patient=personas.patient_a)
    assert [getattr(stored, name) for name in FLAGS] == [name == "flag_fever" for name in FLAGS]


# --- one instruction, the most urgent ------------------------------------------------------


def test_the_rule_covers_the_four_flags_most_urgent_first() -> None:
    assert sorted(flag.field for flag in RED_FLAGS) == sorted(FLAGS)
    assert [flag.urgency for flag in RED_FLAGS] == sorted(flag.urgency for flag in RED_FLAGS)
    # NHS: cauda equina syndrome is an emergency; NICE NG59 1.1.1's other causes are same-day.
    assert {flag.field for flag in RED_FLAGS if flag.urgency is Urgency.EMERGENCY} == {"flag_bladder_bowel"}


@pytest.mark.parametrize("yes", COMBINATIONS, ids=lambda yes: "+".join(sorted(yes)))
def test_guidance_for_every_combination(yes: set[str]) -> None:
    guidance = red_flag_guidance(PainCheckIn(**{name: name in yes for name in FLAGS}))
    assert guidance is not None
    assert [flag.field for flag in guidance.flags] == [flag.field for flag in RED_FLAGS if flag.field in yes]
    fields = [flag.field for flag in guidance.flags]
    if "flag_bladder_bowel" in yes:
        assert guidance.is_emergency and fields[0] == "flag_bladder_bowel"
        assert [flag.field for flag in guidance.main] == ["flag_bladder_bowel"]
        assert [flag.field for flag in guidance.also] == fields[1:]
    else:
        assert guidance.urgency is Urgency.SAME_DAY
        assert [flag.field for flag in guidance.main] == fields
        assert guidance.also == ()
    assert (guidance.heading, guidance.action) == (HEADINGS[guidance.urgency], ACTIONS[guidance.urgency])


def test_no_red_flag_no_guidance() -> None:
    assert red_flag_guidance(PainCheckIn(**{name: False for name in FLAGS})) is None


@pytest.mark.parametrize("yes", COMBINATIONS, ids=lambda yes: "+".join(sorted(yes)))
def test_guidance_page_for_every_combination(patient_client: Client, yes: set[str]) -> None:
    answers = {name: "yes" if name in yes else "no" for name in FLAGS}
    html = _post(patient_client, **answers).content.decode()
    text = _text(_guidance(html))
    told = [flag for flag in RED_FLAGS if flag.field in yes]
    if "flag_bladder_bowel" in yes:
        assert text.startswith("Call emergency services now")
        assert text.count("Call emergency services now") == 2  # the heading, then the instruction
        assert "emergency department" in text
        # Nothing that would let the patient wait until later in the day.
        for weaker in ("Contact your doctor", "urgent care", "today"):
            assert weaker not in text, weaker
        assert text.index("lost control of your bladder or bowels") < text.index(
            "Call emergency services now, or go"
        )
        others = [flag.name for flag in told[1:]]
        if others:
            assert f"Tell them you also have: {'; '.join(others)}." in text
        else:
            assert "also have" not in text
    else:
        assert text.startswith("Contact your doctor or the clinic today")
        assert "emergency" not in text.lower()
        assert text.count("Contact your doctor or the clinic today and tell them what you told us.") == 1
        assert "urgent care centre" in text
        positions = [text.index(flag.told) for flag in told]
        assert positions == sorted(positions), "flags out of order"
    assert "Stop your exercises until a doctor has seen you" in text
    # The page's own buttons do not send the patient back to exercise (the newcomer's report).
    assert "Go to today's exercises" not in html and "Back to today's page" in html


def test_leg_weakness_alone_is_same_day_without_an_emergency_instruction(patient_client: Client) -> None:
    """The example of the issue: a leg-weakness "yes" said both "call emergency services now"
    and "contact your doctor today"."""
    text = _text(_guidance(_post(patient_client, **ALL_NO | {"flag_leg_weakness": "yes"}).content.decode()))
    assert "You have new weakness in a leg." in text
    assert "Contact your doctor or the clinic today" in text
    assert "emergency" not in text.lower()


# --- the clinic's contact details on the guidance page ----------------------------------


def test_same_day_guidance_gives_the_clinics_details(patient_client: Client, personas: Any) -> None:
    _clinic_details(personas.clinic)
    html = _post(patient_client, **ALL_NO | {"flag_fever": "yes"}).content.decode()
    guidance = _guidance(html)
    assert '<a href="tel:02079460321">020 7946 0321</a>' in guidance
    assert "14 Wharf Lane<br>London<br>SE1 9ZZ" in guidance
    assert "mailto:desk@northside.example.org" in guidance
    assert "call NHS 111" in guidance
    # Said once: the page's own foot does not repeat them.
    assert html.count("tel:02079460321") == 1


def test_emergency_guidance_keeps_the_clinic_out_of_the_instruction(
    patient_client: Client, personas: Any
) -> None:
    _clinic_details(personas.clinic)
    html = _post(patient_client, **ALL_NO | {"flag_bladder_bowel": "yes"}).content.decode()
    assert "tel:" not in _guidance(html)
    # The clinic's details are still on the page, at its foot.
    footer = html[html.index('<footer class="site-footer"') :]
    assert "tel:02079460321" in footer


def test_guidance_without_clinic_details_shows_no_empty_block(patient_client: Client, personas: Any) -> None:
    html = _post(patient_client, **ALL_NO | {"flag_fever": "yes"}).content.decode()
    assert "clinic-contact" not in html and "site-footer" not in html
    assert "Northside Physio" not in _guidance(html)


def test_the_therapists_alert_lists_the_flags_most_urgent_first_and_says_the_emergency(
    personas: Any, plan_a_two_weeks_in: Any
) -> None:
    """The newcomer's report: the alert and its email listed the flags in the form's order
    ("new weakness in a leg; loss of bowel or bladder control; fever") and nothing told the
    therapist which was the emergency."""
    checkin_submit(
        patient=personas.patient_a,
        nprs=6,
        side="left",
        flag_leg_weakness=True,
        flag_bladder_bowel=True,
        flag_fever=True,
    )
    detail = Alert.objects.get(patient=personas.patient_a).detail
    assert detail.split(": ", 1)[1] == (
        "loss of bowel or bladder control (an emergency: the patient was told to call emergency "
        "services); new weakness in a leg; fever. Pain 6/10."
    )
