"""FHIR Bulk Data export ($export) of a clinic's Group: requests, the streaming NDJSON writer, expiry.

Flow (FHIR Bulk Data Access 2.0, https://hl7.org/fhir/uv/bulkdata/export.html): ``export_request``
records a ``BulkExport`` and publishes ``fhir_r4.tasks.fhir_export_run`` once the request commits;
the task calls ``export_run``, which writes one NDJSON file per resource type under
settings.FHIR_EXPORT_DIR; the status URL reads the row; ``export_delete`` (DELETE on the status URL)
and ``exports_expire`` (the beat job, settings.FHIR_EXPORT_TTL_HOURS) remove the row and its files.

One definition of each resource: the writer reads the same querysets as search
(``fhir_r4.selectors.RESOURCE_TYPES``, a therapist's Scope of the clinic) and builds each line with
the same builder. Within ``fhir_r4.resources.unchecked()``, which leaves fhir.resources' per-resource
validation out (1.5 ms a resource: 3.5 hours for 8.4 million Observations); the first resource of
every batch is validated, the tests show both paths give the same dict for every kind of object and
validate every line of an export.

Constant memory: rows are read in keyset batches (``pk > last``, ``settings.FHIR_EXPORT_BATCH`` rows,
each batch's relations prefetched with it) and written line by line, so the process holds one
batch whatever the clinic's size. Queries: per type, one per batch plus one per prefetch per batch
and one progress update per batch (tests/fhir_r4/test_bulk.py pins it). ``meta.lastUpdated`` of
Patients and CarePlans is the audit-trail subquery of ``fhir_r4.selectors.LAST_UPDATED``, computed
by the database in the batch's one query (an index lookup per row on ``audit_patient_at``;
docs/benchmarks.md has its cost); Observations, the bulk of an export, need no subquery.
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
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Clinic, User
from audit.services import audit_log
from fhir_r4 import tasks
from fhir_r4.resources import unchecked, validated
from fhir_r4.models import BulkExport, BulkExportFile, ExportStatus
from fhir_r4.search import SearchError
from fhir_r4.selectors import RESOURCE_TYPES, Scope

log = logging.getLogger(__name__)

#: Kick-off parameters understood (others are refused, never ignored). ``_outputFormat``: NDJSON only.
KICKOFF_PARAMS = ("_type", "_since", "_outputFormat")
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
NDJSON = "application/fhir+ndjson"


def export_dir() -> Path:
    """Where export files live (settings.FHIR_EXPORT_DIR), one folder per export id."""
    return Path(settings.FHIR_EXPORT_DIR)


def kickoff_types(params: Any) -> list[str]:
    """The resource types a kick-off asks for: ``_type`` (comma-separated, repeatable) in the order
    of RESOURCE_TYPES, or all of them. Raises SearchError (400, "not-supported") for a type not served."""
    asked = [part.strip() for value in params.getlist("_type") for part in value.split(",") if part.strip()]
    unknown = [name for name in asked if name not in RESOURCE_TYPES]
    if unknown:
        served = ", ".join(RESOURCE_TYPES)
        raise SearchError("_type", f"Not exported: {', '.join(unknown)[:80]}. Types: {served}.", "not-supported")
    return [name for name in RESOURCE_TYPES if not asked or name in asked]


def kickoff_since(params: Any) -> datetime | None:
    """``_since`` as an aware datetime (a FHIR instant, e.g. 2026-01-31T09:00:00Z), or None.
    Raises SearchError (400, "invalid") for anything else, a time without its zone too."""
    values = params.getlist("_since")
    if not values:
        return None
    text = values[-1].strip()
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        found = None
    if len(values) > 1 or found is None or found.tzinfo is None:
        raise SearchError("_since", f"Give one instant with its time zone (2026-01-31T09:00:00Z), not {text[:40]!r}.")
    return found


def kickoff_check(params: Any) -> None:
    """Refuse (SearchError, 400) any parameter but KICKOFF_PARAMS, and an ``_outputFormat`` not NDJSON."""
    for name in params:
        if name not in KICKOFF_PARAMS:
            raise SearchError(name, f"Unsupported $export parameter {name[:40]!r}.", "not-supported")
    for value in params.getlist("_outputFormat"):
        if value not in NDJSON_FORMATS:
            raise SearchError("_outputFormat", f"Only NDJSON ({NDJSON}) is written, not {value[:40]!r}.")


def export_request(
    *, user: User, clinic: Clinic, types: list[str], since: datetime | None, request_url: str, ip: str | None
) -> BulkExport:
    """Record a bulk export of ``clinic``'s Group by ``user`` (a therapist of it: the caller checks)
    and publish the task that writes it once the transaction commits. The request is in the audit
    trail ("fhir.export_requested", with the types and _since). Returns the queued export."""
    now = timezone.now()
    with transaction.atomic():
        export = BulkExport.objects.create(
            requester=user,
            clinic=clinic,
            types=types,
            since=since,
            request_url=request_url,
            created=now,
            expires=now + timedelta(hours=settings.FHIR_EXPORT_TTL_HOURS),
        )
        audit_log(
            action="fhir.export_requested",
            actor=user,
            obj=export,
            clinic=clinic,
            ip=ip,
            data={"types": types, "since": since.isoformat() if since else None},
        )
        transaction.on_commit(lambda: tasks.fhir_export_run.delay(export.pk))
    return export


def export_of(*, user: User, export_id: int) -> BulkExport | None:
    """The export ``export_id`` if ``user`` requested it and it has not expired; else None (a 404:
    anyone else's export, a colleague's too, does not exist for this user)."""
    found: BulkExport | None = BulkExport.objects.filter(
        pk=export_id, requester=user, expires__gt=timezone.now()
    ).first()
    return found


def export_download_logged(*, export: BulkExport, file: BulkExportFile, user: User, ip: str | None) -> None:
    """Note in the audit trail that ``user`` downloaded one file of ``export`` ("fhir.export_downloaded")."""
    audit_log(
        action="fhir.export_downloaded",
        actor=user,
        obj=export,
        clinic=export.clinic,
        ip=ip,
        data={"type": file.resource_type, "count": file.count},
    )


def export_delete(*, export: BulkExport, user: User, ip: str | None) -> None:
    """Cancel ``export`` if it runs (the task notices the row is gone at its next batch and stops)
    and delete it and its files; noted in the audit trail ("fhir.export_deleted")."""
    with transaction.atomic():
        audit_log(action="fhir.export_deleted", actor=user, obj=export, clinic=export.clinic, ip=ip)
        pk = export.pk
        export.delete()
    shutil.rmtree(export_dir() / str(pk), ignore_errors=True)


def exports_expire(*, now: datetime | None = None) -> int:
    """Delete every export past its ``expires`` time, with its files (the beat job). Returns how many."""
    expired = list(BulkExport.objects.filter(expires__lte=now or timezone.now()).values_list("pk", flat=True))
    for pk in expired:
        BulkExport.objects.filter(pk=pk).delete()
        shutil.rmtree(export_dir() / str(pk), ignore_errors=True)
    return len(expired)


def batches(rows: QuerySet[Any], size: int) -> Iterator[list[Any]]:
    """``rows`` in keyset batches of at most ``size`` by ascending pk: one query per batch (plus
    the queryset's prefetches for that batch), however many rows; no OFFSET, no server cursor."""
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


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
    kind = RESOURCE_TYPES[name]
    rows = kind.rows(Scope(clinic=export.clinic))
    if export.since is not None:
        rows = rows.filter(fhir_last_updated__gte=export.since)
    relative = f"{export.pk}/{name}.ndjson"
    target = export_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("w", encoding="utf-8") as out:
        for batch in batches(rows, batch_size or settings.FHIR_EXPORT_BATCH):
            with unchecked():
                built = [kind.build(row) for row in batch]
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
            status=ExportStatus.FAILED, error=f"The export failed: {type(exc).__name__}.", finished=timezone.now()
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


def manifest(export: BulkExport, *, file_url: Any) -> dict[str, Any]:
    """The completed export's manifest (Bulk Data "Response - Complete Status"): transactionTime
    (the request's time: every change after it is in a later export's ``_since``), request,
    requiresAccessToken, output (type, url from ``file_url(file)``, count; files with no resource
    left out, as the spec asks) and error (empty: a failed export answers an OperationOutcome)."""
    files = sorted(export.files.all(), key=lambda f: list(RESOURCE_TYPES).index(f.resource_type))
    return {
        "transactionTime": export.created.isoformat(),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [{"type": f.resource_type, "url": file_url(f), "count": f.count} for f in files if f.count],
        "error": [],
    }
