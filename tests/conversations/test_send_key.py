"""A message is sent once per key: the API refuses a send without its Idempotency-Key header
(400 naming it), and the page's send box, which always carries a hidden key, comes back with the
text, a fresh key and the reason when one is posted without it; nothing is stored either way."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import reverse

from conversations.models import Message
from tests.helpers import as_user
from tests.world import api_as

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["patient", "therapist"])
def test_the_api_refuses_a_send_without_an_idempotency_key(personas: Any, who: str) -> None:
    if who == "patient":
        api, url = api_as(personas.patient_a.user), reverse("api-me-messages")
    else:
        api, url = api_as(personas.owner.user), reverse("api-patient-messages", args=[personas.patient_a.pk])
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": ""}, {"HTTP_IDEMPOTENCY_KEY": "   "}):
        refused = api.post(url, {"body": "Hello"}, format="json", **headers)
        assert refused.status_code == 400, headers
        assert list(refused.json()) == ["Idempotency-Key"]
        assert "Send an Idempotency-Key header" in refused.json()["Idempotency-Key"][0]
    assert not Message.objects.exists()
    assert api.post(url, {"body": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    # /me/messages/ names no patient: without a key it is a 400 for a therapist too (the schema's
    # required header); a patient's URL of another clinic is still 404 first, key or not.
    no_key = api_as(personas.owner.user).post(reverse("api-me-messages"), {"body": "x"}, format="json")
    assert no_key.status_code == 400 and list(no_key.json()) == ["Idempotency-Key"]
    with_key = api_as(personas.owner.user).post(
        reverse("api-me-messages"), {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert with_key.status_code == 404
    outsider = api_as(personas.outsider.user)
    assert (
        outsider.post(
            reverse("api-patient-messages", args=[personas.patient_a.pk]), {"body": "x"}, format="json"
        ).status_code
        == 404
    )


def test_the_schema_says_the_header_is_required(personas: Any) -> None:
    schema = api_as(personas.owner.user).get(reverse("api-schema") + "?format=json")
    spec = json.loads(schema.content)
    for path in ("/api/v1/me/messages/", "/api/v1/patients/{patient_id}/messages/"):
        post = spec["paths"][path]["post"]
        [header] = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is True, path


def test_the_send_box_always_carries_a_key_and_a_post_without_one_sends_nothing(personas: Any) -> None:
    patient = as_user(personas.patient_a.user)
    page = patient.get(reverse("messages")).content.decode()
    assert re.search(r'<input type="hidden" name="idempotency_key" value="[0-9a-f]{32}"', page)
    refused = patient.post(reverse("messages"), {"body": "Can I swim this week?"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Your message was not sent: the form was missing its one-time key." in html
    assert "Can I swim this week?</textarea>" in html
    fresh = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert fresh is not None
    assert not Message.objects.exists()
    # Pressing Send again sends it once, however often.
    for _ in range(2):
        sent = patient.post(
            reverse("messages"), {"body": "Can I swim this week?", "idempotency_key": fresh[1]}
        )
        assert sent.status_code == 302
    assert Message.objects.count() == 1
    # The therapist's send box on the patient's conversation too.
    owner = as_user(personas.owner.user)
    url = reverse("patient-conversation", args=[personas.patient_a.pk])
    assert owner.post(url, {"body": "Yes, gently.", "idempotency_key": ""}).status_code == 400
    assert Message.objects.count() == 1


def test_a_key_names_one_message(personas: Any) -> None:
    """The same key with the same text is the retry it exists for (200, stored once); with other text
    it would drop that text without a word, so it is a 400 naming the key, and nothing is stored."""
    api, url = api_as(personas.patient_a.user), reverse("api-me-messages")
    first = api.post(url, {"body": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    again = api.post(url, {"body": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = api.post(url, {"body": "DIFFERENT"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert other.status_code == 400
    assert "used for a different message" in other.json()["idempotency_key"][0]
    assert list(Message.objects.values_list("body", flat=True)) == ["Hello"]
