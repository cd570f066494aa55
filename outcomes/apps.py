"""Outcome rules, the per-plan outcome snapshots and their refresh, the clinic report and exports."""

from django.apps import AppConfig

from outcomes import aggregates


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        # Every SQLite connection opened from now on gets the percentile aggregate.
        aggregates.connect()
