"""Celery tasks of the FHIR server: thin wrappers that call fhir_r4.export_writer (published by
fhir_r4.bulk, which imports this module: the writer is a module of its own, so no cycle)."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from fhir_r4.export_writer import export_run, exports_expire, part_run


# No retry: a failed export is marked failed and its status URL says so; the client asks again.
@shared_task(acks_late=True, time_limit=60 * 60, soft_time_limit=60 * 60 - 60)
def fhir_export_run(export_id: int) -> str:
    """Start the bulk export ``export_id``: plan its part files and publish one ``fhir_export_part``
    task for each (fhir_r4.export_writer.export_run), so every worker process takes parts.
    On SQLite (`make run` without DATABASE_URL) this task writes them one after another: SQLite
    has one writer at a time, and refuses at once ("database is locked") a write from a connection
    whose read is still open once another process has written since, as parts would."""
    if connection.vendor == "sqlite":
        return export_run(export_id)
    return export_run(export_id, publish=fhir_export_part.delay)


# A part is at most settings.FHIR_EXPORT_PART_ROWS rows (100,000: some 15 s of a worker process).
@shared_task(acks_late=True, time_limit=60 * 60, soft_time_limit=60 * 60 - 60)
def fhir_export_part(file_id: int) -> str:
    """Write one part file of a bulk export; the last part marks it done (export_writer.part_run)."""
    return part_run(file_id)


# Hourly (portal.celery): exports past settings.FHIR_EXPORT_TTL_HOURS, and their files.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def fhir_exports_expire() -> int:
    """Delete expired bulk exports and their files (fhir_r4.export_writer.exports_expire)."""
    return exports_expire()
