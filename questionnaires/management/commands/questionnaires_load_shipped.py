"""Load the shipped questionnaire definitions (PSFS, PEG, global rating of change); idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from questionnaires.services import questionnaires_load_shipped


class Command(BaseCommand):
    help = "Load the shipped questionnaire definitions as shared instruments (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = questionnaires_load_shipped()
        self.stdout.write(f"Questionnaires: {result.loaded} loaded, {result.unchanged} already there.")
