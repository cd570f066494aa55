"""The reminder send task: one claimed reminder, sent once (the dispatch service publishes it)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from reminders.delivery import reminder_send


# Retries are counted in the delivery row (its attempts), which also survives
# a lost message; max_retries is only the outer bound. The send lease (300 s)
# is longer than time_limit, so a lease runs out only on a send that died.
@shared_task(bind=True, acks_late=True, max_retries=8, time_limit=120, soft_time_limit=100)
def reminder_email_send(self: Any, delivery_id: int) -> str:
    """Send one claimed reminder; a second delivery of the same message sends nothing."""
    result = reminder_send(delivery_id=delivery_id)
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.outcome
