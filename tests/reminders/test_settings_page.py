"""The patient's settings page: reminder time, time zone, reminders on/off."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from audit.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_patient_changes_reminder_time_zone_and_switch(client: Any, personas: Any) -> None:
    patient = personas.patient_a
    login(client, patient.user)
    page = client.get("/settings/")
    assert page.status_code == 200
    assert b'name="reminder_time"' in page.content and b'href="/settings/"' in page.content
    response = client.post(
        "/settings/", {"reminder_time": "07:45", "timezone": "Asia/Kolkata", "reminders_enabled": ""}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.reminder_time, patient.timezone, patient.reminders_enabled) == (
        time(7, 45),
        "Asia/Kolkata",
        False,
    )
    event = AuditEvent.objects.get(patient=patient, action="patient.reminder_settings_changed")
    assert event.data["after"] == {
        "reminder_time": "07:45",
        "timezone": "Asia/Kolkata",
        "reminders_enabled": False,
    }


def test_bad_input_is_shown_next_to_the_field(client: Any, personas: Any) -> None:
    login(client, personas.patient_a.user)
    response = client.post("/settings/", {"reminder_time": "25:99", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert b"field-error" in response.content
    personas.patient_a.refresh_from_db()
    assert personas.patient_a.timezone == "Europe/London"


def test_settings_page_is_for_patients_only(client: Any, personas: Any) -> None:
    assert client.get("/settings/").status_code == 302
    login(client, personas.owner.user)
    assert client.get("/settings/").status_code == 404
