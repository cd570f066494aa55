"""`make run`'s demo clinic: the outcome report is populated on the first run, and consistent."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from alerts.models import Alert, AlertKind
from careplans.models import CarePlan, PlanStatus
from library.models import Exercise, ExerciseStatus
from outcomes.models import OutcomeSnapshot

pytestmark = pytest.mark.django_db


def test_the_demo_clinic_has_plans_that_reached_week_12_and_every_snapshot() -> None:
    call_command("demo_clinic")
    plans = CarePlan.objects.filter(patient__clinic__name__contains="(demo)")
    assert plans.filter(status=PlanStatus.COMPLETED).count() >= 2
    # Every plan's outcome is written, as the nightly job would have.
    assert OutcomeSnapshot.objects.filter(plan__in=plans).count() == plans.count()
    assert OutcomeSnapshot.objects.filter(plan__in=plans, reached_week_12=True).count() >= 2


def test_running_the_demo_command_again_changes_nothing() -> None:
    call_command("demo_clinic")
    before = (CarePlan.objects.count(), OutcomeSnapshot.objects.count())
    call_command("demo_clinic")
    assert (CarePlan.objects.count(), OutcomeSnapshot.objects.count()) == before


def test_the_demo_clinics_worsening_alert_is_there_from_the_first_minute(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The newcomer's report: Priya's rising pain had no alert to acknowledge until the hourly
    job's next run at :40."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_clinic")
    assert Alert.objects.filter(patient__user__email="priya@demo.plinth", kind=AlertKind.WORSENING).exists()


def test_the_demo_clinic_has_exercises_of_its_own_beside_the_shared_library() -> None:
    call_command("demo_clinic")
    own = Exercise.objects.exclude(clinic=None).order_by("name")
    assert [(e.name, e.status, e.copied_from.slug if e.copied_from else None) for e in own] == [
        ("Bridge with a band (Riverside)", ExerciseStatus.PUBLISHED, "bridge"),
        ("Dead bug", ExerciseStatus.DRAFT, "dead-bug"),
        ("Hip hinge with a broom handle", ExerciseStatus.PUBLISHED, None),
    ]
    assert {e.clinic.name for e in own} == {"Riverside Physiotherapy (demo)"}
    assert Exercise.objects.get(name="Bridge", clinic=None).equipment != "band"


def test_the_demo_clinics_own_exercises_have_drawn_pictures(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("demo_clinic")
    for exercise in Exercise.objects.exclude(clinic=None):
        pictures = exercise.pictures
        assert len(pictures) == 2, exercise.name
        assert pictures[0].description.startswith("Start:")
        assert all(p.content_type == "image/png" and (p.width, p.height) == (800, 600) for p in pictures)
        assert all((tmp_path / p.file.name).is_file() for p in pictures)


def test_the_demo_plans_are_in_the_phase_of_their_week() -> None:
    """Issue 17: the low-back template's three phases; each demo plan is in the phase its week
    has reached, the earlier ones recorded as run."""
    call_command("demo_clinic")
    alex = CarePlan.objects.get(patient__user__email="patient@demo.plinth")  # in week 5
    assert alex.current_phase is not None and alex.current_phase.name == "Control"
    first = alex.phases.get(name="Settle and move")
    assert first.began_on == alex.start_date and first.ended_on is not None
    jordan = CarePlan.objects.get(patient__user__email="jordan@demo.plinth")  # in week 3
    assert jordan.current_phase is not None and jordan.current_phase.name == "Settle and move"


def test_the_demo_patients_today_shows_an_exercise_with_pictures(settings: Any, tmp_path: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    settings.MEDIA_ROOT = tmp_path
    call_command("demo_clinic")
    client = Client()
    client.force_login(User.objects.get(email="patient@demo.plinth"))
    today = client.get(reverse("today")).content.decode()
    assert "Hip hinge with a broom handle" in today
    assert 'alt="Start: standing tall, a broom handle on head, upper back and tailbone."' in today
