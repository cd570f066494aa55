"""Print the clinic outcome report: overall figures and one row per therapist.

    python manage.py outcome_report [--clinic NAME] [--format text|json]

The snapshots are recomputed first (``--no-refresh`` reads them as they are),
so the figures match the check-ins at the moment of the run.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Clinic
from outcomes.recompute import outcome_refresh_all
from outcomes.report import GroupFigures, OutcomeReport, outcome_report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2) + 0.0


def group_dict(group: GroupFigures) -> dict[str, Any]:
    return {
        "group": group.label,
        "plans_reached_week_12": group.reached,
        "with_endpoint": group.with_endpoint,
        "missing_endpoint": group.missing,
        "mean_percent_change": _round(group.mean_percent),
        "median_percent_change": _round(group.median_percent),
        "percent_change_of_group_means": _round(group.group_means_percent),
        "responders": group.responders,
        "responder_rate_with_endpoint": _round(group.responder_rate_endpoint),
        "responder_rate_intention_to_treat": _round(group.responder_rate_itt),
    }


def report_dict(clinic: Clinic, report: OutcomeReport) -> dict[str, Any]:
    return {
        "clinic": clinic.name,
        "overall": group_dict(report.overall),
        "by_therapist": [group_dict(t) for t in report.by_therapist],
        "histogram": [{"band": b.label, "plans": b.count} for b in report.histogram],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def report_text(clinic: Clinic, report: OutcomeReport) -> str:
    o = report.overall
    lines = [
        f"Outcomes at 12 weeks: {clinic.name}",
        f"  plans that reached week 12:        {o.reached}",
        f"  with a 12-week endpoint:           {o.with_endpoint}",
        f"  missing an endpoint:               {o.missing}",
        f"  mean of percent changes:           {_pct(o.mean_percent)}",
        f"  median of percent changes:         {_pct(o.median_percent)}",
        f"  percent change of group means:     {_pct(o.group_means_percent)}",
        f"  responders, with endpoint:         {_rate(o.responder_rate_endpoint)} "
        f"({o.responders}/{o.with_endpoint})",
        f"  responders, intention to treat:    {_rate(o.responder_rate_itt)} ({o.responders}/{o.reached})",
        "",
        f"  {'therapist':<28} {'reached':>7} {'endpt':>6} {'miss':>5} {'mean':>8} {'median':>8} "
        f"{'grp':>8} {'resp':>5} {'ITT':>5}",
    ]
    for t in report.by_therapist:
        lines.append(
            f"  {t.label[:28]:<28} {t.reached:>7} {t.with_endpoint:>6} {t.missing:>5} "
            f"{_pct(t.mean_percent):>8} {_pct(t.median_percent):>8} {_pct(t.group_means_percent):>8} "
            f"{_rate(t.responder_rate_endpoint):>5} {_rate(t.responder_rate_itt):>5}"
        )
    return "\n".join(lines)


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
        reports = [(clinic, outcome_report(clinic=clinic)) for clinic in chosen]
        if options["format"] == "json":
            data = [report_dict(c, r) for c, r in reports]
            self.stdout.write(json.dumps(data[0] if options["clinic"] else data, indent=2))
            return
        self.stdout.write("\n\n".join(report_text(c, r) for c, r in reports))
