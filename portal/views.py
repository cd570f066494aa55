from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app

log = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its day starts."""
    role = getattr(request.user, "role", "none")
    if role == "therapist":
        return redirect("caseload")
    if role == "patient":
        return redirect("today")
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "portal/no_role.html", status=403)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        log.exception("healthz: database unreachable")
        return False
    return True


def _broker_ok() -> bool:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("filesystem://"):
        # kombu's filesystem transport "connects" without touching the disk;
        # reachable means the queue folder is there and writable.
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folder = Path(str(options.get("data_folder_in", "data_in")))  # kombu's own default
        if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
            return True
        log.error("healthz: broker folder %s is missing or not writable", folder)
        return False
    try:
        # The URL from settings, not the app's cached config, so it is what the site runs with now.
        with celery_app.connection_for_write(url=url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:
        log.exception("healthz: broker unreachable")
        return False
    return True


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    failing = [name for name, ok in checks.items() if not ok]
    body: dict[str, object] = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()},
        "env": settings.PLINTH_ENV,
    }
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=200 if not failing else 503)
