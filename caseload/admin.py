"""X"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Patient, User
from audit.admin import AuditedReadsAdmin
from caseload.services import patient_assign_therapist, patient_move_clinic
from portal.access import client_ip


class PatientAdminForm(forms.ModelForm[Patient]):
    class Meta:
        model = Patient
        fields = [
            "user",
            "clinic",
            "therapist",
            "timezone",
            "reminder_time",
            "reminders_enabled",
            "phone",
            "created_at",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk and "clinic" in self.changed_data and cleaned.get("therapist") is None:
            self.add_error("therapist", "Choose the therapist at the new clinic who takes the patient on.")
        return cleaned


@admin.register(Patient)
class PatientAdmin(AuditedReadsAdmin[Patient]):
    """Moving a patient to another clinic or therapist goes through the services, which re-home their care."""

    form = PatientAdminForm
    list_display = ["user", "clinic", "therapist", "timezone", "reminder_time", "reminders_enabled"]
    list_select_related = ["user", "clinic", "therapist__user"]
    list_filter = ["clinic"]
    search_fields = ["user__email", "user__full_name"]
    raw_id_fields = ["user", "therapist"]

    def save_model(
        self, request: HttpRequest, obj: Patient, form: forms.ModelForm[Patient], change: bool
    ) -> None:
        moved = change and "clinic" in form.changed_data
        reassigned = change and "therapist" in form.changed_data
        if not (moved or reassigned):
            super().save_model(request, obj, form, change)
            return
        clinic, therapist, staff = obj.clinic, obj.therapist, cast(User, request.user)
        # Everything else is saved as the form says; the clinic and therapist by the service.
        obj.clinic_id, obj.therapist_id = Patient.objects.values_list("clinic_id", "therapist_id").get(
            pk=obj.pk
        )
        super().save_model(request, obj, form, change)
        if moved:
            assert therapist is not None  # PatientAdminForm.clean requires one
            patient_move_clinic(
                patient=obj, clinic=clinic, therapist=therapist, by=staff, ip=client_ip(request)
            )
        else:
            patient_assign_therapist(patient=obj, therapist=therapist, by=staff, ip=client_ip(request))
        obj.refresh_from_db()
