"""Account housekeeping tasks."""

from __future__ import annotations

from celery import shared_task

from accounts.services import invitations_purge_expired


@shared_task(acks_late=True, max_retries=2, default_retry_delay=600, time_limit=300, soft_time_limit=270)
def invitations_purge() -> int:
    """Delete invitation links that expired unused."""
    return invitations_purge_expired()
