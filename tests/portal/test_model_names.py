"""Every model names its rows in words (the admin shows them; never "TemplateExercise object (1)")."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from tests.product import APPS


def test_every_model_of_plinth_defines_its_own_str() -> None:
    mine = [model for model in apps.get_models() if model._meta.app_label in APPS]
    assert len(mine) >= 19
    assert [model.__name__ for model in mine if model.__str__ is models.Model.__str__] == []
