#!/usr/bin/env python3
"""FHIR bulk export benchmark: one clinic's Group of N plans x 84 check-ins, exported to NDJSON.

Seeds ``seed_demo --dense --clinics 1`` (N patients, one 12-week plan each, a check-in on each of its
84 days: N = 100,000 by default, 8.4 million Observations) in one process, then in a fresh process
exports the clinic's Group, every resource type, as production does: it starts a Celery worker as
`make run` does (prefork, WORKERS = 2 processes; the broker is Redis when REDIS_URL is set, as under
`make bench`, else the filesystem broker), publishes the kick-off task ``fhir_export_run`` and waits
until the export's row says done. It reports:

- the export's time from publishing to the last part done, and per type its rows, part files, MB
  and the seconds worker processes spent on it (from each part's log line), so rows/s a process;
- the worker processes' peak RSS (/proc VmHWM) beside their RSS before the export: a part holds
  one batch (settings.FHIR_EXPORT_BATCH rows), so the difference does not grow with N;
- the cost of the audit-trail ``meta.lastUpdated`` subquery of Patients and CarePlans: the CarePlan
  rows read batch by batch with and without it (the builders aside);
- for reference, not as a target: on PostgreSQL a plain ``COPY (SELECT ...) TO STDOUT`` of the same
  check-in rows through psycopg's copy API, written to a file; on SQLite a plain SELECT of them;
- how long the seeding took (not part of the export; most of a 100,000-plan run's time).

``run(report)`` is what scripts/bench.py calls (``--only fhir_export``); on PostgreSQL (DATABASE_URL)
it makes a database for the run and drops it after, otherwise it uses a temporary SQLite file.
Standalone: ``python scripts/bench_fhir_export.py --plans N`` prints the section (same databases).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLANS = 100_000
#: Worker processes: `make run`'s worker (scripts/run.py, --concurrency 2), one per core of the target.
WORKERS = 2


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def seed(plans: int) -> dict[str, Any]:
    """Migrate and seed one clinic of ``plans`` dense plans (the first stage, its own process)."""
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", patients=plans, clinics=1, dense=True, no_outcomes=True, stdout=quiet)
    return {"seed_s": time.perf_counter() - started}


def _copy_reference(clinic_id: int, target: Path) -> float:
    """Seconds to write the clinic's check-in rows to ``target`` with the database's own bulk path."""
    from django.db import connection

    sql = (
        "SELECT c.id, c.patient_id, c.plan_id, c.local_date, c.nprs, c.side, c.received_at, c.corrected_at "
        "FROM checkins_paincheckin c JOIN accounts_patient p ON p.id = c.patient_id WHERE p.clinic_id = {}"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor, target.open("wb") as out:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY ({sql.format(int(clinic_id))}) TO STDOUT") as copy:
                for block in copy:
                    out.write(block)
        else:
            cursor.execute(sql.format(int(clinic_id)))
            while rows := cursor.fetchmany(10_000):
                out.write("".join("\t".join(map(str, row)) + "\n" for row in rows).encode())
    return time.perf_counter() - started


def _read_plans(clinic: Any, *, stamped: bool) -> float:
    from careplans.selectors import clinic_plans
    from fhir_r4.export_writer import batches
    from fhir_r4.selectors import Scope, careplans

    rows = careplans(Scope(clinic=clinic)) if stamped else clinic_plans(clinic=clinic)
    started = time.perf_counter()
    for _ in batches(rows, 2000):
        pass
    return time.perf_counter() - started


def _hwm_mb(pid: int) -> tuple[float, float]:
    # (VmRSS now, VmHWM: the peak) of a process, in MB (Linux /proc).
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in found:
            found[key] = int(line.split()[1]) / 1024
    return found["VmRSS"], found["VmHWM"]


def _worker(work: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A Celery worker as `make run` starts it (prefork, WORKERS processes), ready to take tasks."""
    log = work / "worker.log"
    cmd = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO"]
    cmd += ["--concurrency", str(WORKERS), "--pool", "prefork", "--without-gossip", "--without-mingle"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc, log


def _cpu_s(procs: list[Any]) -> float:
    # User + system CPU seconds of these processes and of their children that have ended.
    total = 0.0
    for proc in procs:
        times = proc.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _database_processes() -> list[Any]:
    """The PostgreSQL server's processes (postmaster and backends) of this connection; [] on SQLite."""
    import psutil
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        postmaster = psutil.Process(cursor.fetchone()[0]).parent()
    return [postmaster, *postmaster.children()] if postmaster is not None else []


#: "FHIR bulk export 7: Observation part 3, 100000 resources in 7.12 s" (fhir_r4.export_writer.part_run)
PART_LINE = re.compile(r"FHIR bulk export \d+: (\w+) part \d+, (\d+) resources in ([\d.]+) s")


def export(work: Path) -> dict[str, Any]:
    """Export the seeded clinic's Group as production does (the second stage, a fresh process): the
    kick-off task published to a Celery worker of WORKERS processes, which writes the part files;
    the figures."""
    _setup_django()
    import psutil
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Clinic, Therapist
    from fhir_r4.models import BulkExport, ExportStatus
    from fhir_r4.selectors import RESOURCE_TYPES
    from fhir_r4.tasks import fhir_export_run

    clinic = Clinic.objects.get()
    therapist = Therapist.objects.filter(clinic=clinic).select_related("user").first()
    assert therapist is not None
    now = timezone.now()
    row = BulkExport.objects.create(
        requester=therapist.user,
        clinic=clinic,
        types=list(RESOURCE_TYPES),
        request_url=f"/fhir/R4/Group/{clinic.pk}/$export",
        created=now,
        expires=now + timedelta(hours=1),
    )
    result: dict[str, Any] = {"vendor": connection.vendor, "workers": WORKERS}
    worker, log = _worker(work)
    try:
        children = psutil.Process(worker.pid).children()
        result["rss_before_mb"] = max(_hwm_mb(child.pid)[0] for child in children)
        result["load_before"] = os.getloadavg()[0]
        # CPU seconds spent by the worker's processes and the database server: unlike the wall
        # time, they hardly move with other work on the machine (the postmaster counts its ended
        # backends as its children).
        database = _database_processes()
        cpu_before = _cpu_s(children), _cpu_s(database[:1]) + _cpu_s(database[1:])
        started = time.perf_counter()
        fhir_export_run.delay(row.pk)
        while BulkExport.objects.filter(pk=row.pk, status__in=["queued", "running"]).exists():
            time.sleep(0.2)
        result["export_s"] = time.perf_counter() - started
        result["load_after"] = os.getloadavg()[0]
        alive = [proc for proc in _database_processes() if proc.is_running()]
        result["worker_cpu_s"] = _cpu_s(children) - cpu_before[0]
        result["database_cpu_s"] = _cpu_s(alive[:1]) + _cpu_s(alive[1:]) - cpu_before[1]
        result["peak_rss_mb"] = max(_hwm_mb(child.pid)[1] for child in children)
    finally:
        worker.terminate()
        worker.wait(60)
    done = BulkExport.objects.get(pk=row.pk)
    result["status"] = done.status
    assert done.status == ExportStatus.DONE, done.error
    files: dict[str, dict[str, Any]] = {}
    for f in done.files.order_by("pk"):  # planned in the order of the types
        entry = files.setdefault(f.resource_type, {"count": 0, "mb": 0.0, "parts": 0, "busy_s": 0.0})
        entry["count"] += f.count
        entry["parts"] += 1
        entry["mb"] += (Path(settings.FHIR_EXPORT_DIR) / f.path).stat().st_size / 2**20
    for name, _, seconds in PART_LINE.findall(log.read_text(errors="replace")):
        files[name]["busy_s"] += float(seconds)
    result["files"] = files
    result["copy_s"] = _copy_reference(clinic.pk, work / "copy.tsv")
    result["copy_mb"] = (work / "copy.tsv").stat().st_size / 2**20
    result["plans_stamped_s"] = _read_plans(clinic, stamped=True)
    result["plans_plain_s"] = _read_plans(clinic, stamped=False)
    result["batch"] = settings.FHIR_EXPORT_BATCH
    result["part_rows"] = settings.FHIR_EXPORT_PART_ROWS
    return result


def _stage(args: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    subprocess.run([sys.executable, __file__, *args, "--json-out", str(out)], env=env, check=True, cwd=ROOT)
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def measure(plans: int) -> dict[str, Any]:
    """Seed and export in two child processes, on a database made for the run; the figures."""
    url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="plinth-bench-fhir-") as tmp:
        work = Path(tmp)
        # The broker: Redis when there is one (make bench: scripts/testenv.py), else the filesystem
        # broker in the run's folder; the export files in the run's folder too.
        env = {**os.environ, "PLINTH_VAR_DIR": tmp, "FHIR_EXPORT_DIR": str(work / "exports")}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        if env.get("REDIS_URL"):  # a database of Redis of its own: no other bench's tasks in it
            env["REDIS_URL"] = urlunsplit(urlsplit(env["REDIS_URL"])._replace(path="/7"))
        admin = name = ""
        if url.startswith("postgres"):
            import psycopg

            parts = urlsplit(url)
            name = f"plinth_bench_fhir_{os.getpid()}"
            admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        else:
            env.pop("DATABASE_URL", None)
        try:
            result = _stage(["--stage", "seed", "--plans", str(plans)], env, work / "seed.json")
            result |= _stage(["--stage", "export", "--work", tmp], env, work / "export.json")
        finally:
            if os.environ.get("FHIR_BENCH_KEEP_LOG") and (work / "worker.log").exists():
                Path(os.environ["FHIR_BENCH_KEEP_LOG"]).write_text((work / "worker.log").read_text())
            if admin:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    result["plans"] = plans
    return result


def lines(r: dict[str, Any]) -> list[str]:
    """The section of docs/benchmarks.md for one run's figures."""
    observations = r["files"].get("Observation", {}).get("count", 0)
    rate = observations / r["export_s"] if r["export_s"] else 0.0
    total = sum(f["count"] for f in r["files"].values())
    total_mb = sum(f["mb"] for f in r["files"].values())
    reference = (
        "COPY (SELECT ...) TO STDOUT (psycopg copy)" if r["vendor"] == "postgresql" else "plain SELECT"
    )
    out = [
        f"### FHIR bulk export, {r['vendor']}: one clinic's Group, {r['plans']:,} plans, "
        f"{observations:,} check-ins",
        "",
        "| measure | result |",
        "|---|---|",
        f"| export, every type: kick-off task to the last part done, a Celery worker of {r['workers']} "
        f"processes | {r['export_s']:.1f} s ({total:,} resources, {total / r['export_s']:,.0f}/s; "
        f"{rate:,.0f} Observations/s; status {r['status']}) |",
    ]
    for name, f in r["files"].items():
        per_s = f["count"] / f["busy_s"] if f["busy_s"] else 0.0
        out.append(
            f"| {name}: {f['count']:,} in {f['parts']} file(s), {f['mb']:,.1f} MB | "
            f"{f['busy_s']:.1f} s of a worker process, {per_s:,.0f}/s a process |"
        )
    out += [
        f"| CPU seconds of the worker's processes / the database server during the export | "
        f"{r['worker_cpu_s']:.1f} s / {r['database_cpu_s']:.1f} s: on {r['workers']} free cores, at least "
        f"{(r['worker_cpu_s'] + r['database_cpu_s']) / r['workers']:.1f} s |",
        f"| files written | {total_mb:,.1f} MB |",
        f"| peak RSS of a worker process / its RSS before the export | {r['peak_rss_mb']:.0f} MB / "
        f"{r['rss_before_mb']:.0f} MB (batches of {r['batch']:,} rows, parts of {r['part_rows']:,}) |",
        f"| reference: the same check-in rows by {reference} to a file | {r['copy_s']:.2f} s, "
        f"{r['copy_mb']:,.0f} MB |",
        f"| CarePlan rows read in batches, with / without the audit-trail lastUpdated subquery | "
        f"{r['plans_stamped_s']:.2f} s / {r['plans_plain_s']:.2f} s |",
        f"| seeding (not part of the export) | {r['seed_s']:.1f} s |",
        f"| the machine's load average (1 min) when the export began / ended | {r['load_before']:.1f} / "
        f"{r['load_after']:.1f} (2 cores: above 2, other work shared them) |",
        "",
    ]
    return out


def run(report: list[str]) -> None:
    """Measure at DEFAULT_PLANS (or FHIR_BENCH_PLANS) and append the section to ``report``."""
    plans = int(os.environ.get("FHIR_BENCH_PLANS", DEFAULT_PLANS))
    report += lines(measure(plans))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plans", type=int, default=DEFAULT_PLANS)
    parser.add_argument("--stage", choices=["seed", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        result = seed(args.plans) if args.stage == "seed" else export(Path(args.work))
        Path(args.json_out).write_text(json.dumps(result))
        return 0
    print("\n".join(lines(measure(args.plans))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
