"""Two therapists of one clinic: a reply one sends is the care team's own message, never unread
for the other (the inbox, the nav count, the conversation's "New" tags and its "unread" count);
the patient's messages are unread for each therapist until that therapist reads them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from conversations.selectors import conversation_thread, unread_by_patient, unread_count
from conversations.services import conversation_for, message_send
from tests.helpers import as_user

pytestmark = pytest.mark.django_db


def _inbox_row(html: str, name: str) -> str:
    return next(row for row in html.split('<li class="card inbox-row') if name in row)


def test_a_colleagues_reply_is_not_unread_for_the_care_team(personas: Any) -> None:
    patient, owner, colleague = personas.patient_a, personas.owner, personas.colleague
    conversation = conversation_for(patient=patient)
    message_send(conversation=conversation, sender=patient.user, body="My knee hurts", idempotency_key="p1")
    owner_page = as_user(owner.user)
    owner_page.get(reverse("patient-conversation", args=[patient.pk]))  # the owner reads it
    message_send(conversation=conversation, sender=owner.user, body="Try ice tonight", idempotency_key="o1")

    # The colleague has one unread: the patient's, not the owner's reply.
    assert unread_count(user=colleague.user) == 1
    assert unread_by_patient(user=colleague.user, patient_ids=[patient.pk]) == {patient.pk: 1}
    # The owner has none: the patient's was read, the reply is their own.
    assert unread_count(user=owner.user) == 0
    page = as_user(colleague.user)
    row = _inbox_row(page.get(reverse("inbox")).content.decode(), patient.user.full_name)
    assert "1 unread" in row
    html = page.get(reverse("patient-conversation", args=[patient.pk])).content.decode()
    # "New" on the patient's message only; the conversation counts 1 unread.
    items = re.findall(r'<li class="msg .*?</li>', html, re.S)
    new = {("My knee hurts" in item, "Try ice tonight" in item): "tag-new" in item for item in items}
    assert new == {(True, False): True, (False, True): False}
    assert "1 unread" in html and "2 unread" not in html

    # Another reply from the owner after the colleague read: nothing new for the colleague.
    message_send(conversation=conversation, sender=owner.user, body="And rest", idempotency_key="o2")
    assert unread_count(user=colleague.user) == 0
    thread = conversation_thread(conversation=conversation, reader=colleague.user)
    assert [m.body for m in thread.messages if m.unread] == [] and thread.unread == 0
    assert "unread" not in _inbox_row(page.get(reverse("inbox")).content.decode(), patient.user.full_name)
    # For the patient both replies are new.
    mine = conversation_thread(conversation=conversation, reader=patient.user)
    assert [m.body for m in mine.messages if m.unread] == ["Try ice tonight", "And rest"]
