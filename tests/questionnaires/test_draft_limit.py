"""Keeping questionnaire drafts is rate-limited per patient, page and API together
(``PLINTH_RATE_LIMITS["questionnaire_draft"]``): past it, 429 with Retry-After and nothing saved;
the page keeps what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from questionnaires.models import InstrumentResponse
from tests.conftest import Personas, login
from tests.questionnaires.test_responses import entry, on_day, plan_in
from tests.world import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


def test_the_api_refuses_drafts_past_the_limit_with_429_and_retry_after(
    personas: Personas, shipped: None, settings: Any
) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "questionnaire_draft": (3, 60)}
    plan = plan_in(personas.patient_a, personas)
    peg = entry(plan, "peg", "intake").pk
    api = api_as(personas.patient_a.user)
    url = reverse("api-questionnaire-response-list")
    with on_day(plan, 1):  # 10:00:00 on the dot: the window has 60 seconds left
        for pain in (1, 2, 3):
            body = {"schedule": peg, "answers": {"pain": pain}, "status": "draft"}
            assert api.post(url, body, format="json").status_code in (200, 201)
        refused = api.post(url, {"schedule": peg, "answers": {"pain": 9}, "status": "draft"}, format="json")
        # The other patient is counted apart.
        plan_b = plan_in(personas.patient_b, personas)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "Too many requests" in refused.json()["detail"]
    assert InstrumentResponse.objects.get(schedule_id=peg).answers == {"pain": 3}
    assert AuditEvent.objects.filter(action="questionnaire_response.drafted").count() == 3
    with on_day(plan, 1):
        other = api_as(personas.patient_b.user).post(
            url,
            {"schedule": entry(plan_b, "peg", "intake").pk, "answers": {"pain": 1}, "status": "draft"},
            format="json",
        )
    assert other.status_code == 201


def test_the_page_counts_with_the_api_and_keeps_what_was_typed(
    client: Any, personas: Personas, shipped: None, settings: Any
) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "questionnaire_draft": (2, 60)}
    plan = plan_in(personas.patient_a, personas)
    schedule = entry(plan, "peg", "intake").pk
    page = reverse("questionnaire", kwargs={"schedule_id": schedule})
    login(client, personas.patient_a.user)
    with on_day(plan, 1):
        api_as(personas.patient_a.user).post(
            reverse("api-questionnaire-response-list"),
            {"schedule": schedule, "answers": {"pain": 1}, "status": "draft"},
            format="json",
        )
        assert client.post(page, {"pain": "2", "action": "draft"}).status_code == 302
        refused = client.post(page, {"pain": "5", "enjoyment": "4", "action": "draft"})
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    html = refused.content.decode()
    assert "Too many requests: 2 questionnaire drafts were saved" in html
    assert 'name="pain" value="5" id="id_pain_5" checked' in html
    assert 'name="enjoyment" value="4" id="id_enjoyment_4" checked' in html
    assert InstrumentResponse.objects.get(schedule_id=schedule).answers == {"pain": 2}
