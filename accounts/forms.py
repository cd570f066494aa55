"""Forms for signing in, adding a patient and asking for a new invitation."""

from __future__ import annotations

from datetime import time

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import User
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


class InvitationRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=max_length_of(User, "email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
