"""The bulk export's writer: each type's resources in NDJSON part files, each part a task; and expiry.

Run by the Celery tasks of fhir_r4.tasks (the flow is in fhir_r4.bulk). One definition of each
resource: the writer reads the same querysets as search (``fhir_r4.selectors.RESOURCE_TYPES``, a
therapist's Scope of the clinic) and builds each line with the same builder, within
``fhir_r4.resources.unchecked()``, which leaves fhir.resources' per-resource validation out (about
1.5 ms a resource: 3.5 hours for 8.4 million Observations); the first resource of every batch is
validated, and the tests show both paths give the same dict for every kind of object and validate
every line of an export. Lines are encoded by orjson (the same bytes as ``json.dumps`` with
``ensure_ascii=False`` and no spaces, a sixth of its time).

Parts, to use every worker process: ``export_run`` (the kick-off task) plans the export: the rows of
each source of each type (Observation: the check-ins, then the questionnaire scores) are split by
``pk_ranges`` into consecutive pk ranges of at most settings.FHIR_EXPORT_PART_ROWS rows (a clinic of
100,000 plans: 84 files of check-in Observations), one ``BulkExportFile`` each, and one task
per part is published (``part_run``); the worker's processes take them as they free up. A part's
file is listed in the manifest as one ``output`` of its type. The export is done when the last part
finishes: each finishing part adds one to ``BulkExport.parts_done`` under the row's lock, and the
one that makes it ``parts`` marks the export done (a conditional update: no chord, no result
backend). Cancellation (DELETE: the row is gone) and failure (a part raised: the row is marked
failed) are seen by every other part at its next batch, which stops and removes the files.

Constant memory: each part's rows are read through one query in chunks of
``settings.FHIR_EXPORT_BATCH`` rows (``batches``; each chunk's relations prefetched with it) and
written line by line, so a process holds one chunk whatever the clinic's size. Queries: per part,
one, plus one per prefetch per chunk and one progress update per chunk (the part's count, which
also notices a cancelled or failed export; tests/fhir_r4/test_bulk.py pins it); planning: per type
one count, and for a type of several parts one query for the boundaries. ``meta.lastUpdated`` of
Patients and CarePlans is the audit-trail subquery of ``fhir_r4.selectors.LAST_UPDATED``, computed
by the database in the part's one query (an index lookup per row on ``audit_patient_at``).

A part's cost, profiled (cProfile, 2,000 plans, PostgreSQL): Django making the model instances and
psycopg parsing the timestamps (Django's time-zone loader is psycopg's Python one) about 40%, the
builder about 40%, the JSON encoding 10%; before this design a third of the time went to Python's
full collections scanning the whole heap (hence gc.freeze while a part is written), the side's and
red flags' labels were looked up per row (now once, fhir_r4.resources) and json.dumps took 6x
orjson's time. Measured (scripts/bench_fhir_export.py, PostgreSQL, a Celery worker of 2 processes
on 2 cores; docs/benchmarks.md, "FHIR bulk export"): 2,000 plans in 5.5 s on a quiet machine,
18,000 Observations/s a process, 30,000/s the two (one task writing every type in turn: 33 s);
10,000 plans in 40 s at load 2.2 (21,000 Observations/s), 98 s with the cores busy with other work
(load 7); 60-70 CPU seconds of the worker and the database (70-81 microseconds a resource); peak RSS
230-251 MB a process (165 MB before); 100,000 plans (8.4 million Observations) in 344 s on a
quiet machine, peak 253 MB a process.
"""

from __future__ import annotations

import gc
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from fhir_r4.models import BulkExport, BulkExportFile, ExportStatus
from fhir_r4.selectors import RESOURCE_TYPES, Scope, Source
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


def pk_ranges(
    rows: QuerySet[Any], parts: int, *, count: int | None = None
) -> list[tuple[int | None, int | None]]:
    """``rows`` (any queryset of a model with integer pks) cut into at most ``parts`` consecutive pk
    ranges of nearly equal row counts, as (from, to) pairs: a range holds the rows with
    ``from <= pk < to``, None meaning no bound; together they hold every row once. ``count``: the
    rows' count if the caller has it (else one COUNT query). One more query finds the boundaries
    (the pk of every ``ceil(count / parts)``-th row, by a row_number window), none when ``parts``
    is 1 or there are too few rows to cut. Raises ValueError if ``parts`` is below 1."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    total = rows.count() if count is None else count
    size = math.ceil(total / parts) if total else 0
    if parts == 1 or size == 0 or total <= size:
        return [(None, None)]
    marks = list(range(size + 1, total + 1, size))
    numbered = (
        rows.order_by()
        .annotate(fhir_row=Window(RowNumber(), order_by=F("pk").asc()))
        .filter(fhir_row__in=marks)
        .values_list("pk", flat=True)
    )
    bounds: list[int | None] = [None, *sorted(numbered), None]
    return list(pairwise(bounds))


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    # Python's full collections scan every object the process holds (Django's and the worker's:
    # hundreds of thousands), and each batch's new objects set one off every few batches: a third of
    # a part's time. gc.freeze (documented for this) leaves the objects that exist now out of them;
    # gc.unfreeze gives them back after, so nothing is kept for good.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Cancelled(Exception):
    """The export's row was deleted (DELETE on its status URL) or marked failed while a part ran."""


def export_rows(export: BulkExport, source: Source) -> QuerySet[Any]:
    """The rows of ``source`` (one source of a type: ``RESOURCE_TYPES[name].sources``) in
    ``export``: the clinic's, updated at or after its ``since``."""
    rows = source.rows(Scope(clinic=export.clinic))
    if export.since is not None:
        rows = rows.filter(fhir_last_updated__gte=export.since)
    return rows


def write_part(file: BulkExportFile, *, batch_size: int | None = None) -> int:
    """Write the resources of ``file`` (its export's rows of its type's source ``file.source``
    within its pk range) to ``<FHIR_EXPORT_DIR>/<file.path>``, one JSON resource per line, batch
    after batch, noting the count after each batch. Returns how many were written. Raises
    Cancelled when the export is gone or no longer running; KeyError or IndexError for a type or
    source not served; pydantic's ValidationError if a checked resource is invalid."""
    kind = RESOURCE_TYPES[file.resource_type].sources[file.source]
    rows = export_rows(file.export, kind)
    if file.pk_from is not None:
        rows = rows.filter(pk__gte=file.pk_from)
    if file.pk_to is not None:
        rows = rows.filter(pk__lt=file.pk_to)
    target = export_dir() / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    live = BulkExportFile.objects.filter(pk=file.pk, export__status=ExportStatus.RUNNING)
    with target.open("wb") as out:
        for batch in batches(rows, batch_size or settings.FHIR_EXPORT_BATCH):
            with unchecked():
                built = [kind.build(row) for row in batch]
            validated(built[0])  # one resource of each batch through the R4B model (ValidationError)
            out.write(
                b"".join([orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE) for resource in built])
            )
            count += len(batch)
            # One query: the progress, and a check that the export still runs.
            if not live.update(count=count):
                raise Cancelled
    return count


def plan_parts(export: BulkExport) -> list[BulkExportFile]:
    """Cut ``export`` into its part files (saved, in the order of its types and their sources): each
    source of each type (``RESOURCE_TYPES[name].sources``) in pk ranges of at most
    settings.FHIR_EXPORT_PART_ROWS rows, one file at least; record how many there are. Raises
    KeyError for a type not served, Cancelled if the export was deleted."""
    files: list[BulkExportFile] = []
    for name in export.types:
        number = 0  # a type's parts are numbered on across its sources (Observation: check-ins, scores)
        for index, source in enumerate(RESOURCE_TYPES[name].sources):
            rows = export_rows(export, source)
            count = rows.count()
            parts = max(1, math.ceil(count / settings.FHIR_EXPORT_PART_ROWS))
            for low, high in pk_ranges(rows, parts, count=count):
                number += 1
                files.append(
                    BulkExportFile(
                        export=export,
                        resource_type=name,
                        source=index,
                        part=number,
                        pk_from=low,
                        pk_to=high,
                        path=f"{export.pk}/{name}.{number}.ndjson",
                    )
                )
    with transaction.atomic():
        saved = BulkExportFile.objects.bulk_create(files)
        if not BulkExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
            parts=len(saved), progress=""
        ):
            raise Cancelled
    return saved


def _failed(export_id: int, exc: Exception) -> str:
    log.error("FHIR bulk export %s failed", export_id, exc_info=exc)
    BulkExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED, error=f"The export failed: {type(exc).__name__}.", finished=timezone.now()
    )
    shutil.rmtree(export_dir() / str(export_id), ignore_errors=True)
    return ExportStatus.FAILED.value


def _part_finished(file: BulkExportFile, count: int) -> bool:
    # One transaction: the file finished (once: a second delivery of the task is not counted twice),
    # then one more part done under the export row's lock, so two parts finishing together are
    # counted in turn and exactly one of them sees the last. True when this part ended the export.
    with transaction.atomic():
        if not BulkExportFile.objects.filter(pk=file.pk, finished=False).update(finished=True, count=count):
            return False
        running = BulkExport.objects.filter(pk=file.export_id, status=ExportStatus.RUNNING)
        if not running.update(parts_done=F("parts_done") + 1):
            raise Cancelled
        now = timezone.now()
        done = running.filter(parts_done=F("parts")).update(
            status=ExportStatus.DONE,
            progress="Done",
            finished=now,
            expires=now + timedelta(hours=settings.FHIR_EXPORT_TTL_HOURS),
        )
    return bool(done)


def part_run(file_id: int, *, batch_size: int | None = None) -> str:
    """Write the part file ``file_id`` (the part task's body) and count it done; the last part marks
    the export done. Returns "done" (the export is complete), "written" (other parts remain),
    "skipped" (already written, or its export not running), "cancelled" or "failed" (the export
    is then marked failed, and the other parts stop at their next batch)."""
    file = BulkExportFile.objects.select_related("export__clinic").filter(pk=file_id).first()
    if file is None:
        return ExportStatus.CANCELLED.value
    if file.finished or file.export.status != ExportStatus.RUNNING:
        return "skipped"
    started = time.perf_counter()
    try:
        with _old_objects_frozen():
            count = write_part(file, batch_size=batch_size)
        finished = _part_finished(file, count)
    except Cancelled:
        shutil.rmtree(export_dir() / str(file.export_id), ignore_errors=True)
        return ExportStatus.CANCELLED.value
    except Exception as exc:
        return _failed(file.export_id, exc)
    seconds = time.perf_counter() - started
    # The bench (scripts/bench_fhir_export.py) reads these lines for each type's time.
    log.info(
        "FHIR bulk export %s: %s part %s, %s resources in %.2f s",
        file.export_id,
        file.resource_type,
        file.part,
        count,
        seconds,
    )
    return ExportStatus.DONE.value if finished else "written"


def export_run(
    export_id: int, *, publish: Callable[[int], Any] | None = None, batch_size: int | None = None
) -> str:
    """Start the export ``export_id`` (the kick-off task's body): claim it (queued -> running, a
    conditional update, so a second delivery of the task does nothing), plan its part files
    (``plan_parts``), then hand each part's id to ``publish`` (the part task's ``delay``), or with
    no ``publish`` write them all here, one after the other. Returns the export's status after that
    ("running" while published parts remain; "done", "failed", "cancelled"; "skipped" when not
    claimed). A failure while planning marks the export failed with the error."""
    if not BulkExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, progress="Planning the files"
    ):
        return "skipped"
    export = BulkExport.objects.select_related("clinic").get(pk=export_id)
    try:
        files = plan_parts(export)
    except Cancelled:
        return ExportStatus.CANCELLED.value
    except Exception as exc:
        return _failed(export_id, exc)
    for file in files:
        if publish is None:
            part_run(file.pk, batch_size=batch_size)
        else:
            publish(file.pk)
    status = BulkExport.objects.filter(pk=export_id).values_list("status", flat=True).first()
    return str(status or ExportStatus.CANCELLED.value)


def export_progress(export: BulkExport) -> str:
    """What a running export is at, for the status URL's X-Progress: before its parts are planned
    its ``progress`` words ("Queued" while queued), then the resources written so far and the
    part files finished, e.g. "120,000 resources written; 1 of 12 files complete" (one query)."""
    if export.status == ExportStatus.QUEUED:
        return export.progress or export.get_status_display()
    if not export.parts:
        return export.progress or export.get_status_display()
    written = export.files.aggregate(total=Sum("count"))["total"] or 0
    return f"{written:,} resources written; {export.parts_done} of {export.parts} files complete"
