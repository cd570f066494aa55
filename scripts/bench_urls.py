"""URLs of the benchmark's server only: the portal's, plus a bare one-INSERT view (the floor).

scripts/bench_settings.py names this module as ROOT_URLCONF, and
scripts/peak_rounds.py starts gunicorn with those settings and scripts/ on its
path; the product never imports it.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from peak_rounds import FLOOR_PATH

from portal import urls as portal_urls

FLOOR_TABLE = "bench_floor_checkin"


def floor_table_create() -> None:
    """Create the floor view's table (id, nprs, side, note, received_at) in the default database.

    Raises the driver's error if the table exists already.
    """
    primary = "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {FLOOR_TABLE} (id {primary}, nprs integer NOT NULL, side varchar(8) NOT NULL, "
            "note text NOT NULL, received_at timestamp DEFAULT CURRENT_TIMESTAMP)"
        )


@csrf_exempt
def floor_checkin(request: HttpRequest) -> HttpResponse:
    """Parse the JSON body ({"nprs", "side", "note"?}) and do one INSERT; answer 201 {"ok": true}.

    No authentication, validation or framework: the least a check-in can cost in Django.
    """
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
    path(FLOOR_PATH.strip("/") + "/", floor_checkin, name="bench-floor-checkin"),
    *portal_urls.urlpatterns,
]
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
