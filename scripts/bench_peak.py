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

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from peak_rounds import (
    API_PATH,
    CHECKIN_P95_MS,
    LADDER_RATES,
    PAGE_EVERY_S,
    PAGE_KINDS,
    PAGE_P95_MS,
    PEAK_RATE,
    PEAK_SECONDS,
    SUSTAINED,
    Figures,
    Round,
    Target,
    figures,
    ladder,
    peak_round,
    round_config,
    step_passes,
    warm_up_round,
)
from peak_stack import (
    CLINICS,
    PATIENTS,
    ROOT,
    SCRIPTS,
    THERAPISTS,
    UNDER_WAY,
    Stack,
    cpu_seconds,
    cpu_used,
    database,
)


def run_round(stack: Stack, rnd: Round) -> tuple[dict[str, Figures], dict[str, Any]]:
    """One round through scripts/peak_locustfile.py in its own process; its figures and raw results."""
    offset = stack.used % len(stack.tokens) if stack.tokens else 0
    tokens = stack.tokens[offset:] + stack.tokens[:offset]
    out = stack.tmp / "round-out.json"
    config = stack.tmp / "round.json"
    config.write_text(
        json.dumps(
            round_config(
                rnd,
                host=f"http://127.0.0.1:{stack.port}",
                tokens=tokens,
                therapists=stack.therapists,
                out=out,
            )
        )
    )
    print(f"bench_peak: {rnd.label} ({rnd.rate:g} check-ins/s, {rnd.seconds:g} s)", flush=True)
    before = cpu_seconds()
    sampled = dict(before)
    runner = subprocess.Popen([sys.executable, str(SCRIPTS / "peak_locustfile.py"), str(config)], cwd=ROOT)
    # Sampled while Locust runs, so that its own process (gone by the end) is counted too.
    deadline = time.monotonic() + rnd.seconds + 120
    while runner.poll() is None and time.monotonic() < deadline:
        sampled.update(cpu_seconds())
        time.sleep(0.5)
    if runner.poll() is None:
        runner.kill()
        raise subprocess.TimeoutExpired(runner.args, rnd.seconds + 120)
    if runner.returncode:
        raise subprocess.CalledProcessError(runner.returncode, runner.args)
    sampled.update(cpu_seconds())
    results: dict[str, Any] = json.loads(out.read_text())
    # Cores used on average over the round's own length, per part of the stack.
    results["cpu_cores"] = {
        part: seconds / rnd.seconds for part, seconds in cpu_used(before, sampled).items()
    }
    sent = results["requests"].get("checkin", {}).get("statuses", [])
    if rnd.target == "api":
        stack.used += len(sent)
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
    stack: Stack,
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
        f"patient record, the outcome report, in turn), for {PEAK_SECONDS:g} s. Each simulated phone",
        "keeps a timetable of its own: a first moment drawn at random within its period, then one",
        "check-in every period, so the check-ins arrive spread over each second as independent",
        "phones' would (with their chance coincidences), not in one burst a second as Locust's",
        "constant_throughput left them (runs before 2026-11-30 13:00 UTC). Response times are",
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
        "- CPU used during the minute, in cores on average (the machine has "
        f"{os.cpu_count()}): "
        + ", ".join(f"{part} {cores:.2f}" for part, cores in peak_raw.get("cpu_cores", {}).items()),
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
        with database() as url:
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
            stack = Stack(env, tmp)
            try:
                stack.prepare(password)
                stack.start(workers)
                stack.log_in(password)
                run_round(stack, warm_up_round())
                stack.settle()
                peak, peak_raw = run_round(stack, peak_round())
                peak_queue = stack.queued()
                peak_drain = stack.drain()
                steps: dict[Target, list[tuple[Round, Figures, bool]]] = {"api": [], "floor": []}
                for target in ("api", "floor"):
                    for rnd in ladder(target, step_s):
                        stack.settle()
                        fig = run_round(stack, rnd)[0]["checkin"]
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
