"""The patient's reminder preferences: their settings, and the signed one-click opt-out link in each email."""

from __future__ import annotations

from datetime import time, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from accounts.models import Patient, User
from accounts.zones import zone_canonical
from audit.services import audit_log
from portal.errors import DomainError
from portal.pages import absolute_url

OPTOUT_SALT = "plinth.reminders.optout"


#: An opt-out link keeps working well past the life of a 12-week plan.
OPTOUT_MAX_AGE = timedelta(days=180)


def optout_token(patient_id: int) -> str:
    """A signed, URL-safe token naming the patient id, valid for ``OPTOUT_MAX_AGE`` (180 days)."""
    return signing.dumps(patient_id, salt=OPTOUT_SALT)


def optout_patient(token: str) -> Patient | None:
    """The patient a signed opt-out link names; None for a tampered or expired link."""
    try:
        patient_id = signing.loads(token, salt=OPTOUT_SALT, max_age=OPTOUT_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(patient_id, int):
        return None
    return Patient.objects.select_related("user").filter(pk=patient_id).first()


def optout_url(patient_id: int) -> str:
    """The full one-click opt-out URL (``SITE_URL`` + path) for the patient id."""
    return absolute_url(reverse("reminders-optout", args=[optout_token(patient_id)]))


# --- the patient's choices --------------------------------------------------------


def reminder_settings_update(
    *,
    patient: Patient,
    reminder_time: time,
    timezone_name: str,
    reminders_enabled: bool,
    by: User,
    ip: str | None = None,
) -> Patient:
    """Change a patient's reminder time, time zone and on/off switch.

    ``timezone_name`` is an IANA name or alias, stored canonically (accounts.zones:
    "NZ" -> "Pacific/Auckland"); the patient's current zone is accepted unchanged even
    if the list no longer has it. ``reminder_time``: a local wall-clock time, kept to the
    minute. Writes an audit entry when anything changed. Returns the patient as saved.

    Raises DomainError: unknown_zone (timezone).
    """
    if timezone_name != patient.timezone:
        try:
            timezone_name = zone_canonical(timezone_name)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], field="timezone", code="unknown_zone") from exc
    before = {
        "reminder_time": patient.reminder_time.strftime("%H:%M"),
        "timezone": patient.timezone,
        "reminders_enabled": patient.reminders_enabled,
    }
    with transaction.atomic():
        patient.reminder_time = reminder_time.replace(second=0, microsecond=0)
        patient.timezone = timezone_name
        patient.reminders_enabled = reminders_enabled
        patient.save(update_fields=["reminder_time", "timezone", "reminders_enabled"])
        after = {
            "reminder_time": patient.reminder_time.strftime("%H:%M"),
            "timezone": patient.timezone,
            "reminders_enabled": patient.reminders_enabled,
        }
        if after != before:
            audit_log(
                action="patient.reminder_settings_changed",
                actor=by,
                obj=patient,
                ip=ip,
                data={"before": before, "after": after},
            )
    return patient


def reminders_opt_out(*, patient: Patient, ip: str | None = None) -> bool:
    """Switch reminders off from the emailed link. Returns whether anything changed."""
    with transaction.atomic():
        changed = Patient.objects.filter(pk=patient.pk, reminders_enabled=True).update(
            reminders_enabled=False
        )
        if changed:
            patient.reminders_enabled = False
            audit_log(action="patient.reminders_opted_out", obj=patient, ip=ip, data={"via": "email link"})
    return bool(changed)
