from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from patients.audit import audit_read
from patients.auth_views import password_changed_on_page
from patients.credentials import EndedCredentials, user_deactivate
from patients.models import Alert, AuditEvent, Clinic, PainCheckIn, Patient, Therapist, User
from patients.services import patient_assign_therapist, patient_move_clinic
from portal.access import client_ip


def _deactivated_message(user: User, ended: EndedCredentials) -> str:
    return (
        f"{user.email} is deactivated: {ended.api_tokens} API token(s) revoked, "
        f"{ended.invitations} invitation link(s) retired, {ended.sessions} session(s) ended."
    )


def _staff(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


_M = TypeVar("_M", bound=models.Model)


class AuditedReadsAdmin(admin.ModelAdmin[_M]):
    """An admin of patient data: every object it shows, on a change page or a list, is an audited read."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> _M | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            audit_read([obj])
        return obj

    def related_patients(self, obj: _M) -> Iterable[Patient]:
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


@admin.register(User)
class UserAdmin(AuditedReadsAdmin[User], BaseUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    actions = ["deactivate"]

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[User], change: bool) -> None:
        """Unticking "active" deactivates through the service, which ends every credential."""
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if deactivating:
            ended = user_deactivate(user=obj, by=_staff(request), ip=client_ip(request))
            messages.info(request, _deactivated_message(obj, ended))

    @admin.action(description="Deactivate the selected users (ends their tokens, links and sessions)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            for user in queryset:
                ended = user_deactivate(user=user, by=_staff(request), ip=client_ip(request))
                messages.info(request, _deactivated_message(user, ended))

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Django's "set password" page; a password set there also revokes the user's API tokens."""
        with transaction.atomic():
            user = self.get_object(request, unquote(id))
            before = user.password if user is not None else None
            response = super().user_change_password(request, id, form_url)
            if user is not None:
                user.refresh_from_db(fields=["password"])
                if user.password != before:
                    password_changed_on_page(request, user=user, via="admin")
        return response

    def related_patients(self, obj: User) -> Iterable[Patient]:
        return Patient.objects.filter(
            Q(user=obj) | Q(therapist__user=obj) | Q(plans__therapist__user=obj)
        ).distinct()


@admin.register(Clinic)
class ClinicAdmin(AuditedReadsAdmin[Clinic]):
    list_display = ["name", "timezone", "created_at"]
    search_fields = ["name"]

    def related_patients(self, obj: Clinic) -> Iterable[Patient]:
        return obj.patients.all()


@admin.register(Therapist)
class TherapistAdmin(AuditedReadsAdmin[Therapist]):
    list_display = ["user", "clinic"]
    list_select_related = ["user", "clinic"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Therapist | None = None) -> list[str]:
        # A therapist's patients and plans are their clinic's: moving the therapist would
        # carry another clinic's patients along. Someone who changes clinic gets a new account.
        return ["clinic"] if obj is not None else []

    def related_patients(self, obj: Therapist) -> Iterable[Patient]:
        return Patient.objects.filter(Q(therapist=obj) | Q(plans__therapist=obj)).distinct()


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


@admin.register(PainCheckIn)
class PainCheckInAdmin(AuditedReadsAdmin[PainCheckIn]):
    list_display = ["patient", "local_date", "nprs", "side", "received_at"]
    raw_id_fields = ["patient", "plan"]
    list_select_related = ["patient__user"]


@admin.register(Alert)
class AlertAdmin(AuditedReadsAdmin[Alert]):
    list_display = ["patient", "kind", "opened_at", "cleared_at", "acknowledged_at"]
    list_filter = ["kind"]
    # Raw ids, not selects: a select would list every patient's check-ins and every user.
    raw_id_fields = ["patient", "plan", "checkin", "acknowledged_by"]


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
