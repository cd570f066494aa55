"""One conversation per patient with their care team, its messages, and each reader's state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Patient

#: The longest message, in characters (issue 19).
MESSAGE_MAX_LENGTH = 2000


class Conversation(models.Model):
    """The patient's one conversation with the therapists of their clinic.

    Its clinic is the patient's, as it is now: a patient who moves clinic takes it along,
    and only the new clinic's therapists see it.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="conversation")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The patient wrote last and no therapist has answered or closed it.
    needs_reply = models.BooleanField(default=False)
    # The patient's choice (Settings): an email when the care team writes.
    email_patient = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Conversation {self.pk} (patient {self.patient_id})"


class Message(models.Model):
    """One text message; never edited. ``idempotency_key`` (from the form or the API's
    Idempotency-Key header) is unique per conversation and sender, so a repeated send
    stores nothing new."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=MESSAGE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sender", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="message_sent_once_per_key",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="message_not_empty"),
        ]
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_id")]

    def __str__(self) -> str:
        return f"Message {self.pk} in conversation {self.conversation_id}"

    @property
    def patient(self) -> Patient:
        """The conversation's patient (the audit trail names it)."""
        return self.conversation.patient


class ReaderState(models.Model):
    """One user's place in one conversation: the last message they read, when they last
    looked (a page open or a poll), and when they were last emailed about it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="readers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="reader_one_per_conversation")
        ]

    def __str__(self) -> str:
        return f"User {self.user_id} in conversation {self.conversation_id} (read to {self.last_read_id})"
