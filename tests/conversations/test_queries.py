"""The inbox and the conversation pages run a fixed number of queries, whatever the numbers of
conversations and messages (pinned here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from conversations.models import Conversation, Message
from tests.caseload.test_queries import _count
from tests.conftest import record_figure
from tests.factories import PatientFactory
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

INBOX_QUERIES = 5
CONVERSATION_QUERIES = 12
PATIENT_PAGE_QUERIES = 13


def _conversations(personas: Any, patients: int, messages: int) -> list[Patient]:
    """``patients`` more patients of the clinic, each with ``messages`` messages (every other one theirs)."""
    made = [PatientFactory(clinic=personas.clinic, therapist=personas.owner) for _ in range(patients)]
    now = timezone.now()
    for patient in [personas.patient_a, *made]:
        conversation, _ = Conversation.objects.get_or_create(patient=patient)
        Message.objects.bulk_create(
            Message(
                conversation=conversation,
                sender=patient.user if n % 2 == 0 else personas.colleague.user,
                body=f"Message {n}",
                created_at=now - timedelta(minutes=messages - n),
            )
            for n in range(messages)
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, needs_reply=True)
    return made


def test_inbox_and_conversation_queries_do_not_grow(personas: Any) -> None:
    owner = as_user(personas.owner.user)
    patient = as_user(personas.patient_a.user)
    pages = {
        "inbox": (owner, reverse("inbox")),
        "inbox list (polled)": (owner, reverse("inbox-list")),
        "conversation": (owner, reverse("patient-conversation", args=[personas.patient_a.pk])),
        "patient messages": (patient, reverse("messages")),
    }
    pinned = {
        "inbox": INBOX_QUERIES,
        "inbox list (polled)": INBOX_QUERIES,
        "conversation": CONVERSATION_QUERIES,
        "patient messages": PATIENT_PAGE_QUERIES,
    }
    _conversations(personas, 2, 3)
    # Opening a conversation writes its own conversation.read entry besides the read entries.
    small = {name: _count(client, url, entries=1)[0] for name, (client, url) in pages.items()}
    _conversations(personas, 60, 80)
    Message.objects.bulk_create(
        Message(
            conversation=personas.patient_a.conversation, sender=personas.patient_a.user, body=f"More {n}"
        )
        for n in range(40)
    )
    large = {}
    for name, (client, url) in pages.items():
        large[name], response = _count(client, url, entries=1)
        assert response.status_code == 200
    assert small == large, (small, large)
    for name, count in large.items():
        assert count <= pinned[name], (name, count)
        record_figure(
            f"queries: {name} {count} at 3 and 63 conversations, 3 and 120 messages "
            f"(pinned at most {pinned[name]})"
        )
    html = _count(owner, reverse("inbox"))[1].content.decode()
    assert "Page 1 of 3" in html and html.count('class="card inbox-row') == 25
