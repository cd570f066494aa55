"""The patient's questionnaire pages: Today's list, the form (fieldsets, errors beside each
question, drafts kept and resumed), the PSFS asked again by name, the page after sending."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from careplans.sessions import exercise_session_mark
from questionnaires.models import InstrumentResponse, ResponseStatus
from questionnaires.services import response_submit
from tests.conftest import Personas, login
from tests.factories import PainCheckInFactory
from tests.helpers import current_exercises
from tests.questionnaires.test_responses import PEG, PSFS, entry, on_day, plan_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


def page(plan: Any, code: str, occasion: str) -> str:
    return reverse("questionnaire", kwargs={"schedule_id": entry(plan, code, occasion).pk})


def test_today_lists_the_questionnaires_due_and_then_continue_for_a_draft(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    with on_day(plan, 1):
        html = client.get(reverse("today")).content.decode()
        assert f'href="{page(plan, "psfs", "intake")}">Start Patient-Specific Functional Scale' in html
        assert f'href="{page(plan, "peg", "intake")}">Start PEG' in html
        client.post(page(plan, "peg", "intake"), {"pain": "4", "action": "draft"})
        html = client.get(reverse("today")).content.decode()
        assert f'href="{page(plan, "peg", "intake")}">Continue PEG' in html
    with on_day(plan, 7):
        assert "questionnaires-card" not in client.get(reverse("today")).content.decode()


def test_the_form_is_a_fieldset_per_question_with_big_radio_targets(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    with on_day(plan, 0):
        html = client.get(page(plan, "peg", "intake")).content.decode()
    assert html.count('<fieldset class="questionnaire-scale') == 3
    assert "<legend>What number best describes your pain on average in the past week?" in html
    assert html.count('type="radio" name="pain"') == 11
    assert 'name="action" value="draft"' in html and 'name="action" value="send"' in html
    assert "<script" not in html.split("<main", 1)[-1].split("</main>", 1)[0]


def test_errors_show_beside_each_question_with_a_summary_and_the_answers_kept(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    with on_day(plan, 0):
        response = client.post(
            page(plan, "peg", "intake"), {"pain": "12", "enjoyment": "3", "action": "send"}
        )
    html = response.content.decode()
    assert response.status_code == 400
    assert '<div class="error-summary" role="alert"' in html
    assert '<a href="#q-pain">Choose an answer from 0 to 10.</a>' in html
    assert '<a href="#q-activity">Answer this question.</a>' in html
    assert '<p class="field-error" id="pain-error">Choose an answer from 0 to 10.</p>' in html
    assert 'aria-describedby="activity-error"' in html
    assert 'name="enjoyment" value="3" id="id_enjoyment_3" checked' in html
    assert not InstrumentResponse.objects.exists()


def test_save_and_finish_later_keeps_the_answers_and_send_finishes(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    url = page(plan, "psfs", "intake")
    with on_day(plan, 0):
        response = client.post(url, {"activity-1": "Climbing stairs", "rating-1": "3", "action": "draft"})
        assert response.status_code == 302 and response["Location"] == reverse("today")
    with on_day(plan, 3):
        html = client.get(url).content.decode()
        assert "Your answers so far are kept" in html
        assert 'value="Climbing stairs"' in html
        assert 'name="rating-1" value="3" id="id_rating-1_3" checked' in html
        response = client.post(url, {"activity-1": "Climbing stairs", "rating-1": "5", "action": "send"})
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "questionnaire-done", kwargs={"schedule_id": entry(plan, "psfs", "intake").pk}
        )
        done = client.get(response["Location"]).content.decode()
        assert "Thank you" in done
        assert f'href="{page(plan, "peg", "intake")}">Start PEG' in done
        # Sent: the form now leads to the page after sending.
        assert client.get(url)["Location"] == response["Location"]
    saved = InstrumentResponse.objects.get()
    assert (saved.status, saved.score, saved.answers) == (
        ResponseStatus.COMPLETED,
        5.0,
        {"activity-1": "Climbing stairs", "rating-1": 5},
    )


def test_the_psfs_rating_question_names_the_activity_as_typed_on_every_path(
    client: Client, personas: Personas, shipped: None
) -> None:
    """Not the definition's "activity 1": a fresh slot asks about "this activity"; a draft
    resumed and a refused post ask about the activity by the patient's words."""
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.patient_a.user)
    url = page(plan, "psfs", "intake")
    with on_day(plan, 0):
        fresh = client.get(url).content.decode()
        assert "<legend>How well can you do this activity? (0 = unable" in fresh
        assert "activity 1" not in fresh
        refused = client.post(url, {"activity-1": "climbing stairs", "action": "send"})
        assert refused.status_code == 400
        assert "<legend>How well can you do: climbing stairs? (0 = unable" in refused.content.decode()
        client.post(
            url, {"activity-1": "climbing stairs", "activity-2": "<b>gardening</b>", "action": "draft"}
        )
        resumed = client.get(url).content.decode()
    assert "<legend>How well can you do: climbing stairs? (0 = unable" in resumed
    assert "<legend>How well can you do: &lt;b&gt;gardening&lt;/b&gt;? (0 = unable" in resumed
    assert "activity 1" not in resumed and "activity 3" not in resumed


def test_a_questionnaire_outside_its_window_says_so_and_another_patients_is_not_there(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    plan_in(personas.patient_b, personas)
    login(client, personas.patient_a.user)
    with on_day(plan, 1):
        client.post(
            page(plan, "psfs", "intake"), {"activity-1": "Climbing stairs", "rating-1": "4", "action": "send"}
        )
    with on_day(plan, 7):
        closed = client.get(page(plan, "peg", "intake"))
        posted = client.post(page(plan, "peg", "intake"), {"pain": "1", "action": "send"})
        sent = client.get(page(plan, "psfs", "intake"))
        upcoming = client.get(page(plan, "peg", "week 6"))
    today = f'href="{reverse("today")}">Back to today</a>'
    assert closed.status_code == 410 and posted.status_code == 410
    for response in (closed, posted):
        html = response.content.decode()
        assert "This questionnaire closed on Sunday 8 March 2026, so it can no longer be answered." in html
        assert today in html
    assert sent.status_code == 410
    assert (
        "You sent this on Tuesday 3 March 2026." in sent.content.decode() and today in sent.content.decode()
    )
    assert upcoming.status_code == 404
    assert "This questionnaire opens on Monday 6 April 2026." in upcoming.content.decode()
    assert not InstrumentResponse.objects.filter(instrument__code="peg").exists()
    # Another patient's: a plain 404, not a word about it.
    login(client, personas.patient_b.user)
    with on_day(plan, 7):
        other = client.get(page(plan, "peg", "intake"))
    assert other.status_code == 404
    assert "closed on" not in other.content.decode() and "PEG" not in other.content.decode()


def test_the_psfs_at_week_6_asks_about_the_intake_activities_by_name_and_takes_a_new_one(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 1):
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS
        )
    login(client, personas.patient_a.user)
    url = page(plan, "psfs", "week 6")
    with on_day(plan, 36):
        html = client.get(url).content.decode()
        assert "<legend>Climbing stairs</legend>" in html
        assert "<legend>How well can you do: Climbing stairs? (0 = unable" in html
        assert "<legend>How well can you do: Lifting my son? (0 = unable" in html
        assert "activity 1" not in html and "activity 3" not in html
        assert "<legend>Lifting my son</legend>" in html
        assert '<input type="hidden" name="activity-1" value="Climbing stairs">' in html
        assert html.count("<legend>A new activity (optional)</legend>") == 3
        response = client.post(
            url,
            {
                "activity-1": "Climbing stairs",
                "rating-1": "6",
                "activity-2": "Lifting my son",
                "rating-2": "7",
                "activity-3": "Gardening",
                "rating-3": "2",
                "action": "send",
            },
        )
    assert response.status_code == 302
    week6 = InstrumentResponse.objects.get(occasion="week 6")
    assert week6.answers["activity-3"] == "Gardening" and week6.score == 5.0


def _week_6_post(client: Client, personas: Personas, data: dict[str, str]) -> Any:
    """Patient A's intake PSFS sent (Climbing stairs, Lifting my son), then ``data`` posted to
    the week 6 PSFS page."""
    plan = plan_in(personas.patient_a, personas)
    with on_day(plan, 1):
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS
        )
    login(client, personas.patient_a.user)
    with on_day(plan, 36):
        return client.post(page(plan, "psfs", "week 6"), {**data, "action": "send"})


def test_an_intake_activity_left_unrated_at_week_6_is_asked_for_its_rating_not_its_removal(
    client: Client, personas: Personas, shipped: None
) -> None:
    """At a later occasion an intake activity is shown by name with no way to remove it, so the
    refusal asks only for the rating; nothing is saved."""
    response = _week_6_post(
        client, personas, {"activity-1": "Climbing stairs", "activity-2": "Lifting my son", "rating-2": "7"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="rating-1-error">Rate &#x27;Climbing stairs&#x27; from 0 to 10 for today: '
        "you named it at your first questionnaire.</p>"
    ) in html
    assert "or remove the activity" not in html
    assert not InstrumentResponse.objects.filter(occasion="week 6").exists()


def test_a_crafted_post_cannot_rename_an_intake_activity_at_week_6(
    client: Client, personas: Personas, shipped: None
) -> None:
    """The intake activity travels in a hidden field; a post renaming it is refused beside it,
    the page shows the intake name again, and nothing is saved."""
    response = _week_6_post(
        client,
        personas,
        {"activity-1": "Something else", "rating-1": "6", "activity-2": "Lifting my son", "rating-2": "7"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="activity-1-error">You named this activity &#x27;Climbing stairs&#x27; '
        "at your first questionnaire; it cannot be renamed here.</p>"
    ) in html
    assert '<input type="hidden" name="activity-1" value="Climbing stairs">' in html
    assert "Something else" not in html
    assert not InstrumentResponse.objects.filter(occasion="week 6").exists()


def _left_today(client: Client) -> str:
    html = client.get(reverse("today")).content.decode()
    return html.split('id="today-progress"', 1)[1].split("</section>", 1)[0]


def test_left_today_lists_the_questionnaires_due_with_links_until_they_are_sent(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    patient = personas.patient_a
    login(client, patient.user)
    psfs, peg = page(plan, "psfs", "intake"), page(plan, "peg", "intake")
    with on_day(plan, 1):
        left = _left_today(client)
        assert "Left today" in left
        assert f'<a href="{psfs}">Patient-Specific Functional Scale</a>' in left
        assert f'<a href="{peg}">PEG' in left
        assert left.count("· questionnaire, open until Sunday 8 March") == 2
        client.post(peg, {"pain": "4", "action": "draft"})
        assert "· started, open until Sunday 8 March" in _left_today(client)
        # Every session marked and the check-in in: the questionnaires are what is left.
        for item in current_exercises(plan):
            for session in range(1, item.sessions_per_day + 1):
                exercise_session_mark(patient=patient, plan_exercise_id=item.pk, done=True, session=session)
        PainCheckInFactory(plan=plan, local_date=patient.local_today())
        left = _left_today(client)
        assert "Exercises done" in left and "Still left today:" in left
        assert f'href="{psfs}"' in left and f'href="{peg}"' in left
        assert "Today's check-in" not in left and "done for today" not in left
        response_submit(patient=patient, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS)
        response_submit(patient=patient, schedule_id=entry(plan, "peg", "intake").pk, answers=PEG)
        left = _left_today(client)
        assert "You're done for today" in left
        assert "/questionnaires/" not in left
