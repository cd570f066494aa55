"""Admin for users, clinics and therapists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Field, ManyToManyField, Q, QuerySet
from django.forms import CheckboxSelectMultiple, ModelForm, Textarea
from django.http import HttpRequest, HttpResponse

from accounts.auth_views import password_changed_on_page
from accounts.credentials import EndedCredentials, user_deactivate
from accounts.models import Clinic, Patient, Therapist, User
from audit.admin import AuditedReadsAdmin
from portal.access import client_ip


def _deactivated_message(user: User, ended: EndedCredentials) -> str:
    return (
        f"{user.email} is deactivated: {ended.api_tokens} API token(s) revoked, "
        f"{ended.invitations} invitation link(s) retired, {ended.sessions} session(s) ended."
    )


def _staff(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class PlinthUserChangeForm(UserChangeForm[User]):
    """Django's form without the help texts the admin renders with no id for the widgets'
    aria-describedby to find: the password's (the widget shows the reset button itself), and
    the groups' and permissions' (checkboxes; their fieldset's description says it instead)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("password", "groups", "user_permissions"):
            if name in self.fields:
                self.fields[name].help_text = ""


# Groups and permissions as checkboxes, each with its own label: Django's two-box filter puts
# an aria-label on a search icon whose role does not allow one (axe-core: aria-prohibited-attr).
CHECKBOXES_FOR_MANY: Mapping[type[Field[Any, Any]], Mapping[str, Any]] = {
    ManyToManyField: {"widget": CheckboxSelectMultiple}
}


@admin.register(User)
class UserAdmin(AuditedReadsAdmin[User], BaseUserAdmin[User]):
    form = PlinthUserChangeForm
    filter_horizontal = ()
    formfield_overrides = CHECKBOXES_FOR_MANY
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        (
            "Permissions",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": (
                    "A user gets every permission granted to each of their groups, "
                    "and the user permissions chosen here on top."
                ),
            },
        ),
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


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Django's group admin with the permissions as checkboxes (see ``CHECKBOXES_FOR_MANY``)."""

    filter_horizontal = ()
    formfield_overrides = CHECKBOXES_FOR_MANY


class ClinicAdminForm(ModelForm[Clinic]):
    class Meta:
        model = Clinic
        fields = ["name", "timezone", "phone", "address", "email", "out_of_hours", "sign_in_links"]
        # Several lines each; the model keeps them to 300 characters.
        widgets = {
            "address": Textarea(attrs={"rows": 4}),
            "out_of_hours": Textarea(attrs={"rows": 2}),
        }


@admin.register(Clinic)
class ClinicAdmin(AuditedReadsAdmin[Clinic]):
    form = ClinicAdminForm
    list_display = ["name", "phone", "timezone", "created_at"]
    search_fields = ["name"]
    # When the clinic was set up is a record, not a setting (and its split date-time inputs are unlabelled).
    readonly_fields = ["created_at"]
    fieldsets = (
        (None, {"fields": ("name", "timezone", "created_at")}),
        (
            "Contact details for patients",
            {
                "fields": ("phone", "address", "email", "out_of_hours"),
                "description": (
                    "Shown to the clinic's patients on the red-flag guidance after a check-in, on "
                    "the handout, at the foot of their pages and in the emails Plinth sends them. "
                    "A detail left empty is not shown."
                ),
            },
        ),
        ("Signing in", {"fields": ("sign_in_links",)}),
    )

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
