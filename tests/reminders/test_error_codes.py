"""The reminder settings service refuses an unknown time zone with its rule's code."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from portal.errors import DomainError
from reminders.preferences import reminder_settings_update

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/london", ""])
def test_an_unknown_zone_is_refused_with_its_code(personas: Any, zone: str) -> None:
    patient = personas.patient_a
    with pytest.raises(DomainError) as refused:
        reminder_settings_update(
            patient=patient,
            reminder_time=time(9, 0),
            timezone_name=zone,
            reminders_enabled=True,
            by=patient.user,
        )
    assert (refused.value.code, refused.value.field) == ("unknown_zone", "timezone")
    patient.refresh_from_db()
    assert patient.timezone == "Europe/London"
