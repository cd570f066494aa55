"""Who may open which page: three therapists, two patients, staff and anonymous.

Every plan, patient and handout page answers 404 to whoever must not see it,
and a refused POST writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation
from audit.models import AuditEvent
from careplans.models import CarePlan, ExerciseSession, PlanExercise
from library.template_models import PlanTemplate
from tests.helpers import as_user, template_plan

pytestmark = pytest.mark.django_db

THERAPIST_OK = {
    "owner": 200,
    "colleague": 200,
    "outsider": 404,
    "patient_a": 404,
    "patient_b": 404,
    "staff": 404,
}


def _clients(personas: Any) -> dict[str, Client]:
    users = {
        "owner": personas.owner.user,
        "colleague": personas.colleague.user,
        "outsider": personas.outsider.user,
        "patient_a": personas.patient_a.user,
        "patient_b": personas.patient_b.user,
        "staff": personas.staff,
    }
    return {name: as_user(user) for name, user in users.items()}


def _get_pages(plan: CarePlan) -> list[str]:
    patient = plan.patient.pk
    return [
        reverse("patient-plans", args=[patient]),
        reverse("plan-new", args=[patient]),
        reverse("plan-detail", args=[plan.pk]),
        reverse("plan-search", args=[plan.pk]) + "?q=bridge",
        reverse("plan-history", args=[plan.pk]),
        reverse("plan-end", args=[plan.pk]),
        reverse("plan-handout", args=[plan.pk]),
        reverse("plan-handout-pdf", args=[plan.pk]),
    ]


def _snapshot() -> tuple[Any, ...]:
    return (
        list(CarePlan.objects.order_by("pk").values()),
        list(PlanExercise.objects.order_by("pk").values()),
        PlanTemplate.objects.count(),
        Invitation.objects.count(),
        ExerciseSession.objects.count(),
    )


def test_therapist_pages_matrix(plan_a: CarePlan, personas: Any) -> None:
    clients = _clients(personas)
    anonymous = Client()
    for url in _get_pages(plan_a):
        # The search answers HTMX with a fragment; without HTMX it redirects to the plan page.
        headers = {"HTTP_HX_REQUEST": "true"} if "search" in url else {}
        got = {name: client.get(url, **headers).status_code for name, client in clients.items()}
        assert got == THERAPIST_OK, url
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_refused_writes_are_404_and_write_nothing(plan_a: CarePlan, personas: Any) -> None:
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    dose = {
        f"plan-exercise-{plan_exercise.pk}-{k}": v
        for k, v in {
            "sets": 9,
            "reps": 9,
            "hold_seconds": 0,
            "sessions_per_day": 1,
            "days_per_week": 7,
            "note": "x",
        }.items()
    }
    posts = [
        (reverse("plan-exercise-update", args=[plan_a.pk, plan_exercise.pk]), dose),
        (reverse("plan-exercise-move", args=[plan_a.pk, plan_exercise.pk]), {"direction": "down"}),
        (reverse("plan-exercise-remove", args=[plan_a.pk, plan_exercise.pk]), {}),
        (reverse("plan-exercise-add", args=[plan_a.pk]), {"exercise": plan_exercise.exercise_id}),
        (reverse("plan-activate", args=[plan_a.pk]), {}),
        (reverse("plan-end", args=[plan_a.pk]), {"status": "stopped", "reason": "x"}),
        (reverse("plan-save-template", args=[plan_a.pk]), {"name": "Stolen"}),
        (reverse("plan-details", args=[plan_a.pk]), {"details-title": "Hacked"}),
        (reverse("patient-invitation-resend", args=[personas.patient_a.pk]), {}),
        (reverse("plan-new", args=[personas.patient_a.pk]), {"title": "Other", "start_date": "2026-01-01"}),
    ]
    clients = _clients(personas)
    before = _snapshot()
    audits = AuditEvent.objects.count()
    for url, data in posts:
        for name in ("outsider", "patient_a", "patient_b", "staff"):
            assert clients[name].post(url, data).status_code == 404, (url, name)
    assert _snapshot() == before
    assert AuditEvent.objects.count() == audits


def test_caseload_shows_only_the_clinics_patients(plan_a: CarePlan, personas: Any) -> None:
    clients = _clients(personas)
    statuses = {name: client.get(reverse("caseload")).status_code for name, client in clients.items()}
    assert statuses == {
        "owner": 200,
        "colleague": 200,
        "outsider": 200,
        "patient_a": 404,
        "patient_b": 404,
        "staff": 404,
    }
    assert "Ada Patient" in clients["colleague"].get(reverse("caseload")).content.decode()
    assert "Ada Patient" not in clients["outsider"].get(reverse("caseload")).content.decode()
    assert clients["patient_a"].get(reverse("patient-add")).status_code == 404
    assert clients["outsider"].get(reverse("patient-add")).status_code == 200


def test_a_patient_never_reaches_another_patients_plan(plan_a: CarePlan, personas: Any) -> None:
    plan_b = template_plan(personas.patient_b, personas.owner)
    a, b = as_user(personas.patient_a.user), as_user(personas.patient_b.user)
    # Patient pages take no plan id: each patient sees their own plan only.
    assert "Ben Patient" in b.get(reverse("my-handout")).content.decode()
    assert "Ada Patient" not in b.get(reverse("my-handout")).content.decode()
    for plan_exercise in plan_a.exercises.all():
        assert b.post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}).status_code == 404
    for plan_exercise in plan_b.exercises.all():
        assert a.post(reverse("today-mark", args=[plan_exercise.pk]), {"done": "1"}).status_code == 404
    assert not ExerciseSession.objects.exists()
    for url in _get_pages(plan_b):
        assert a.get(url).status_code == 404


def test_patient_pages_are_for_patients(plan_a: CarePlan, personas: Any) -> None:
    clients = _clients(personas)
    for url in (reverse("today"), reverse("my-handout"), reverse("my-handout-pdf")):
        got = {name: client.get(url).status_code for name, client in clients.items()}
        # Patient B has no active plan: Today explains it; the handout does not exist.
        assert got["patient_a"] == 200
        assert got["patient_b"] == (200 if url == reverse("today") else 404)
        assert {got[name] for name in ("owner", "colleague", "outsider", "staff")} == {404}
