"""Load one questionnaire definition file (a FHIR Questionnaire as JSON), shared or for one clinic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Clinic
from portal.errors import DomainError
from questionnaires.services import instrument_load


class Command(BaseCommand):
    help = (
        "Load a questionnaire definition (FHIR Questionnaire JSON). With --clinic it is that clinic's "
        "own licensed instrument; without, a shared one. A refused file prints its JSON path and reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The definition, a JSON file.")
        parser.add_argument("--clinic", help="The clinic's name, exactly as it is in Plinth.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        clinic = None
        if options["clinic"]:
            clinic = Clinic.objects.filter(name=options["clinic"]).first()
            if clinic is None:
                raise CommandError(f"No clinic is named {options['clinic']!r}.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from error
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CommandError(f"{path}: not JSON ({error})") from error
        try:
            instrument = instrument_load(data, clinic=clinic)
        except DomainError as error:
            raise CommandError(f"{path} refused: {error.message}") from error
        self.stdout.write(f"Ready: {instrument} (instrument {instrument.pk}).")
