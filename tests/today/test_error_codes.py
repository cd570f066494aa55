"""Check-in refusals name their rule: each DomainError code (and field) is part of the contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from checkins.models import PainCheckIn
from portal.errors import DomainError
from tests.helpers import make_plan
from today.services import checkin_submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("answers", "code", "field"),
    [
        ({"nprs": 11}, "invalid_nprs", "nprs"),
        ({"nprs": -1}, "invalid_nprs", "nprs"),
        ({"nprs": True}, "invalid_nprs", "nprs"),
        ({"side": "up"}, "unknown_side", "side"),
        ({"note": "x" * 2001}, "too_long", "note"),
    ],
)
def test_bad_answers_are_refused_with_their_code(
    personas: Any, plan_a_two_weeks_in: Any, answers: dict[str, Any], code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        checkin_submit(patient=personas.patient_a, **({"nprs": 4, "side": "left"} | answers))
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not PainCheckIn.objects.exists()


@pytest.mark.parametrize(
    ("starts_in_days", "day_offset", "code", "field"),
    [
        (None, None, "no_active_plan", "plan"),
        (3, None, "plan_not_started", "plan"),
        (1, 0, "outside_plan", "local_date"),
        (-14, 1, "day_in_future", "local_date"),
        (-14, -3, "day_closed", "local_date"),
    ],
)
def test_days_without_a_check_in_are_refused_with_their_code(
    personas: Any, starts_in_days: int | None, day_offset: int | None, code: str, field: str
) -> None:
    patient = personas.patient_a
    today = patient.local_today()
    if starts_in_days is not None:
        make_plan(patient, start=today + timedelta(days=starts_in_days))
    day = None if day_offset is None else today + timedelta(days=day_offset)
    with pytest.raises(DomainError) as refused:
        checkin_submit(patient=patient, nprs=4, side="left", local_date=day)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not PainCheckIn.objects.exists()
