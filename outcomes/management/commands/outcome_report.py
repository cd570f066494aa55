"""Print the clinic outcome report: flow, figures with their intervals, one row per therapist.

    python manage.py outcome_report [--clinic NAME] [--format text|json]

The snapshots are recomputed first (``--no-refresh`` reads them as they are),
so the figures match the check-ins at the moment of the run. The JSON is the
page's report (outcomes.report_formats.report_dict), one object per clinic.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Clinic
from outcomes.recompute import outcome_refresh_all
from outcomes.report import outcome_report
from outcomes.report_formats import report_dict, report_text


class Command(BaseCommand):
    help = "Print the clinic outcome report (overall and per therapist) as text or JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", help="Only this clinic (by name); default: every clinic.")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--no-refresh", action="store_true", help="Read the snapshots as they are.")

    def handle(self, *args: Any, **options: Any) -> None:
        clinics = Clinic.objects.order_by("name")
        if options["clinic"]:
            clinics = clinics.filter(name=options["clinic"])
            if not clinics.exists():
                raise CommandError(f"No clinic named '{options['clinic']}'")
        chosen = list(clinics)
        if not options["no_refresh"]:
            outcome_refresh_all(clinic_ids=[c.pk for c in chosen])
        reports = [outcome_report(clinic=clinic) for clinic in chosen]
        if options["format"] == "json":
            data = [report_dict(r) for r in reports]
            self.stdout.write(json.dumps(data[0] if options["clinic"] else data, indent=2))
            return
        self.stdout.write("\n\n".join(report_text(r) for r in reports))
