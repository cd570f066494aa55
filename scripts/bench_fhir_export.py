#!/usr/bin/env python3
"""FHIR bulk export benchmark: one clinic's Group of N plans x 84 check-ins, exported to NDJSON.

Seeds ``seed_demo --dense --clinics 1`` (N patients, one 12-week plan each, a check-in on each of its
84 days: N = 100,000 by default, 8.4 million Observations) in one process, then in a fresh process
(so its peak memory is the export's, not the seeding's) runs ``fhir_r4.export_writer.export_run`` on the
clinic's Group, every resource type, and reports:

- the export's time, per type (rows, seconds, rows/s), and the files' size;
- the process's peak RSS (``resource.getrusage`` maxrss) beside its RSS before the export: the
  writer holds one batch (settings.FHIR_EXPORT_BATCH rows), so the difference does not grow with N;
- the cost of the audit-trail ``meta.lastUpdated`` subquery of Patients and CarePlans: the CarePlan
  rows read batch by batch with and without it (the builders aside);
- for reference, not as a target: on PostgreSQL a plain ``COPY (SELECT ...) TO STDOUT`` of the same
  check-in rows through psycopg's copy API, written to a file; on SQLite a plain SELECT of them.

``run(report)`` is what scripts/bench.py calls (``--only fhir_export``); on PostgreSQL (DATABASE_URL)
it makes a database for the run and drops it after, otherwise it uses a temporary SQLite file.
Standalone: ``python scripts/bench_fhir_export.py --plans N`` prints the section (same databases).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    # VmRSS of this process now (Linux); the peak is getrusage's maxrss.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


def export(work: Path) -> dict[str, Any]:
    """Export the seeded clinic's Group (the second stage, a fresh process); the figures."""
    _setup_django()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Clinic, Therapist
    from fhir_r4.export_writer import export_run
    from fhir_r4.models import BulkExport
    from fhir_r4.selectors import RESOURCE_TYPES

    settings.FHIR_EXPORT_DIR = work / "exports"
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
    result: dict[str, Any] = {"vendor": connection.vendor, "rss_before_mb": _current_rss_mb()}
    started = time.perf_counter()
    status = export_run(row.pk)
    result["export_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = _rss_mb()
    result["status"] = status
    files = {f.resource_type: f for f in BulkExport.objects.get(pk=row.pk).files.all()}
    result["files"] = {
        name: {"count": f.count, "mb": (settings.FHIR_EXPORT_DIR / f.path).stat().st_size / 2**20}
        for name, f in files.items()
    }
    result["copy_s"] = _copy_reference(clinic.pk, work / "copy.tsv")
    result["copy_mb"] = (work / "copy.tsv").stat().st_size / 2**20
    result["plans_stamped_s"] = _read_plans(clinic, stamped=True)
    result["plans_plain_s"] = _read_plans(clinic, stamped=False)
    result["batch"] = settings.FHIR_EXPORT_BATCH
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
        env = {**os.environ, "PLINTH_VAR_DIR": tmp}
        env.pop("REDIS_URL", None)  # no broker: the export runs in the process, as the task's body
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
            if admin:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    result["plans"] = plans
    return result


def lines(r: dict[str, Any]) -> list[str]:
    """The section of docs/benchmarks.md for one run's figures."""
    observations = r["files"].get("Observation", {}).get("count", 0)
    rate = observations / r["export_s"] if r["export_s"] else 0.0
    total_mb = sum(f["mb"] for f in r["files"].values())
    written = ", ".join(f"{name} {f['count']:,}" for name, f in r["files"].items())
    reference = (
        "COPY (SELECT ...) TO STDOUT (psycopg copy)" if r["vendor"] == "postgresql" else "plain SELECT"
    )
    out = [
        f"### FHIR bulk export, {r['vendor']}: one clinic's Group, {r['plans']:,} plans, "
        f"{observations:,} check-ins",
        "",
        "| measure | result |",
        "|---|---|",
        "| export, every type (export_run: build, check a resource a batch, write) | "
        f"{r['export_s']:.1f} s "
        f"({rate:,.0f} Observations/s, status {r['status']}) |",
        f"| files written | {written}; {total_mb:,.1f} MB |",
        f"| peak RSS of the exporting process / RSS before the export | {r['peak_rss_mb']:.0f} MB / "
        f"{r['rss_before_mb']:.0f} MB (batches of {r['batch']:,} rows) |",
        f"| reference: the same check-in rows by {reference} to a file | {r['copy_s']:.2f} s, "
        f"{r['copy_mb']:,.0f} MB |",
        f"| CarePlan rows read in batches, with / without the audit-trail lastUpdated subquery | "
        f"{r['plans_stamped_s']:.2f} s / {r['plans_plain_s']:.2f} s |",
        f"| seeding (not part of the export) | {r['seed_s']:.1f} s |",
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
