"""Forms for signing in, adding a patient (and their phone number) and asking for a new invitation."""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from accounts.models import Clinic, Patient, User, validate_phone
from accounts.zones import TimeZoneFormField
from portal.validity import max_length_of


class EmailAuthenticationForm(AuthenticationForm):
    """Login by email; the address is matched without regard to case."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    # Django's default says both fields may be case-sensitive; here only the password is.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Passwords are case-sensitive.",
    }

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


def clinic_of_user(user: User) -> Clinic | None:
    """The clinic ``user`` belongs to through their patient or therapist profile; None for a
    user with neither (an administrator)."""
    for role in ("patient", "therapist"):
        profile = getattr(user, role, None)
        if profile is not None:
            clinic: Clinic = profile.clinic
            return clinic
    return None


class ClinicPasswordResetForm(PasswordResetForm):
    """Django's reset form whose email ends with the user's clinic's contact details, as the
    invitation and reminder emails do (``Clinic.contact_paragraph()``: "" when none is filled in
    or the user has no clinic)."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        clinic = clinic_of_user(context["user"])
        context = {**context, "clinic_contact": clinic.contact_paragraph() if clinic else ""}
        super().send_mail(
            subject_template_name,
            email_template_name,
            context,
            from_email,
            to_email,
            html_email_template_name,
        )


def phone_field(*, label: str, help_text: str) -> forms.CharField:
    """An optional phone number field, checked as ``accounts.models.validate_phone`` checks it."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length_of(Patient, "phone"),
        validators=[validate_phone],
        help_text=help_text,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )


class PatientInviteForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=max_length_of(User, "full_name"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(
        label="Email",
        max_length=max_length_of(User, "email"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    timezone = TimeZoneFormField(
        label="Time zone", help_text="Where the patient lives: their day and reminders follow it."
    )
    reminder_time = forms.TimeField(
        label="Daily reminder time",
        initial=time(18, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In the patient's time zone.",
    )
    phone = phone_field(
        label="Phone (optional)",
        help_text="The number to call the patient on, as dialled, for example 07700 900123.",
    )


class PatientPhoneForm(forms.Form):
    """The therapist's edit of a patient's phone number on the record; empty removes it."""

    phone = phone_field(label="Phone", help_text="As dialled; leave empty to remove the number.")


class InvitationRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=max_length_of(User, "email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class SignInLinkForm(forms.Form):
    """The login page's "Email me a sign-in link" (accounts.signin); its fields are prefixed
    "link-" so they never clash with the password form's on the same page."""

    prefix = "link"

    email = forms.EmailField(
        label="Email address",
        max_length=max_length_of(User, "email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()
