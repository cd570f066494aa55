"""Message emails (issue 19): that a message waits and a link, never the text; one an hour per
conversation and recipient; none while reading, once read, or switched off; the own therapist first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from conversations.models import Conversation, Message, ReaderState
from conversations.notify import message_notify
from conversations.services import conversation_for, conversation_read, message_send
from tests.factories import PatientFactory
from tests.harness import SMTPServer

pytestmark = pytest.mark.django_db

SECRET = "my bladder has been strange since Tuesday"


def _send(conversation: Conversation, sender: Any, body: str, capture: Any, key: str = "") -> Message:
    with capture(execute=True):
        message, _ = message_send(conversation=conversation, sender=sender, body=body, idempotency_key=key)
    return message


def test_the_patients_message_emails_their_own_therapist_only_and_never_the_text(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = conversation_for(patient=personas.patient_a)
    _send(conversation, personas.patient_a.user, SECRET, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.to == [personas.owner.user.email]  # not the colleague: they see it in the inbox
    assert SECRET not in email.body and SECRET not in email.subject
    assert "bladder" not in email.body
    assert f"/patients/{personas.patient_a.pk}/messages/" in email.body


def test_a_patient_without_a_therapist_emails_every_therapist_of_the_clinic(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = PatientFactory(clinic=personas.clinic, therapist=None)
    _send(conversation_for(patient=patient), patient.user, "Hello?", django_capture_on_commit_callbacks)
    assert sorted(e.to[0] for e in mail.outbox) == sorted(
        [personas.owner.user.email, personas.colleague.user.email]
    )


def test_at_most_one_email_an_hour_per_conversation_and_recipient(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = conversation_for(patient=personas.patient_a)
    for n in range(4):
        _send(conversation, personas.owner.user, f"Note {n}", django_capture_on_commit_callbacks)
    assert [e.to for e in mail.outbox] == [[personas.patient_a.user.email]]
    # Another recipient is counted apart; the owner, who was just writing, has left the page.
    ReaderState.objects.filter(user=personas.owner.user).update(seen_at=timezone.now() - timedelta(minutes=5))
    _send(conversation, personas.patient_a.user, "Thanks", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2 and mail.outbox[1].to == [personas.owner.user.email]
    # An hour later (and not reading) the next message sends again.
    later = Message.objects.create(conversation=conversation, sender=personas.owner.user, body="Later")
    ReaderState.objects.update(seen_at=timezone.now() - timedelta(minutes=5))  # nobody has it open
    assert message_notify(message_id=later.pk, user_id=personas.patient_a.user.pk) == "throttled"
    hour = timezone.now() + timedelta(hours=1, seconds=1)
    assert message_notify(message_id=later.pk, user_id=personas.patient_a.user.pk, now=hour) == "sent"
    assert len(mail.outbox) == 3


def test_no_email_while_the_recipient_reads_the_conversation_or_once_read(personas: Any) -> None:
    conversation = conversation_for(patient=personas.patient_a)
    user = personas.patient_a.user
    conversation_read(conversation=conversation, user=user, via="poll")  # the page is open
    message, _ = message_send(conversation=conversation, sender=personas.owner.user, body="Still there?")
    assert message_notify(message_id=message.pk, user_id=user.pk) == "reading"
    # Two minutes on, without a poll since: no longer reading, and not read yet.
    later = timezone.now() + timedelta(minutes=2)
    ReaderState.objects.filter(user=user).update(seen_at=timezone.now() - timedelta(minutes=2))
    conversation_read(
        conversation=conversation, user=user, via="page", now=timezone.now() - timedelta(minutes=2)
    )
    assert message_notify(message_id=message.pk, user_id=user.pk, now=later) == "read"
    second, _ = message_send(conversation=conversation, sender=personas.owner.user, body="And?")
    assert message_notify(message_id=second.pk, user_id=user.pk, now=later) == "sent"
    assert len(mail.outbox) == 1


def test_no_email_when_the_patient_switched_them_off(personas: Any) -> None:
    conversation = conversation_for(patient=personas.patient_a)
    Conversation.objects.filter(pk=conversation.pk).update(email_patient=False)
    conversation.email_patient = False
    message, _ = message_send(conversation=conversation, sender=personas.owner.user, body="Hi")
    assert message_notify(message_id=message.pk, user_id=personas.patient_a.user.pk) == "off"
    assert mail.outbox == []


def test_a_therapist_of_another_clinic_is_never_emailed(personas: Any) -> None:
    conversation = conversation_for(patient=personas.patient_a)
    message, _ = message_send(conversation=conversation, sender=personas.patient_a.user, body="Hi")
    assert message_notify(message_id=message.pk, user_id=personas.outsider.user.pk) == "not_allowed"
    assert mail.outbox == []


def test_over_real_smtp_a_failed_send_gives_the_claim_back(personas: Any) -> None:
    """aiosmtpd receives the one email of several messages; an SMTP server that is down fails the
    send (the task retries) and leaves the hour unclaimed, so the retry sends."""
    smtp = SMTPServer()
    conversation = conversation_for(patient=personas.patient_a)
    user = personas.patient_a.user
    messages = [
        message_send(conversation=conversation, sender=personas.owner.user, body=f"Real {n}")[0]
        for n in range(3)
    ]
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp.port,
        EMAIL_TIMEOUT=5,
    ):
        with pytest.raises(OSError):
            message_notify(message_id=messages[0].pk, user_id=user.pk)  # nothing listens yet
        assert ReaderState.objects.get(user=user).notified_at is None
        smtp.start()
        try:
            outcomes = [message_notify(message_id=m.pk, user_id=user.pk) for m in messages]
        finally:
            smtp.stop()
    assert outcomes == ["sent", "throttled", "throttled"]
    assert smtp.handler.counts == {user.email: 1}
