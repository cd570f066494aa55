"""Library services' refusals name their rule: each DomainError code (and field) is part of the contract."""

from __future__ import annotations

from typing import Any

import pytest

from library.models import DOSAGE_LIMITS, Exercise
from library.services import exercise_set_status, validate_dosage
from portal.errors import DomainError

pytestmark = pytest.mark.django_db

GOOD = {"sets": 2, "reps": 10, "hold_seconds": 0, "sessions_per_day": 1, "days_per_week": 7}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        *[({name: high + 1}, "dosage_out_of_range", name) for name, (_, high) in DOSAGE_LIMITS.items()],
        *[({name: low - 1}, "dosage_out_of_range", name) for name, (low, _) in DOSAGE_LIMITS.items() if low],
        ({"reps": 0, "hold_seconds": 0}, "no_reps_or_hold", "reps"),
    ],
)
def test_each_dosage_refusal_names_its_rule_and_field(changes: dict[str, int], code: str, field: str) -> None:
    validate_dosage(GOOD)
    with pytest.raises(DomainError) as refused:
        validate_dosage(GOOD | changes)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_an_unknown_exercise_status_is_refused_with_its_code(personas: Any, library: None) -> None:
    with pytest.raises(DomainError) as refused:
        exercise_set_status(exercises=Exercise.objects.all(), status="hidden", by=personas.staff)
    assert (refused.value.code, refused.value.field) == ("unknown_status", "status")
