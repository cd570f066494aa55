"""The admin's form for loading a definition file."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from portal.errors import DomainError
from questionnaires.definitions import definition_checked
from questionnaires.models import Instrument
from questionnaires.services import instrument_conflict

#: A definition is a few dozen kilobytes; a file far larger is not one.
MAX_DEFINITION_BYTES = 1_000_000


class InstrumentLoadForm(forms.ModelForm[Instrument]):
    """A definition file and, for a licensed instrument, its clinic; refusals name the JSON path.

    The file is checked here so the form shows why it was refused; the admin then loads it with
    ``questionnaires.services.instrument_load``, which checks it again inside its transaction.
    """

    definition_file = forms.FileField(
        label="Definition file",
        help_text="A FHIR Questionnaire as JSON, with Plinth's scoring extension.",
    )

    class Meta:
        model = Instrument
        fields = ["clinic"]
        help_texts = {
            "clinic": "Leave empty for an instrument every clinic may use; choose the clinic that holds the "
            "licence for a licensed one (for example the Oswestry Disability Index).",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("definition_file")
        if upload is None:
            return cleaned
        if upload.size > MAX_DEFINITION_BYTES:
            raise ValidationError({"definition_file": "The file is over 1 MB: it is not a definition."})
        try:
            data = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationError({"definition_file": f"The file is not JSON: {error}."}) from error
        try:
            checked = definition_checked(data)
        except DomainError as error:
            raise ValidationError({"definition_file": f"Refused at {error.message}"}) from error
        conflict = instrument_conflict(checked, clinic=cleaned.get("clinic"))
        if conflict is not None:
            raise ValidationError({"definition_file": conflict.message})
        cleaned["definition"] = data
        return cleaned
