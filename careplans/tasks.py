"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task

from careplans.outcomes import outcome_refresh_plan


@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, time_limit=60)
def outcome_recompute_plan(plan_id: int) -> None:
    """Recompute one plan's outcome snapshot (enqueued after each check-in commits)."""
    outcome_refresh_plan(plan_id=plan_id)
