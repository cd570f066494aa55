"""Load or update the built-in exercise library and its template (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from library.services import library_load


class Command(BaseCommand):
    help = "Load the built-in exercise library and shared templates (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = library_load()
        self.stdout.write(
            f"Library: {result.exercises_created} exercises, {result.regions_created} regions, "
            f"{result.templates_created} templates added."
        )
