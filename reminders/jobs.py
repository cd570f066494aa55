"""The periodic reminder job that beat starts every 5 minutes.

It lives apart from ``tasks``: it calls the dispatch service, which publishes the
send tasks of ``reminders.tasks``, so tasks -> services -> tasks would be a cycle."""

from __future__ import annotations

from celery import shared_task

from reminders.services import reminders_dispatch


# Beat publishes this every 5 minutes with a 4-minute expiry, so ticks missed
# while the workers were down do not pile up. It is not retried: the next tick
# does the same work, and the unique delivery rows make overlapping runs safe.
@shared_task(acks_late=True, time_limit=280, soft_time_limit=250)
def reminders_dispatch_due() -> dict[str, int]:
    """Claim and enqueue every check-in reminder now due, and re-enqueue lost ones."""
    result = reminders_dispatch()
    return {"due": result.due, "claimed": result.claimed, "requeued": result.requeued}
