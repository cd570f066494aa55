"""The patient's settings page, and the one-click reminder opt-out from the email."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.access import patient_of, patient_required
from accounts.forms import phone_field
from accounts.services import patient_phone_update
from accounts.zones import TimeZoneFormField
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error
from reminders.preferences import optout_patient, reminder_settings_update, reminders_opt_out


class ReminderSettingsForm(forms.Form):
    reminders_enabled = forms.BooleanField(label="Send me a daily check-in reminder by email", required=False)
    reminder_time = forms.TimeField(
        label="Reminder time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="The time of day, where you are, when the reminder arrives.",
    )
    timezone = TimeZoneFormField(
        label="Time zone", help_text="Where you live: your day, and your reminder, follow it."
    )


class OwnPhoneForm(forms.Form):
    phone = phone_field(
        label="Your phone number (optional)",
        help_text="Your therapist may call you on it about your plan. Leave it empty to remove it.",
    )


@patient_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The patient's settings: the daily reminder (time, zone, on/off) and their phone number,
    two forms told apart by the POST's ``form`` field ("phone", else the reminder)."""
    patient = patient_of(request)
    status = 200
    # The current values are the initial ones on a POST too: the zone field keeps the
    # stored zone as an accepted option even if it is missing from today's list.
    current = {
        "reminders_enabled": patient.reminders_enabled,
        "reminder_time": patient.reminder_time,
        "timezone": patient.timezone,
    }
    form = ReminderSettingsForm(initial=current)
    phone_form = OwnPhoneForm(initial={"phone": patient.phone})
    if request.method == "POST" and request.POST.get("form") == "phone":
        phone_form = OwnPhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                patient_phone_update(
                    patient=patient,
                    phone=phone_form.cleaned_data["phone"],
                    by=patient.user,
                    ip=client_ip(request),
                )
            except DomainError as error:
                form_error(phone_form, error)
            else:
                messages.success(
                    request,
                    "Your phone number is saved." if patient.phone else "Your phone number is removed.",
                )
                return redirect("patient-settings")
        status = 400
    elif request.method == "POST":
        form = ReminderSettingsForm(request.POST, initial=current)
        if form.is_valid():
            data = form.cleaned_data
            try:
                reminder_settings_update(
                    patient=patient,
                    reminder_time=data["reminder_time"],
                    timezone_name=data["timezone"],
                    reminders_enabled=data["reminders_enabled"],
                    by=patient.user,
                    ip=client_ip(request),
                )
            except DomainError as error:
                form_error(form, error)
            else:
                messages.success(request, "Your settings are saved.")
                return redirect("patient-settings")
        status = 400
    return render(
        request,
        "reminders/settings.html",
        {"form": form, "phone_form": phone_form, "patient": patient},
        status=status,
    )


# No login and no CSRF token: the signed token in the URL is the credential, and
# mail clients send RFC 8058 one-click POSTs without cookies. GET only shows a
# confirmation, so link scanners that prefetch URLs switch nothing off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def reminders_optout(request: HttpRequest, token: str) -> HttpResponse:
    patient = optout_patient(token)
    if patient is None:
        return render(request, "reminders/reminders_optout.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        reminders_opt_out(patient=patient, ip=client_ip(request))
        done = True
    return render(
        request,
        "reminders/reminders_optout.html",
        {"patient": patient, "done": done, "already_off": not patient.reminders_enabled and not done},
    )
