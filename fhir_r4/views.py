"""The FHIR R4 endpoints under /fhir/R4/: metadata, read, search and Patient/$everything.

DRF views, so authentication is the API's (a Bearer token or the session) and every answer is
negotiated JSON; every error, from an unknown search parameter to a missing token, is an
OperationOutcome with the HTTP status. Reads are noted for the audit trail
(``audit.services.audit_read``) and written once the response has succeeded.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_read
from fhir_r4.bundles import capability_statement, operation_outcome, searchset
from fhir_r4.search import check_no_params, search_from
from fhir_r4.search_values import SearchError, resource_pk
from fhir_r4.selectors import RESOURCE_TYPES, Scope, Source, everything, scope_of


class FhirJsonRenderer(JSONRenderer):
    """``application/fhir+json``, the FHIR JSON media type (plain ``application/json`` is served too)."""

    media_type = "application/fhir+json"
    format = "fhir"
    charset = "utf-8"


@extend_schema(exclude=True)
class FhirView(APIView):
    """The FHIR endpoints' plumbing: renderers, the scope of the user, errors as OperationOutcomes."""

    renderer_classes = [FhirJsonRenderer, JSONRenderer]

    def scope(self, request: Request) -> Scope:
        found = scope_of(request.user)
        if found is None:
            raise Http404
        return found

    def base(self, request: Request) -> str:
        """The server's absolute base URL (…/fhir/R4), as the client reached it."""
        return request.build_absolute_uri(reverse("api-fhir-metadata")).removesuffix("/metadata")

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, SearchError):
            body = operation_outcome(400, exc.message, code=exc.code, expression=exc.param)
            return Response(body, status=400)
        # DRF's answer (status, WWW-Authenticate, Retry-After), its body said as an OperationOutcome.
        response = super().handle_exception(exc)
        detail = (
            response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        )
        status = response.status_code
        response.data = operation_outcome(status, "Not found." if status == 404 else str(detail))
        return response


class MetadataView(FhirView):
    """GET metadata: the CapabilityStatement (no sign-in needed, as FHIR clients expect)."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        check_no_params(request.query_params)
        return Response(capability_statement(self.base(request)))


class SearchView(FhirView):
    """GET <type>: a searchset Bundle of the type's resources the user may read, a page at a time,
    ordered by source (Observation: the pain check-ins, then the questionnaire scores), then id."""

    resource_type = ""

    def get(self, request: Request) -> Response:
        scope = self.scope(request)
        search = search_from(self.resource_type, request.query_params)
        start = (search.page - 1) * search.count
        total, page = 0, list[tuple[Source, Any]]()
        for source in RESOURCE_TYPES[self.resource_type].sources:
            rows = source.rows(scope).filter(*search.where(source.label)).order_by("pk")
            matches = rows.count()
            # This source's part of the page: the rows from start - (matches before it) on.
            skip = max(0, start - total)
            room = search.count - len(page)
            if room > 0 and skip < matches:
                page += [(source, row) for row in rows[skip : skip + room]]
            total += matches
        audit_read([row for _, row in page])
        base = self.base(request)
        links = {"self": self._page_url(request, base, search.page)}
        if search.count and start + search.count < total:
            links["next"] = self._page_url(request, base, search.page + 1)
        if search.page > 1:
            links["previous"] = self._page_url(request, base, search.page - 1)
        entries = [source.build(row) for source, row in page]
        return Response(searchset(entries=entries, base=base, total=total, links=links))

    def _page_url(self, request: Request, base: str, page: int) -> str:
        query = request.query_params.copy()
        query["_page"] = str(page)
        return f"{base}/{self.resource_type}?{query.urlencode()}"


class ReadView(FhirView):
    """GET <type>/<id>: one resource; 404 for an id the user may not read or that does not exist."""

    resource_type = ""

    def get(self, request: Request, resource_id: str) -> Response:
        check_no_params(request.query_params)
        found = RESOURCE_TYPES[self.resource_type].find(self.scope(request), resource_id)
        if found is None:
            raise Http404
        source, row = found
        audit_read([row])
        return Response(source.build(row))


class EverythingView(FhirView):
    """GET Patient/<id>/$everything: one searchset Bundle of all these resource types hold about the
    patient (no paging: a plan's 84 check-ins and a few plans are one answer)."""

    def get(self, request: Request, resource_id: str) -> Response:
        check_no_params(request.query_params)
        scope = self.scope(request)
        pk = resource_pk(resource_id)
        found = everything(scope, pk) if pk is not None else None
        if found is None:
            raise Http404
        audit_read([row for _, row in found])
        entries = [source.build(row) for source, row in found]
        base = self.base(request)
        self_url = request.build_absolute_uri()
        return Response(searchset(entries=entries, base=base, total=len(entries), links={"self": self_url}))


class UnknownView(FhirView):
    """Anything else under /fhir/R4/: a 404 OperationOutcome naming what is served."""

    permission_classes = [AllowAny]

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        return self.get(request)  # type: ignore[arg-type]

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        served = ", ".join(RESOURCE_TYPES)
        body = operation_outcome(
            404, f"Not served here. Resource types: {served}; see metadata.", code="not-supported"
        )
        return Response(body, status=404)
