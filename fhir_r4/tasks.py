"""Celery tasks of the FHIR server: thin wrappers that call fhir_r4.export_writer (published by
fhir_r4.bulk, which imports this module: the writer is a module of its own, so no cycle)."""

from __future__ import annotations

from celery import shared_task

from fhir_r4.export_writer import export_run, exports_expire


# No retry: a failed export is marked failed and its status URL says so; the client asks again.
@shared_task(acks_late=True, time_limit=4 * 60 * 60, soft_time_limit=4 * 60 * 60 - 60)
def fhir_export_run(export_id: int) -> str:
    """Write the bulk export ``export_id`` (fhir_r4.export_writer.export_run)."""
    return export_run(export_id)


# Hourly (portal.celery): exports past settings.FHIR_EXPORT_TTL_HOURS, and their files.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def fhir_exports_expire() -> int:
    """Delete expired bulk exports and their files (fhir_r4.export_writer.exports_expire)."""
    return exports_expire()
