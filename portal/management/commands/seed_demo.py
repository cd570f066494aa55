"""Seed a realistic synthetic clinic set, fast enough for 100,000 patients.

``python manage.py seed_demo --patients N`` creates several clinics and their
therapists, N patients with one 12-week plan each and their daily check-ins:
responders, partial responders, patients who do not improve or get worse,
plans stopped early, patients who miss whole weeks, plans still under way.
``--dense`` gives every plan a check-in on each of its 84 days instead (the
benchmark's 8.4 million rows for 100,000 plans).

Rows are written in bulk, never one model instance at a time: ``COPY`` on
PostgreSQL (psycopg 3), ``executemany`` on SQLite. Ids are assigned here, so
no row needs a round trip to learn its id. Each chunk of plans commits on its
own, so the database never queues millions of deferred foreign-key checks.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn, Side
from outcomes.recompute import outcome_refresh_all

CLINIC_NAMES = [
    "Harbour Physiotherapy",
    "Northgate Physio",
    "Riverbend Sports Clinic",
    "Meadow Lane Physiotherapy",
    "Castle Hill Rehab",
    "Eastfield Movement Clinic",
    "Westbrook Physio",
    "Old Mill Physiotherapy",
]


FIRST = ["Ava", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hari", "Isla", "Jon", "Kemi", "Liam", "Mia"]


LAST = ["Adams", "Brown", "Chen", "Davies", "Evans", "Fischer", "Garcia", "Hughes", "Iyer", "Jones", "Khan"]


ZONES = [
    ("Europe/London", 50),
    ("Europe/Dublin", 10),
    ("Europe/Berlin", 10),
    ("America/New_York", 12),
    ("America/Los_Angeles", 8),
    ("Asia/Kolkata", 5),
    ("Australia/Sydney", 5),
]


CONDITIONS = [
    ("Low back pain", "Low back pain, one side"),
    ("Neck pain", "Neck pain and stiffness"),
    ("Knee osteoarthritis", "Knee strength and mobility"),
    ("Shoulder impingement", "Shoulder rehab"),
    ("Hip pain", "Hip strength programme"),
]


# profile: share of patients, change in NPRS by week 12 (points, mean)
PROFILES = [
    ("responder", 0.45, -4.5),
    ("partial", 0.20, -1.5),
    ("flat", 0.15, 0.0),
    ("worse", 0.05, 2.0),
    ("stopped", 0.15, -1.0),
]


PLAN_DAYS = 84


CHUNK = 2_000  # plans per transaction and per COPY


@dataclass
class _Counts:
    clinics: int = 0
    therapists: int = 0
    patients: int = 0
    plans: int = 0
    checkins: int = 0


class _Writer:
    """Bulk rows for one model: callers give the columns they know, defaults fill the rest."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.table = model._meta.db_table
        fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in fields]
        given = {name: i for i, name in enumerate(columns)}
        unknown = set(given) - set(self.columns)
        if unknown:
            raise CommandError(f"{self.table} has no columns {sorted(unknown)}")
        # For columns the seeder does not set (fields other issues may add), the
        # model default, prepared for the database once, not per row; a unique field's
        # (User.sign_in_key, a fresh UUID each) is drawn per row.
        self.plan: list[tuple[int, Any]] = []
        self.per_row: dict[int, models.Field[Any, Any]] = {}
        for position, field in enumerate(fields):
            if field.column in given:
                self.plan.append((given[field.column], None))
            elif field.unique and callable(field.default):
                self.plan.append((-1, None))
                self.per_row[position] = field
            else:
                default = field.get_default()
                self.plan.append((-1, field.get_db_prep_save(default, connection)))

    def _full(self, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            row[i]
            if i >= 0
            else (
                self.per_row[position].get_db_prep_save(self.per_row[position].get_default(), connection)
                if position in self.per_row
                else default
            )
            for position, (i, default) in enumerate(self.plan)
        )

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        if connection.vendor == "postgresql":
            names = ", ".join(f'"{c}"' for c in self.columns)
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
                with raw.copy(f'COPY "{self.table}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(self._full(row))
                        count += 1
            return count
        marks = ", ".join(["%s"] * len(self.columns))
        names = ", ".join(f'"{c}"' for c in self.columns)
        full = [self._full(row) for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "{self.table}" ({names}) VALUES ({marks})', full)  # noqa: S608
        return len(full)


def _next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')  # noqa: S608
        return int(cursor.fetchone()[0]) + 1


def _sync_sequences(*tables: type[models.Model]) -> None:
    """PostgreSQL: move each id sequence past the ids written here (SQLite does it itself)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1)) FROM \"{table}\"",  # noqa: S608
                [table],
            )


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class Command(BaseCommand):
    help = "Seed synthetic clinics, therapists, patients, 12-week plans and daily check-ins, in bulk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True, help="How many patients (one plan each).")
        parser.add_argument("--clinics", type=int, default=0, help="How many clinics (default: by size).")
        parser.add_argument(
            "--dense", action="store_true", help="A check-in on every one of the 84 days (benchmarks)."
        )
        parser.add_argument(
            "--under-way",
            type=float,
            default=0.15,
            help="Share of plans still under way (active), 0 to 1; the others are over (not with --dense).",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (same seed, same data).")
        parser.add_argument("--password", default="", help="Give the therapists this password to log in.")
        parser.add_argument("--no-outcomes", action="store_true", help="Skip computing the snapshots.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["patients"]
        if n < 1:
            raise CommandError("--patients must be at least 1")
        if not 0 <= options["under_way"] <= 1:
            raise CommandError("--under-way must be between 0 and 1")
        rng = random.Random(options["seed"])
        clinics_n = options["clinics"] or max(2, min(20, math.ceil(n / 5_000)))
        run = secrets.token_hex(3)
        counts = _Counts()
        now = timezone.now()
        today = timezone.localdate()

        with transaction.atomic():
            clinics, therapists = self._staff(clinics_n, run, options["password"], now, counts)
        bar = tqdm(total=n, desc="Seeding plans", unit="plan", disable=options["no_progress"])
        user_writer = _Writer(
            User,
            ["id", "password", "email", "full_name", "is_staff", "is_active", "date_joined", "is_superuser"],
        )
        patient_writer = _Writer(
            Patient, ["id", "user_id", "clinic_id", "therapist_id", "timezone", "created_at"]
        )
        plan_writer = _Writer(
            CarePlan,
            [
                "id",
                "patient_id",
                "therapist_id",
                "title",
                "condition",
                "start_date",
                "length_weeks",
                "status",
                "version",
                "created_at",
                "activated_at",
            ],
        )
        checkin_writer = _Writer(
            PainCheckIn, ["id", "patient_id", "plan_id", "local_date", "nprs", "side", "received_at"]
        )
        stamp = connection.ops.adapt_datetimefield_value(now)
        # The patients have joined (a usable password nobody knows, one hash for all) and each
        # plan was activated on its start date: they check in, so the silence and adherence
        # rules judge them (alerts.rules), as they would real patients.
        joined = make_password(secrets.token_urlsafe(24))
        done = 0
        while done < n:
            size = min(CHUNK, n - done)
            with transaction.atomic():
                user_id, patient_id = _next_id(User), _next_id(Patient)
                plan_id, checkin_id = _next_id(CarePlan), _next_id(PainCheckIn)
                users, patients, plans, checkins = [], [], [], []
                for i in range(size):
                    k = done + i
                    clinic = clinics[k % len(clinics)]
                    therapist = rng.choice(therapists[clinic.pk])
                    uid, pid, cid = user_id + i, patient_id + i, plan_id + i
                    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                    users.append(
                        [uid, joined, f"p{k}.{run}@seed.plinth.test", name, False, True, stamp, False]
                    )
                    zone = _weighted(rng, ZONES)
                    patients.append([pid, uid, clinic.pk, therapist, zone, stamp])
                    profile = rng.choices(PROFILES, weights=[p[1] for p in PROFILES])[0]
                    condition, title = rng.choice(CONDITIONS)
                    # Most plans are over, some are under way (not in dense mode: 84 full days).
                    under_way = not options["dense"] and rng.random() < options["under_way"]
                    ago = (
                        rng.randint(1, PLAN_DAYS - 1)
                        if under_way
                        else rng.randint(PLAN_DAYS, PLAN_DAYS + 270)
                    )
                    start = today - timedelta(days=ago)
                    days = self._days(rng, profile[0], ago, dense=options["dense"])
                    if under_way:
                        status = PlanStatus.ACTIVE
                    elif profile[0] == "stopped" and not options["dense"]:
                        status = PlanStatus.STOPPED
                    else:
                        status = PlanStatus.COMPLETED
                    plans.append(
                        [
                            cid,
                            pid,
                            therapist,
                            title,
                            condition,
                            start.isoformat(),
                            12,
                            status,
                            1,
                            stamp,
                            connection.ops.adapt_datetimefield_value(
                                datetime.combine(start, time(9), tzinfo=UTC)
                            ),
                        ]
                    )
                    for day, nprs in self._pain(rng, profile[2], days):
                        on = start + timedelta(days=day)
                        checkins.append([checkin_id, pid, cid, on.isoformat(), nprs, Side.CENTRE, stamp])
                        checkin_id += 1
                user_writer.write(users)
                patient_writer.write(patients)
                plan_writer.write(plans)
                counts.checkins += checkin_writer.write(checkins)
            counts.patients += size
            counts.plans += size
            done += size
            bar.update(size)
        bar.close()
        _sync_sequences(User, Patient, CarePlan, PainCheckIn)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Fresh statistics, so the planner sees the new row counts at once.
                cursor.execute(f'ANALYZE "{PainCheckIn._meta.db_table}", "{CarePlan._meta.db_table}"')
        if not options["no_outcomes"]:
            outcome_refresh_all(clinic_ids=[c.pk for c in clinics])
        self.stdout.write(
            f"Seeded {counts.clinics} clinics, {counts.therapists} therapists, {counts.patients} patients, "
            f"{counts.plans} plans, {counts.checkins} check-ins."
        )

    def _staff(
        self, clinics_n: int, run: str, password: str, now: Any, counts: _Counts
    ) -> tuple[list[Clinic], dict[int, list[int]]]:
        taken = set(Clinic.objects.values_list("name", flat=True))
        clinics = []
        for k in range(clinics_n):
            name = CLINIC_NAMES[k % len(CLINIC_NAMES)]
            if k >= len(CLINIC_NAMES):
                name = f"{name} {k // len(CLINIC_NAMES) + 1}"
            if name in taken:
                name = f"{name} ({run})"
            clinics.append(Clinic(name=name, timezone="Europe/London", created_at=now))
        clinics = Clinic.objects.bulk_create(clinics)
        counts.clinics = len(clinics)
        hashed = make_password(password) if password else make_password(None)
        therapists: dict[int, list[int]] = {}
        for k, clinic in enumerate(clinics):
            users = User.objects.bulk_create(
                User(
                    email=f"t{j}.c{k}.{run}@seed.plinth.test",
                    full_name=f"{FIRST[(k + j) % len(FIRST)]} {LAST[(3 * k + j) % len(LAST)]}",
                    password=hashed,
                )
                for j in range(8)
            )
            made = Therapist.objects.bulk_create(Therapist(user=u, clinic=clinic) for u in users)
            therapists[clinic.pk] = [t.pk for t in made]
            counts.therapists += len(made)
        return clinics, therapists

    @staticmethod
    def _days(rng: random.Random, profile: str, ago: int, *, dense: bool) -> list[int]:
        """Plan days with a check-in: all of them when dense, else realistic gaps."""
        last = min(PLAN_DAYS, ago)  # up to yesterday for plans under way
        if dense:
            return list(range(PLAN_DAYS))
        if profile == "stopped":
            last = min(last, rng.randint(10, 50))
        skip_rate = rng.choice([0.05, 0.1, 0.2, 0.35])
        missed_weeks = set(rng.sample(range(12), rng.choice([0, 0, 0, 1, 2])))
        return [d for d in range(last) if d // 7 not in missed_weeks and rng.random() > skip_rate]

    @staticmethod
    def _pain(rng: random.Random, mean_change: float, days: list[int]) -> Iterable[tuple[int, int]]:
        """A pain trajectory: a starting level moving linearly towards its week-12 level, with noise."""
        start = rng.randint(4, 9)
        change = rng.gauss(mean_change, 1.2)
        for day in days:
            level = start + change * min(1.0, day / 77)
            yield day, max(0, min(10, round(level + rng.gauss(0, 0.9))))
