"""A plan's life in the builder: activating it (version one, one active plan, however the rows
arrive), ending it, saving it as a template, and who may view it (the audit trail)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from careplans.models import CarePlan, PlanPhase, PlanStatus, PlanVersion
from careplans.services import careplan_activate, careplan_create
from library.template_models import PlanTemplate
from portal.errors import DomainError
from tests.factories import CarePlanFactory
from tests.helpers import as_user, template_plan

pytestmark = pytest.mark.django_db


def test_activation_makes_version_one_and_is_audited(personas: Any, library: None) -> None:
    plan = template_plan(personas.patient_a, personas.owner, activate=False)
    response = as_user(personas.owner.user).post(reverse("plan-activate", args=[plan.pk]))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.activated_at is not None
    version = PlanVersion.objects.get(plan=plan)
    assert version.number == 1 and len(version.content["exercises"]) == 13
    assert version.content["phase"]["label"] == "Phase 1 of 3: Settle and move · weeks 1-4"
    assert AuditEvent.objects.filter(action="careplan.activated", object_id=str(plan.pk)).exists()


def test_an_empty_plan_cannot_be_activated(personas: Any, library: None) -> None:
    plan = careplan_create(
        patient=personas.patient_a,
        by=personas.owner,
        title="Empty",
        start_date=personas.patient_a.local_today(),
    )
    with pytest.raises(DomainError, match="at least one exercise"):
        careplan_activate(plan=plan, by=personas.owner)


def test_second_active_plan_from_another_tab_gets_a_readable_message(personas: Any, library: None) -> None:
    client = as_user(personas.owner.user)
    draft = template_plan(personas.patient_a, personas.owner, activate=False)
    assert client.get(reverse("plan-detail", args=[draft.pk])).status_code == 200
    # Meanwhile, in another tab, a colleague activates another plan for the same patient.
    other = template_plan(personas.patient_a, personas.colleague, activate=False)
    careplan_activate(plan=other, by=personas.colleague)
    response = client.post(reverse("plan-activate", args=[draft.pk]), follow=True)
    html = response.content.decode()
    assert "already has an active plan" in html
    assert "complete or stop that one first" in html
    draft.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT
    assert draft.versions.count() == 0
    assert not AuditEvent.objects.filter(action="careplan.activated", object_id=str(draft.pk)).exists()
    assert CarePlan.objects.filter(patient=personas.patient_a, status=PlanStatus.ACTIVE).count() == 1


def test_the_database_index_decides_even_when_the_rows_skip_the_service(personas: Any, library: None) -> None:
    # An active plan written straight to the table (as a racing transaction would):
    CarePlanFactory(patient=personas.patient_a, therapist=personas.owner, status=PlanStatus.ACTIVE)
    draft = template_plan(personas.patient_a, personas.owner, activate=False)
    with pytest.raises(DomainError) as caught:
        careplan_activate(plan=draft, by=personas.owner)
    assert caught.value.code == "already_active"


def test_ending_a_plan_needs_a_reason(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    url = reverse("plan-end", args=[plan_a.pk])
    response = client.post(url, {"status": "completed", "reason": "   "})
    assert response.status_code == 400
    assert "Say why the plan ends" in response.content.decode()
    plan_a.refresh_from_db()
    assert plan_a.status == PlanStatus.ACTIVE
    response = client.post(url, {"status": "stopped", "reason": "Referred for imaging."})
    assert response.status_code == 302
    plan_a.refresh_from_db()
    assert (plan_a.status, plan_a.status_reason) == (PlanStatus.STOPPED, "Referred for imaging.")
    assert AuditEvent.objects.filter(action="careplan.stopped", object_id=str(plan_a.pk)).exists()
    # An ended plan is read-only.
    plan_exercise = plan_a.exercises.first()
    assert plan_exercise is not None
    response = client.post(reverse("plan-exercise-remove", args=[plan_a.pk, plan_exercise.pk]), follow=True)
    assert "can no longer be changed" in response.content.decode()
    assert plan_a.exercises.filter(pk=plan_exercise.pk).exists()


def test_save_as_template_is_for_the_clinic_only(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    response = client.post(reverse("plan-save-template", args=[plan_a.pk]), {"name": "Ada's back routine"})
    assert response.status_code == 302
    template = PlanTemplate.objects.get(name="Ada's back routine")
    assert template.clinic == personas.clinic and template.exercises.count() == 13
    # The plan's phases are the template's, each with its own exercises.
    assert list(template.phases.values_list("name", "starts_week")) == [
        ("Settle and move", 1),
        ("Control", 5),
        ("Strength", 9),
    ]
    assert [phase.exercises.count() for phase in template.phases.all()] == [5, 4, 4]
    assert AuditEvent.objects.filter(action="plantemplate.created", object_id=str(template.pk)).exists()
    again = client.post(reverse("plan-save-template", args=[plan_a.pk]), {"name": "ada's BACK routine"})
    assert again.status_code == 400 and "already has a template" in again.content.decode()
    colleague_page = as_user(personas.colleague.user).get(reverse("plan-new", args=[personas.patient_b.pk]))
    assert "Ada&#x27;s back routine" in colleague_page.content.decode()
    outsider_patient = personas.outsider.clinic.patients.create(user=_user("far@example.test"))
    outsider_page = as_user(personas.outsider.user).get(reverse("plan-new", args=[outsider_patient.pk]))
    assert "Ada&#x27;s back routine" not in outsider_page.content.decode()
    # Posting another clinic's template id by hand is refused.
    response = as_user(personas.outsider.user).post(
        reverse("plan-new", args=[outsider_patient.pk]),
        {
            "template": template.pk,
            "start_date": outsider_patient.local_today().isoformat(),
            "length_weeks": 12,
        },
    )
    assert response.status_code == 400
    assert not CarePlan.objects.filter(patient=outsider_patient).exists()


def _user(email: str) -> Any:
    from tests.factories import UserFactory

    return UserFactory(email=email)


def test_viewing_a_plan_is_audited_for_the_clinic_not_for_outsiders(plan_a: CarePlan, personas: Any) -> None:
    url = reverse("plan-detail", args=[plan_a.pk])
    assert as_user(personas.outsider.user).get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="careplan.viewed").exists()
    as_user(personas.colleague.user).get(url)
    event = AuditEvent.objects.get(action="careplan.viewed")
    assert (event.actor, event.patient, event.object_id) == (
        personas.colleague.user,
        personas.patient_a,
        str(plan_a.pk),
    )


def test_two_tabs_activating_at_the_same_moment_leave_one_active_plan(
    transactional_db: Any, personas: Any, library: None
) -> None:
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database has no concurrent writers; make test runs PostgreSQL")
    drafts = [template_plan(personas.patient_a, personas.owner, activate=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def activate(plan: CarePlan) -> None:
        try:
            barrier.wait(timeout=10)
            careplan_activate(plan=plan, by=personas.owner)
            outcomes.append("active")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(plan,)) for plan in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["active", "already_active"]
    assert CarePlan.objects.filter(patient=personas.patient_a, status=PlanStatus.ACTIVE).count() == 1
    assert PlanVersion.objects.count() == 1


def test_an_ended_plan_prescribes_nothing_after_it_ended(plan_a: CarePlan, personas: Any) -> None:
    from datetime import UTC, datetime

    from careplans.selectors import plan_progress

    today = personas.patient_a.local_today()
    ended = datetime.combine(today - timedelta(days=7), datetime.min.time().replace(hour=12), tzinfo=UTC)
    CarePlan.objects.filter(pk=plan_a.pk).update(
        start_date=today - timedelta(days=10), status=PlanStatus.COMPLETED, ended_at=ended
    )
    # Its first phase began on the start date, as activation records it.
    PlanPhase.objects.filter(plan=plan_a, began_on=today).update(began_on=today - timedelta(days=10))
    plan_a.refresh_from_db()
    progress = plan_progress(plan=plan_a)
    # Days 0-3 of week 1, five exercises (two of them 5 days a week: still 4 days each), three of
    # them twice a day: 4 days x (2 + 2 + 1 + 1 + 2) sessions.
    assert progress.adherence.prescribed == 32
