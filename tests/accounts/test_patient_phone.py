"""Issue 15: the therapist can call a patient where they look.

A patient has an optional phone number: given when the therapist adds them, kept by the patient on
their settings page and by the therapist on the record (both audited, a wrong number refused with
its reason and nothing saved), and offered as a "Call" link on the record and the attention list.
The API and the patient's own data export carry it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Patient, tel_uri
from accounts.services import patient_phone_update
from alerts.models import Alert
from audit.models import AuditEvent
from portal.errors import DomainError
from tests.conftest import login
from tests.helpers import history, make_plan
from today.services import checkin_submit

pytestmark = pytest.mark.django_db


def test_tel_links_keep_the_digits_and_a_leading_plus() -> None:
    assert tel_uri("07700 900123") == "tel:07700900123"
    # The newcomer's report: "+44 (0)20 ..." gave tel:+44020..., a number no one can dial.
    assert tel_uri(" +44 (0)20 7946-0321 ") == "tel:+442079460321"
    assert tel_uri("(020) 7946 0321") == "tel:02079460321"
    assert tel_uri("") == "" and tel_uri("   ") == ""


def test_adding_a_patient_keeps_their_phone_and_refuses_a_wrong_one(client: Client, personas: Any) -> None:
    login(client, personas.owner.user)
    form = {"full_name": "Noor Haddad", "email": "noor@example.org", "timezone": "Europe/London"}
    response = client.post(reverse("patient-add"), {**form, "reminder_time": "18:00", "phone": "call me"})
    assert response.status_code == 400
    assert "Enter the phone number as it is dialled" in response.content.decode()
    assert 'value="call me"' in response.content.decode()  # what was typed is kept
    assert not Patient.objects.filter(user__email="noor@example.org").exists()
    response = client.post(
        reverse("patient-add"), {**form, "reminder_time": "18:00", "phone": "07700 900123"}
    )
    assert response.status_code == 302
    assert Patient.objects.get(user__email="noor@example.org").phone == "07700 900123"


def test_the_therapist_sets_and_clears_the_number_on_the_record_audited(
    client: Client, personas: Any
) -> None:
    patient = personas.patient_a
    login(client, personas.owner.user)
    url = reverse("patient-phone", args=[patient.pk])
    record = reverse("patient-record", args=[patient.pk])
    html = client.get(record).content.decode()
    assert "none on file" in html and "tel:" not in html

    response = client.post(url, {"phone": "+44 7700 900123"})
    assert response.status_code == 302 and response["Location"] == record
    patient.refresh_from_db()
    assert patient.phone == "+44 7700 900123"
    html = client.get(record).content.decode()
    assert 'href="tel:+447700900123">Call Ada<span class="visually-hidden"> on +44 7700 900123</span>' in html
    assert "phone number is saved" in html
    event = AuditEvent.objects.get(patient=patient, action="patient.phone_changed")
    assert event.actor_id == personas.owner.user.pk
    assert event.data == {"before": {"phone": ""}, "after": {"phone": "+44 7700 900123"}}

    response = client.post(url, {"phone": "12 34"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "7 to 15 digits" in html and 'value="12 34"' in html
    assert '<details class="record-phone" open>' in html
    patient.refresh_from_db()
    assert patient.phone == "+44 7700 900123"

    assert client.post(url, {"phone": ""}).status_code == 302
    patient.refresh_from_db()
    assert patient.phone == ""
    assert AuditEvent.objects.filter(patient=patient, action="patient.phone_changed").count() == 2
    # The same number again changes nothing and writes nothing.
    assert client.post(url, {"phone": ""}).status_code == 302
    assert AuditEvent.objects.filter(patient=patient, action="patient.phone_changed").count() == 2


def test_another_clinics_patient_is_not_there(client: Client, personas: Any) -> None:
    login(client, personas.outsider.user)
    response = client.post(reverse("patient-phone", args=[personas.patient_a.pk]), {"phone": "07700 900123"})
    assert response.status_code == 404
    personas.patient_a.refresh_from_db()
    assert personas.patient_a.phone == ""


def test_the_service_refuses_a_number_with_its_code() -> None:
    patient = Patient(phone="")
    with pytest.raises(DomainError) as refused:
        patient_phone_update(patient=patient, phone="0800 FLOWERS", by=None)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_phone" and refused.value.field == "phone"


def test_the_patient_keeps_their_own_number_without_touching_the_reminder(
    client: Client, personas: Any
) -> None:
    patient = personas.patient_a
    before = (patient.reminder_time, patient.timezone, patient.reminders_enabled)
    login(client, patient.user)
    url = reverse("patient-settings")
    response = client.post(url, {"form": "phone", "phone": "not a number"})
    assert response.status_code == 400
    assert "Enter the phone number as it is dialled" in response.content.decode()
    response = client.post(url, {"form": "phone", "phone": "07700 900456"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "07700 900456"
    assert (patient.reminder_time, patient.timezone, patient.reminders_enabled) == before
    event = AuditEvent.objects.get(patient=patient, action="patient.phone_changed")
    assert event.actor_id == patient.user.pk
    assert 'value="07700 900456"' in client.get(url).content.decode()


def test_the_attention_list_offers_a_call_when_a_number_is_on_file(client: Client, personas: Any) -> None:
    patient = personas.patient_a
    plan = make_plan(patient, therapist=personas.owner)
    history(plan, dict.fromkeys(range(0, 14), 4))
    checkin_submit(patient=patient, nprs=6, side="left", flag_fever=True)
    assert Alert.objects.filter(patient=patient).exists()
    patient_phone_update(patient=patient, phone="07700 900123", by=personas.owner.user)
    login(client, personas.owner.user)
    html = client.get(reverse("attention")).content.decode()
    assert (
        '<a class="button small" href="tel:07700900123">Call<span class="visually-hidden"> '
        "Ada Patient on 07700 900123</span></a>"
    ) in html


def test_the_api_and_the_patients_export_carry_the_number(client: Client, personas: Any) -> None:
    patient = personas.patient_a
    patient_phone_update(patient=patient, phone="07700 900123", by=patient.user)
    api = APIClient()
    api.force_authenticate(personas.owner.user)
    response = api.get(reverse("api-patient-detail", args=[patient.pk]))
    assert response.status_code == 200 and response.json()["phone"] == "07700 900123"
    login(client, patient.user)
    exported = client.get(reverse("account-export"))
    assert exported.status_code == 200
    assert json.loads(exported.content)["profile"]["phone"] == "07700 900123"


def test_a_form_sent_after_the_session_ended_logs_in_back_to_its_page(client: Client, personas: Any) -> None:
    """Not HTMX: a plain form's POST from a page left open past the idle logout goes to log in
    and then back to the page it was on (its Referer), not to the POST-only URL (a 405)."""
    record = reverse("patient-record", args=[personas.patient_a.pk])
    url = reverse("patient-phone", args=[personas.patient_a.pk])
    response = client.post(url, {"phone": "07700 900123"}, HTTP_REFERER=f"http://testserver{record}?page=2")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={record}%3Fpage%3D2"
    # Another site's page is no place to come back to; without a usable Referer, the home page.
    elsewhere = client.post(url, {"phone": "1"}, HTTP_REFERER="https://elsewhere.example/patients/1/")
    assert elsewhere["Location"] == f"{reverse('login')}?next=/"
    assert client.post(url, {"phone": "1"})["Location"] == f"{reverse('login')}?next=/"
    # A GET still comes back to the URL asked for.
    assert client.get(record)["Location"] == f"{reverse('login')}?next={record}"
    personas.patient_a.refresh_from_db()
    assert personas.patient_a.phone == ""
