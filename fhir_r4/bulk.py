"""FHIR Bulk Data export ($export) of a clinic's Group: requests, the streaming NDJSON writer, expiry.

Flow (FHIR Bulk Data Access 2.0, https://hl7.org/fhir/uv/bulkdata/export.html): ``export_request``
records a ``BulkExport`` and publishes ``fhir_r4.tasks.fhir_export_run`` once the request commits;
the task calls ``export_run``, which cuts each resource type into NDJSON part files under
settings.FHIR_EXPORT_DIR and publishes a ``fhir_export_part`` task for each, so every worker
process writes parts; the last part to finish marks the export done; the status URL reads the
row; ``export_delete`` (DELETE on the status URL) and ``exports_expire`` (the beat job,
settings.FHIR_EXPORT_TTL_HOURS) remove the row and its files.

The writer, its streaming and its cost: fhir_r4.export_writer.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, User
from audit.services import audit_log
from fhir_r4 import tasks
from fhir_r4.export_writer import export_dir
from fhir_r4.models import BulkExport, BulkExportFile
from fhir_r4.search_values import SearchError
from fhir_r4.selectors import RESOURCE_TYPES

#: Kick-off parameters understood (others are refused, never ignored). ``_outputFormat``: NDJSON only.
KICKOFF_PARAMS = ("_type", "_since", "_outputFormat")
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
NDJSON = "application/fhir+ndjson"


def kickoff_types(params: Any) -> list[str]:
    """The resource types a kick-off asks for: ``_type`` (comma-separated, repeatable) in the order
    of RESOURCE_TYPES, or all of them. Raises SearchError (400, "not-supported") for a type not served."""
    values = params.getlist("_type")
    if any(not value.strip() for value in values):
        raise SearchError("_type", "Give one or more resource types (comma-separated), or leave _type out.")
    asked = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [name for name in asked if name not in RESOURCE_TYPES]
    if unknown:
        served = ", ".join(RESOURCE_TYPES)
        raise SearchError(
            "_type", f"Not exported: {', '.join(unknown)[:80]}. Types: {served}.", "not-supported"
        )
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
        raise SearchError(
            "_since", f"Give one instant with its time zone (2026-01-31T09:00:00Z), not {text[:40]!r}."
        )
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
        data={"type": file.resource_type, "part": file.part, "count": file.count},
    )


def export_delete(*, export: BulkExport, user: User, ip: str | None) -> None:
    """Cancel ``export`` if it runs (each part task notices the row is gone at its next batch and stops)
    and delete it and its files; noted in the audit trail ("fhir.export_deleted")."""
    with transaction.atomic():
        audit_log(action="fhir.export_deleted", actor=user, obj=export, clinic=export.clinic, ip=ip)
        pk = export.pk
        export.delete()
    shutil.rmtree(export_dir() / str(pk), ignore_errors=True)


def manifest(export: BulkExport, *, file_url: Any) -> dict[str, Any]:
    """The completed export's manifest (Bulk Data "Response - Complete Status"): transactionTime
    (the request's time: every change after it is in a later export's ``_since``), request,
    requiresAccessToken, output (type, url from ``file_url(file)``, count; one per part file, by type
    then part; files with no resource left out, as the spec asks) and error (empty: a failed export
    answers an OperationOutcome)."""
    order = list(RESOURCE_TYPES)
    files = sorted(export.files.all(), key=lambda f: (order.index(f.resource_type), f.part))
    return {
        "transactionTime": export.created.isoformat(),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [{"type": f.resource_type, "url": file_url(f), "count": f.count} for f in files if f.count],
        "error": [],
    }
