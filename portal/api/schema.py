"""The OpenAPI schema endpoint.

Kept apart from portal.api.common, which REST framework's settings import before
drf-spectacular's views can be.
"""

from __future__ import annotations

import threading

from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

_schema_generation = threading.Lock()


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, generating one schema at a time.

    While it generates, drf-spectacular points schema objects that every request
    shares (ViewInspector.view) at the view it is inspecting, so two schema
    requests at once on a threaded server (gunicorn's gthread workers, the test
    live server) read each other's views and one answers 500. They take turns.
    """

    def _get_schema_response(self, request: Request) -> Response:
        with _schema_generation:
            response: Response = super()._get_schema_response(request)  # type: ignore[no-untyped-call]
            return response
