"""Messages (issue 19): sending once, bad input, read state per user, needs a reply, audit, export,
tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from checkins.redflags import ACTIONS, RED_FLAGS
from conversations.models import Conversation, Message
from conversations.selectors import unread_by_patient, unread_count
from conversations.services import conversation_for, message_send
from tests.helpers import HTMX, as_user
from tests.world import api_as

pytestmark = pytest.mark.django_db


def _send(personas: Any, sender: Any, body: str = "Hello", key: str = "") -> Message:
    conversation = conversation_for(patient=personas.patient_a)
    message, created = message_send(conversation=conversation, sender=sender, body=body, idempotency_key=key)
    assert created
    return message


def _post(client: Client, url: str, body: str, key: str = "k-1") -> Any:
    return client.post(url, {"body": body, "idempotency_key": key})


def test_patient_sends_from_the_page_and_the_therapist_reads_it(personas: Any) -> None:
    patient = as_user(personas.patient_a.user)
    response = _post(patient, reverse("messages"), "  My knee clicks when I do the bridge.  ")
    assert response.status_code == 302 and response["Location"] == "/messages/#latest"
    [message] = Message.objects.all()
    assert (
        message.body == "My knee clicks when I do the bridge." and message.sender == personas.patient_a.user
    )
    conversation = message.conversation
    assert conversation.needs_reply
    page = patient.get(reverse("messages")).content.decode()
    assert "My knee clicks when I do the bridge." in page and 'id="latest"' in page
    # The therapist's inbox: unread, needing a reply; opening the conversation reads it.
    owner = as_user(personas.owner.user)
    inbox = owner.get(reverse("inbox")).content.decode()
    assert "Ada Patient" in inbox and "1 unread" in inbox and "Needs a reply" in inbox
    assert unread_count(user=personas.owner.user) == 1
    owner.get(reverse("patient-conversation", args=[personas.patient_a.pk]))
    assert unread_count(user=personas.owner.user) == 0
    # Answering closes "needs a reply"; the patient now has one unread.
    _post(owner, reverse("patient-conversation", args=[personas.patient_a.pk]), "Keep going; it is harmless.")
    conversation.refresh_from_db()
    assert not conversation.needs_reply
    assert unread_count(user=personas.patient_a.user) == 1
    badge = patient.get(reverse("messages-unread"), **HTMX).content.decode()
    assert '<span class="badge">1</span>' in badge
    patient.get(reverse("messages"))
    assert unread_count(user=personas.patient_a.user) == 0
    assert '<span class="badge">' not in patient.get(reverse("messages-unread"), **HTMX).content.decode()


def test_two_therapists_each_have_their_own_unread_count(personas: Any) -> None:
    for text in ("one", "two", "three"):
        _send(personas, personas.patient_a.user, text)
    owner, colleague = personas.owner.user, personas.colleague.user
    assert unread_count(user=owner) == unread_count(user=colleague) == 3
    as_user(owner).get(reverse("patient-conversation", args=[personas.patient_a.pk]))
    assert (unread_count(user=owner), unread_count(user=colleague)) == (0, 3)
    _send(personas, personas.patient_a.user, "four")
    assert (unread_count(user=owner), unread_count(user=colleague)) == (1, 4)
    # A colleague's reply is no unread message for the owner: only the patient's are.
    _send(personas, colleague, "Answered")
    assert (unread_count(user=owner), unread_count(user=colleague)) == (1, 0)
    assert unread_by_patient(user=owner, patient_ids=[personas.patient_a.pk, personas.patient_b.pk]) == {
        personas.patient_a.pk: 1
    }
    # The caseload shows it on the row; a therapist of another clinic counts nothing.
    caseload = as_user(owner).get(reverse("caseload")).content.decode()
    assert "1 unread message<" in caseload
    assert unread_count(user=personas.outsider.user) == 0


def test_the_count_is_the_same_in_every_tab_and_device(personas: Any) -> None:
    _send(personas, personas.owner.user, "Hi Ada")
    phone, laptop = as_user(personas.patient_a.user), as_user(personas.patient_a.user)
    assert '<span class="badge">1</span>' in laptop.get(reverse("messages-unread")).content.decode()
    phone.get(reverse("messages"))
    assert '<span class="badge">' not in laptop.get(reverse("messages-unread")).content.decode()


def test_a_repeated_send_stores_one_message(personas: Any) -> None:
    patient = as_user(personas.patient_a.user)
    for _ in range(3):
        assert _post(patient, reverse("messages"), "Same text", key="form-key-1").status_code == 302
    assert Message.objects.count() == 1
    # Another key is another message, even with the same text.
    _post(patient, reverse("messages"), "Same text", key="form-key-2")
    assert Message.objects.count() == 2
    # The API: the Idempotency-Key header, 201 then 200 with the same message.
    api = api_as(personas.patient_a.user)
    url = reverse("api-me-messages")
    first = api.post(url, {"body": "Via the app"}, format="json", HTTP_IDEMPOTENCY_KEY="app-7")
    again = api.post(url, {"body": "Via the app"}, format="json", HTTP_IDEMPOTENCY_KEY="app-7")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.count() == 3
    assert AuditEvent.objects.filter(action="message.sent").count() == 3


BAD_INPUT = [
    ("", "Write a message before sending it."),
    ("   \n\t  ", "Write a message before sending it."),
    ("x" * 2001, "at most 2,000 characters; this one has 2,001"),
    ("before\x00after", "NUL"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_INPUT, ids=["empty", "whitespace", "too-long", "nul"])
def test_bad_input_is_refused_with_the_reason_and_the_text_kept(
    personas: Any, body: str, reason: str
) -> None:
    patient = as_user(personas.patient_a.user)
    response = _post(patient, reverse("messages"), body, key="kept-key")
    assert response.status_code == 400
    html = response.content.decode()
    assert reason in html
    if "\x00" not in body and body.strip():
        # What was typed is in the box again, with the same key: sending it again is safe.
        assert f">\n{body}</textarea>" in html or f">{body}</textarea>" in html
        assert 'value="kept-key"' in html
    api = api_as(personas.patient_a.user)
    answer = api.post(reverse("api-me-messages"), {"body": body}, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    # The field and the reason (a NUL is refused by the API's JSON parser, naming the field).
    assert answer.status_code == 400
    assert "body" in str(answer.json()) and reason.split(";")[0] in str(answer.json())
    assert not Message.objects.exists()


def test_exactly_2000_characters_is_allowed(personas: Any) -> None:
    response = _post(as_user(personas.patient_a.user), reverse("messages"), "y" * 2000)
    assert response.status_code == 302 and len(Message.objects.get().body) == 2000


def test_a_flood_is_refused_with_429_and_the_text_kept(personas: Any, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "message": (3, 60)}
    patient = as_user(personas.patient_a.user)
    for n in range(3):
        assert _post(patient, reverse("messages"), f"m{n}", key=f"k{n}").status_code == 302
    refused = _post(patient, reverse("messages"), "One more thing", key="k3")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    html = refused.content.decode()
    assert "Too many messages" in html and "One more thing</textarea>" in html
    # The same key again (a retry of one that went through) is not a new message, so no 429.
    assert _post(patient, reverse("messages"), "m0", key="k0").status_code == 302
    api = api_as(personas.patient_a.user)
    answer = api.post(
        reverse("api-me-messages"), {"body": "API too"}, format="json", HTTP_IDEMPOTENCY_KEY="a-1"
    )
    assert answer.status_code == 429 and "Retry-After" in answer
    assert Message.objects.count() == 3


def test_needs_a_reply_can_be_closed_by_a_therapist(personas: Any) -> None:
    _send(personas, personas.patient_a.user, "Thanks, all clear now")
    url = reverse("patient-conversation", args=[personas.patient_a.pk])
    owner = as_user(personas.owner.user)
    assert "Needs a reply" in owner.get(url).content.decode()
    response = owner.post(reverse("patient-conversation-close", args=[personas.patient_a.pk]))
    assert response.status_code == 302
    assert not Conversation.objects.get().needs_reply
    assert "Needs a reply" not in owner.get(url).content.decode()
    assert (
        AuditEvent.objects.filter(action="conversation.reply_closed", actor=personas.owner.user).count() == 1
    )


def test_every_message_and_every_read_is_in_the_audit_trail(personas: Any) -> None:
    message = _send(personas, personas.patient_a.user, "A private worry")
    owner = as_user(personas.owner.user)
    owner.get(reverse("patient-conversation", args=[personas.patient_a.pk]))
    sent = AuditEvent.objects.get(action="message.sent")
    assert sent.patient_id == personas.patient_a.pk and sent.object_id == str(message.pk)
    # The text itself never enters the trail.
    assert "worry" not in str(sent.data)
    read = AuditEvent.objects.get(action="conversation.read", actor=personas.owner.user)
    assert read.patient_id == personas.patient_a.pk and read.data["up_to"] == message.pk
    assert AuditEvent.objects.filter(action="conversation.viewed", actor=personas.owner.user).exists()
    # A poll with nothing new notes the look, not another read entry.
    poll = reverse("patient-conversation-thread", args=[personas.patient_a.pk]) + f"?after={message.pk}"
    assert owner.get(poll, **HTMX).status_code == 204
    assert AuditEvent.objects.filter(action="conversation.read", actor=personas.owner.user).count() == 1
    # The API's list is a read too.
    api_as(personas.colleague.user).get(reverse("api-patient-messages", args=[personas.patient_a.pk]))
    assert AuditEvent.objects.filter(action="conversation.read", actor=personas.colleague.user).count() == 1


def test_the_poll_brings_new_messages_and_the_count(personas: Any) -> None:
    first = _send(personas, personas.owner.user, "First")
    patient = as_user(personas.patient_a.user)
    patient.get(reverse("messages"))
    poll = reverse("messages-thread") + f"?after={first.pk}"
    assert patient.get(poll, **HTMX).status_code == 204
    _send(personas, personas.colleague.user, "Second, from Colin")
    html = patient.get(poll, **HTMX).content.decode()
    assert "Second, from Colin" in html and "1 new message." in html
    assert 'id="nav-unread"' in html and 'hx-swap-oob="true"' in html
    assert unread_count(user=personas.patient_a.user) == 0


def test_the_export_holds_the_patients_messages(personas: Any) -> None:
    _send(personas, personas.patient_a.user, "Is swimming fine?")
    _send(personas, personas.owner.user, "Yes, gently.")
    export = api_as(personas.patient_a.user).get(reverse("api-me-export")).json()
    assert [(m["from"], m["body"]) for m in export["messages"]] == [
        ("you", "Is swimming fine?"),
        ("Olive Owner", "Yes, gently."),
    ]


def test_another_clinic_or_another_patient_gets_404(personas: Any) -> None:
    _send(personas, personas.patient_a.user, "Only for my clinic")
    pid = personas.patient_a.pk
    outsider = as_user(personas.outsider.user)
    for name in ("patient-conversation", "patient-conversation-thread"):
        assert outsider.get(reverse(name, args=[pid])).status_code == 404
    assert outsider.post(reverse("patient-conversation", args=[pid]), {"body": "x"}).status_code == 404
    assert outsider.post(reverse("patient-conversation-close", args=[pid])).status_code == 404
    assert "Only for my clinic" not in outsider.get(reverse("inbox")).content.decode()
    api = api_as(personas.outsider.user)
    url = reverse("api-patient-messages", args=[pid])
    assert api.get(url).status_code == 404
    assert api.post(url, {"body": "x"}, format="json").status_code == 404
    # Another patient: their own (empty) conversation, never A's; A's therapist routes are 404.
    other = as_user(personas.patient_b.user)
    assert "Only for my clinic" not in other.get(reverse("messages")).content.decode()
    assert other.get(reverse("patient-conversation", args=[pid])).status_code == 404
    assert api_as(personas.patient_b.user).get(url).status_code == 404
    assert api_as(personas.patient_b.user).get(reverse("api-me-messages")).json()["count"] == 0
    assert Message.objects.count() == 1


def test_the_patients_page_reminds_them_how_to_report_symptoms_urgently(personas: Any) -> None:
    html = as_user(personas.patient_a.user).get(reverse("messages")).content.decode()
    # The check-in's own words (checkins.redflags), not a copy.
    for flag in RED_FLAGS:
        assert flag.told in html
    for action in ACTIONS.values():
        assert action in html


def test_the_patient_turns_message_emails_off_in_settings(personas: Any) -> None:
    patient = as_user(personas.patient_a.user)
    settings_page = patient.get(reverse("patient-settings")).content.decode()
    assert 'name="message_emails" id="id_message_emails" checked' in settings_page
    response = patient.post(reverse("message-emails"), {})
    assert response.status_code == 302 and response["Location"] == reverse("patient-settings")
    assert not Conversation.objects.get(patient=personas.patient_a).email_patient
    assert 'id="id_message_emails" checked' not in patient.get(reverse("patient-settings")).content.decode()
    assert AuditEvent.objects.filter(action="patient.message_emails_changed").count() == 1
    patient.post(reverse("message-emails"), {"message_emails": "on"})
    assert Conversation.objects.get(patient=personas.patient_a).email_patient


def test_the_record_shows_the_conversation_and_its_send_box_comes_back(personas: Any) -> None:
    _send(personas, personas.patient_a.user, "Seen on the record")
    record = reverse("patient-record", args=[personas.patient_a.pk])
    owner = as_user(personas.owner.user)
    html = owner.get(record).content.decode()
    assert "Seen on the record" in html and "Needs a reply" in html
    response = owner.post(
        reverse("patient-conversation", args=[personas.patient_a.pk]),
        {"body": "Reply from the record", "idempotency_key": "r1", "next": record},
    )
    assert response.status_code == 302 and response["Location"] == record


def test_the_inbox_list_polls_and_brings_new_conversations(personas: Any) -> None:
    """The inbox page polls its list (in the background, not keeping the session alive); the
    polled fragment shows a conversation started since the page was opened."""
    owner = as_user(personas.owner.user)
    page = owner.get(reverse("inbox")).content.decode()
    assert "No messages yet" in page
    poll = reverse("inbox-list") + "?page=1"
    assert f'hx-get="{poll}" hx-trigger="every 15s"' in page
    assert """hx-headers='{"X-Plinth-Background": "1"}'""" in page
    _send(personas, personas.patient_a.user, "Is Tuesday fine?")
    html = owner.get(poll, HTTP_X_PLINTH_BACKGROUND="1", **HTMX).content.decode()
    assert '<div id="inbox-list"' in html
    assert "<h1>" not in html and "Ada Patient" in html and "1 unread" in html
    assert "Is Tuesday fine?" in html


def test_polling_does_not_keep_an_idle_session_alive(personas: Any, settings: Any) -> None:
    from accounts.middleware import LAST_SEEN_KEY

    owner = as_user(personas.owner.user)
    owner.get(reverse("inbox"))
    session = owner.session
    session[LAST_SEEN_KEY] = session[LAST_SEEN_KEY] - 600
    session.save()
    stamp = owner.session[LAST_SEEN_KEY]
    owner.get(reverse("messages-unread"), HTTP_X_PLINTH_BACKGROUND="1", **HTMX)
    assert owner.session[LAST_SEEN_KEY] == stamp
    owner.get(reverse("inbox"))
    assert owner.session[LAST_SEEN_KEY] > stamp


def test_the_api_lists_newest_first_and_sends_with_the_pages_rules(personas: Any) -> None:
    _send(personas, personas.patient_a.user, "First from Ada")
    api = api_as(personas.owner.user)
    url = reverse("api-patient-messages", args=[personas.patient_a.pk])
    sent = api.post(url, {"body": "Reply by API"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert sent.status_code == 201 and sent.json()["from_patient"] is False
    assert sent.json()["sender_name"] == "Olive Owner"
    listed = api.get(url).json()
    assert [(m["body"], m["from_patient"]) for m in listed["results"]] == [
        ("Reply by API", False),
        ("First from Ada", True),
    ]
    # The colleague has not read it; listing through the API reads it for them alone.
    assert unread_count(user=personas.colleague.user) == 1
    api_as(personas.colleague.user).get(url)
    assert unread_count(user=personas.colleague.user) == 0
    # A bad key, an unknown field: 400 naming it.
    bad = api.post(url, {"body": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="has spaces")
    assert bad.status_code == 400 and "idempotency_key" in bad.json()
    unknown = api.post(url, {"body": "x", "attachment": "a.png"}, format="json", HTTP_IDEMPOTENCY_KEY="t-2")
    assert unknown.status_code == 400 and "attachment" in unknown.json()
    assert Message.objects.count() == 2
