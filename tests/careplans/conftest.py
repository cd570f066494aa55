"""Helpers for the care-plan tests: plans built through the real services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Patient, Therapist
from careplans.models import CarePlan
from careplans.services import careplan_activate, careplan_create
from library.models import PlanTemplate
from library.services import LOW_BACK_TEMPLATE_NAME


def template_plan(patient: Patient, therapist: Therapist, *, activate: bool = True) -> CarePlan:
    """The shared low-back template, copied for a patient (the library must be loaded)."""
    template = PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME, clinic=None)
    plan = careplan_create(
        patient=patient,
        by=therapist,
        title="",
        template=template,
        start_date=patient.local_today(),
    )
    if activate:
        plan = careplan_activate(plan=plan, by=therapist)
    return plan


@pytest.fixture
def plan_a(personas: Any, library: None) -> CarePlan:
    """Patient A's active plan from the shared template, owned by the owner therapist."""
    return template_plan(personas.patient_a, personas.owner)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Password hashing is not what these tests check; the default hasher costs ~0.3 s a user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
