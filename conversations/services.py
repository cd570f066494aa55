"""Writes of the conversations: sending a message (once), reading, closing "needs a reply", email choice.

Every write is one transaction with its audit entry. A message's text never enters the
audit trail or an email: the entry names the message, its conversation and its length.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Patient, User
from audit.services import audit_log
from conversations.models import MESSAGE_MAX_LENGTH, Conversation, Message, ReaderState
from conversations.notify import notification_recipients
from conversations.tasks import message_notify_send
from portal.api.parsers import text_problem
from portal.errors import BROKER_ERRORS, DomainError, RateLimited

log = logging.getLogger(__name__)

#: An idempotency key: the form's hidden UUID or the API's Idempotency-Key header.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def conversation_for(*, patient: Patient) -> Conversation:
    """The patient's one conversation, created on first use (patient loaded onto it)."""
    conversation, _ = Conversation.objects.get_or_create(patient=patient)
    conversation.patient = patient
    return conversation


def message_text(body: str) -> str:
    """``body`` as it is stored: line ends made ``\\n``, surrounding blank space removed.

    Raises DomainError (field ``body``): empty (nothing but spaces), too_long (over
    ``MESSAGE_MAX_LENGTH``, 2,000 characters, counted after trimming), bad_text (NUL
    characters or lone surrogates: portal.api.parsers.text_problem).
    """
    problem = text_problem(body)
    if problem:
        raise DomainError(f"The message {problem}.", field="body", code="bad_text")
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DomainError("Write a message before sending it.", field="body", code="empty")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise DomainError(
            f"A message can be at most {MESSAGE_MAX_LENGTH:,} characters; this one has {len(text):,}. "
            "Shorten it, or send it in two parts.",
            field="body",
            code="too_long",
        )
    return text


def refuse_past_rate_limit(*, sender: User, now: datetime) -> None:
    """Raise ``RateLimited`` if ``sender`` sent ``PLINTH_RATE_LIMITS["message"]`` messages (10 a
    minute) in the sliding window ending ``now``; counted from the messages themselves, so it
    holds across web processes with nothing but the database. ``retry_after``: seconds until
    the oldest of them leaves the window (at least 1)."""
    limit, period = settings.PLINTH_RATE_LIMITS["message"]
    since = now - timedelta(seconds=period)
    recent = list(
        Message.objects.filter(sender=sender, created_at__gt=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        retry_after = max(1, math.ceil((recent[-1] - since).total_seconds()))
        raise RateLimited(
            f"Too many messages: {limit} were sent in the last minute. Try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


def _publish(message_id: int, user_id: int) -> None:
    try:
        message_notify_send.delay(message_id, user_id)
    except BROKER_ERRORS:
        # The message is stored and shows in the inbox; only the email is lost.
        log.exception("could not enqueue the notification of message %s to user %s", message_id, user_id)


def message_send(
    *,
    conversation: Conversation,
    sender: User,
    body: str,
    idempotency_key: str = "",
    ip: str | None = None,
    now: datetime | None = None,
    notify: bool = True,
) -> tuple[Message, bool]:
    """Store one message from ``sender`` (the patient, or a therapist of the patient's clinic).

    ``conversation``: with its patient (and the patient's user, clinic, therapist) loaded.
    ``body``: the text (``message_text``'s rules). ``idempotency_key``: "" or 1-64 of
    ``[A-Za-z0-9_.:-]``; a second send with the same key by the same sender returns the
    stored message and stores nothing (also when two arrive at once: the database's unique
    constraint decides). The conversation's last message time moves on; a patient's
    message marks it "needs a reply", a therapist's answers it. The sender has read
    everything up to their own message. Once committed, the recipients
    (``notify.notification_recipients``) get a notification task each, unless ``notify`` is
    False (the demo's history: no email about messages of days ago). ``now``: when it was
    sent (default: now).

    Returns (message, created). Raises DomainError: not_found (the sender may not write
    here), bad_key (idempotency_key), key_reused (idempotency_key: the key's message had other
    text), empty / too_long / bad_text (body); RateLimited
    (rate_limited) past ``PLINTH_RATE_LIMITS["message"]``.
    """
    now = now or timezone.now()
    patient = conversation.patient
    is_patient = sender.pk == patient.user_id
    therapist = getattr(sender, "therapist", None)
    if not is_patient and (therapist is None or therapist.clinic_id != patient.clinic_id):
        raise DomainError("No such conversation.", code="not_found")
    if idempotency_key and not KEY_PATTERN.match(idempotency_key):
        raise DomainError(
            "The idempotency key must be 1 to 64 letters, digits or - _ . : characters.",
            field="idempotency_key",
            code="bad_key",
        )
    text = message_text(body)
    mine = Message.objects.filter(conversation=conversation, sender=sender)
    if idempotency_key:
        existing = mine.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _resent(existing, text), False
    refuse_past_rate_limit(sender=sender, now=now)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                sender=sender,
                body=text,
                created_at=now,
                idempotency_key=idempotency_key,
            )
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now, needs_reply=is_patient
            )
            conversation.last_message_at, conversation.needs_reply = now, is_patient
            ReaderState.objects.update_or_create(
                conversation=conversation, user=sender, defaults={"last_read_id": message.pk, "seen_at": now}
            )
            audit_log(
                action="message.sent",
                actor=sender,
                obj=message,
                patient=patient,
                ip=ip,
                data={"conversation": conversation.pk, "length": len(text)},
            )
            recipients = (
                notification_recipients(conversation=conversation, sender_id=sender.pk) if notify else []
            )
            for user_id in recipients:
                transaction.on_commit(partial(_publish, message.pk, user_id))
    except IntegrityError:
        existing = mine.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return _resent(existing, text), False
    return message, True


def _resent(existing: Message, text: str) -> Message:
    # A key names one message: the same text again is the retry it exists for; other text under
    # it would be dropped without a word, so it is refused (the client must choose a new key).
    if existing.body != text:
        raise DomainError(
            "This idempotency key was used for a different message: choose a new key for a new message.",
            field="idempotency_key",
            code="key_reused",
        )
    return existing


def conversation_read(
    *, conversation: Conversation, user: User, via: str, ip: str | None = None, now: datetime | None = None
) -> int:
    """Note that ``user`` has read ``conversation`` up to its latest message, now.

    ``via``: "page" (opened: always an audit entry ``conversation.read``), "poll" (an entry
    only when it brought messages not read before) or "api" (as a page). The reader's
    ``seen_at`` becomes ``now``: notifications wait while they read. Returns the number of
    messages from others newly read. Raises nothing.
    """
    now = now or timezone.now()
    latest = conversation.messages.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        state, _ = ReaderState.objects.select_for_update().get_or_create(conversation=conversation, user=user)
        newly = (
            conversation.messages.filter(id__gt=state.last_read_id, id__lte=latest)
            .exclude(sender=user)
            .count()
            if latest > state.last_read_id
            else 0
        )
        ReaderState.objects.filter(pk=state.pk).update(
            last_read_id=max(latest, state.last_read_id), seen_at=now
        )
        if via != "poll" or newly:
            audit_log(
                action="conversation.read",
                actor=user,
                obj=conversation,
                patient=conversation.patient,
                ip=ip,
                data={"via": via, "up_to": latest, "new": newly},
            )
    return newly


def conversation_reply_close(*, conversation: Conversation, by: User, ip: str | None = None) -> bool:
    """A therapist closes "needs a reply" (answered another way, or nothing to answer).

    Returns whether it was open. Writes ``conversation.reply_closed`` when it was.
    """
    with transaction.atomic():
        changed = Conversation.objects.filter(Q(pk=conversation.pk), Q(needs_reply=True)).update(
            needs_reply=False
        )
        conversation.needs_reply = False
        if changed:
            audit_log(action="conversation.reply_closed", actor=by, obj=conversation, ip=ip)
    return bool(changed)


def message_emails_update(
    *, patient: Patient, enabled: bool, by: User, ip: str | None = None
) -> Conversation:
    """The patient's choice of an email when their care team writes (Settings). Audited when it changes."""
    conversation = conversation_for(patient=patient)
    with transaction.atomic():
        changed = (
            Conversation.objects.filter(pk=conversation.pk)
            .exclude(email_patient=enabled)
            .update(email_patient=enabled)
        )
        conversation.email_patient = enabled
        if changed:
            audit_log(
                action="patient.message_emails_changed",
                actor=by,
                obj=patient,
                ip=ip,
                data={"before": {"message_emails": not enabled}, "after": {"message_emails": enabled}},
            )
    return conversation
