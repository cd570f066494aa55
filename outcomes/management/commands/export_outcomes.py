"""Write every plan's outcome snapshot, refreshed from its check-ins first, to stdout or a file.

    python manage.py export_outcomes [--clinic NAME] [--format csv|json] [--output FILE] [--bom|--no-bom]

One record per plan: clinic, patient_email, plan_title, plan_start, then the
figures of OutcomeSnapshot.FIGURES (baseline, current, endpoint, change,
percent_change, responder, worsening, reached_week_12, missing_endpoint,
checkin_count, last_checkin_date), then the figures as the pages show them
(outcomes.figures): state (not_started, baseline_forming, awaiting_baseline,
no_baseline, measured), change_so_far (current - baseline, NPRS points, one
decimal) and percent_change_so_far (whole percent). The snapshots are
refreshed first (``outcome_refresh_all``, which writes only the changed ones),
so the export, the report, the pages and the API read the same figures from
the same place. Numbers are rounded to 2 decimals; an
undefined value is empty in CSV and null in JSON; booleans are true/false;
dates are ISO.

CSV goes through portal.spreadsheet: text cells that a spreadsheet would run as
a formula are prefixed with a single quote (numbers stay numbers). A CSV file
written with ``--output`` starts with a UTF-8 byte-order mark so Excel reads
names such as "Zoë Łącka" right; CSV on stdout has none, since it usually feeds
another program. ``--bom`` / ``--no-bom`` override either default.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from accounts.models import Clinic
from audit.services import audit_log
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_all
from outcomes.selectors import EXPORT_IDENTITY, SHOWN_FIGURES, PlanOutcomeRow, outcome_export_rows
from portal.spreadsheet import SpreadsheetWriter, TextSink

FIELDS = [*EXPORT_IDENTITY, *OutcomeSnapshot.FIGURES, *SHOWN_FIGURES]


def record(row: PlanOutcomeRow) -> dict[str, Any]:
    """Typed values: rounded floats, None for undefined, booleans."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = row[name]
        if isinstance(value, float):
            value = round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


class _Unterminated:
    """stdout for the CSV writer: OutputWrapper would add a newline after the byte-order mark."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")


class Command(BaseCommand):
    help = "Export every plan's outcome, refreshed from its check-ins (CSV or JSON on stdout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", help="Only this clinic (by name).")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", metavar="FILE", help="Write to FILE (UTF-8) instead of stdout.")
        parser.add_argument(
            "--bom",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Start the CSV with a UTF-8 byte-order mark (default: yes with --output, no on stdout).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clinic_ids = None
        if options["clinic"]:
            clinic = Clinic.objects.filter(name=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"No clinic named '{options['clinic']}'")
            clinic_ids = [clinic.pk]
        if options["format"] == "json" and options["bom"] is not None:
            raise CommandError("--bom and --no-bom apply to CSV only")
        if not options["output"]:
            counted = self.write(
                _Unterminated(self.stdout), clinic_ids, options["format"], bom=bool(options["bom"])
            )
        else:
            bom = options["bom"] is not False
            try:
                with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                    counted = self.write(handle, clinic_ids, options["format"], bom=bom)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}") from exc
        # An export reads every exported patient's figures: each clinic's trail says so.
        for clinic in Clinic.objects.filter(name__in=counted):
            audit_log(
                action="outcomes.exported",
                clinic=clinic,
                data={
                    "plans": counted[clinic.name],
                    "format": options["format"],
                    "to": options["output"] or "stdout",
                    "by": "manage.py export_outcomes",
                },
            )

    def write(self, sink: TextSink, clinic_ids: list[int] | None, fmt: str, *, bom: bool) -> Counter[str]:
        """Write the export to ``sink``; returns how many plans of each clinic (by name) it wrote."""
        counted: Counter[str] = Counter()

        def counting(row: PlanOutcomeRow) -> dict[str, Any]:
            counted[row["clinic"]] += 1
            return record(row)

        outcome_refresh_all(clinic_ids=clinic_ids)
        rows = (counting(row) for row in outcome_export_rows(clinic_ids=clinic_ids))
        if fmt == "json":
            # Streamed record by record, so a large export never sits in memory whole.
            sink.write("[")
            for k, values in enumerate(rows):
                sink.write(("," if k else "") + "\n" + json.dumps(values))
            sink.write("\n]\n")
            return counted
        writer = SpreadsheetWriter(sink, bom=bom, lineterminator="\n")
        writer.writerow(FIELDS)
        for values in rows:
            writer.writerow(values[name] for name in FIELDS)
        return counted
