from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from patients.auth_views import password_changed_on_page
from patients.credentials import EndedCredentials, user_deactivate
from patients.models import Alert, AuditEvent, Clinic, PainCheckIn, Patient, Therapist, User
from portal.access import client_ip


def _deactivated_message(user: User, ended: EndedCredentials) -> str:
    return (
        f"{user.email} is deactivated: {ended.api_tokens} API token(s) revoked, "
        f"{ended.invitations} invitation link(s) retired, {ended.sessions} session(s) ended."
    )


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


def _staff(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


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
