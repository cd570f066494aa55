"""The patient's day: today's exercises, one-tap done and undo, on the patient's own date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from careplans.models import CarePlan, ExerciseSession, PlanStatus
from tests.helpers import HTMX, as_user, current_exercises, template_plan

pytestmark = pytest.mark.django_db


def test_patient_without_an_active_plan_gets_a_friendly_explanation(personas: Any) -> None:
    response = as_user(personas.patient_a.user).get(reverse("today"))
    assert response.status_code == 200
    assert "has not started a plan for you yet" in response.content.decode()


def test_today_shows_the_plans_exercises_week_and_adherence(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge")
    bridge.note = "Keep your knees hip-width apart."
    bridge.save()
    bridge.exercise.video_url = "https://video.example.test/bridge"
    bridge.exercise.image_url = "https://img.example.test/bridge.png"
    bridge.exercise.save()
    html = as_user(personas.patient_a.user).get(reverse("today")).content.decode()
    assert 'href="https://video.example.test/bridge"' in html
    assert 'href="https://img.example.test/bridge.png"' in html
    assert "Week 1 of 12" in html
    for plan_exercise in current_exercises(plan_a).select_related("exercise"):
        assert escape(plan_exercise.exercise.name) in html
        assert plan_exercise.dosage_text in html
        assert escape(plan_exercise.exercise.steps[0]) in html
    assert "Keep your knees hip-width apart." in html
    # The plan's first day, nothing marked yet: no "0%" before the day is over.
    assert "Adherence so far: your first day" in html and "0%" not in html
    # One mark per prescribed session: pelvic tilt, child's pose and quadruped lateral flexion
    # twice a day, bridge and bird dog once.
    assert html.count('name="done" value="1"') == 8


def test_marking_done_without_javascript_redirects_and_undo_deletes(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.patient_a.user)
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    url = reverse("today-mark", args=[plan_exercise.pk])
    response = client.post(url, {"done": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("today") + f"#plan-exercise-{plan_exercise.pk}"
    session = ExerciseSession.objects.get(plan_exercise=plan_exercise)
    assert session.local_date == personas.patient_a.local_today()
    assert session.patient == personas.patient_a
    # A resubmitted form (double tap, back button) does not flip it back.
    client.post(url, {"done": "1"})
    assert ExerciseSession.objects.filter(plan_exercise=plan_exercise).count() == 1
    html = client.get(reverse("today")).content.decode()
    # Pelvic tilt is twice a day: the form without a session marks the first; 1 of 8 sessions today.
    assert "Session 1 done" in html and "1 of 8" in html and "12%" in html
    response = client.post(url, {"done": "0"})
    assert response.status_code == 302
    assert not ExerciseSession.objects.filter(plan_exercise=plan_exercise).exists()
    actions = list(AuditEvent.objects.filter(patient=personas.patient_a).values_list("action", flat=True))
    assert "exercise_session.done" in actions and "exercise_session.undone" in actions


def test_marking_done_with_htmx_answers_with_the_item_and_progress(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.patient_a.user)
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    response = client.post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="plan-exercise-{plan_exercise.pk}"' in html
    assert "Session 1 done" in html and 'value="0"' in html
    assert 'id="today-progress" class="card today-progress" hx-swap-oob="true"' in html
    assert "1 of 8" in html
    assert "<html" not in html


def test_the_local_date_is_the_patients_own(personas: Any, library: None) -> None:
    patient = personas.patient_a
    # 11:30 UTC is already tomorrow on Kiritimati (UTC+14) and still today in London.
    now = timezone.now().replace(hour=11, minute=30)
    patient.timezone = "Pacific/Kiritimati"
    patient.save()
    with mock.patch("django.utils.timezone.now", return_value=now):
        plan = template_plan(patient, personas.owner)
        plan_exercise = plan.exercises.order_by("position").first()
        assert plan_exercise is not None
        as_user(patient.user).post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"})
    session = ExerciseSession.objects.get()
    assert session.local_date == now.date() + timedelta(days=1)


def test_a_patient_cannot_mark_another_patients_exercise(plan_a: CarePlan, personas: Any) -> None:
    plan_exercise = plan_a.exercises.first()
    assert plan_exercise is not None
    response = as_user(personas.patient_b.user).post(
        reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}
    )
    assert response.status_code == 404
    assert not ExerciseSession.objects.exists()


def test_exercises_of_a_stopped_plan_cannot_be_marked(plan_a: CarePlan, personas: Any) -> None:
    CarePlan.objects.filter(pk=plan_a.pk).update(status=PlanStatus.STOPPED)
    plan_exercise = plan_a.exercises.first()
    assert plan_exercise is not None
    response = as_user(personas.patient_a.user).post(
        reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}
    )
    assert response.status_code == 404
    assert not ExerciseSession.objects.exists()


def test_a_plan_that_has_not_started_says_when_it_starts(personas: Any, library: None) -> None:
    from careplans.services import careplan_activate, careplan_create
    from library.services import LOW_BACK_TEMPLATE_NAME
    from library.template_models import PlanTemplate

    start = personas.patient_a.local_today() + timedelta(days=3)
    plan = careplan_create(
        patient=personas.patient_a,
        by=personas.owner,
        title="",
        template=PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME),
        start_date=start,
    )
    careplan_activate(plan=plan, by=personas.owner)
    client = as_user(personas.patient_a.user)
    html = client.get(reverse("today")).content.decode()
    assert "Your plan starts on" in html
    assert 'name="done"' not in html
    plan_exercise = plan.exercises.first()
    assert plan_exercise is not None
    response = client.post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}, follow=True)
    assert "Your plan runs from" in response.content.decode()
    assert not ExerciseSession.objects.exists()


def test_exercises_done_enough_days_this_week_rest(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge")
    bridge.days_per_week = 1
    bridge.save()
    today = personas.patient_a.local_today()
    # The plan started today, so this week began today: yesterday belongs to no plan week.
    ExerciseSession.objects.create(patient=personas.patient_a, plan_exercise=bridge, local_date=today)
    client = as_user(personas.patient_a.user)
    html = client.get(reverse("today")).content.decode()
    assert "Resting today" not in html  # done today: it stays in today's list so it can be undone
    CarePlan.objects.filter(pk=plan_a.pk).update(start_date=today - timedelta(days=1))
    ExerciseSession.objects.filter(plan_exercise=bridge).update(local_date=today - timedelta(days=1))
    html = client.get(reverse("today")).content.decode()
    assert "Resting today" in html
