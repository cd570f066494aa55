from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from tests.settings import EMBEDDED

#: Every outcome rule runs on both: the default database (PostgreSQL under
#: ``make test``, SQLite in the fast lane) and the embedded default's SQLite.
BACKENDS = [DEFAULT_DB_ALIAS, EMBEDDED]

_serial = itertools.count()


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Factories hash a password per user; the outcome tests make many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=BACKENDS)
def using(request: pytest.FixtureRequest) -> str:
    """The database alias a test writes its history to and computes its outcomes on."""
    alias: str = request.param
    return alias


def plan_with_history(
    readings: list[tuple[int, int]], *, start: date, zone: str = "UTC", using: str = DEFAULT_DB_ALIAS
) -> CarePlan:
    """A fresh clinic, therapist, patient (in ``zone``) and plan on ``using``, with one check-in per
    (day since ``start``, NPRS) reading. The factories write to the default database only."""
    n = next(_serial)
    clinic = Clinic.objects.db_manager(using).create(name=f"Outcome clinic {n}")
    therapist = Therapist.objects.db_manager(using).create(
        user=User.objects.db_manager(using).create(email=f"therapist{n}@outcomes.test"), clinic=clinic
    )
    patient = Patient.objects.db_manager(using).create(
        user=User.objects.db_manager(using).create(email=f"patient{n}@outcomes.test"),
        clinic=clinic,
        timezone=zone,
    )
    plan = CarePlan.objects.db_manager(using).create(
        patient=patient,
        therapist=therapist,
        title="Low back plan",
        start_date=start,
        status=PlanStatus.ACTIVE,
    )
    PainCheckIn.objects.db_manager(using).bulk_create(
        PainCheckIn(patient=patient, plan=plan, local_date=start + timedelta(days=day), nprs=nprs)
        for day, nprs in readings
    )
    return plan
