"""The bulk export's writer: one NDJSON file per resource type, read in keyset batches; and expiry.

Run by the Celery tasks of fhir_r4.tasks (the flow is in fhir_r4.bulk). One definition of each
resource: the writer reads the same querysets as search (``fhir_r4.selectors.RESOURCE_TYPES``, a
therapist's Scope of the clinic) and builds each line with the same builder, within
``fhir_r4.resources.unchecked()``, which leaves fhir.resources' per-resource validation out (about
1.5 ms a resource: 3.5 hours for 8.4 million Observations); the first resource of every batch is
validated, and the tests show both paths give the same dict for every kind of object and validate
every line of an export.

Constant memory: each type's rows are read through one query in chunks of
``settings.FHIR_EXPORT_BATCH`` rows (``batches``; each chunk's relations prefetched with it) and
written line by line, so the process holds one chunk whatever the clinic's size. Queries: per type,
one, plus one per prefetch per chunk and one progress update per chunk (tests/fhir_r4/test_bulk.py
pins it). ``meta.lastUpdated`` of
Patients and CarePlans is the audit-trail subquery of ``fhir_r4.selectors.LAST_UPDATED``, computed
by the database in the type's one query (an index lookup per row on ``audit_patient_at``). Measured
(scripts/bench_fhir_export.py, PostgreSQL, 2,000 plans): the CarePlans read in 0.68 s with it, 0.36 s
without, about 0.16 ms a plan, some 16 s at 100,000 plans; kept, so that the export says the same
lastUpdated as a read. Observations, the bulk of an export, need no subquery.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from fhir_r4.models import BulkExport, BulkExportFile, ExportStatus
from fhir_r4.selectors import RESOURCE_TYPES, Scope
from portal.fhirjson import unchecked, validated

log = logging.getLogger(__name__)


def export_dir() -> Path:
    """Where export files live (settings.FHIR_EXPORT_DIR), one folder per export id."""
    return Path(settings.FHIR_EXPORT_DIR)


def exports_expire(*, now: datetime | None = None) -> int:
    """Delete every export past its ``expires`` time, with its files (the beat job). Returns how many."""
    expired = list(BulkExport.objects.filter(expires__lte=now or timezone.now()).values_list("pk", flat=True))
    for pk in expired:
        BulkExport.objects.filter(pk=pk).delete()
        shutil.rmtree(export_dir() / str(pk), ignore_errors=True)
    return len(expired)


def batches(rows: QuerySet[Any], size: int) -> Iterator[list[Any]]:
    """``rows`` by ascending pk in lists of at most ``size``, read through one query
    (``QuerySet.iterator(chunk_size=size)``: a server-side cursor on PostgreSQL, the cursor's chunks
    on SQLite), the queryset's prefetches made once per chunk. Not keyset pages (``pk > last``
    LIMIT n): joined to the patients of the clinic, PostgreSQL plans each page as a scan of all
    the clinic's remaining check-ins and a sort, so the export would grow with the square of them."""
    batch: list[Any] = []
    for row in rows.order_by("pk").iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Cancelled(Exception):
    """The export's row was deleted (DELETE on its status URL) while it ran."""


def _progress(export: BulkExport, words: str) -> None:
    # A conditional update: no row changed means the export was cancelled (deleted).
    if not BulkExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(progress=words):
        raise Cancelled


def write_type(export: BulkExport, name: str, *, batch_size: int | None = None) -> BulkExportFile:
    """Write every resource of type ``name`` in the export's clinic (updated at or after its
    ``since``) to ``<FHIR_EXPORT_DIR>/<export id>/<name>.ndjson``, one JSON resource per line,
    batch after batch. Returns the file's row (saved, with its count). Raises Cancelled."""
    scope = Scope(clinic=export.clinic)
    relative = f"{export.pk}/{name}.ndjson"
    target = export_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("w", encoding="utf-8") as out:
        for source in RESOURCE_TYPES[name].sources:  # Observation: the check-ins, then the scores
            rows = source.rows(scope)
            if export.since is not None:
                rows = rows.filter(fhir_last_updated__gte=export.since)
            for batch in batches(rows, batch_size or settings.FHIR_EXPORT_BATCH):
                with unchecked():
                    built = [source.build(row) for row in batch]
                validated(built[0])  # one resource of each batch through the R4B model (ValidationError)
                for resource in built:
                    out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
                    out.write("\n")
                count += len(batch)
                _progress(export, f"{name}: {count} written")
    file, _ = BulkExportFile.objects.update_or_create(
        export=export, resource_type=name, defaults={"count": count, "path": relative}
    )
    return file


def export_run(export_id: int, *, batch_size: int | None = None) -> str:
    """Write the export ``export_id`` (the task's body): claim it (queued -> running, a conditional
    update, so a second delivery of the task does nothing), write each type's file, then mark it
    done (its files kept settings.FHIR_EXPORT_TTL_HOURS from now) or failed with the error.
    Returns the final status ("done", "failed", "cancelled", or "skipped" when not claimed)."""
    if not BulkExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, progress="Started"
    ):
        return "skipped"
    export = BulkExport.objects.select_related("clinic").get(pk=export_id)
    try:
        for name in export.types:
            write_type(export, name, batch_size=batch_size)
    except Cancelled:
        shutil.rmtree(export_dir() / str(export_id), ignore_errors=True)
        return ExportStatus.CANCELLED.value
    except Exception as exc:
        log.exception("FHIR bulk export %s failed", export_id)
        BulkExport.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED,
            error=f"The export failed: {type(exc).__name__}.",
            finished=timezone.now(),
        )
        return ExportStatus.FAILED.value
    now = timezone.now()
    BulkExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE,
        progress="Done",
        finished=now,
        expires=now + timedelta(hours=settings.FHIR_EXPORT_TTL_HOURS),
    )
    return ExportStatus.DONE.value
