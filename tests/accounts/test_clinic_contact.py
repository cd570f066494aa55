"""A clinic's contact details (issue 15): validated by the model, edited in the admin, shown at the
foot of the patient's pages and in the invitation email; a detail left empty is not shown."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Clinic
from accounts.services import invitation_resend
from tests.conftest import login
from tests.factories import PatientFactory
from tests.helpers import as_user

pytestmark = pytest.mark.django_db

DETAILS = {
    "phone": "+44 20 7946 0321",
    "address": "14 Wharf Lane\n\nLondon \nSE1 9ZZ",
    "email": "desk@northside.example.org",
    "out_of_hours": "When we are closed, call NHS 111.",
}


def _with_details(clinic: Clinic, **details: str) -> Clinic:
    for name, value in (DETAILS | details).items():
        setattr(clinic, name, value)
    clinic.full_clean()
    clinic.save()
    return clinic


# --- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["020 7946 0321", "+44 20 7946 0321", "(617) 555-0142", "0161.496.0000", "+61 2 5550 1234"]
)
def test_phone_numbers_as_people_write_them_are_accepted(personas: Any, phone: str) -> None:
    _with_details(personas.clinic, phone=phone)


@pytest.mark.parametrize(
    "phone",
    [
        "call us",  # no digits
        "020 7946 0321 ext 12",  # an extension is not dialled
        "12345",  # too short to ring from home
        "+44 20 7946 0321 0000 00",  # more than 15 digits
        "++44 20 7946 0321",
        "020 7946 0321-",
    ],
)
def test_a_phone_number_no_one_can_dial_is_refused(personas: Any, phone: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _with_details(personas.clinic, phone=phone)
    assert set(refused.value.message_dict) == {"phone"}
    assert "as it is dialled" in refused.value.message_dict["phone"][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "reception at clinic"), ("address", "x" * 301), ("out_of_hours", "x" * 301)],
)
def test_other_bad_details_are_refused_by_the_model(personas: Any, field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _with_details(personas.clinic, **{field: value})
    assert set(refused.value.message_dict) == {field}


def test_contact_lines_skip_what_is_empty(personas: Any) -> None:
    clinic = _with_details(personas.clinic)
    assert clinic.phone_uri == "tel:+442079460321"
    assert clinic.address_lines == ["14 Wharf Lane", "London", "SE1 9ZZ"]
    assert clinic.contact_lines() == [
        "Phone: +44 20 7946 0321",
        "Address: 14 Wharf Lane, London, SE1 9ZZ",
        "Email: desk@northside.example.org",
        "When we are closed, call NHS 111.",
    ]
    clinic.phone = clinic.email = ""
    assert clinic.contact_lines() == [
        "Address: 14 Wharf Lane, London, SE1 9ZZ",
        "When we are closed, call NHS 111.",
    ]
    assert clinic.phone_uri == ""
    clinic.address = clinic.out_of_hours = "  \n "
    assert clinic.contact_lines() == [] and not clinic.has_contact_details
    assert clinic.contact_paragraph() == ""


# --- the admin ------------------------------------------------------------------------------


def _admin_form(clinic: Clinic, **changes: str) -> dict[str, str]:
    return {
        "name": clinic.name,
        "timezone": clinic.timezone,
        "created_at_0": clinic.created_at.strftime("%Y-%m-%d"),
        "created_at_1": clinic.created_at.strftime("%H:%M:%S"),
        **DETAILS,
        **changes,
    }


def test_staff_edit_the_details_in_the_admin(personas: Any) -> None:
    client = as_user(personas.staff)
    url = reverse("admin:accounts_clinic_change", args=[personas.clinic.pk])
    page = client.get(url).content.decode()
    assert "Contact details for patients" in page
    assert re.search(r'<textarea name="address"[^>]*rows="4"', page)
    response = client.post(url, _admin_form(personas.clinic))
    assert response.status_code == 302, response.content.decode()[:2000]
    clinic = Clinic.objects.get(pk=personas.clinic.pk)
    assert (clinic.phone, clinic.email) == ("+44 20 7946 0321", "desk@northside.example.org")
    assert clinic.address_lines == ["14 Wharf Lane", "London", "SE1 9ZZ"]


def test_the_admin_refuses_a_bad_phone_with_the_models_reason(personas: Any) -> None:
    client = as_user(personas.staff)
    url = reverse("admin:accounts_clinic_change", args=[personas.clinic.pk])
    response = client.post(url, _admin_form(personas.clinic, phone="ring reception"))
    assert response.status_code == 200
    assert "as it is dialled" in response.content.decode()
    assert Clinic.objects.get(pk=personas.clinic.pk).phone == ""


# --- the patient's pages --------------------------------------------------------------------


PATIENT_PAGES = ["today", "checkin", "progress", "patient-settings"]


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_every_patient_page_ends_with_the_clinics_details(
    client: Client, personas: Any, plan_a_two_weeks_in: Any, page: str
) -> None:
    _with_details(personas.clinic)
    html = login(client, personas.patient_a.user).get(reverse(page)).content.decode()
    footer = html[html.index('<footer class="site-footer"') :]
    assert '<h2 id="clinic-footer-heading">Northside Physio</h2>' in footer
    assert '<a href="tel:+442079460321">+44 20 7946 0321</a>' in footer
    assert "14 Wharf Lane<br>London<br>SE1 9ZZ" in footer
    assert '<a href="mailto:desk@northside.example.org">' in footer
    assert "call NHS 111" in footer


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_no_details_no_footer(client: Client, personas: Any, plan_a_two_weeks_in: Any, page: str) -> None:
    html = login(client, personas.patient_a.user).get(reverse(page)).content.decode()
    assert "site-footer" not in html and "clinic-contact" not in html


def test_only_the_details_filled_in_are_shown(
    client: Client, personas: Any, plan_a_two_weeks_in: Any
) -> None:
    _with_details(personas.clinic, email="", address="", out_of_hours="")
    html = login(client, personas.patient_a.user).get(reverse("today")).content.decode()
    footer = html[html.index('<footer class="site-footer"') :]
    assert "tel:+442079460321" in footer
    assert "Email" not in footer and "clinic-address" not in footer and "clinic-out-of-hours" not in footer


def test_therapists_pages_have_no_patient_footer(client: Client, personas: Any) -> None:
    _with_details(personas.clinic)
    html = login(client, personas.owner.user).get(reverse("caseload")).content.decode()
    assert "site-footer" not in html


# --- emails -----------------------------------------------------------------------------------


def test_the_invitation_email_ends_with_the_clinics_details(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _with_details(personas.clinic)
    patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner, user__password=None)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(patient=patient, by=personas.owner)
    [message] = mail.outbox
    assert (
        "To contact Northside Physio:\n"
        "Phone: +44 20 7946 0321\n"
        "Address: 14 Wharf Lane, London, SE1 9ZZ\n"
        "Email: desk@northside.example.org\n"
        "When we are closed, call NHS 111.\n\n"
    ) in message.body


def test_an_invitation_from_a_clinic_without_details_says_nothing_of_them(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner, user__password=None)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(patient=patient, by=personas.owner)
    [message] = mail.outbox
    assert "To contact" not in message.body and "Phone:" not in message.body
    assert "\n\n\n" not in message.body


# --- the demo clinic ------------------------------------------------------------------------


def test_the_demo_clinic_has_realistic_valid_details(db: Any) -> None:
    call_command("demo_clinic", stdout=io.StringIO())
    clinic = Clinic.objects.get(name__endswith="(demo)")
    clinic.full_clean()
    assert clinic.phone.startswith("020 7946 0")  # Ofcom's drama range: never a real line
    assert clinic.address_lines and clinic.email.endswith(".example.org") and clinic.out_of_hours
