"""Bring a clinic's pain history in from its previous system.

    python manage.py import_history FILE.csv

The header is exactly ``clinic,therapist_email,patient_email,patient_name,
timezone,plan_title,plan_start,date,nprs``; dates are ISO ``YYYY-MM-DD`` in the
patient's own calendar. Missing clinics, therapists, patients and plans are
created (a plan is completed if its 12 weeks are over, else active); each row
is one check-in, and when a patient has two rows for one date the later row
wins, as in the app. The whole file is checked first: any bad row and nothing
is written. Then it is imported in one transaction. A second import of the
same file changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from careplans.models import CarePlan, PlanStatus
from careplans.outcomes import WEEK12_COMPLETE_DAY
from careplans.outcomes_bulk import outcome_refresh_all
from patients.audit import audit_log
from patients.models import Clinic, PainCheckIn, Patient, Therapist, User, validate_timezone

HEADER = [
    "clinic",
    "therapist_email",
    "patient_email",
    "patient_name",
    "timezone",
    "plan_title",
    "plan_start",
    "date",
    "nprs",
]
MAX_ERRORS_SHOWN = 200


@dataclass(frozen=True)
class Row:
    line: int
    clinic: str
    therapist_email: str
    patient_email: str
    patient_name: str
    timezone: str
    plan_title: str
    plan_start: dt.date
    date: dt.date
    nprs: int

    @property
    def plan_key(self) -> tuple[str, str, dt.date]:
        return (self.patient_email, self.plan_title, self.plan_start)


@dataclass
class Summary:
    rows: int = 0
    created: dict[str, int] = field(
        default_factory=lambda: {"clinics": 0, "therapists": 0, "patients": 0, "plans": 0}
    )
    checkins_created: int = 0
    checkins_replaced: int = 0
    checkins_unchanged: int = 0
    superseded_rows: int = 0


def _date(value: str) -> dt.date:
    if len(value) != 10:
        raise ValueError
    return dt.date.fromisoformat(value)


def _read(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for record in reader:
            yield reader.line_num, record


def parse(path: Path) -> tuple[list[Row], list[str]]:
    """Every row checked on its own: the rows, and one message per bad line."""
    rows: list[Row] = []
    errors: list[str] = []
    records = _read(path)
    first = next(records, None)
    if first is None or [c.strip() for c in first[1]] != HEADER:
        return [], [f"line 1: the header must be exactly {','.join(HEADER)}"]
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(HEADER):
            errors.append(f"line {line}: expected {len(HEADER)} columns, found {len(record)}")
            continue
        values = dict(zip(HEADER, (cell.strip() for cell in record), strict=True))
        problems = []
        for name in ("clinic", "therapist_email", "patient_email", "patient_name", "plan_title"):
            if not values[name]:
                problems.append(f"{name} is empty")
        for name in ("therapist_email", "patient_email"):
            if values[name]:
                try:
                    validate_email(values[name])
                except ValidationError:
                    problems.append(f"{name} '{values[name]}' is not an email address")
        try:
            validate_timezone(values["timezone"])
        except ValidationError:
            problems.append(f"unknown time zone '{values['timezone']}'")
        parsed: dict[str, dt.date] = {}
        for name in ("plan_start", "date"):
            try:
                parsed[name] = _date(values[name])
            except ValueError:
                problems.append(f"{name} '{values[name]}' is not a date (YYYY-MM-DD)")
        nprs: int | None = None
        try:
            nprs = int(values["nprs"])
        except ValueError:
            problems.append(f"nprs '{values['nprs']}' is not a whole number")
        if nprs is not None and not 0 <= nprs <= 10:
            problems.append(f"nprs {nprs} is outside 0-10")
        if len(parsed) == 2 and parsed["date"] < parsed["plan_start"]:
            problems.append(f"date {parsed['date']} is before the plan start {parsed['plan_start']}")
        if not problems and "date" in parsed:
            local_today = timezone.now().astimezone(zoneinfo.ZoneInfo(values["timezone"])).date()
            if parsed["date"] > local_today:
                problems.append(f"date {parsed['date']} is in the future for the patient")
        if problems:
            errors.append(f"line {line}: {'; '.join(problems)}")
            continue
        assert nprs is not None
        rows.append(
            Row(
                line=line,
                clinic=values["clinic"],
                therapist_email=values["therapist_email"].lower(),
                patient_email=values["patient_email"].lower(),
                patient_name=values["patient_name"],
                timezone=values["timezone"],
                plan_title=values["plan_title"],
                plan_start=parsed["plan_start"],
                date=parsed["date"],
                nprs=nprs,
            )
        )
    return rows, errors


def check_consistency(rows: list[Row]) -> list[str]:
    """Rows that contradict earlier rows or what the database already holds (reads only)."""
    errors: list[str] = []
    people: dict[str, tuple[str, str, str, str]] = {}  # email -> role, clinic, name/tz, line
    for row in rows:
        seen = people.get(row.patient_email)
        if seen is None:
            people[row.patient_email] = ("patient", row.clinic, row.timezone, str(row.line))
        elif seen[0] != "patient":
            errors.append(f"line {row.line}: {row.patient_email} is a therapist on line {seen[3]}")
        elif (seen[1], seen[2]) != (row.clinic, row.timezone):
            errors.append(
                f"line {row.line}: patient {row.patient_email} has clinic/time zone {row.clinic}/"
                f"{row.timezone}, but {seen[1]}/{seen[2]} on line {seen[3]}"
            )
    for row in rows:
        seen = people.get(row.therapist_email)
        if seen is None:
            people[row.therapist_email] = ("therapist", row.clinic, "", str(row.line))
        elif seen[0] != "therapist":
            errors.append(f"line {row.line}: {row.therapist_email} is a patient on line {seen[3]}")
        elif seen[1] != row.clinic:
            errors.append(
                f"line {row.line}: therapist {row.therapist_email} is in {seen[1]} on line {seen[3]}"
            )

    users = {
        u.email.lower(): u
        for u in User.objects.filter(email__in=list(people)).select_related(
            "therapist__clinic", "patient__clinic"
        )
    }
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(row.patient_email, row.line)
        first_line.setdefault(row.therapist_email, row.line)
    for email, (role, clinic, zone, _) in people.items():
        user = users.get(email)
        if user is None:
            continue
        line = first_line[email]
        profile = getattr(user, role, None)
        if profile is None:
            errors.append(f"line {line}: {email} already exists and is not a {role}")
        elif profile.clinic.name != clinic:
            errors.append(f"line {line}: {role} {email} belongs to another clinic")
        elif role == "patient" and profile.timezone != zone:
            errors.append(f"line {line}: patient {email} has time zone {profile.timezone}, not {zone}")

    # At most one active plan per patient: a plan still under way may be created
    # only if the patient has no other active plan.
    now = timezone.now()
    under_way: dict[str, set[tuple[str, dt.date]]] = {}
    plan_line: dict[tuple[str, str, dt.date], int] = {}
    for row in rows:
        plan_line.setdefault(row.plan_key, row.line)
        # The same test as when the plan is created: week 12 over in the patient's calendar.
        local_today = now.astimezone(zoneinfo.ZoneInfo(row.timezone)).date()
        if row.plan_start + timedelta(days=WEEK12_COMPLETE_DAY) > local_today:
            under_way.setdefault(row.patient_email, set()).add((row.plan_title, row.plan_start))
    active = {
        (email, title, start)
        for email, title, start in CarePlan.objects.filter(
            patient__user__email__in=list(under_way), status=PlanStatus.ACTIVE
        ).values_list("patient__user__email", "title", "start_date")
    }
    for email, plans in under_way.items():
        mine = {(t, s) for e, t, s in active if e.lower() == email}
        if len(plans | mine) > 1:
            title, start = sorted(plans)[-1]
            errors.append(
                f"line {plan_line[(email, title, start)]}: patient {email} would have more than one "
                "active plan (a plan whose 12 weeks are not over)"
            )
    return errors


class Command(BaseCommand):
    help = "Import a clinic's pain history (CSV) from its previous system."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            rows, errors = parse(path)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a UTF-8 text file") from None
        if not errors:
            errors = check_consistency(rows)
        if errors:
            shown = errors[:MAX_ERRORS_SHOWN]
            more = len(errors) - len(shown)
            listing = "\n".join(shown) + (f"\n... and {more} more" if more else "")
            raise CommandError(f"{path}: {len(errors)} bad line(s), nothing imported:\n{listing}")
        summary = Summary(rows=len(rows))
        with transaction.atomic():
            clinic_ids = self._import(rows, summary, progress=not options["no_progress"])
        refreshed = outcome_refresh_all(clinic_ids=sorted(clinic_ids)) if clinic_ids else 0
        created = summary.created
        self.stdout.write(
            f"Imported {path.name}: {summary.rows} rows.\n"
            f"clinics created: {created['clinics']}\n"
            f"therapists created: {created['therapists']}\n"
            f"patients created: {created['patients']}\n"
            f"plans created: {created['plans']}\n"
            f"check-ins created: {summary.checkins_created}\n"
            f"check-ins replaced: {summary.checkins_replaced}\n"
            f"check-ins unchanged: {summary.checkins_unchanged}\n"
            f"rows replaced by a later row for the same day: {summary.superseded_rows}\n"
            f"outcome snapshots recomputed: {refreshed}"
        )

    def _import(self, rows: list[Row], summary: Summary, *, progress: bool) -> set[int]:
        now = timezone.now()
        clinics: dict[str, Clinic] = {}
        for name in dict.fromkeys(r.clinic for r in rows):
            clinics[name], made = Clinic.objects.get_or_create(name=name)
            summary.created["clinics"] += made

        therapists: dict[str, Therapist] = {}
        for row in rows:
            if row.therapist_email in therapists:
                continue
            existing = Therapist.objects.filter(user__email__iexact=row.therapist_email).first()
            if existing is None:
                user = User.objects.create_user(
                    row.therapist_email, None, full_name=row.therapist_email.split("@")[0]
                )
                existing = Therapist.objects.create(user=user, clinic=clinics[row.clinic])
                audit_log(action="therapist.imported", obj=existing, clinic=existing.clinic)
                summary.created["therapists"] += 1
            therapists[row.therapist_email] = existing

        patients: dict[str, Patient] = {}
        for row in rows:
            if row.patient_email in patients:
                continue
            patient = Patient.objects.filter(user__email__iexact=row.patient_email).first()
            if patient is None:
                user = User.objects.create_user(row.patient_email, None, full_name=row.patient_name)
                patient = Patient.objects.create(
                    user=user,
                    clinic=clinics[row.clinic],
                    therapist=therapists[row.therapist_email],
                    timezone=row.timezone,
                )
                audit_log(action="patient.imported", obj=patient)
                summary.created["patients"] += 1
            patients[row.patient_email] = patient

        plans: dict[tuple[str, str, dt.date], CarePlan] = {}
        for row in rows:
            if row.plan_key in plans:
                continue
            patient = patients[row.patient_email]
            plan = CarePlan.objects.filter(
                patient=patient, title=row.plan_title, start_date=row.plan_start
            ).first()
            if plan is None:
                over = patient.local_today() >= row.plan_start + timedelta(days=WEEK12_COMPLETE_DAY)
                plan = CarePlan.objects.create(
                    patient=patient,
                    therapist=therapists[row.therapist_email],
                    title=row.plan_title,
                    start_date=row.plan_start,
                    status=PlanStatus.COMPLETED if over else PlanStatus.ACTIVE,
                    activated_at=now,
                    ended_at=now if over else None,
                )
                audit_log(action="careplan.imported", obj=plan, data={"status": plan.status})
                summary.created["plans"] += 1
            plans[row.plan_key] = plan

        # The later row for a patient's day wins, as a second check-in does in the app.
        final: dict[tuple[int, dt.date], tuple[CarePlan, int]] = {}
        for row in rows:
            key = (patients[row.patient_email].pk, row.date)
            summary.superseded_rows += key in final
            final[key] = (plans[row.plan_key], row.nprs)

        stored = {
            (c.patient_id, c.local_date): c
            for c in PainCheckIn.objects.filter(
                patient_id__in={p.pk for p in patients.values()},
                local_date__in={d for _, d in final},
            )
        }
        bar = tqdm(total=len(final), desc="Importing check-ins", unit="check-in", disable=not progress)
        new: list[PainCheckIn] = []
        for (patient_id, day), (plan, nprs) in final.items():
            bar.update(1)
            old = stored.get((patient_id, day))
            if old is None:
                new.append(
                    PainCheckIn(patient_id=patient_id, plan=plan, local_date=day, nprs=nprs, received_at=now)
                )
            elif old.nprs == nprs and old.plan_id == plan.pk:
                summary.checkins_unchanged += 1
            else:
                before = {"nprs": old.nprs, "plan": old.plan_id}
                old.nprs, old.plan, old.received_at = nprs, plan, now
                old.save(update_fields=["nprs", "plan", "received_at"])
                audit_log(
                    action="checkin.replaced",
                    obj=old,
                    data={"before": before, "after": {"nprs": nprs, "plan": plan.pk}, "source": "import"},
                )
                summary.checkins_replaced += 1
        PainCheckIn.objects.bulk_create(new, batch_size=5_000)
        bar.close()
        summary.checkins_created = len(new)
        for clinic in clinics.values():
            audit_log(
                action="history.imported",
                clinic=clinic,
                data={
                    "rows": sum(1 for r in rows if r.clinic == clinic.name),
                    "checkins_created": summary.checkins_created,
                    "checkins_replaced": summary.checkins_replaced,
                },
            )
        return {c.pk for c in clinics.values()}
