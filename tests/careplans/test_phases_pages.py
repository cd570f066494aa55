"""Phased plans (issue 17): Today, the handout, adherence and the builder follow the phase in force;
a phase costs one query whatever the plan's size; a mark from a page drawn before the phase
moved redraws the page."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from careplans.adherence import adherence_for_plans, prescribed_sessions
from careplans.adherence_weeks import weekly_adherence
from careplans.models import CarePlan, ExerciseSession, PlanPhase
from careplans.phase_moves import plan_phases_move_due
from tests.careplans.phased import CONTROL_BEGINS, START, local, phased_plan
from tests.conftest import Personas
from tests.factories import PlanExerciseFactory
from tests.helpers import as_user, current_exercises

pytestmark = pytest.mark.django_db


def test_adherence_counts_each_phases_exercises_only_while_it_is_in_force(
    personas: Personas, library: None
) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 1, 0), tick=False):
        plan_phases_move_due()
    today = CONTROL_BEGINS + timedelta(days=3)
    due = 0
    for item in plan.exercises.select_related("phase"):
        phase: PlanPhase = item.phase
        if phase.began_on is None:
            continue
        due += prescribed_sessions(
            plan_start=START,
            days_per_week=item.days_per_week,
            first=phase.began_on,
            last=min(phase.ended_on or today, today),
            sessions_per_day=item.sessions_per_day,
        )
    # Every prescribed session of the first phase's last day and the second's first day done,
    # and a tick of a third-phase exercise that cannot count.
    ticks = [
        ExerciseSession(patient=personas.patient_a, plan_exercise=item, local_date=day, number=n)
        for day in (CONTROL_BEGINS - timedelta(days=1), CONTROL_BEGINS)
        for item in plan.exercises.filter(phase__began_on__lte=day).exclude(phase__ended_on__lt=day)
        for n in range(1, item.sessions_per_day + 1)
    ]
    strength = plan.exercises.filter(phase__name="Strength").first()
    assert strength is not None
    ticks.append(ExerciseSession(patient=personas.patient_a, plan_exercise=strength, local_date=today))
    ExerciseSession.objects.bulk_create(ticks)
    adherence = adherence_for_plans([plan], today=today)[plan.pk]
    assert (adherence.prescribed, adherence.done) == (due, len(ticks) - 1)
    weeks = weekly_adherence(plan, today=today)
    assert sum(week.adherence.prescribed for week in weeks) == due
    assert sum(week.adherence.done for week in weeks) == len(ticks) - 1


def test_the_handout_names_the_phase_and_lists_its_exercises(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 31, 9, 0), tick=False):
        plan_phases_move_due()
        patient = as_user(personas.patient_a.user)
        html = patient.get(reverse("my-handout")).content.decode()
        pdf = patient.get(reverse("my-handout-pdf")).content
    assert "Phase 2 of 3: Control" in html and "weeks 5-8" in html
    plan.refresh_from_db()
    names = [item.exercise.name for item in current_exercises(plan).select_related("exercise")]
    assert names == ["Abdominal bracing", "Quadruped lateral flexion", "Single-leg bridge", "Bird dog"]
    assert all(name in html for name in names) and "Pelvic tilt" not in html
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Phase 2 of 3: Control" in text and "Abdominal bracing" in text and "Pelvic tilt" not in text


def test_the_builder_groups_exercises_by_phase(personas: Personas, library: None) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
        html = as_user(personas.owner.user).get(reverse("plan-detail", args=[plan.pk])).content.decode()
    headings = [
        html.index(f"Phase {n} of 3: {name}")
        for n, name in ((1, "Settle and move"), (2, "Control"), (3, "Strength"))
    ]
    assert headings == sorted(headings)
    for phase, (start, end) in zip(
        plan.phases.order_by("starts_week"),
        zip(headings, [*headings[1:], len(html)], strict=True),
        strict=True,
    ):
        for item in phase.exercises.all():
            assert start < html.index(f'id="plan-exercise-{item.pk}"') < end


@pytest.mark.parametrize("page", ["today", "builder"])
def test_a_phase_adds_one_query_whatever_the_plans_size(personas: Personas, library: None, page: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    client = as_user(personas.owner.user if page == "builder" else personas.patient_a.user)
    url = reverse("plan-detail", args=[plan.pk]) if page == "builder" else reverse("today")

    def count() -> int:
        with time_machine.travel(local("Europe/London", 2026, 3, 3, 9, 0), tick=False):
            client.get(url)  # sessions, caches
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
        return len(queries)

    phased = count()
    # Twice the exercises in every phase: the same count.
    for item in list(plan.exercises.all()):
        PlanExerciseFactory(plan=plan, phase=item.phase)
    assert count() == phased
    # The same plan without its phases: one query fewer.
    CarePlan.objects.filter(pk=plan.pk).update(current_phase=None)
    plan.exercises.update(phase=None)
    assert count() == phased - 1


def test_a_mark_from_last_nights_page_after_the_phase_moved_redraws_the_page(
    personas: Personas, library: None
) -> None:
    plan = phased_plan(personas.patient_a, personas, "Europe/London")
    tilt = plan.exercises.get(exercise__slug="pelvic-tilt")
    client = as_user(personas.patient_a.user)
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 0, 20), tick=False):
        plan_phases_move_due()
        response = client.post(
            reverse("today-mark", args=[tilt.pk]),
            {"done": "1", "local_date": "2026-03-29"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 204 and response["HX-Redirect"] == reverse("today")
        assert "Saved for Sunday 29 March" in client.get(reverse("today")).content.decode()
    assert ExerciseSession.objects.get(plan_exercise=tilt).local_date == date(2026, 3, 29)
    # Today, the first phase's exercise is no longer to be marked.
    with time_machine.travel(local("Europe/London", 2026, 3, 30, 9, 0), tick=False):
        client = as_user(personas.patient_a.user)
        client.post(reverse("today-mark", args=[tilt.pk]), {"done": "1", "local_date": "2026-03-30"})
    assert ExerciseSession.objects.filter(plan_exercise=tilt).count() == 1
