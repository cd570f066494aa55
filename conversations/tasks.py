"""The message notification task: one email about one message to one recipient (message_send publishes it)."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from conversations.notify import message_notify


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)
def message_notify_send(message_id: int, user_id: int) -> str:
    """Email ``user_id`` that message ``message_id`` waits, within the throttle; returns the outcome."""
    return message_notify(message_id=message_id, user_id=user_id)
