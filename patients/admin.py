from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from patients.models import Alert, AuditEvent, Clinic, PainCheckIn, Patient, Therapist, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
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


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin[Clinic]):
    list_display = ["name", "timezone", "created_at"]
    search_fields = ["name"]


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin[Therapist]):
    list_display = ["user", "clinic"]
    list_select_related = ["user", "clinic"]
    raw_id_fields = ["user"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ["user", "clinic", "therapist", "timezone", "reminder_time", "reminders_enabled"]
    list_select_related = ["user", "clinic", "therapist__user"]
    list_filter = ["clinic"]
    search_fields = ["user__email", "user__full_name"]
    raw_id_fields = ["user", "therapist"]


@admin.register(PainCheckIn)
class PainCheckInAdmin(admin.ModelAdmin[PainCheckIn]):
    list_display = ["patient", "local_date", "nprs", "side", "received_at"]
    raw_id_fields = ["patient", "plan"]
    list_select_related = ["patient__user"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin[Alert]):
    list_display = ["patient", "kind", "opened_at", "cleared_at", "acknowledged_at"]
    list_filter = ["kind"]
    raw_id_fields = ["patient", "plan", "checkin"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
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
