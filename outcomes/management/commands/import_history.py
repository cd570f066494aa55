"""Bring a clinic's pain history in from its previous system.

    python manage.py import_history FILE.csv

The file format and the rules are in outcomes.history_import, which checks and
writes; this command reads the arguments and prints the report. The whole file is
checked first: any bad line and nothing is written, and every bad line is listed
with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from outcomes.history_file import history_read
from outcomes.history_import import history_import

MAX_ERRORS_SHOWN = 200


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
            checked = history_read(path=path)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a UTF-8 text file") from None
        if checked.errors:
            shown = checked.errors[:MAX_ERRORS_SHOWN]
            more = len(checked.errors) - len(shown)
            listing = "\n".join(shown) + (f"\n... and {more} more" if more else "")
            raise CommandError(f"{path}: {len(checked.errors)} bad line(s), nothing imported:\n{listing}")
        summary = history_import(rows=checked.rows, progress=not options["no_progress"])
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
            f"outcome snapshots recomputed: {summary.snapshots_refreshed}"
        )
