"""The email that says a new message is waiting: never its text, at most one an hour, none while reading.

Email is not a secure channel, so the notification names neither the message nor the
patient's health: only that a message waits, and a link to sign in and read it
(issue 19). Per conversation and recipient: at most one every
``PLINTH_MESSAGE_NOTIFY_SECONDS`` (an hour), and none while the recipient has the
conversation open (a page open or a poll within ``PLINTH_MESSAGE_READING_SECONDS``),
or has already read the message. The throttle is claimed with a conditional update
of the recipient's ``ReaderState`` (exactly one caller changes the row), so two
workers or a repeated task send one email.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from conversations.models import Conversation, Message, ReaderState
from portal.pages import absolute_url

log = logging.getLogger(__name__)


def notification_recipients(*, conversation: Conversation, sender_id: int) -> list[int]:
    """The user ids to email about a new message from ``sender_id`` (patient, user and therapist loaded).

    The patient's message goes to their own therapist first, by email; the clinic's other
    therapists see it in their inbox. A patient without a therapist: every therapist of the
    clinic. A therapist's message goes to the patient (if they have not switched message
    emails off in Settings).
    """
    patient = conversation.patient
    if sender_id != patient.user_id:
        return [patient.user_id] if conversation.email_patient else []
    if patient.therapist is not None:
        return [patient.therapist.user_id]
    return list(patient.clinic.therapists.values_list("user_id", flat=True))


def _may_read(user: User, conversation: Conversation) -> bool:
    patient = conversation.patient
    if user.pk == patient.user_id:
        return True
    therapist = getattr(user, "therapist", None)
    return therapist is not None and therapist.clinic_id == patient.clinic_id


def notification_message(*, recipient: User, conversation: Conversation) -> EmailMessage:
    """The email to ``recipient``: that a message waits and the link to it, never its text. Not sent."""
    patient = conversation.patient
    if recipient.pk == patient.user_id:
        link = absolute_url(reverse("messages"))
        body = (
            f"Hello {recipient.get_short_name()},\n\n"
            "Your care team has sent you a message in Plinth. To read it, sign in:\n"
            f"{link}\n\n"
            "For your privacy, we never put the message itself in an email.\n\n"
            "To stop these emails, switch message emails off in your settings:\n"
            f"{absolute_url(reverse('patient-settings'))}\n"
        )
        subject = "You have a new message from your care team"
    else:
        link = absolute_url(reverse("patient-conversation", args=[patient.pk]))
        body = (
            f"Hello {recipient.get_short_name()},\n\n"
            "One of your patients has sent a message in Plinth. To read it, sign in:\n"
            f"{link}\n\n"
            "For the patient's privacy, we never put the message itself in an email.\n"
        )
        subject = "A patient has sent you a message"
    return EmailMessage(subject=subject, body=body, to=[recipient.email])


def message_notify(*, message_id: int, user_id: int, now: datetime | None = None) -> str:
    """Email ``user_id`` that message ``message_id`` waits, unless a rule says not to.

    Returns the outcome: "sent"; "gone" (no such message or active user); "not_allowed"
    (the user may no longer read the conversation, e.g. the patient moved clinic); "off"
    (the patient switched message emails off); "read" (they have read it); "reading"
    (they looked within ``PLINTH_MESSAGE_READING_SECONDS``); "throttled" (emailed about
    this conversation within ``PLINTH_MESSAGE_NOTIFY_SECONDS``). Raises what the mail
    backend raises (SMTP and connection errors), after giving the claim back so the
    retry may send.
    """
    now = now or timezone.now()
    message = Message.objects.select_related("conversation__patient__user").filter(pk=message_id).first()
    recipient = User.objects.select_related("therapist").filter(pk=user_id, is_active=True).first()
    if message is None or recipient is None or not recipient.email:
        return "gone"
    conversation = message.conversation
    if not _may_read(recipient, conversation):
        return "not_allowed"
    if (
        recipient.pk == conversation.patient.user_id
        and not Conversation.objects.filter(pk=conversation.pk, email_patient=True).exists()
    ):
        return "off"
    try:
        state, _ = ReaderState.objects.get_or_create(conversation=conversation, user=recipient)
    except IntegrityError:  # created at the same instant by a page open
        state = ReaderState.objects.get(conversation=conversation, user=recipient)
    if state.last_read_id >= message.pk:
        return "read"
    reading = timedelta(seconds=settings.PLINTH_MESSAGE_READING_SECONDS)
    if state.seen_at is not None and state.seen_at >= now - reading:
        return "reading"
    every = timedelta(seconds=settings.PLINTH_MESSAGE_NOTIFY_SECONDS)
    claimed = (
        ReaderState.objects.filter(pk=state.pk)
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lte=now - every))
        .update(notified_at=now)
    )
    if claimed != 1:
        return "throttled"
    try:
        notification_message(recipient=recipient, conversation=conversation).send()
    except Exception:
        # Given back, so the task's retry may send; only if no one claimed it since.
        ReaderState.objects.filter(pk=state.pk, notified_at=now).update(notified_at=state.notified_at)
        log.warning("message notification %s to user %s failed", message_id, user_id, exc_info=True)
        raise
    return "sent"
