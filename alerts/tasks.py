"""Celery tasks for check-ins and alerts: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from alerts.services import alert_email_deliver, alerts_detect, alerts_digest_send
from portal.mail import EMAIL_TASK_OPTIONS


@shared_task(**EMAIL_TASK_OPTIONS)
def alert_email_send(alert_id: int) -> int:
    """Email an alert to its therapists once; a second run sends nothing."""
    return alert_email_deliver(alert_id=alert_id)


# Hourly: silence is judged on each patient's own date, so an hourly run notices
# it soon after their local midnight wherever they live. Idempotent: a second
# run finds the episodes already open. The next run is the retry.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def alerts_detect_all() -> dict[str, int]:
    """Raise and clear worsening and silence alerts for every active plan."""
    result = alerts_detect()
    return {
        "worsening_raised": result.worsening_raised,
        "worsening_cleared": result.worsening_cleared,
        "silence_raised": result.silence_raised,
        "silence_cleared": result.silence_cleared,
    }


# Hourly, but each clinic gets its digest only in its own local digest hour.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def alerts_digest_due() -> int:
    """Email the daily alert digest to the therapists of clinics at their digest hour."""
    return alerts_digest_send()
