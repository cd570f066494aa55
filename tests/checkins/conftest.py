"""Helpers for the check-in tests: active plans, check-in histories, caseloads in bulk."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from tests.factories import CarePlanFactory


def make_plan(
    patient: Patient, *, therapist: Therapist | None = None, start: date | None = None, **kw: Any
) -> CarePlan:
    return CarePlanFactory(
        patient=patient,
        therapist=therapist or patient.therapist,
        start_date=start or patient.local_today() - timedelta(days=14),
        status=kw.pop("status", PlanStatus.ACTIVE),
        **kw,
    )


def history(plan: CarePlan, values: dict[int, int], *, flags: set[int] | None = None) -> list[PainCheckIn]:
    """Check-ins on plan days (day offset -> NPRS); ``flags`` marks red-flag days."""
    flags = flags or set()
    return PainCheckIn.objects.bulk_create(
        PainCheckIn(
            patient=plan.patient,
            plan=plan,
            local_date=plan.start_date + timedelta(days=day),
            nprs=nprs,
            flag_fever=day in flags,
        )
        for day, nprs in values.items()
    )


def bulk_caseload(clinic: Clinic, therapist: Therapist, n: int, *, checkin_days: int = 3) -> list[CarePlan]:
    """n patients with active plans and a few check-ins each, inserted in bulk (no password hashing)."""
    unusable = make_password(None)
    tag = f"{clinic.pk}-{User.objects.count()}"
    users = User.objects.bulk_create(
        User(email=f"bulk{tag}-{i}@example.test", full_name=f"Bulk Patient {i:03d}", password=unusable)
        for i in range(n)
    )
    patients = Patient.objects.bulk_create(
        Patient(user=user, clinic=clinic, therapist=therapist, timezone="Europe/London") for user in users
    )
    today = patients[0].local_today()
    plans = CarePlan.objects.bulk_create(
        CarePlan(
            patient=patient,
            therapist=therapist,
            title="Bulk plan",
            start_date=today - timedelta(days=20),
            status=PlanStatus.ACTIVE,
        )
        for patient in patients
    )
    PainCheckIn.objects.bulk_create(
        PainCheckIn(
            patient_id=plan.patient_id,
            plan=plan,
            local_date=plan.start_date + timedelta(days=d),
            nprs=(i + d) % 11,
        )
        for i, plan in enumerate(plans)
        for d in range(checkin_days)
    )
    return plans


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The personas' passwords are hashed per test; the real hasher's cost is not what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def plan_a(personas: Any) -> CarePlan:
    return make_plan(personas.patient_a, therapist=personas.owner)
