"""The password-reset email ends with the clinic's contact details, as the invitation and the
reminder emails do (Plinth issue 15); a clinic without details, or a user without a clinic,
gets no contact paragraph."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Clinic

pytestmark = pytest.mark.django_db


def _with_details(clinic: Clinic) -> None:
    clinic.phone = "020 7946 0321"
    clinic.address = "14 Wharf Lane\nLondon\nSE1 9ZZ"
    clinic.email = "desk@northside.example.org"
    clinic.out_of_hours = "When we are closed, call NHS 111."
    clinic.full_clean()
    clinic.save()


def _reset_email_body(email: str) -> str:
    response = Client().post(reverse("password_reset"), {"email": email})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [email]
    return str(message.body)


@pytest.mark.parametrize("who", ["patient_a", "owner"])
def test_the_reset_email_carries_the_clinics_name_phone_and_address(personas: Any, who: str) -> None:
    _with_details(personas.clinic)
    body = _reset_email_body(getattr(personas, who).user.email)
    expected = (
        f"To contact {personas.clinic.name}:\n"
        "Phone: 020 7946 0321\n"
        "Address: 14 Wharf Lane, London, SE1 9ZZ\n"
        "Email: desk@northside.example.org\n"
        "When we are closed, call NHS 111.\n\n"
    )
    assert expected in body
    # The details come after the link and the "not you" advice, before the sign-off.
    assert body.index("ignore this email") < body.index("To contact") < body.rindex("Plinth")


def test_a_reset_from_a_clinic_without_details_has_no_contact_paragraph(personas: Any) -> None:
    body = _reset_email_body(personas.patient_a.user.email)
    assert "To contact" not in body and "Phone:" not in body
    assert "\n\n\n" not in body
    assert body.rstrip().endswith("Plinth")


def test_a_reset_for_a_user_without_a_clinic_has_no_contact_paragraph(personas: Any) -> None:
    _with_details(personas.clinic)
    body = _reset_email_body(personas.staff.email)
    assert "To contact" not in body
