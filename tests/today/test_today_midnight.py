"""An exercise marked done on the Today page belongs to the day the page was rendered for."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.localday import DAY_CLOSED, DAY_IN_FUTURE
from audit.models import AuditEvent
from careplans.models import CarePlan, ExerciseSession
from careplans.sessions import exercise_session_mark
from portal.errors import DomainError
from tests.helpers import HTMX, as_user, template_plan

pytestmark = pytest.mark.django_db

EVENING = date(2026, 5, 4)


def mark(client: Any, plan_exercise_id: int, day: str, **extra: Any) -> Any:
    return client.post(
        reverse("today-mark", args=[plan_exercise_id]), {"done": "1", "local_date": day}, **extra
    )


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


@pytest.fixture
def plan(personas: Any, library: None) -> CarePlan:
    with time_machine.travel(london(2026, 4, 20, 9, 0), tick=False):
        return template_plan(personas.patient_a, personas.owner)


def test_today_page_carries_its_day_and_a_mark_after_midnight_keeps_it(plan: CarePlan, personas: Any) -> None:
    client = as_user(personas.patient_a.user)
    plan_exercise = plan.exercises.order_by("position").first()
    assert plan_exercise is not None
    with time_machine.travel(london(2026, 5, 4, 23, 58), tick=False):
        html = client.get(reverse("today")).content.decode()
    days = set(re.findall(r'name="local_date" value="([^"]*)"', html))
    assert days == {"2026-05-04"}
    with time_machine.travel(london(2026, 5, 5, 0, 2), tick=False):
        response = mark(client, plan_exercise.pk, "2026-05-04", **HTMX)
    assert response.status_code == 200
    assert "Saved for Monday 4 May" in response.content.decode()
    assert ExerciseSession.objects.get(plan_exercise=plan_exercise).local_date == EVENING
    event = AuditEvent.objects.get(action="exercise_session.done")
    assert event.data["local_date"] == "2026-05-04"


def test_a_mark_after_the_grace_period_is_not_moved_to_today(plan: CarePlan, personas: Any) -> None:
    client = as_user(personas.patient_a.user)
    plan_exercise = plan.exercises.order_by("position").first()
    assert plan_exercise is not None
    with time_machine.travel(london(2026, 5, 5, 2, 1), tick=False):
        response = mark(client, plan_exercise.pk, "2026-05-04", **HTMX)
        html = response.content.decode()
        assert "The day has changed" in html
        # The plan_exercise comes back for today, ready to be marked there.
        assert 'name="local_date" value="2026-05-05"' in html
        assert not ExerciseSession.objects.exists()
        plain = mark(client, plan_exercise.pk, "2026-05-04", follow=True)
        assert "The day has changed" in plain.content.decode()
    assert not ExerciseSession.objects.exists()


def test_service_refuses_future_closed_and_outside_plan_days(plan: CarePlan, personas: Any) -> None:
    plan_exercise = plan.exercises.order_by("position").first()
    assert plan_exercise is not None
    cases = [
        (date(2026, 5, 6), london(2026, 5, 5, 12, 0), DAY_IN_FUTURE),
        (date(2026, 5, 3), london(2026, 5, 5, 0, 30), DAY_CLOSED),
        (date(2026, 4, 19), london(2026, 4, 20, 0, 30), "outside_plan"),
    ]
    for day, now, code in cases:
        with pytest.raises(DomainError) as caught:
            exercise_session_mark(
                patient=personas.patient_a,
                plan_exercise_id=plan_exercise.pk,
                done=True,
                local_date=day,
                now=now,
            )
        assert (caught.value.code, caught.value.field) == (code, "local_date")
    assert not ExerciseSession.objects.exists()


def test_a_malformed_day_is_a_message_not_an_error(plan: CarePlan, personas: Any) -> None:
    client = as_user(personas.patient_a.user)
    plan_exercise = plan.exercises.order_by("position").first()
    assert plan_exercise is not None
    with time_machine.travel(london(2026, 5, 5, 12, 0), tick=False):
        response = mark(client, plan_exercise.pk, "5/5/2026", **HTMX)
    assert response.status_code == 200
    assert "Tap the button again" in response.content.decode()
    assert not ExerciseSession.objects.exists()
