"""Admin for the audit trail (read-only), and the base admin that records every patient read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst

from audit.models import AuditEvent
from audit.services import audit_read

_M = TypeVar("_M", bound=models.Model)


class LabelledInputsAdmin(admin.ModelAdmin[_M]):
    """An admin whose date-and-time fields name both of their inputs for a screen reader.

    Django's split date/time widget shows one label tied to neither input (a pair of inputs
    has no single id for ``<label for>``); each input gets the field's name as its aria-label.
    """

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and isinstance(formfield.widget, forms.SplitDateTimeWidget):
            name = capfirst(str(db_field.verbose_name))
            date, time = formfield.widget.widgets
            date.attrs["aria-label"] = f"{name}: date"
            time.attrs["aria-label"] = f"{name}: time"
        return formfield


class AuditedReadsAdmin(LabelledInputsAdmin[_M]):
    """An admin of patient data: every object it shows, on a change page or a list, is an audited read."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> _M | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            audit_read([obj])
        return obj

    def related_patients(self, obj: _M) -> Iterable[models.Model]:
        """Patients whose records the delete page lists beside ``obj`` (what deleting it would touch)."""
        return ()

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().delete_view(request, object_id, extra_context)
        obj = self.get_object(request, object_id)
        if obj is not None:
            audit_read(self.related_patients(obj))
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            audit_read(changelist.result_list)
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedReadsAdmin[AuditEvent]):
    """Read-only: the audit trail is append-only."""

    list_display = ["at", "actor_email", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_email", "action", "object_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
