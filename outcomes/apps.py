"""Outcome rules, the per-plan outcome snapshots and their refresh, the clinic report and exports."""

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"
