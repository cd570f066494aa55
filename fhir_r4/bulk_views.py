"""The FHIR Bulk Data endpoints: Group/<clinic id>/$export (kick-off), its status URL (poll, DELETE),
and the NDJSON files. The flow and its rules are in fhir_r4.bulk."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from django.urls import reverse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from fhir_r4.bulk import (
    NDJSON,
    export_delete,
    export_download_logged,
    export_of,
    export_request,
    kickoff_check,
    kickoff_since,
    kickoff_types,
    manifest,
)
from fhir_r4.bundles import operation_outcome
from fhir_r4.export_writer import export_dir, export_progress
from fhir_r4.models import BulkExport, ExportStatus
from fhir_r4.search_values import SearchError, resource_pk
from fhir_r4.views import FhirJsonRenderer, FhirView
from portal.access import client_ip

#: Seconds a client should wait before polling a running export again (Retry-After).
POLL_SECONDS = 5


class NdjsonRenderer(BaseRenderer):
    """``application/fhir+ndjson``: files are streamed as they are; an error is its JSON on one line."""

    media_type = NDJSON
    format = "ndjson"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return JSONRenderer().render(data)


class GroupExportView(FhirView):
    """GET Group/<clinic id>/$export: kick off a bulk export of the clinic's patients and their
    data. A therapist of that clinic only (anyone else: 404). Needs ``Prefer: respond-async``;
    takes ``_type``, ``_since`` and ``_outputFormat`` (NDJSON); anything else is a 400."""

    def get(self, request: Request, resource_id: str) -> Response:
        therapist = getattr(request.user, "therapist", None)
        if therapist is None or resource_pk(resource_id) != therapist.clinic_id:
            raise Http404
        kickoff_check(request.query_params)
        types = kickoff_types(request.query_params)
        since = kickoff_since(request.query_params)
        if "respond-async" not in request.headers.get("Prefer", ""):
            raise SearchError("Prefer", "A bulk export runs asynchronously: send 'Prefer: respond-async'.")
        export = export_request(
            user=request.user,  # type: ignore[arg-type]
            clinic=therapist.clinic,
            types=types,
            since=since,
            request_url=request.build_absolute_uri(),
            ip=client_ip(request),
        )
        status_url = request.build_absolute_uri(reverse("api-fhir-export-status", args=[export.pk]))
        body = operation_outcome(202, f"Export accepted; poll {status_url}.", code="informational")
        body["issue"][0]["severity"] = "information"
        return Response(body, status=202, headers={"Content-Location": status_url})


def _own_export(request: Request, export_id: str) -> BulkExport:
    pk = resource_pk(export_id)
    found = export_of(user=request.user, export_id=pk) if pk is not None else None  # type: ignore[arg-type]
    if found is None:
        raise Http404
    return found


class ExportStatusView(FhirView):
    """The status URL of one export, for its requester only (anyone else: 404). GET: 202 with
    X-Progress and Retry-After while it is queued or runs, 200 with the manifest when done, 500 with
    an OperationOutcome if it failed. DELETE: cancel it and delete it with its files (202)."""

    def get(self, request: Request, export_id: str) -> Response:
        export = _own_export(request, export_id)
        if export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            headers = {
                "X-Progress": export_progress(export),
                "Retry-After": str(POLL_SECONDS),
            }
            return Response(status=202, headers=headers)
        if export.status == ExportStatus.FAILED:
            return Response(operation_outcome(500, export.error or "The export failed."), status=500)

        def file_url(file: Any) -> str:
            url = reverse("api-fhir-export-file", args=[export.pk, file.resource_type, file.part])
            return request.build_absolute_uri(url)

        headers = {"Expires": export.expires.strftime("%a, %d %b %Y %H:%M:%S GMT")}
        return Response(manifest(export, file_url=file_url), headers=headers)

    def delete(self, request: Request, export_id: str) -> Response:
        export = _own_export(request, export_id)
        export_delete(export=export, user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
        return Response(status=202)


class ExportFileView(FhirView):
    """GET one NDJSON file of a completed export (``application/fhir+ndjson``): part ``part`` of
    its resources of ``resource_type``, for its requester only (anyone else, or an expired export:
    404). Each download is in the audit trail."""

    renderer_classes = [FhirJsonRenderer, JSONRenderer, NdjsonRenderer]

    def get(self, request: Request, export_id: str, resource_type: str, part: int) -> FileResponse:
        export = _own_export(request, export_id)
        file = (
            export.files.filter(resource_type=resource_type, part=part).first()
            if export.status == ExportStatus.DONE
            else None
        )
        if file is None:
            raise Http404
        export_download_logged(export=export, file=file, user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
        return FileResponse((export_dir() / file.path).open("rb"), content_type=NDJSON)
