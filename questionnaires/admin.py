"""Admin for questionnaire instruments: the list, each definition read-only, and loading a file."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib import admin
from django.forms import Form
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from portal.access import client_ip
from questionnaires.forms import InstrumentLoadForm
from questionnaires.models import Instrument
from questionnaires.services import instrument_load

SHOWN = [
    "title",
    "code",
    "version",
    "clinic",
    "url",
    "method",
    "score_min",
    "score_max",
    "better",
    "mcid",
    "mcid_kind",
    "min_answered",
    "loinc",
    "created_at",
    "loaded_by",
    "definition_json",
]


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin[Instrument]):
    """Instruments are added only by loading a definition file (``instrument_load``) and never
    edited: a changed definition is a new version."""

    list_display = ["title", "code", "version", "clinic", "method", "created_at"]
    list_filter = ["clinic", "method"]
    search_fields = ["title", "code"]
    list_select_related = ["clinic"]

    def get_fields(self, request: HttpRequest, obj: Instrument | None = None) -> Any:
        return ["clinic", "definition_file"] if obj is None else SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Instrument | None = None) -> list[str]:
        return [] if obj is None else SHOWN

    def get_form(
        self, request: HttpRequest, obj: Instrument | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = InstrumentLoadForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Instrument | None = None) -> bool:
        return False

    def save_form(self, request: HttpRequest, form: Form, change: bool) -> Instrument:
        # Only the add form saves (nothing is changed): the service loads the checked file.
        return instrument_load(
            form.cleaned_data["definition"],
            clinic=form.cleaned_data.get("clinic"),
            by=cast(User, request.user),
            ip=client_ip(request),
        )

    def save_model(self, request: HttpRequest, obj: Instrument, form: Form, change: bool) -> None:
        """Saved already by ``instrument_load`` in ``save_form``."""

    def save_related(self, request: HttpRequest, form: Form, formsets: Any, change: bool) -> None:
        """An instrument has no related rows to save."""

    @admin.display(description="Definition (FHIR Questionnaire)")
    def definition_json(self, obj: Instrument) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.definition, indent=2, ensure_ascii=False))
