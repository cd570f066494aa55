"""The reminder email carries the clinic's contact details (issue 15); none, no paragraph."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from django.core import mail

from reminders.delivery import reminder_send
from reminders.services import reminder_claim, reminders_due
from tests.factories import CarePlanFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _send_reminder(**clinic: str) -> Any:
    patient = PatientFactory(
        timezone="UTC",
        reminder_time=time(11, 30),
        clinic__name="Northside Physio",
        **{f"clinic__{name}": value for name, value in clinic.items()},
    )
    CarePlanFactory(patient=patient, start_date=date(2026, 1, 1), length_weeks=52)
    with time_machine.travel(NOON, tick=False):
        [delivery_id] = reminder_claim(due=reminders_due(now=NOON), now=NOON)
        assert reminder_send(delivery_id=delivery_id).outcome == "sent"
    [message] = mail.outbox
    return message


def test_the_reminder_gives_the_clinics_details() -> None:
    message = _send_reminder(
        phone="020 7946 0321",
        address="14 Wharf Lane\nLondon",
        out_of_hours="When we are closed, call NHS 111.",
    )
    assert (
        "To contact Northside Physio:\nPhone: 020 7946 0321\nAddress: 14 Wharf Lane, London\n"
        "When we are closed, call NHS 111.\n\n"
    ) in message.body
    assert "Email:" not in message.body  # left empty, so not shown


def test_a_reminder_from_a_clinic_without_details_has_no_contact_paragraph() -> None:
    message = _send_reminder()
    assert "To contact" not in message.body and "\n\n\n" not in message.body
