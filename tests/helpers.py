"""Helpers the tests share: plans built through the services or in bulk, clients, histories."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time, timedelta
from http.cookies import SimpleCookie
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db.models import Q, QuerySet
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.services import careplan_activate, careplan_create
from checkins.models import PainCheckIn
from library.services import LOW_BACK_TEMPLATE_NAME
from library.template_models import PlanTemplate
from tests.factories import CarePlanFactory


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


def current_exercises(plan: CarePlan) -> QuerySet[PlanExercise]:
    """The exercises the patient does now: a phased plan's current phase's (and those of no
    phase); every exercise of a plan without phases."""
    return plan.exercises.filter(Q(phase=None) | Q(phase=plan.current_phase_id))


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    """An API client authenticated as ``user`` (no token, no session: DRF's force_authenticate)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


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


def bulk_patients(
    n: int,
    *,
    zones: list[str],
    reminder_time: time = time(0, 0),
    prefix: str = "p",
    start: date = date(2020, 1, 1),
    **extra: Any,
) -> list[Patient]:
    """``n`` patients with an active year-long plan, in a few statements.

    They have joined (a usable password, the same for all), as patients who use
    their plan have: the silence and adherence rules wait for that (alerts.rules).
    """
    password = make_password(f"bulk-{prefix}")
    clinic = Clinic.objects.create(name=f"Bulk clinic {prefix}")
    therapist = Therapist.objects.create(
        user=User.objects.create(email=f"therapist-{prefix}@example.test", full_name="Bulk Therapist"),
        clinic=clinic,
    )
    users = User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.test", full_name=f"Patient {prefix}{i}", password=password)
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


class PersonaClients:
    """One logged-in test client per persona of ``world``, logged in once and reused.

    Walkers that make many requests as each persona (the authorization matrix, the
    audited-reads walk) would otherwise log in before every request. Each request
    runs inside ``kept_cookies`` and a rolled-back transaction, so that a request that
    logs out or cycles the session leaves the next one the same session.
    """

    def __init__(self, world: Any) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}

    def client(self, persona: str) -> Client:
        if persona not in self.clients:
            client = Client()
            user = self.world.persona(persona)
            if user is not None:
                client.force_login(user)
            self.clients[persona] = client
        return self.clients[persona]

    @staticmethod
    @contextmanager
    def kept_cookies(client: Client) -> Iterator[None]:
        saved = {name: morsel.value for name, morsel in client.cookies.items()}
        try:
            yield
        finally:
            client.cookies = SimpleCookie()
            for name, value in saved.items():
                client.cookies[name] = value
