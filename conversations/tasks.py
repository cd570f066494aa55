"""The message notification task: one email about one message to one recipient (message_send publishes it)."""

from __future__ import annotations

from celery import shared_task

from conversations.notify import message_notify
from portal.mail import EMAIL_TASK_OPTIONS


@shared_task(**EMAIL_TASK_OPTIONS)
def message_notify_send(message_id: int, user_id: int) -> str:
    """Email ``user_id`` that message ``message_id`` waits, within the throttle; returns the outcome."""
    return message_notify(message_id=message_id, user_id=user_id)
