"""The built-in library file: whole, consistent, and valid by the Exercise model's own rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from library.builtin import builtin_library
from library.models import Category, Exercise, ExerciseStatus

pytestmark = pytest.mark.django_db


def test_every_builtin_exercise_is_valid_by_the_model() -> None:
    problems = {}
    for data in builtin_library().exercises:
        fields = {key: value for key, value in data.items() if key not in ("regions", "instructions")}
        exercise = Exercise(
            **fields, instructions="\n".join(data["instructions"]), status=ExerciseStatus.PUBLISHED
        )
        try:
            exercise.full_clean(exclude=["regions"], validate_unique=False)
        except ValidationError as error:
            problems[data["slug"]] = error.message_dict
    assert problems == {}


def test_slugs_are_unique_and_regions_and_template_refer_to_what_the_file_holds() -> None:
    library = builtin_library()
    slugs = [data["slug"] for data in library.exercises]
    assert len(slugs) == len(set(slugs)) >= 34
    region_slugs = {region["slug"] for region in library.regions}
    used = {slug for data in library.exercises for slug in data["regions"]}
    assert used == region_slugs, "every region has an exercise, and no exercise names an unknown region"
    assert {entry["slug"] for phase in library.template["phases"] for entry in phase["exercises"]} <= set(
        slugs
    )
    assert all(
        data["instructions"] and all(step.strip() for step in data["instructions"])
        for data in library.exercises
    )


def test_every_category_of_the_model_has_a_builtin_exercise() -> None:
    assert {data["category"] for data in builtin_library().exercises} == set(Category.values)
