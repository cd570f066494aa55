"""Celery tasks for care plans: thin wrappers that call services."""

from __future__ import annotations

from celery import shared_task

from careplans.phase_moves import plan_phases_move_due


# Every 15 minutes (portal.celery): a phase begins at the patient's local midnight wherever
# they live, so a run soon after each zone's midnight moves their plan. Idempotent: each plan
# is re-checked under its row lock, and a second run finds nothing due. The next run is the retry.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def plan_phases_advance_due() -> dict[str, int]:
    """Move each active, unheld phased plan whose patient's week has reached its next phase."""
    result = plan_phases_move_due()
    return {"checked": result.checked, "moved": result.moved}
