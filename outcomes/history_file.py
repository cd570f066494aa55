"""Reading a clinic's pain history file: every line checked, the database read, nothing written.

The file format and the rules are described in ``outcomes.history_import``."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone

from accounts.models import Clinic, Patient, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.rules import WEEK12_COMPLETE_DAY
from portal.validity import range_of

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


# Where each column is stored: that model field's clean() is the check.
COLUMN_FIELDS: dict[str, tuple[type[models.Model], str]] = {
    "clinic": (Clinic, "name"),
    "therapist_email": (User, "email"),
    "patient_email": (User, "email"),
    "patient_name": (User, "full_name"),
    "timezone": (Patient, "timezone"),
    "plan_title": (CarePlan, "title"),
    "plan_start": (CarePlan, "start_date"),
    "date": (PainCheckIn, "local_date"),
    "nprs": (PainCheckIn, "nprs"),
}


@dataclass(frozen=True)
class Row:
    """One accepted line; every value already cleaned by its model field."""

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

    @property
    def therapist_name(self) -> str:
        # A therapist created by the import is named after their address until they change it.
        return self.therapist_email.split("@")[0]


@dataclass
class HistoryFile:
    """What :func:`history_read` found: the accepted rows and one message per bad line."""

    rows: list[Row]
    errors: list[str]


@dataclass
class Summary:
    """What :func:`history_import` did (counts), for the command's report."""

    rows: int = 0
    created: dict[str, int] = field(
        default_factory=lambda: {"clinics": 0, "therapists": 0, "patients": 0, "plans": 0}
    )
    checkins_created: int = 0
    checkins_replaced: int = 0
    checkins_unchanged: int = 0
    superseded_rows: int = 0
    clinic_ids: set[int] = field(default_factory=set)
    snapshots_refreshed: int = 0


def _date(value: str) -> dt.date:
    if len(value) != 10:
        raise ValueError
    return dt.date.fromisoformat(value)


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for record in reader:
            yield reader.line_num, record


def _problem(column: str, raw: str, value: Any, error: ValidationError) -> str:
    """One model-field error in words that name the column and, for a range, its bounds."""
    model, name = COLUMN_FIELDS[column]
    codes = {e.code for e in error.error_list}
    if codes & {"blank", "null", "required"}:
        return f"{column} is empty"
    if "unknown_zone" in codes:
        return f"unknown time zone '{raw}'"
    if codes & {"min_value", "max_value"}:
        low, high = range_of(model, name)
        return f"{column} {value} is outside {low}-{high}"
    return f"{column}: {' '.join(error.messages)}"


def _clean(column: str, raw: str, value: Any, problems: list[str]) -> Any:
    model, name = COLUMN_FIELDS[column]
    try:
        return model._meta.get_field(name).clean(value, None)  # type: ignore[union-attr]
    except ValidationError as error:
        problems.append(_problem(column, raw, value, error))
        return None


def _check_line(line: int, values: dict[str, str]) -> tuple[Row | None, list[str]]:
    """The row a line stands for, or the reasons it cannot be imported."""
    problems: list[str] = []
    typed: dict[str, Any] = dict(values)
    # The file's own syntax first (ISO dates, whole numbers, addresses), then the model's limits.
    for name in ("therapist_email", "patient_email"):
        if values[name]:
            try:
                validate_email(values[name])
            except ValidationError:
                problems.append(f"{name} '{values[name]}' is not an email address")
                typed.pop(name)
    for name in ("plan_start", "date"):
        try:
            typed[name] = _date(values[name])
        except ValueError:
            problems.append(f"{name} '{values[name]}' is not a date (YYYY-MM-DD)")
            typed.pop(name)
    try:
        typed["nprs"] = int(values["nprs"])
    except ValueError:
        problems.append(f"nprs '{values['nprs']}' is not a whole number")
        typed.pop("nprs")
    cleaned = {
        column: _clean(column, values[column], typed[column], problems)
        for column in HEADER
        if column in typed
    }
    if cleaned.get("therapist_email"):
        name = str(cleaned["therapist_email"]).split("@")[0]
        try:
            User._meta.get_field("full_name").clean(name, None)
        except ValidationError as error:
            problems.append(f"therapist_email: the name made from it: {' '.join(error.messages)}")
    if problems:
        return None, problems
    if cleaned["date"] < cleaned["plan_start"]:
        problems.append(f"date {cleaned['date']} is before the plan start {cleaned['plan_start']}")
    elif cleaned["date"] > timezone.now().astimezone(_zone(cleaned["timezone"])).date():
        problems.append(f"date {cleaned['date']} is in the future for the patient")
    if problems:
        return None, problems
    return (
        Row(
            line=line,
            clinic=cleaned["clinic"],
            therapist_email=cleaned["therapist_email"].lower(),
            patient_email=cleaned["patient_email"].lower(),
            patient_name=cleaned["patient_name"],
            timezone=cleaned["timezone"],
            plan_title=cleaned["plan_title"],
            plan_start=cleaned["plan_start"],
            date=cleaned["date"],
            nprs=cleaned["nprs"],
        ),
        [],
    )


def _zone(name: str) -> Any:
    return Patient(timezone=name).zone


def _parse(path: Path) -> HistoryFile:
    """Every line checked on its own."""
    rows: list[Row] = []
    errors: list[str] = []
    records = _records(path)
    first = next(records, None)
    if first is None or [c.strip() for c in first[1]] != HEADER:
        return HistoryFile([], [f"line 1: the header must be exactly {','.join(HEADER)}"])
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(HEADER):
            errors.append(f"line {line}: expected {len(HEADER)} columns, found {len(record)}")
            continue
        row, problems = _check_line(line, dict(zip(HEADER, (c.strip() for c in record), strict=True)))
        if row is None:
            errors.append(f"line {line}: {'; '.join(problems)}")
        else:
            rows.append(row)
    return HistoryFile(rows, errors)


def _check_consistency(rows: list[Row]) -> list[str]:
    """Rows that contradict earlier rows or what the database already holds (reads only)."""
    errors: list[str] = []
    people: dict[str, tuple[str, str, str, str]] = {}  # email -> role, clinic, zone, line
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
        local_today = now.astimezone(_zone(row.timezone)).date()
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


def history_read(*, path: Path) -> HistoryFile:
    """Read and check a history file; reads the database, writes nothing.

    ``path`` is a UTF-8 CSV file (a byte-order mark is allowed) in the format the module
    describes. Returns every accepted row and, per bad line, one message naming the
    columns and why (``"line 4: patient_name: Ensure this value has at most 150
    characters (it has 175)."``); lines that clash with each other or with the database
    are checked only once every line is valid on its own. Raises ``UnicodeDecodeError``
    if the file is not UTF-8.
    """
    result = _parse(path)
    if not result.errors:
        result.errors = _check_consistency(result.rows)
    return result
