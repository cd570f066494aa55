"""Reads of the conversations: a thread, unread counts per user, the therapist's inbox.

Unread is per user, from the database (``ReaderState.last_read_id``), so every tab and
device of a user shows the same count. For a patient, unread are the care team's
messages after the last one they read; for a therapist, the patient's messages after the
last one that therapist read (each therapist has their own count). Every function here
runs a fixed number of queries, whatever the number of conversations or messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import Clinic, Patient, User
from audit.services import audit_read
from conversations.models import Conversation, Message, ReaderState

#: The latest messages a page shows; "Earlier messages" pages back through the rest.
THREAD_SIZE = 30
INBOX_PAGE_SIZE = 25


def _read_to(user: User, conversation: Any) -> Coalesce:
    """The id of the last message ``user`` read in ``conversation`` (an expression), 0 for none."""
    state = ReaderState.objects.filter(conversation=conversation, user=user).values("last_read_id")[:1]
    return Coalesce(Subquery(state), Value(0))


def _unread_messages(user: User) -> QuerySet[Message]:
    """Messages unread by ``user``: after their place in the conversation and written by the
    other side (the care team's for the patient, the patient's for a therapist)."""
    qs = Message.objects.filter(id__gt=_read_to(user, OuterRef("conversation")))
    if getattr(user, "patient", None) is not None:
        return qs.filter(conversation__patient__user=user).exclude(sender=user)
    return qs.filter(sender_id=F("conversation__patient__user_id"))


def unread_count(*, user: User) -> int:
    """``user``'s unread messages over every conversation they can read, in one query.

    A patient: their own conversation. A therapist: every conversation of their clinic.
    Anyone else: 0 (no query).
    """
    if getattr(user, "patient", None) is not None:
        return _unread_messages(user).count()
    therapist = getattr(user, "therapist", None)
    if therapist is None:
        return 0
    return _unread_messages(user).filter(conversation__patient__clinic_id=therapist.clinic_id).count()


def unread_by_patient(*, user: User, patient_ids: list[int]) -> dict[int, int]:
    """A therapist's unread messages per patient (patient id -> count, only those with some), one query."""
    if not patient_ids:
        return {}
    rows = (
        _unread_messages(user)
        .filter(conversation__patient_id__in=patient_ids)
        .values("conversation__patient_id")
        .annotate(n=Count("id"))
        .values_list("conversation__patient_id", "n")
    )
    return dict(rows)


@dataclass(frozen=True)
class MessageThread:
    """The latest messages of a conversation, oldest first (newest at the bottom).

    ``messages``: up to ``THREAD_SIZE`` (sender loaded), each with ``from_patient`` and
    ``unread`` (for the reader, before this read: the other side's messages after the reader's
    place, so for a therapist only the patient's, never a colleague's reply) set; ``earlier``:
    the id to page back from (None when these are all); ``read_to``: the reader's last read id before opening.
    """

    conversation: Conversation
    messages: list[Message]
    earlier: int | None
    read_to: int

    @property
    def latest_id(self) -> int:
        return self.messages[-1].pk if self.messages else 0

    @property
    def unread(self) -> int:
        return len([message for message in self.messages if getattr(message, "unread", False)])


def conversation_thread(
    *, conversation: Conversation, reader: User, before: int | None = None, size: int = THREAD_SIZE
) -> MessageThread:
    """The ``size`` latest messages of ``conversation`` (patient loaded), or those before message id
    ``before``, in two queries; noted as read for the audit trail (``audit_read``)."""
    read_to = (
        ReaderState.objects.filter(conversation=conversation, user=reader)
        .values_list("last_read_id", flat=True)
        .first()
        or 0
    )
    qs = conversation.messages.select_related("sender").order_by("-id")
    if before is not None:
        qs = qs.filter(id__lt=before)
    latest = list(qs[: size + 1])
    earlier = latest[size - 1].pk if len(latest) > size else None
    shown = list(reversed(latest[:size]))
    patient_user = conversation.patient.user_id
    reader_is_patient = reader.pk == patient_user
    for message in shown:
        message.conversation = conversation
        message.from_patient = message.sender_id == patient_user  # type: ignore[attr-defined]
        # Unread as the counts have it (``_unread_messages``): the other side's messages after the
        # reader's place; a colleague's reply is the care team's own, never new to the team.
        other_side = message.from_patient != reader_is_patient  # type: ignore[attr-defined]
        message.unread = message.pk > read_to and other_side  # type: ignore[attr-defined]
    audit_read([conversation])
    return MessageThread(conversation=conversation, messages=shown, earlier=earlier, read_to=read_to)


def conversation_of_patient(*, patient: Patient) -> Conversation | None:
    """The patient's conversation (patient loaded onto it), or None before the first message."""
    conversation = Conversation.objects.filter(patient=patient).first()
    if conversation is not None:
        conversation.patient = patient
    return conversation


def inbox(*, user: User, clinic: Clinic, page: int | str | None = 1) -> Page[Any]:
    """One page of ``clinic``'s conversations that have messages, for therapist ``user``.

    Unread ones first, then those that need a reply, then by latest message, newest
    first. Each carries ``unread`` (the patient's messages this therapist has not read)
    and ``last_body`` (the latest message's text, for a preview). Three queries
    (count, page, and the read noted for the audit trail), whatever the numbers.
    """
    last_body = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id").values("body")[:1]
    qs = (
        Conversation.objects.filter(patient__clinic=clinic, last_message_at__isnull=False)
        .select_related("patient__user", "patient__therapist__user")
        .annotate(
            read_to=_read_to(user, OuterRef("pk")),
            unread=Count(
                "messages",
                filter=Q(messages__id__gt=F("read_to"), messages__sender_id=F("patient__user_id")),
            ),
            has_unread=Case(When(unread__gt=0, then=Value(1)), default=Value(0), output_field=IntegerField()),
            last_body=Subquery(last_body),
        )
        .order_by("-has_unread", "-needs_reply", "-last_message_at", "-pk")
    )
    found = Paginator(qs, INBOX_PAGE_SIZE).get_page(page)
    audit_read(list(found.object_list))
    return found
