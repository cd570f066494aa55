"""A NUL character in what was typed into a page's form (a paste from another program) does not
lose the text: the input guard removes it before the view reads the form and the page says so;
the message send box shows the message again to check rather than sending it; a refusal of the
form's own rules re-shows the form with the text. The API still refuses a NUL, naming the field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from checkins.models import PainCheckIn
from conversations.models import Message
from portal.input_guard import NUL_REMOVED_NOTICE
from tests.conftest import Personas, login
from tests.today.test_pages import GOOD
from tests.world import World, api_as

pytestmark = pytest.mark.django_db

NOTICE = NUL_REMOVED_NOTICE.replace("'", "&#x27;")


def test_the_messages_page_shows_the_message_again_without_the_nul(personas: Personas) -> None:
    client = login(Client(), personas.patient_a.user)
    response = client.post(
        reverse("messages"), {"body": "Can I\x00 swim this week?", "idempotency_key": "k-1"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert NOTICE in html
    assert "Your message had a NUL character, which cannot be sent; it is removed." in html
    assert "Can I swim this week?</textarea>" in html
    assert "\x00" not in html and "This request cannot be read" not in html
    assert not Message.objects.exists()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert key is not None and key[1] == "k-1"
    sent = client.post(reverse("messages"), {"body": "Can I swim this week?", "idempotency_key": key[1]})
    assert sent.status_code == 302
    assert Message.objects.get().body == "Can I swim this week?"
    # The API keeps refusing a NUL, naming the field.
    api = api_as(personas.patient_a.user)
    refused = api.post(
        reverse("api-me-messages"), {"body": "a\x00b"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert refused.status_code == 400 and "the value at 'body' contains a NUL" in str(refused.json())


def test_a_form_page_keeps_the_text_without_the_nul(world: World) -> None:
    client = login(Client(), world.p.owner.user)
    url = reverse("plan-details", kwargs={"plan_id": world.draft_a.pk})
    # Refused by the form's own rules (no start date): the form again, the title without its NUL.
    body = urlencode({"details-title": "Knee\x00 plan", "details-condition": "x"})
    refused = client.post(url, body, content_type="application/x-www-form-urlencoded")
    html = refused.content.decode()
    assert refused.status_code == 400 and "This request cannot be read" not in html
    assert 'value="Knee plan"' in html and NOTICE in html
    world.draft_a.refresh_from_db()
    assert world.draft_a.title == "Next plan"
    # A whole form: saved without the NUL, the notice on the page it leads to.
    details = {
        "details-title": "Knee\x00 plan",
        "details-condition": "x",
        "details-start_date": world.draft_a.start_date.isoformat(),
        "details-length_weeks": str(world.draft_a.length_weeks),
    }
    saved = client.post(
        url, urlencode(details), content_type="application/x-www-form-urlencoded", follow=True
    )
    assert saved.status_code == 200 and NOTICE in saved.content.decode()
    world.draft_a.refresh_from_db()
    assert world.draft_a.title == "Knee plan"


def test_a_multipart_form_keeps_the_text_without_the_nul(personas: Personas, plan_a: Any) -> None:
    client = login(Client(), personas.patient_a.user)
    response = client.post(reverse("checkin"), {**GOOD, "note": "Sore\x00 after stairs"}, follow=True)
    assert response.status_code == 200 and NOTICE in response.content.decode()
    assert PainCheckIn.objects.get().note == "Sore after stairs"
