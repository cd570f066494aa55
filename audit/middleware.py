"""The one writer of the audit trail's read entries: once per request, after a successful response."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.services import audit_reads_write, collecting_reads
from portal.access import client_ip


class AuditReadMiddleware:
    """Writes the reads of patient data that the request noted (audit.services.audit_read).

    One place for every page, API route, export and admin page: the entries are
    written after the view, in one INSERT, and only when the response succeeded
    (a 404 for another clinic's object shows nothing, so records nothing). After
    authentication, so a token's user is the actor (DRF sets it on the request).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with collecting_reads() as reads:
            response = self.get_response(request)
            user = request.user
            if reads and response.status_code < 400 and user.is_authenticated:
                match = request.resolver_match
                audit_reads_write(
                    reads=reads,
                    actor=user,
                    ip=client_ip(request),
                    route=match.view_name if match else request.path[:200],
                )
        return response
