#!/usr/bin/env python3
"""API benchmark: check-in POSTs per second through the API, against a bare view.

Both run in one gunicorn on loopback, in a database of their own: the API's
POST /api/v1/checkins/ (token authentication, validation, the check-in service
with its audit entry and outcome task) and the floor, a plain Django view that
parses the same JSON and does one INSERT (portal/bench_urls.py). The target is
API throughput >= 0.5x the floor.

``run(report)`` is called by scripts/bench.py; run alone, this prints the lines.
Environment: PLINTH_BENCH_API_SECONDS (per measurement, default 15),
PLINTH_BENCH_API_ROUNDS (floor/API alternations, default 3),
PLINTH_BENCH_API_CLIENTS (concurrent clients, default 4), PLINTH_BENCH_API_WORKERS
(gunicorn workers, default 2).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5
# Enough patients that, at the API's rate, none of them reaches the check-in rate
# limit (30 a minute by default), which runs at its production setting.
PATIENTS = 6000
# Of those, the patients whose first check-in warms the API up, unmeasured.
WARM_UP = 1000

SETUP = """
import json, sys
from datetime import date, timedelta
import django
django.setup()
from django.contrib.auth.hashers import make_password
from django.db import connection
from careplans.models import CarePlan, PlanStatus
from patients.api_tokens import api_token_create
from patients.models import Clinic, Patient, Therapist, User

n = int(sys.argv[1])
clinic = Clinic.objects.create(name="Bench clinic")
owner = Therapist.objects.create(
    user=User.objects.create_user("bench-therapist@example.test", None, full_name="Bench Therapist"),
    clinic=clinic,
)
unusable = make_password(None)
users = User.objects.bulk_create(
    User(email=f"bench-patient-{i}@example.test", full_name=f"Patient {i}", password=unusable)
    for i in range(n)
)
patients = Patient.objects.bulk_create(
    Patient(user=user, clinic=clinic, therapist=owner, timezone="UTC") for user in users
)
CarePlan.objects.bulk_create(
    CarePlan(
        patient=patient, therapist=owner, title="Bench plan",
        start_date=date.today() - timedelta(days=20), status=PlanStatus.ACTIVE,
    )
    for patient in patients
)
# Tokens through the app's own service: hashed, audited.
keys = [api_token_create(user=user, name="bench").key for user in users]
with connection.cursor() as cursor:
    cursor.execute(
        "CREATE TABLE bench_floor_checkin (id %s, nprs integer NOT NULL, side varchar(8) NOT NULL, "
        "note text NOT NULL, received_at timestamp DEFAULT CURRENT_TIMESTAMP)"
        % ("bigserial PRIMARY KEY" if connection.vendor == "postgresql"
           else "integer PRIMARY KEY AUTOINCREMENT")
    )
    # As autovacuum would have by now on a live database.
    cursor.execute("ANALYZE")
print(json.dumps(keys))
"""


ANALYZE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database(tmp: Path) -> tuple[dict[str, str], Any]:
    """An environment pointing at a fresh database, and how to drop it afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLINTH_RATE")}
    # Measure as production runs: DEBUG wraps every query in a recorder, which taxes the
    # API (several statements) more than the one-INSERT floor.
    env["DEBUG"] = "false"
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"plinth_bench_api_{os.getpid()}"
        admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        env["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        return env, drop
    env.pop("DATABASE_URL", None)
    env["PLINTH_VAR_DIR"] = str(tmp / "var")
    return env, lambda: None


def _wait_for(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _hammer(
    port: int,
    path: str,
    headers_for: list[dict[str, str]],
    seconds: float,
    clients: int,
    method: str = "POST",
    once: bool = False,
) -> float:
    """Requests per second with ``clients`` concurrent keep-alive clients; each error is counted out.

    ``once``: each of ``headers_for`` is sent exactly once (shared among the clients), not for ``seconds``.
    """
    body = json.dumps({"nprs": 4, "side": "left", "note": "bench"})
    counts = [0] * clients
    errors = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = index
        while (n < len(headers_for)) if once else (time.monotonic() < stop):
            headers = {"Content-Type": "application/json", **headers_for[n % len(headers_for)]}
            n += clients
            try:
                conn.request(method, path, body=body if method == "POST" else None, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status in (200, 201):
                    counts[index] += 1
                else:
                    errors[index] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if sum(errors):
        print(f"bench_api: {sum(errors)} failed requests to {path}", flush=True)
    return sum(counts) / elapsed


def run(report: list[str]) -> None:
    seconds = float(os.environ.get("PLINTH_BENCH_API_SECONDS", "15"))
    rounds = int(os.environ.get("PLINTH_BENCH_API_ROUNDS", "3"))
    clients = int(os.environ.get("PLINTH_BENCH_API_CLIENTS", "4"))
    workers = int(os.environ.get("PLINTH_BENCH_API_WORKERS", "2"))
    tmp = Path(tempfile.mkdtemp(prefix="plinth-bench-api-"))
    env, drop = _database(tmp)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        PLINTH_URLCONF="portal.bench_urls",
        PYTHONPATH=str(ROOT),
    )
    server = None
    try:
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        setup = subprocess.run(
            [python, "-c", SETUP, str(PATIENTS)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        keys = json.loads(setup.stdout.strip().splitlines()[-1])
        port = _free_port()
        gunicorn = shutil.which("gunicorn", path=str(Path(python).parent)) or "gunicorn"
        server = subprocess.Popen(
            [
                gunicorn,
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        _wait_for(port, server)
        api_headers = [{"Authorization": f"Bearer {key}"} for key in keys]
        # Both paths warm up first (imports, connections, prepared statements), the API
        # with its own patients, so that every measured request is a warm one.
        _hammer(port, "/bench/floor/checkin/", [{}], 2, clients)
        _hammer(port, "/api/v1/checkins/", api_headers[:WARM_UP], 0, clients, once=True)
        # Each patient's first check-in of the day: an insert, the token's first use
        # (last_used_at written) and the outcome recompute claimed and published.
        first = _hammer(port, "/api/v1/checkins/", api_headers[WARM_UP:], 0, clients, once=True)
        # The check-ins and audit entries just written were not there at the ANALYZE of the
        # setup: refresh the planner's statistics, as autovacuum would have on a live
        # database, so the rounds below do not run on plans made for empty tables.
        subprocess.run([python, "-c", ANALYZE], cwd=ROOT, env=env, check=True)
        # Floor and API alternate, ROUNDS times, so a slow spell of the machine lands
        # on both; the medians are reported with the spread of the per-round ratios.
        # Later check-ins the same day replace the first (the recompute is still queued,
        # so none is published), each patient well under the rate limit.
        floors: list[float] = []
        apis: list[float] = []
        for _ in range(rounds):
            floors.append(_hammer(port, "/bench/floor/checkin/", [{}], seconds, clients))
            apis.append(_hammer(port, "/api/v1/checkins/", api_headers, seconds, clients))
        floor = statistics.median(floors)
        api = statistics.median(apis)
        per_round = sorted(a / f for a, f in zip(apis, floors, strict=True) if f)
        # Where the difference goes: the same token authentication and DRF, no service.
        me = _hammer(port, "/api/v1/me/", api_headers, seconds / 2, clients, method="GET")
        ratio = api / floor if floor else 0.0
        first_ratio = first / floor if floor else 0.0
        verdict = "meets" if ratio >= TARGET else "misses"
        lines = [
            "## API check-in throughput",
            "",
            f"gunicorn on loopback ({workers} workers x 2 threads), {clients} concurrent keep-alive clients, "
            f"floor and API alternating {rounds} times for {seconds:.0f} s each (medians), "
            f"{PATIENTS} patients with their own API tokens, the check-in rate limit "
            f"at its default "
            f"({env.get('DATABASE_URL', 'SQLite').split('@')[-1]}).",
            "",
            "| path | requests/s | / floor |",
            "|---|---|---|",
            f"| floor: bare Django view, one INSERT | {floor:.1f} | 1.00 |",
            f"| POST /api/v1/checkins/, replacing the day's check-in (token auth, rate limit, validation, "
            f"service, audit) | {api:.1f} | **{ratio:.2f}** |",
            f"| POST /api/v1/checkins/, each patient's first of the day (as above, plus the insert, the "
            f"token's last_used_at and the outcome recompute claimed and handed to the publisher; "
            f"{PATIENTS - WARM_UP} requests after {WARM_UP} to warm up) | {first:.1f} | {first_ratio:.2f} |",
            f"| for comparison: GET /api/v1/me/ (token auth and DRF, one SELECT) | {me:.1f} | "
            f"{me / floor if floor else 0.0:.2f} |",
            "",
            f"Per-round ratios: {', '.join(f'{r:.2f}' for r in per_round)}.",
            "",
            f"Ratio API / floor: **{ratio:.2f}** (target >= {TARGET}): {verdict} the target. "
            f"Each patient's first check-in of the day: {first_ratio:.2f}.",
            "",
        ]
        report.extend(lines)
        print("\n".join(lines), flush=True)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    lines: list[str] = []
    run(lines)
