#!/usr/bin/env python3
"""Reminder fan-out benchmark: N patients due at once, against a local aiosmtpd.

Measures (a) the time to claim every delivery (reminders.services: the due
query, the unique bulk insert and its read-back, batch after batch) and the
queries each batch costs, which must not grow with N; (b) the send rate: every
claimed delivery sent through ``reminder_send`` (the Celery task's body: the
conditional update, the checks, SMTP, the record) by a few sender threads, each
with one SMTP connection, to an aiosmtpd server that counts what it receives;
(c) duplicates and misses at the server (both must be 0), and a second dispatch
that must claim nothing.

``run(report)`` is what scripts/bench.py calls: on PostgreSQL (DATABASE_URL) it
makes a database for the run and drops it after; otherwise it uses a temporary
SQLite file. Standalone: ``python scripts/bench_reminders.py --patients N``
against DATABASE_URL (migrated first; the rows it adds are removed after).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATIENTS = 100_000
SENDERS = 4
PREFIX = "bench-reminder-"
#: Zones to spread the patients over, west to east. A send is skipped (by design)
#: when the patient's local date has moved on since the claim, so the benchmark
#: uses only the zones that are far from local midnight when it starts.
CANDIDATE_ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
ZONES = 5
#: Local hours a chosen zone must have before its midnight: longer than any run.
MARGIN_HOURS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


# The SMTP server runs in its own process, so its work does not share this
# process's interpreter lock with the senders. It counts per recipient and
# writes the counts as JSON when told to stop.
SMTP_SERVER = """
import json, signal, sys, threading, time
from collections import Counter
from aiosmtpd.controller import Controller

counts = Counter()
lock = threading.Lock()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            for rcpt in envelope.rcpt_tos:
                counts[rcpt] += 1
        return "250 OK"

done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
done.wait()
controller.stop()
with lock:
    json.dump(dict(counts), open(sys.argv[2], "w"))
"""


def bench_zones(now: datetime) -> list[str]:
    """Up to ``ZONES`` zones, spread over the candidates, whose local date will not change
    within ``MARGIN_HOURS`` of ``now`` (nor did in the last hour)."""
    safe = []
    for name in CANDIDATE_ZONES:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        hour = local.hour + local.minute / 60
        if 1 <= hour < 24 - MARGIN_HOURS:
            safe.append(name)
    step = max(1, len(safe) // ZONES)
    return safe[::step][:ZONES]


def _seed(n: int, zones: list[str]) -> int:
    """N patients, each with an active plan and reminders due; returns the clinic id."""
    from accounts.models import Clinic, Patient, Therapist, User
    from careplans.models import CarePlan, PlanStatus

    # Half an hour ago in each zone: due now, and well inside the maximum lateness.
    half_hour_ago = datetime.now(UTC) - timedelta(minutes=30)
    due_at = {z: half_hour_ago.astimezone(zoneinfo.ZoneInfo(z)).time().replace(microsecond=0) for z in zones}
    clinic = Clinic.objects.create(name=f"{PREFIX}{os.getpid()}-{time.time_ns()}")
    therapist = Therapist.objects.create(
        user=User.objects.create(email=f"{PREFIX}therapist-{clinic.pk}@example.test", full_name="Bench"),
        clinic=clinic,
    )
    step = 5000
    for first in range(0, n, step):
        users = User.objects.bulk_create(
            User(email=f"{PREFIX}{clinic.pk}-{i}@example.test", full_name=f"Patient {i}", password="!")
            for i in range(first, min(n, first + step))
        )
        patients = Patient.objects.bulk_create(
            Patient(
                user=u,
                clinic=clinic,
                therapist=therapist,
                timezone=zones[i % len(zones)],
                reminder_time=due_at[zones[i % len(zones)]],
            )
            for i, u in enumerate(users)
        )
        CarePlan.objects.bulk_create(
            CarePlan(
                patient=p,
                therapist=therapist,
                title="Bench plan",
                start_date=date(2020, 1, 1),
                length_weeks=52,
                status=PlanStatus.ACTIVE,
            )
            for p in patients
        )
    return int(clinic.pk)


def _clean(clinic_id: int) -> None:
    from accounts.models import Clinic, Patient, Therapist, User
    from audit.models import AuditEvent
    from careplans.models import CarePlan
    from reminders.models import ReminderDelivery

    ReminderDelivery.objects.filter(patient__clinic_id=clinic_id).delete()
    CarePlan.objects.filter(patient__clinic_id=clinic_id).delete()
    AuditEvent.objects.filter(clinic_id=clinic_id)._raw_delete(AuditEvent.objects.db)
    user_ids = list(Patient.objects.filter(clinic_id=clinic_id).values_list("user_id", flat=True))
    user_ids += list(Therapist.objects.filter(clinic_id=clinic_id).values_list("user_id", flat=True))
    Patient.objects.filter(clinic_id=clinic_id).delete()
    Therapist.objects.filter(clinic_id=clinic_id).delete()
    for first in range(0, len(user_ids), 5000):
        User.objects.filter(pk__in=user_ids[first : first + 5000]).delete()
    Clinic.objects.filter(pk=clinic_id).delete()


def measure(n: int, *, throwaway: bool = False) -> dict[str, Any]:
    """Seed, claim, send and count, in this process (DATABASE_URL decides the database).

    ``throwaway``: the database is dropped after the run, so the seeded rows are not removed.
    """
    _setup_django()
    from django.core.mail import get_connection
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Patient
    from reminders.delivery import reminder_send
    from reminders.models import DeliveryStatus, ReminderDelivery
    from reminders.services import BATCH, reminder_claim, reminders_dispatch, reminders_due
    from reminders.windows import reminder_zones

    call_command("migrate", verbosity=0)
    result: dict[str, Any] = {"vendor": connection.vendor, "patients": n}
    started = time.perf_counter()
    result["zones"] = bench_zones(timezone.now())
    clinic_id = _seed(n, result["zones"])
    result["seed_s"] = time.perf_counter() - started
    try:
        # (a) claim every delivery, batch by batch, counting each batch's queries.
        now = timezone.now()
        after, ids, per_batch = 0, [], []
        started = time.perf_counter()
        zones = reminder_zones()
        while True:
            # As the job does it: each batch's claim is one transaction.
            with CaptureQueriesContext(connection) as ctx, transaction.atomic():
                due = reminders_due(now=now, zones=zones, after_id=after)
                claimed = reminder_claim(due=due, now=now) if due else []
            per_batch.append(len(ctx.captured_queries))
            ids += claimed
            if len(due) < BATCH:
                break
            after = due[-1].patient_id
        result["claim_s"] = time.perf_counter() - started
        result["claimed"] = len(ids)
        result["batches"] = len(per_batch)
        result["queries_per_batch"] = per_batch

        # (b) send them all, SENDERS threads, one SMTP connection each.
        port = _free_port()
        counts_file = Path(tempfile.mkdtemp()) / "counts.json"
        smtp = subprocess.Popen(
            [sys.executable, "-c", SMTP_SERVER, str(port), str(counts_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert smtp.stdout is not None and smtp.stdout.readline().strip() == "ready"
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def sender(chunk: list[int]) -> None:
            mail = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port)
            mail.open()
            local: Counter[str] = Counter()
            try:
                for delivery_id in chunk:
                    local[reminder_send(delivery_id=delivery_id, connection=mail).outcome] += 1
            finally:
                mail.close()
                connections.close_all()
            with lock:
                outcomes.update(local)

        threads = [threading.Thread(target=sender, args=(ids[k::SENDERS],)) for k in range(SENDERS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result["send_s"] = time.perf_counter() - started
        smtp.terminate()
        smtp.wait(timeout=60)
        counts: dict[str, int] = json.loads(counts_file.read_text())
        emails = set(Patient.objects.filter(clinic_id=clinic_id).values_list("user__email", flat=True))
        result["emails"] = sum(counts.values())
        result["duplicates"] = sum(count - 1 for count in counts.values() if count > 1)
        result["missing"] = len(emails - set(counts))
        result["outcomes"] = dict(outcomes)
        result["sent_rows"] = ReminderDelivery.objects.filter(
            patient__clinic_id=clinic_id, status=DeliveryStatus.SENT
        ).count()
        # (c) the job again: everything is claimed and sent, so nothing new.
        result["second_run_claimed"] = reminders_dispatch(now=now).claimed
    finally:
        if not throwaway:
            _clean(clinic_id)
    return result


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _child(n: int, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**env, "PLINTH_VAR_DIR": env.get("PLINTH_VAR_DIR", tmp)}
        env.pop("REDIS_URL", None)  # the broker is not part of this measurement
        # The child exits 1 when it counted duplicates or misses; its figures say which.
        proc = subprocess.run(
            [sys.executable, __file__, "--patients", str(n), "--json-out", str(out), "--throwaway"],
            env=env,
            check=False,
            cwd=ROOT,
        )
        if not out.exists():
            raise RuntimeError(f"the benchmark process exited with {proc.returncode} before its figures")
        data: dict[str, Any] = json.loads(out.read_text())
        return data


def _lines(r: dict[str, Any]) -> list[str]:
    n = r["patients"]
    rate = r["emails"] / r["send_s"] if r["send_s"] else 0.0
    tally = Counter(r["queries_per_batch"])
    queries = ", ".join(f"{q} (x{n})" for q, n in sorted(tally.items()))
    sends = ", ".join(f"{k} {v:,}" for k, v in sorted(r["outcomes"].items()))
    return [
        f"### Reminder fan-out, {r['vendor']}: {n:,} patients due at once",
        "",
        "| measure | result |",
        "|---|---|",
        f"| claim every delivery (due query + unique insert + read-back) | {r['claim_s']:.2f} s "
        f"({r['claimed'] / r['claim_s'] if r['claim_s'] else 0:,.0f} rows/s) |",
        f"| batches of 1,000 / queries per batch | {r['batches']} / {queries} "
        "(each full batch the same: the due query, the insert and its read-back, in one "
        "transaction; SQLite splits the insert by its parameter limit) |",
        f"| emails sent ({SENDERS} sender threads, one SMTP connection each) | {r['emails']:,} in "
        f"{r['send_s']:.1f} s: {rate:,.0f} emails/s |",
        f"| duplicates / missing at the SMTP server | {r['duplicates']} / {r['missing']} |",
        f"| outcomes of the sends | {sends} |",
        f"| delivery rows sent / claimed by a second run of the job | "
        f"{r['sent_rows']:,} / {r['second_run_claimed']} |",
        f"| seeding (not part of the job) | {r['seed_s']:.1f} s |",
        "",
        f"Patients spread over {', '.join(r['zones'])} (zones not near local midnight at the start, "
        "so no patient's day ends between the claim and the send).",
        "",
    ]


def run(report: list[str], patients: int | None = None) -> None:
    """Run the benchmark in a child process on a fresh database; append Markdown to ``report``."""
    n = patients or int(os.environ.get("PLINTH_BENCH_REMINDERS", DEFAULT_PATIENTS))
    url = os.environ.get("DATABASE_URL", "")
    report += [
        "## Reminders",
        "",
        "The every-5-minutes job with every patient due at once. Sending goes through",
        "`reminder_send`, the body of the Celery task, to aiosmtpd on loopback in a process of its own.",
        "",
    ]
    if url.startswith("postgres"):
        parts = urlsplit(url)
        name = f"plinth_bench_reminders_{os.getpid()}"
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        _pg_admin(admin, f"CREATE DATABASE {name}")
        try:
            env = dict(os.environ, DATABASE_URL=urlunsplit(parts._replace(path=f"/{name}")))
            report += _lines(_child(n, env))
        finally:
            _pg_admin(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
            env["PLINTH_VAR_DIR"] = tmp
            report += _lines(_child(n, env))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    parser.add_argument("--throwaway", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    result = measure(args.patients, throwaway=args.throwaway)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result))
    else:
        print("\n".join(_lines(result)))
    return 0 if result["duplicates"] == 0 and result["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
