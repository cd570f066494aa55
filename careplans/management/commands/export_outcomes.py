"""Write every plan's outcome, recomputed from its check-ins, to stdout.

    python manage.py export_outcomes [--clinic NAME] [--format csv|json]

One record per plan: clinic, patient_email, plan_title, plan_start, baseline,
current, endpoint_12w, change, percent_change, responder, worsening,
reached_week_12, missing_endpoint. Numbers are rounded to 2 decimals; an
undefined value is empty in CSV and null in JSON; booleans are true/false.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careplans.outcomes_bulk import PlanOutcomeRow, outcome_rows
from patients.models import Clinic

FIELDS = [
    "clinic",
    "patient_email",
    "plan_title",
    "plan_start",
    "baseline",
    "current",
    "endpoint_12w",
    "change",
    "percent_change",
    "responder",
    "worsening",
    "reached_week_12",
    "missing_endpoint",
]


def record(row: PlanOutcomeRow) -> dict[str, Any]:
    """Typed values: rounded floats, None for undefined, booleans."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(row, name)
        if isinstance(value, float):
            value = round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
        values[name] = value.isoformat() if name == "plan_start" else value
    return values


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


class Command(BaseCommand):
    help = "Export every plan's outcome, recomputed from its check-ins (CSV or JSON on stdout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", help="Only this clinic (by name).")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic_ids = None
        if options["clinic"]:
            clinic = Clinic.objects.filter(name=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"No clinic named '{options['clinic']}'")
            clinic_ids = [clinic.pk]
        rows = (record(row) for row in outcome_rows(clinic_ids=clinic_ids))
        if options["format"] == "json":
            # Streamed record by record, so a large export never sits in memory whole.
            self.stdout.write("[", ending="")
            for k, values in enumerate(rows):
                self.stdout.write(("," if k else "") + "\n" + json.dumps(values), ending="")
            self.stdout.write("\n]")
            return
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(FIELDS)
        for values in rows:
            writer.writerow([csv_cell(values[name]) for name in FIELDS])
