"""The builder lists the plan's questionnaire schedule read-only and links to the page of what the
patient will be asked; that page is the plan's clinic's only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import Personas, login
from tests.questionnaires.test_responses import on_day, plan_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


def _text(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_builder_shows_the_schedule_and_links_to_what_the_patient_is_asked(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)  # starts Mon 2 Mar 2026
    login(client, personas.owner.user)
    with on_day(plan, 1):
        html = client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    section = html[html.index('id="schedule-heading"') :]
    section = section[: section.index("</section>")]
    words = _text(section)
    assert "intake PEG Mon 2 Mar to Sun 8 Mar 2026" in words
    assert "intake PSFS Mon 2 Mar to Sun 8 Mar 2026" in words
    assert "week 6 PSFS" in words and "week 12 GROC" in words
    assert "cannot be changed here" in words
    assert f'href="{reverse("plan-questionnaires", args=[plan.pk])}"' in section
    assert "<form" not in section and "<input" not in section  # read-only


def test_the_questionnaires_page_shows_the_schedule_and_the_questions_as_the_patient_reads_them(
    client: Client, personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    login(client, personas.owner.user)
    url = reverse("plan-questionnaires", args=[plan.pk])
    with on_day(plan, 1):
        response = client.get(url)
    assert response.status_code == 200
    words = _text(response.content.decode())
    assert "intake Patient-Specific Functional Scale Mon 2 Mar to Sun 8 Mar 2026 Open now" in words
    assert "week 12 Global rating of change Mon 18 May to Sun 24 May 2026 Not open yet" in words
    assert "Patient-Specific Functional Scale: what the patient is asked" in words
    assert "What is the activity? Answer: in their own words." in words
    assert "How well can you do this activity? (0 = unable" in words
    assert "Answer: a number from 0 to 10." in words
    assert "Quite a bit better" in words  # the GROC's choices in words
    assert "<form" not in response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    assert AuditEvent.objects.filter(action="careplan.viewed", actor=personas.owner.user).exists()
    # Another clinic's therapist, and the patient: not there.
    login(client, personas.outsider.user)
    assert client.get(url).status_code == 404
    login(client, personas.patient_a.user)
    assert client.get(url).status_code == 404
