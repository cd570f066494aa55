"""Accounts and clinics: email logins, one account per address, patients' time zones."""

from __future__ import annotations

from datetime import time

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Patient, User
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_model_is_ours_and_logs_in_by_email() -> None:
    assert get_user_model() is User
    assert User.USERNAME_FIELD == "email"
    assert "username" not in {field.name for field in User._meta.get_fields()}


def test_emails_are_stored_lower_case() -> None:
    user = User.objects.create_user("Mixed.Case@Example.TEST", "pw-long-enough-1", full_name="M C")
    assert user.email == "mixed.case@example.test"


def test_one_account_per_address_whatever_the_case() -> None:
    UserFactory(email="same@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        # Written directly, past the manager's lower-casing.
        User.objects.bulk_create([User(email="SAME@example.test", full_name="Twin")])


def test_patient_time_zone_must_be_an_iana_name() -> None:
    patient = PatientFactory.build(clinic=ClinicFactory(), user=UserFactory(), timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        patient.full_clean()
    assert "not a known time zone" in str(error.value)
    patient.timezone = "America/New_York"
    patient.full_clean()


def test_patient_has_a_reminder_time_and_a_local_today() -> None:
    patient = PatientFactory(timezone="Pacific/Kiritimati", reminder_time=time(7, 30))
    patient = Patient.objects.get(pk=patient.pk)
    assert patient.reminder_time == time(7, 30)
    assert str(patient.zone) == "Pacific/Kiritimati"
    assert patient.local_today() is not None
