"""The servers of the morning-peak benchmark (scripts/bench_peak.py): a database of their own, gunicorn
and a Celery worker as production runs them, the seeded patients' tokens and the therapists' sessions,
and how much CPU each part of the stack used.

Nothing here is imported by the product; scripts/bench_peak.py runs the rounds and writes the report.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
PATIENTS = 10_000
CLINICS = 3  # 8 therapists each (seed_demo), so 20 can log in
# Patients with a plan under way can check in; the others' plans are over and fill
# the outcome report. Enough under way that the peak's check-ins are each patient's first.
UNDER_WAY = 0.6
THERAPISTS = 20
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

#: The parts of the stack whose CPU time a round reports, and how a process is recognised.
CPU_PARTS = ("gunicorn", "celery worker", "postgresql", "redis", "locust")


def _part_of(process: psutil.Process) -> str | None:
    try:
        name = process.name()
        command = " ".join(process.cmdline())
    except (psutil.Error, OSError):
        return None
    if "gunicorn" in command:
        return "gunicorn"
    if "celery" in command:
        return "celery worker"
    if name.startswith("postgres") or "postgres:" in command:
        return "postgresql"
    if name.startswith("redis"):
        return "redis"
    if "peak_locustfile" in command:
        return "locust"
    return None


def cpu_seconds() -> dict[tuple[str, int], float]:
    """CPU seconds (user + system) so far of every process of the stack, by (part, pid)."""
    found: dict[tuple[str, int], float] = {}
    for process in psutil.process_iter():
        part = _part_of(process)
        if part is None:
            continue
        try:
            times = process.cpu_times()
        except (psutil.Error, OSError):
            continue
        found[(part, process.pid)] = times.user + times.system
    return found


def cpu_used(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds each part used between two ``cpu_seconds()`` readings (a process gone by the
    second reading is not counted; one that started in between counts from zero)."""
    used = dict.fromkeys(CPU_PARTS, 0.0)
    for key, seconds in after.items():
        used[key[0]] += max(0.0, seconds - before.get(key, 0.0))
    return used


# Run in the benchmark's database with Django set up: every patient with a plan under
# way gets an API token through the product's own service (hashed, audited), and
# 20 therapists, spread over the clinics, are listed with patients of their clinic.
SETUP = """
import json, random, sys
import django
django.setup()
from django.db import connection
from careplans.models import CarePlan, PlanStatus
from accounts.tokens import api_token_create
from accounts.models import Patient, Therapist
from bench_urls import floor_table_create

out, wanted = sys.argv[1], int(sys.argv[2])
plans = CarePlan.objects.filter(status=PlanStatus.ACTIVE).select_related("patient__user").order_by("pk")
tokens = [api_token_create(user=plan.patient.user, name="morning peak").key for plan in plans]
by_clinic = {}
for therapist in Therapist.objects.select_related("user").order_by("clinic_id", "pk"):
    by_clinic.setdefault(therapist.clinic_id, []).append(therapist)
chosen = []
while len(chosen) < wanted and any(by_clinic.values()):
    for staff in by_clinic.values():
        if staff and len(chosen) < wanted:
            chosen.append(staff.pop(0))
rng = random.Random(2026)
therapists = []
for therapist in chosen:
    ids = list(Patient.objects.filter(clinic_id=therapist.clinic_id).values_list("pk", flat=True))
    therapists.append({"email": therapist.user.email, "patients": rng.sample(ids, min(20, len(ids)))})
floor_table_create()
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")  # as autovacuum would have by now on a live database
with open(out, "w") as f:
    json.dump({"tokens": tokens, "therapists": therapists}, f)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def database() -> Iterator[str]:
    """A PostgreSQL database of its own on DATABASE_URL's server, dropped afterwards; yields its URL."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = f"plinth_bench_peak_{os.getpid()}"
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def login(port: int, email: str, password: str) -> str:
    """Log in through the login page as a browser behind the TLS proxy would; the session's Cookie value.

    Raises RuntimeError if the page does not answer with the session cookie.
    """
    origin = f"https://127.0.0.1:{port}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/accounts/login/", headers=PROXY_HEADERS)
        page = conn.getresponse()
        page.read()
        csrf = _cookies(page).get("csrftoken", "")
        body = urlencode({"username": email, "password": password, "csrfmiddlewaretoken": csrf})
        headers = {
            **PROXY_HEADERS,
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": origin,
            "Referer": f"{origin}/accounts/login/",
        }
        conn.request("POST", "/accounts/login/", body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        session = _cookies(answer).get("sessionid")
    finally:
        conn.close()
    if answer.status != 302 or not session:
        raise RuntimeError(f"login of {email} answered {answer.status} without a session")
    return f"sessionid={session}"


class Stack:
    """The servers of one benchmark run and the state that runs through its rounds."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.tokens: list[str] = []
        self.used = 0  # check-ins sent so far: the next one is tokens[used % len(tokens)]
        self.therapists: list[dict[str, Any]] = []
        self.timings: dict[str, float] = {}

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def prepare(self, password: str) -> None:
        started = time.perf_counter()
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        self.manage("load_library")
        self.timings["migrate_s"] = time.perf_counter() - started
        started = time.perf_counter()
        self.manage(
            "seed_demo",
            "--patients",
            str(PATIENTS),
            "--clinics",
            str(CLINICS),
            "--under-way",
            str(UNDER_WAY),
            "--password",
            password,
            "--no-progress",
        )
        self.timings["seed_s"] = time.perf_counter() - started
        started = time.perf_counter()
        out = self.tmp / "setup.json"
        subprocess.run(
            [sys.executable, "-c", SETUP, str(out), str(THERAPISTS)], cwd=ROOT, env=self.env, check=True
        )
        data = json.loads(out.read_text())
        self.tokens = data["tokens"]
        self.timings["tokens_s"] = time.perf_counter() - started
        self.therapists = data["therapists"]

    def start(self, workers: int) -> None:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        self.web = subprocess.Popen(
            [
                gunicorn,
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
        )
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,  # the start-up banner; warnings and errors go to stderr
            start_new_session=True,
        )
        _wait_for(self.port, self.web)

    def stop(self) -> None:
        stop_process(self.web)
        stop_process(self.worker)

    def log_in(self, password: str) -> None:
        for therapist in self.therapists:
            therapist["cookie"] = login(self.port, therapist["email"], password)

    def queued(self) -> int:
        """Tasks waiting in the Celery queue (the Redis list named after it)."""
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            return int(client.llen("celery"))
        finally:
            client.close()

    def drain(self, limit_s: float = 180.0) -> float:
        """Wait until the worker has taken every queued task (at most ``limit_s``); seconds waited."""
        started = time.monotonic()
        while self.queued() and time.monotonic() - started < limit_s:
            time.sleep(0.5)
        return time.monotonic() - started

    def settle(self, limit_s: float = 180.0) -> None:
        """Wait (at most ``limit_s``) until the queue is empty and /healthz answers within 100 ms.

        After an overloaded round gunicorn still works through the requests its
        clients gave up on; the next round must not start behind them.
        """
        started = time.monotonic()
        self.drain(limit_s)
        while time.monotonic() - started < limit_s:
            asked = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=limit_s)
            try:
                conn.request("GET", "/healthz", headers=PROXY_HEADERS)
                conn.getresponse().read()
            finally:
                conn.close()
            if time.monotonic() - asked < 0.1:
                return
            time.sleep(1)
