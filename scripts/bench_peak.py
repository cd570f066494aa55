#!/usr/bin/env python3
"""Morning peak benchmark: the production shape on loopback, under a clinic network's busiest hour.

gunicorn (production settings, as docker-compose.yml runs it), PostgreSQL, Redis
and a Celery worker consuming the outcome recomputes, all on 127.0.0.1, in a
database of their own holding 10,000 patients with up to 12 weeks of history
(``seed_demo``). Locust, as a library and headless (scripts/peak_locustfile.py),
then sends

- the peak: 30 check-ins a second through ``POST /api/v1/checkins/``, each with
  the next patient's own API token, while 20 logged-in therapists each open a
  page every 5 seconds (their caseload, a patient record, the outcome report),
  for 60 seconds. Targets: 0 errors, check-in p95 <= 150 ms, page p95 <= 300 ms;
- the ladder: check-ins alone at 30, 60, 120, 240, ... a second, 10 s a step,
  until a step's p95 passes 150 ms (or it errs, or falls short of the rate),
  once through the API and once to a bare one-INSERT Django view (the floor,
  scripts/bench_urls.py): the highest rate each sustains (reported, not a target).

``run(report)`` is what scripts/bench.py calls; it needs PostgreSQL and Redis
(DATABASE_URL, REDIS_URL: scripts/testenv.py provides both) and appends a
Markdown section to ``report``. Run alone, it prints the section. Environment:
PLINTH_BENCH_PEAK_WORKERS (gunicorn workers, default 3 as in docker-compose.yml),
PLINTH_BENCH_PEAK_STEP_SECONDS (ladder step length, default 10).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"

PATIENTS = 10_000
CLINICS = 3  # 8 therapists each (seed_demo), so 20 can log in
# Patients with a plan under way can check in; the others' plans are over and fill
# the outcome report. Enough under way that the peak's check-ins are each patient's first.
UNDER_WAY = 0.6
THERAPISTS = 20
PAGE_EVERY_S = 5.0
PEAK_RATE = 30.0
PEAK_SECONDS = 60.0
LADDER_RATES = (30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0)
# Each simulated phone sends one check-in every 2 s: the arrival rate holds while
# responses take under 2 s, far above the 150 ms the ladder stops at.
PER_USER_RATE = 0.5
CHECKIN_P95_MS = 150.0
PAGE_P95_MS = 300.0
# A ladder step that delivers less than this share of its rate has not sustained it.
SUSTAINED = 0.9

API_PATH = "/api/v1/checkins/"
FLOOR_PATH = "/bench/floor/checkin/"
PAGE_KINDS = ("caseload", "record", "report")
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

Target = Literal["api", "floor"]


@dataclass(frozen=True)
class Round:
    """One bounded run of load: check-ins at ``rate`` a second for ``seconds``, beside ``therapists``."""

    label: str
    target: Target
    rate: float
    seconds: float
    therapists: int = 0
    page_every: float = PAGE_EVERY_S

    @property
    def path(self) -> str:
        return API_PATH if self.target == "api" else FLOOR_PATH


def warm_up_round() -> Round:
    """A few seconds of every kind of request (imports, connections, caches), not reported."""
    return Round("warm-up", "api", rate=10.0, seconds=6.0, therapists=THERAPISTS)


def peak_round() -> Round:
    """The issue's morning peak: 30 check-ins/s and 20 therapists, one page each every 5 s, for 60 s."""
    return Round("peak", "api", rate=PEAK_RATE, seconds=PEAK_SECONDS, therapists=THERAPISTS)


def ladder(target: Target, seconds: float) -> list[Round]:
    """The ladder's steps for ``target``, slowest first; run in order until one fails."""
    return [Round(f"{target} {rate:g}/s", target, rate=rate, seconds=seconds) for rate in LADDER_RATES]


def therapist_pages(*, patient_ids: Sequence[int], count: int, start: int) -> list[tuple[str, str]]:
    """``count`` (kind, path) pages in the order caseload, record, report, from kind ``start % 3`` on.

    The records are of ``patient_ids`` in turn (the therapist's own clinic's patients).
    """
    fixed = {"caseload": "/caseload/", "report": "/outcomes/"}
    pages = []
    for i in range(count):
        kind = PAGE_KINDS[(start + i) % len(PAGE_KINDS)]
        path = f"/patients/{patient_ids[i % len(patient_ids)]}/" if kind == "record" else fixed[kind]
        pages.append((kind, path))
    return pages


def round_config(
    rnd: Round, *, host: str, tokens: Sequence[str], therapists: Sequence[dict[str, Any]], out: Path
) -> dict[str, Any]:
    """The JSON that scripts/peak_locustfile.py runs: ``rnd`` against ``host``.

    ``tokens``: the patients' API keys in the order they check in (the API only);
    ``therapists``: ``{"cookie": "sessionid=...", "patients": [ids]}`` for each
    logged-in therapist, of whom the first ``rnd.therapists`` take part.
    """
    taking_part = list(therapists[: rnd.therapists])
    if len(taking_part) < rnd.therapists:
        raise ValueError(f"{rnd.label} needs {rnd.therapists} therapists, {len(taking_part)} are logged in")
    count = math.ceil(rnd.seconds / rnd.page_every) + 1
    return {
        "label": rnd.label,
        "host": host,
        "path": rnd.path,
        "rate": rnd.rate,
        "seconds": rnd.seconds,
        "per_user_rate": PER_USER_RATE,
        "page_every": rnd.page_every,
        "tokens": list(tokens) if rnd.target == "api" else [],
        "therapists": [
            {
                "cookie": t["cookie"],
                "pages": therapist_pages(patient_ids=t["patients"], count=count, start=i),
                "delay": rnd.page_every * i / len(taking_part),
            }
            for i, t in enumerate(taking_part)
        ],
        "out": str(out),
    }


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile of ``values`` (ms); 0.0 for none."""
    return percentile(values, 95)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``th percentile (0 < q <= 100) of ``values``; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figures:
    """One kind of request in one round: counts, response times (ms) and the rate delivered (/s)."""

    ok: int
    errors: int
    p50: float
    p95: float
    max: float
    rate: float
    statuses: dict[int, int]
    error_samples: tuple[str, ...]

    @classmethod
    def of(cls, entries: Sequence[dict[str, Any]], seconds: float) -> Figures:
        times = [t for e in entries for t in e["times_ms"]]
        failures = [f for e in entries for f in e["failures"]]
        statuses = Counter(s for e in entries for s in e["statuses"])
        return cls(
            ok=len(times),
            errors=len(failures),
            p50=percentile(times, 50),
            p95=p95(times),
            max=max(times, default=0.0),
            rate=len(times) / seconds if seconds else 0.0,
            statuses=dict(statuses),
            error_samples=tuple(sorted(set(failures))[:3]),
        )


def figures(results: dict[str, Any], rnd: Round) -> dict[str, Figures]:
    """Per kind ("checkin", each page kind, "pages" for all three) the figures of a round's results."""
    requests = results["requests"]
    out = {kind: Figures.of([requests[kind]] if kind in requests else [], rnd.seconds) for kind in requests}
    out.setdefault("checkin", Figures.of([], rnd.seconds))
    out["pages"] = Figures.of([requests[k] for k in PAGE_KINDS if k in requests], rnd.seconds)
    return out


def step_passes(checkin: Figures, rnd: Round) -> bool:
    """A ladder step holds: no error, p95 within 150 ms, and at least 90% of its rate delivered."""
    return checkin.errors == 0 and checkin.p95 <= CHECKIN_P95_MS and checkin.rate >= SUSTAINED * rnd.rate


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


def _free_port() -> int:
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


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def _database() -> Iterator[str]:
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


class _Stack:
    """The servers of one benchmark run and the state that runs through its rounds."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.port = _free_port()
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
        _stop(self.web)
        _stop(self.worker)

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

    def run(self, rnd: Round) -> tuple[dict[str, Figures], dict[str, Any]]:
        """One round through scripts/peak_locustfile.py in its own process; its figures and raw results."""
        offset = self.used % len(self.tokens) if self.tokens else 0
        tokens = self.tokens[offset:] + self.tokens[:offset]
        out = self.tmp / "round-out.json"
        config = self.tmp / "round.json"
        config.write_text(
            json.dumps(
                round_config(
                    rnd,
                    host=f"http://127.0.0.1:{self.port}",
                    tokens=tokens,
                    therapists=self.therapists,
                    out=out,
                )
            )
        )
        print(f"bench_peak: {rnd.label} ({rnd.rate:g} check-ins/s, {rnd.seconds:g} s)", flush=True)
        subprocess.run(
            [sys.executable, str(SCRIPTS / "peak_locustfile.py"), str(config)],
            cwd=ROOT,
            check=True,
            timeout=rnd.seconds + 120,
        )
        results: dict[str, Any] = json.loads(out.read_text())
        sent = results["requests"].get("checkin", {}).get("statuses", [])
        if rnd.target == "api":
            self.used += len(sent)
        return figures(results, rnd), results


def _ms(value: float) -> str:
    return f"{value:.0f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _ladder_lines(target: Target, steps: list[tuple[Round, Figures, bool]]) -> list[str]:
    lines = []
    for rnd, fig, ok in steps:
        errors = f"{fig.errors}" + (f" ({'; '.join(fig.error_samples)})" if fig.errors else "")
        lines.append(
            f"| {target} | {rnd.rate:g} | {fig.rate:.1f} | {_ms(fig.p50)} | {_ms(fig.p95)} | {errors} | "
            f"{'holds' if ok else 'stops'} |"
        )
    return lines


def _highest(steps: list[tuple[Round, Figures, bool]]) -> str:
    held = [rnd.rate for rnd, _, ok in steps if ok]
    if not held:
        return "none of the steps (below 30/s)"
    best = max(held)
    if len(held) == len(steps) and best == LADDER_RATES[-1]:
        return f"at least {best:g}/s (the ladder's top)"
    return f"{best:g}/s"


def _section(
    stack: _Stack,
    workers: int,
    peak: dict[str, Figures],
    peak_raw: dict[str, Any],
    peak_drain: float,
    peak_queue: int,
    api_steps: list[tuple[Round, Figures, bool]],
    floor_steps: list[tuple[Round, Figures, bool]],
) -> list[str]:
    checkin, pages = peak["checkin"], peak["pages"]
    errors = sum(f.errors for k, f in peak.items() if k != "pages")
    first = checkin.statuses.get(201, 0)
    replaced = checkin.statuses.get(200, 0)
    lines = [
        "## Morning peak",
        "",
        f"The production shape on loopback: gunicorn (`portal.wsgi`, {workers} sync workers as in",
        "docker-compose.yml, PLINTH_ENV=production, DEBUG off), PostgreSQL and Redis from",
        "scripts/testenv.py, and a Celery worker consuming the outcome recomputes. Every request",
        "carries the TLS proxy's `X-Forwarded-Proto: https`. The database: `seed_demo` with",
        f"{PATIENTS:,} patients over {CLINICS} clinics, {UNDER_WAY:.0%} of their plans under way (each",
        "patient with an API token of their own, made by the token service) and the rest over,",
        f"12 weeks of check-ins ({stack.timings.get('seed_s', 0):.0f} s to seed, "
        f"{stack.timings.get('tokens_s', 0):.0f} s for the tokens).",
        f"Locust {peak_raw.get('locust', '')} (a library, headless, on the same machine) sends "
        f"{PEAK_RATE:g} check-ins a second to",
        f"`POST {API_PATH}`, each with the next patient's token, while {THERAPISTS} therapists, logged",
        f"in beforehand through the login page, each open a page every {PAGE_EVERY_S:g} s (caseload, a",
        f"patient record, the outcome report, in turn), for {PEAK_SECONDS:g} s. Response times are",
        "Locust's, unrounded; p95 is the nearest-rank 95th percentile.",
        "",
        "| requests | done | errors | per second | p50 ms | p95 ms | max ms | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        f"| check-ins | {checkin.ok} | {checkin.errors} | {checkin.rate:.1f} | {_ms(checkin.p50)} | "
        f"{_ms(checkin.p95)} | {_ms(checkin.max)} | p95 <= {CHECKIN_P95_MS:g} ms: "
        f"**{_verdict(checkin.p95 <= CHECKIN_P95_MS)}** |",
    ]
    for kind, title in zip(PAGE_KINDS, ("caseload", "patient record", "outcome report"), strict=True):
        fig = peak.get(kind)
        if fig is not None:
            lines.append(
                f"| {title} | {fig.ok} | {fig.errors} | {fig.rate:.1f} | {_ms(fig.p50)} | {_ms(fig.p95)} | "
                f"{_ms(fig.max)} | |"
            )
    lines += [
        f"| all therapist pages | {pages.ok} | {pages.errors} | {pages.rate:.1f} | {_ms(pages.p50)} | "
        f"{_ms(pages.p95)} | {_ms(pages.max)} | p95 <= {PAGE_P95_MS:g} ms: "
        f"**{_verdict(pages.ok > 0 and pages.p95 <= PAGE_P95_MS)}** |",
        "",
        f"- check-in p95: **{_ms(checkin.p95)} ms** (target <= {CHECKIN_P95_MS:g} ms: "
        f"{_verdict(checkin.ok > 0 and checkin.p95 <= CHECKIN_P95_MS)})",
        f"- therapist page p95: **{_ms(pages.p95)} ms** (target <= {PAGE_P95_MS:g} ms: "
        f"{_verdict(pages.ok > 0 and pages.p95 <= PAGE_P95_MS)})",
        f"- errors: **{errors}** (target 0: {_verdict(errors == 0)})"
        + ("; " + "; ".join(s for f in peak.values() for s in f.error_samples) if errors else ""),
        f"- check-ins that were the patient's first of the day (201): {first}; that replaced one (200): "
        f"{replaced}",
        f"- outcome recomputes still queued when the minute ended: {peak_queue}; the worker had taken "
        f"them all {peak_drain:.1f} s later",
        f"- Locust's own CPU warning (the client saturated): {'yes' if peak_raw['cpu_warning'] else 'no'}",
        "",
        "### Highest check-in rate with p95 <= 150 ms",
        "",
        f"Check-ins alone, in steps of {api_steps[0][0].seconds if api_steps else 0:g} s at doubling "
        "rates, until a step's p95 passes",
        f"{CHECKIN_P95_MS:g} ms, it has an error or it delivers under {SUSTAINED:.0%} of its rate; the",
        "worker's queue drained and the server idle before each step. The API's check-ins go on",
        "through the same patients (a patient's second that day replaces the first). The floor is",
        "a bare Django view that parses the same JSON and does one INSERT (scripts/bench_urls.py),",
        "in the same gunicorn. Reported, not a target.",
        "",
        "| path | asked /s | delivered /s | p50 ms | p95 ms | errors | step |",
        "|---|---:|---:|---:|---:|---|---|",
        *_ladder_lines("api", api_steps),
        *_ladder_lines("floor", floor_steps),
        "",
        f"- API (`POST {API_PATH}`): **{_highest(api_steps)}**",
        f"- floor (one INSERT): **{_highest(floor_steps)}**",
        "",
        "The machine is shared: Locust, gunicorn, the worker, PostgreSQL and Redis run on the",
        "same cores, and other work on it at the time of the run moves these figures.",
        "",
    ]
    return lines


def run(report: list[str]) -> None:
    """Run the morning peak and the ladder; append the Markdown section to ``report``.

    Needs DATABASE_URL (PostgreSQL) and REDIS_URL; without them the section says
    the benchmark was skipped. Raises subprocess.CalledProcessError or RuntimeError
    if a server or a Locust round fails to run (the servers are stopped and the
    database dropped either way).
    """
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) or not (
        os.environ.get("REDIS_URL")
    ):
        report += ["## Morning peak", "", "(skipped: it needs DATABASE_URL on PostgreSQL and REDIS_URL)", ""]
        return
    workers = int(os.environ.get("PLINTH_BENCH_PEAK_WORKERS", "3"))
    step_s = float(os.environ.get("PLINTH_BENCH_PEAK_STEP_SECONDS", "10"))
    password = secrets.token_urlsafe(16)
    tmp = Path(tempfile.mkdtemp(prefix="plinth-bench-peak-"))
    try:
        with _database() as url:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PLINTH_", "DJANGO_"))}
            env.update(
                DATABASE_URL=url,
                DJANGO_SETTINGS_MODULE="bench_settings",
                PYTHONPATH=os.pathsep.join([str(ROOT), str(SCRIPTS)]),
                PLINTH_ENV="production",
                PLINTH_VAR_DIR=str(tmp / "var"),
                SECRET_KEY=secrets.token_urlsafe(64),
                ALLOWED_HOSTS="127.0.0.1",
                # All 20 therapists log in from one loopback address within a minute,
                # which the per-address login limit (20 a minute) exists to refuse.
                PLINTH_RATE_LOGIN="1000",
                LOG_LEVEL="WARNING",
            )
            env.pop("DEBUG", None)
            env.pop("CELERY_TASK_ALWAYS_EAGER", None)
            stack = _Stack(env, tmp)
            try:
                stack.prepare(password)
                stack.start(workers)
                stack.log_in(password)
                stack.run(warm_up_round())
                stack.settle()
                peak, peak_raw = stack.run(peak_round())
                peak_queue = stack.queued()
                peak_drain = stack.drain()
                steps: dict[Target, list[tuple[Round, Figures, bool]]] = {"api": [], "floor": []}
                for target in ("api", "floor"):
                    for rnd in ladder(target, step_s):
                        stack.settle()
                        fig = stack.run(rnd)[0]["checkin"]
                        ok = step_passes(fig, rnd)
                        steps[target].append((rnd, fig, ok))
                        if not ok:
                            break
                lines = _section(
                    stack, workers, peak, peak_raw, peak_drain, peak_queue, steps["api"], steps["floor"]
                )
            finally:
                stack.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.extend(lines)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    found: list[str] = []
    run(found)
