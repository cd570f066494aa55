"""Fixtures for the jobs tests: fast password hashing and bulk patients."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any) -> None:
    # The jobs tests make many users; PBKDF2 would spend most of the run hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bulk_patients(
    n: int,
    *,
    zones: list[str],
    reminder_time: time = time(0, 0),
    prefix: str = "p",
    start: date = date(2020, 1, 1),
    **extra: Any,
) -> list[Patient]:
    """``n`` patients with an active year-long plan, in a few statements."""
    clinic = Clinic.objects.create(name=f"Bulk clinic {prefix}")
    therapist = Therapist.objects.create(
        user=User.objects.create(email=f"therapist-{prefix}@example.test", full_name="Bulk Therapist"),
        clinic=clinic,
    )
    users = User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.test", full_name=f"Patient {prefix}{i}", password="!")
        for i in range(n)
    )
    patients = Patient.objects.bulk_create(
        Patient(
            user=user,
            clinic=clinic,
            therapist=therapist,
            timezone=zones[i % len(zones)],
            reminder_time=reminder_time,
            **extra,
        )
        for i, user in enumerate(users)
    )
    CarePlan.objects.bulk_create(
        CarePlan(
            patient=patient,
            therapist=therapist,
            title="Low back plan",
            start_date=start,
            length_weeks=52,
            status=PlanStatus.ACTIVE,
        )
        for patient in patients
    )
    return patients
