"""URLs for scripts/bench_api.py only: the portal plus a bare one-INSERT view, the floor.

Selected with PLINTH_URLCONF=portal.bench_urls in the benchmark's server; never
in a real deployment.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt

from portal import urls as portal_urls

FLOOR_TABLE = "bench_floor_checkin"


@csrf_exempt
def floor_checkin(request: HttpRequest) -> HttpResponse:
    """Parse the body and do one INSERT: no authentication, validation or framework."""
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FLOOR_TABLE} (nprs, side, note) VALUES (%s, %s, %s)",  # noqa: S608
            [body["nprs"], body["side"], body.get("note", "")],
        )
    return JsonResponse({"ok": True}, status=201)


# The portal's own patterns, not an include of them, so that every portal URL
# resolves exactly as in production (an include would add a resolver level).
urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/floor/checkin/", floor_checkin, name="bench-floor-checkin"),
    *portal_urls.urlpatterns,
]
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
