"""factory_boy factories. No fixed ids: every object is made fresh per test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils.text import slugify

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanExercise, PlanStatus
from checkins.models import PainCheckIn
from library.models import BodyRegion, Category, Exercise, ExerciseStatus

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class ClinicFactory(factory.django.DjangoModelFactory[Clinic]):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")


class TherapistFactory(factory.django.DjangoModelFactory[Therapist]):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    timezone = "Europe/London"


class BodyRegionFactory(factory.django.DjangoModelFactory[BodyRegion]):
    class Meta:
        model = BodyRegion
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Region {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class ExerciseFactory(factory.django.DjangoModelFactory[Exercise]):
    class Meta:
        model = Exercise
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Exercise {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    summary = "A test exercise."
    instructions = "Step one.\nStep two."
    category = Category.MOBILITY
    status = ExerciseStatus.PUBLISHED

    @factory.post_generation
    def regions(self, create: bool, extracted: list[BodyRegion] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.regions.set(extracted)  # type: ignore[attr-defined]


class CarePlanFactory(factory.django.DjangoModelFactory[CarePlan]):
    class Meta:
        model = CarePlan

    patient = factory.SubFactory(PatientFactory)
    therapist = factory.SubFactory(TherapistFactory, clinic=factory.SelfAttribute("..patient.clinic"))
    title = "Low back plan"
    # The patient's own calendar, as the code reads it, never the host's.
    start_date = factory.LazyAttribute(lambda o: o.patient.local_today() - timedelta(days=14))
    status = PlanStatus.ACTIVE


class PlanExerciseFactory(factory.django.DjangoModelFactory[PlanExercise]):
    class Meta:
        model = PlanExercise

    plan = factory.SubFactory(CarePlanFactory)
    exercise = factory.SubFactory(ExerciseFactory)
    position = factory.Sequence(lambda n: n)


class PainCheckInFactory(factory.django.DjangoModelFactory[PainCheckIn]):
    class Meta:
        model = PainCheckIn

    plan = factory.SubFactory(CarePlanFactory)
    patient = factory.LazyAttribute(lambda o: o.plan.patient)
    local_date = factory.LazyAttribute(lambda o: o.plan.start_date)
    nprs = 5
