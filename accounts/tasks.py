"""Account tasks: the nightly invitation housekeeping, and emailing sign-in links."""

from __future__ import annotations

from celery import shared_task

from accounts.services import invitations_purge_expired
from accounts.signin import sign_in_link_send


@shared_task(acks_late=True, max_retries=2, default_retry_delay=600, time_limit=300, soft_time_limit=270)
def invitations_purge() -> int:
    """Delete invitation links that expired unused."""
    return invitations_purge_expired()


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def sign_in_link_email(email: str, ip: str | None = None) -> bool:
    """Email a sign-in link to ``email`` if it is a patient's who may have one (accounts.signin).

    Queued for every accepted request, known address or not, so the page that asked
    answers at once and alike either way. Not retried: the link would be late, and
    the patient can ask again. Returns whether an email was sent.
    """
    return sign_in_link_send(email=email, ip=ip)
