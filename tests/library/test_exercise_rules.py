"""Bad exercise data is refused twice: by the admin form with a readable message, and by the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from library.forms import ExerciseAdminForm
from library.models import BodyRegion, Exercise
from tests.conftest import Personas
from tests.factories import BodyRegionFactory, ExerciseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(db: Any) -> BodyRegion:
    return BodyRegionFactory(name="Knee", slug="knee")


def _data(region: BodyRegion, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Heel raise",
        "slug": "heel-raise",
        "status": "draft",
        "summary": "Rise onto the toes.",
        "instructions": "Stand tall.\nRise up.\nLower slowly.",
        "precautions": "",
        "regions": [region.pk],
        "category": "strength",
        "equipment": "none",
        "difficulty": "beginner",
        "sets": 2,
        "reps": 10,
        "hold_seconds": 0,
        "sessions_per_day": 1,
        "days_per_week": 7,
        "image_url": "",
        "video_url": "",
    }
    data.update(changes)
    return data


def test_good_exercise_is_accepted(region: BodyRegion) -> None:
    form = ExerciseAdminForm(data=_data(region))
    assert form.is_valid(), form.errors
    exercise = form.save()
    assert list(exercise.regions.all()) == [region]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reps": -1}, "reps", "Reps cannot be negative"),
        ({"hold_seconds": -5}, "hold_seconds", "Hold (seconds) cannot be negative"),
        ({"sets": 0}, "sets", "Sets must be a whole number from 1 to 10."),
        ({"days_per_week": 8}, "days_per_week", "Days per week must be a whole number from 1 to 7."),
        ({"reps": 0, "hold_seconds": 0}, "reps", "some reps or a hold time"),
        ({"regions": [987654]}, "regions", "Unknown body region"),
        ({"regions": ["shin"]}, "regions", "Unknown body region"),
        ({"regions": []}, "regions", "Choose at least one body region."),
        ({"category": "yoga"}, "category", "not one of the available choices"),
        ({"slug": "has spaces"}, "slug", "letters, numbers, underscores or hyphens"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    region: BodyRegion, changes: dict[str, Any], field: str, message: str
) -> None:
    form = ExerciseAdminForm(data=_data(region, **changes))
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert any(message in error for error in form.errors[field]), form.errors
    assert not Exercise.objects.exists()


def test_reps_or_hold_rule_is_reported_once(region: BodyRegion) -> None:
    form = ExerciseAdminForm(data=_data(region, reps=0, hold_seconds=0))
    assert not form.is_valid()
    assert form.non_field_errors() == []
    assert len(form.errors["reps"]) == 1


def test_duplicate_slug_is_refused_whatever_its_case(region: BodyRegion) -> None:
    ExerciseFactory(name="Heel raise", slug="heel-raise")
    form = ExerciseAdminForm(data=_data(region, slug="Heel-Raise"))
    assert not form.is_valid()
    assert form.errors["slug"] == ["Another exercise already uses this slug; choose a different one."]


def test_editing_an_exercise_keeps_its_own_slug(region: BodyRegion) -> None:
    exercise = ExerciseFactory(name="Heel raise", slug="heel-raise", regions=[region])
    form = ExerciseAdminForm(data=_data(region, summary="Changed."), instance=exercise)
    assert form.is_valid(), form.errors


def test_admin_add_page_shows_the_errors_next_to_the_fields(client: Client, personas: Personas) -> None:
    region = BodyRegionFactory(name="Knee", slug="knee")
    ExerciseFactory(slug="heel-raise")
    client.force_login(personas.staff)
    response = client.post(
        reverse("admin:library_exercise_add"), _data(region, reps=-3, regions=[region.pk + 1000])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reps cannot be negative" in html
    assert "Unknown body region" in html
    assert "Another exercise already uses this slug" in html
    assert Exercise.objects.count() == 1


# --- the same rules in the database, for writes that skip the form --------------------


def _create(**changes: Any) -> Exercise:
    fields: dict[str, Any] = {
        "name": "Direct",
        "slug": "direct",
        "summary": "s",
        "instructions": "i",
        "category": "strength",
    }
    fields.update(changes)
    return Exercise.objects.create(**fields)


@pytest.mark.parametrize(
    "changes",
    [
        {"reps": -1},
        {"hold_seconds": -1},
        {"reps": 0, "hold_seconds": 0},
        {"sets": 0},
        {"reps": 51},
        {"days_per_week": 8},
        {"category": "yoga"},
        {"equipment": "trampoline"},
        {"status": "deleted"},
    ],
)
def test_database_refuses_bad_values(changes: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        _create(**changes)
    assert not Exercise.objects.exists()


def test_database_refuses_a_duplicate_slug() -> None:
    _create(slug="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        _create(slug="same", name="Other")
    assert Exercise.objects.count() == 1


def test_database_refuses_an_unknown_region(region: BodyRegion) -> None:
    exercise = _create()
    through = Exercise.regions.through
    with pytest.raises(IntegrityError), transaction.atomic():
        through.objects.create(exercise_id=exercise.pk, bodyregion_id=region.pk + 1000)
        # Foreign keys are checked at commit; ask for the check now, inside the test's transaction.
        connection.check_constraints()
    assert not through.objects.exists()
