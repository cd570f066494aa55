"""The plan builder: create, edit, activate, version, end, save as template."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from careplans.models import CarePlan, PlanExercise, PlanPhase, PlanStatus, PlanVersion
from careplans.services import careplan_activate, careplan_create
from library.models import ExerciseStatus
from library.services import LOW_BACK_TEMPLATE_NAME
from library.template_models import PlanTemplate
from portal.errors import DomainError
from tests.factories import CarePlanFactory, ExerciseFactory
from tests.helpers import HTMX, as_user, current_exercises, template_plan

pytestmark = pytest.mark.django_db

LOW_BACK = ["Pelvic tilt", "Child's pose with side bend", "Bridge", "Bird dog", "Quadruped lateral flexion"]
# The template's second and third phases (name, week it starts), in the plan's order.
LATER_PHASES = [
    ("Abdominal bracing", 5),
    ("Quadruped lateral flexion", 5),
    ("Single-leg bridge", 5),
    ("Bird dog", 5),
    ("Dead bug", 9),
    ("Quadruped lateral flexion", 9),
    ("Single-leg bridge", 9),
    ("Kneeling plank", 9),
]


def _template() -> PlanTemplate:
    return PlanTemplate.objects.get(name=LOW_BACK_TEMPLATE_NAME, clinic=None)


def _dose_post(plan_exercise: PlanExercise, **changes: Any) -> dict[str, Any]:
    values = {
        "sets": plan_exercise.sets,
        "reps": plan_exercise.reps,
        "hold_seconds": plan_exercise.hold_seconds,
        "sessions_per_day": plan_exercise.sessions_per_day,
        "days_per_week": plan_exercise.days_per_week,
        "note": plan_exercise.note,
    } | changes
    return {f"plan_exercise-{plan_exercise.pk}-{name}": value for name, value in values.items()}


def test_plan_from_the_shared_template_copies_its_five_exercises_in_order(
    personas: Any, library: None
) -> None:
    client = as_user(personas.owner.user)
    today = personas.patient_a.local_today()
    response = client.post(
        reverse("plan-new", args=[personas.patient_a.pk]),
        {"template": _template().pk, "title": "", "start_date": today.isoformat(), "length_weeks": 12},
    )
    plan = CarePlan.objects.get(patient=personas.patient_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("plan-detail", args=[plan.pk])
    assert plan.status == PlanStatus.DRAFT
    assert plan.title == LOW_BACK_TEMPLATE_NAME
    # The template's three phases come along; the plan starts in the first, the five gentle ones.
    assert [phase.name for phase in plan.phases.order_by("starts_week")] == [
        "Settle and move",
        "Control",
        "Strength",
    ]
    first = plan.phases.order_by("starts_week").first()
    assert plan.current_phase == first
    assert [
        item.exercise.name for item in plan.exercises.filter(phase=first).order_by("position")
    ] == LOW_BACK
    assert plan.exercises.count() == 13 and not plan.exercises.filter(phase=None).exists()
    assert AuditEvent.objects.filter(action="careplan.created", object_id=str(plan.pk)).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    for name in LOW_BACK:
        assert escape(name) in page.content.decode()


def test_plan_from_scratch_needs_a_title(personas: Any, library: None) -> None:
    client = as_user(personas.owner.user)
    url = reverse("plan-new", args=[personas.patient_a.pk])
    data = {"title": "", "start_date": personas.patient_a.local_today().isoformat(), "length_weeks": 12}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Give the plan a title" in response.content.decode()
    assert not CarePlan.objects.exists()
    response = client.post(url, data | {"title": "Knee plan", "condition": "Knee OA"})
    plan = CarePlan.objects.get()
    assert (plan.title, plan.condition, plan.length_weeks, plan.exercises.count()) == (
        "Knee plan",
        "Knee OA",
        12,
        0,
    )


def test_new_plan_form_defaults_to_12_weeks_from_the_patients_today(personas: Any, library: None) -> None:
    page = as_user(personas.owner.user).get(reverse("plan-new", args=[personas.patient_a.pk]))
    html = page.content.decode()
    assert 'name="length_weeks" value="12"' in html
    assert f'value="{personas.patient_a.local_today().isoformat()}"' in html
    assert LOW_BACK_TEMPLATE_NAME in html


@pytest.mark.parametrize("days", [366, -366, 3650])
def test_start_date_more_than_a_year_off_is_refused(personas: Any, library: None, days: int) -> None:
    start = personas.patient_a.local_today() + timedelta(days=days)
    response = as_user(personas.owner.user).post(
        reverse("plan-new", args=[personas.patient_a.pk]),
        {"template": _template().pk, "start_date": start.isoformat(), "length_weeks": 12},
    )
    assert response.status_code == 400
    assert "within a year of today" in response.content.decode()
    assert not CarePlan.objects.exists()
    assert not PlanExercise.objects.exists()


def test_start_date_change_on_a_plan_is_checked_too(plan_a: CarePlan, personas: Any) -> None:
    start = plan_a.start_date + timedelta(days=400)
    response = as_user(personas.owner.user).post(
        reverse("plan-details", args=[plan_a.pk]),
        {
            "details-title": plan_a.title,
            "details-condition": "",
            "details-start_date": start.isoformat(),
            "details-length_weeks": 12,
        },
    )
    assert response.status_code == 400
    assert "within a year of today" in response.content.decode()
    plan_a.refresh_from_db()
    assert plan_a.start_date == personas.patient_a.local_today()
    assert plan_a.versions.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sets", 0, "Sets must be between 1 and 10."),
        ("sets", 11, "Sets must be between 1 and 10."),
        ("reps", 51, "Reps must be between 0 and 50."),
        ("hold_seconds", 301, "Hold (s) must be between 0 and 300."),
        ("sessions_per_day", 7, "Times a day must be between 1 and 6."),
        ("days_per_week", 8, "Days a week must be between 1 and 7."),
        ("days_per_week", "lots", "Days a week must be between 1 and 7."),
    ],
)
def test_dosage_out_of_range_is_refused_with_the_range(
    plan_a: CarePlan, personas: Any, field: str, value: Any, message: str
) -> None:
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    before = PlanExercise.objects.filter(plan=plan_a).values()
    response = as_user(personas.owner.user).post(
        reverse("plan-exercise-update", args=[plan_a.pk, plan_exercise.pk]),
        _dose_post(plan_exercise, **{field: value}),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(PlanExercise.objects.filter(plan=plan_a).values()) == list(before)
    assert plan_a.versions.count() == 1


def test_reps_and_hold_both_zero_is_refused(plan_a: CarePlan, personas: Any) -> None:
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    response = as_user(personas.owner.user).post(
        reverse("plan-exercise-update", args=[plan_a.pk, plan_exercise.pk]),
        _dose_post(plan_exercise, reps=0, hold_seconds=0),
    )
    assert response.status_code == 400
    assert "some reps or a hold time" in response.content.decode()


def test_dosage_service_refuses_out_of_range_without_the_form(plan_a: CarePlan, personas: Any) -> None:
    from careplans.plan_exercises import careplan_exercise_update

    plan_exercise = plan_a.exercises.first()
    assert plan_exercise is not None
    with pytest.raises(DomainError) as caught:
        careplan_exercise_update(
            plan_exercise=plan_exercise,
            by=personas.owner,
            sets=99,
            reps=10,
            hold_seconds=0,
            sessions_per_day=1,
            days_per_week=7,
        )
    assert caught.value.field == "sets"
    plan_exercise.refresh_from_db()
    assert plan_exercise.sets != 99


@pytest.mark.parametrize("status", [ExerciseStatus.ARCHIVED, ExerciseStatus.DRAFT])
def test_archived_or_draft_exercise_posted_by_hand_is_refused(
    plan_a: CarePlan, personas: Any, status: str
) -> None:
    hidden = ExerciseFactory(status=status)
    client = as_user(personas.owner.user)
    url = reverse("plan-exercise-add", args=[plan_a.pk])
    response = client.post(url, {"exercise": hidden.pk})
    assert response.status_code == 400
    assert "not in the published library" in response.content.decode()
    response = client.post(url, {"exercise": hidden.pk}, **HTMX)
    assert "not in the published library" in response.content.decode()
    assert not plan_a.exercises.filter(exercise=hidden).exists()
    assert plan_a.versions.count() == 1


def test_search_finds_published_exercises_only(plan_a: CarePlan, personas: Any) -> None:
    ExerciseFactory(name="Zebra stretch archived", status=ExerciseStatus.ARCHIVED)
    ExerciseFactory(name="Zebra stretch published")
    client = as_user(personas.owner.user)
    response = client.get(reverse("plan-search", args=[plan_a.pk]), {"q": "zebra"}, **HTMX)
    html = response.content.decode()
    assert "Zebra stretch published" in html
    assert "Zebra stretch archived" not in html
    # Without JS the search is a normal GET of the plan page.
    page = client.get(reverse("plan-detail", args=[plan_a.pk]), {"q": "zebra"})
    assert "Zebra stretch published" in page.content.decode()
    # Exercises already in the plan are marked, not offered again.
    html = client.get(reverse("plan-search", args=[plan_a.pk]), {"q": "bridge"}, **HTMX).content.decode()
    assert "In the plan" in html


def test_add_move_remove_without_javascript(personas: Any, library: None) -> None:
    plan = careplan_create(
        patient=personas.patient_a,
        by=personas.owner,
        title="Scratch",
        start_date=personas.patient_a.local_today(),
    )
    client = as_user(personas.owner.user)
    first, second = ExerciseFactory(name="Alpha move"), ExerciseFactory(name="Beta move")
    for exercise in (first, second):
        response = client.post(reverse("plan-exercise-add", args=[plan.pk]), {"exercise": exercise.pk})
        assert response.status_code == 302
    plan_exercises = list(plan.exercises.order_by("position"))
    assert [plan_exercise.exercise for plan_exercise in plan_exercises] == [first, second]
    response = client.post(
        reverse("plan-exercise-move", args=[plan.pk, plan_exercises[1].pk]), {"direction": "up"}
    )
    assert response.status_code == 302
    assert [plan_exercise.exercise for plan_exercise in plan.exercises.order_by("position")] == [
        second,
        first,
    ]
    response = client.post(reverse("plan-exercise-remove", args=[plan.pk, plan_exercises[0].pk]))
    assert response.status_code == 302
    assert [plan_exercise.exercise for plan_exercise in plan.exercises.all()] == [second]
    assert plan.versions.count() == 0  # drafts keep no history


def test_add_move_remove_with_htmx_answer_with_the_list(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    extra = ExerciseFactory(name="Gamma extra")
    response = client.post(reverse("plan-exercise-add", args=[plan_a.pk]), {"exercise": extra.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Added Gamma extra." in html
    assert "<html" not in html
    assert 'id="version-count" hx-swap-oob="true"' in html
    # Added to the phase the plan is in, and moved among that phase's exercises.
    plan_exercise = plan_a.exercises.get(exercise=extra)
    assert plan_exercise.phase_id == plan_a.current_phase_id
    response = client.post(
        reverse("plan-exercise-move", args=[plan_a.pk, plan_exercise.pk]), {"direction": "up"}, **HTMX
    )
    names = [i.exercise.name for i in current_exercises(plan_a).order_by("position")]
    assert names[-2:] == ["Gamma extra", "Quadruped lateral flexion"]
    response = client.post(reverse("plan-exercise-remove", args=[plan_a.pk, plan_exercise.pk]), **HTMX)
    assert "Removed Gamma extra." in response.content.decode()
    assert not plan_a.exercises.filter(exercise=extra).exists()
    summaries = list(plan_a.versions.order_by("number").values_list("summary", flat=True))
    later = [name for name, _ in LATER_PHASES]
    assert summaries[1:] == [
        "Added Gamma extra.",
        f"New order: {', '.join([*LOW_BACK[:4], 'Gamma extra', *later, LOW_BACK[4]])}.",
        "Removed Gamma extra.",
    ]


def test_editing_an_active_plan_keeps_a_version_with_what_changed(plan_a: CarePlan, personas: Any) -> None:
    client = as_user(personas.owner.user)
    bridge = current_exercises(plan_a).get(exercise__slug="bridge")
    response = client.post(
        reverse("plan-exercise-update", args=[plan_a.pk, bridge.pk]),
        _dose_post(bridge, sets=bridge.sets + 1, note="Squeeze your buttocks at the top."),
    )
    assert response.status_code == 302
    bridge.refresh_from_db()
    latest = plan_a.versions.order_by("-number").first()
    assert latest is not None and latest.number == 2
    assert latest.summary.splitlines() == [
        f"Bridge: sets {bridge.sets - 1} → {bridge.sets}.",
        "Bridge: note changed.",
    ]
    assert latest.content["exercises"][2]["sets"] == bridge.sets
    assert latest.created_by == personas.owner.user
    history = client.get(reverse("plan-history", args=[plan_a.pk]))
    html = history.content.decode()
    assert f"Bridge: sets {bridge.sets - 1} → {bridge.sets}." in html
    assert "Version 2" in html and "Activated with 13 exercises" in html
    assert "In Phase 1 of 3: Settle and move · weeks 1-4." in html
    # Saving the same values again is not a change.
    client.post(reverse("plan-exercise-update", args=[plan_a.pk, bridge.pk]), _dose_post(bridge))
    assert plan_a.versions.count() == 2


def test_htmx_dosage_save_answers_with_the_item(plan_a: CarePlan, personas: Any) -> None:
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    response = as_user(personas.owner.user).post(
        reverse("plan-exercise-update", args=[plan_a.pk, plan_exercise.pk]),
        _dose_post(plan_exercise, sets=4),
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="plan-exercise-{plan_exercise.pk}"' in html and "Saved as version 2." in html


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


def test_archived_exercise_stays_in_a_plan_that_uses_it(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge").exercise
    bridge.status = ExerciseStatus.ARCHIVED
    bridge.save()
    html = as_user(personas.owner.user).get(reverse("plan-detail", args=[plan_a.pk])).content.decode()
    assert "Bridge" in html and "Archived in the library" in html


def _user(email: str) -> Any:
    from tests.factories import UserFactory

    return UserFactory(email=email)


def test_htmx_dosage_error_answers_with_the_item_and_its_error(plan_a: CarePlan, personas: Any) -> None:
    plan_exercise = plan_a.exercises.order_by("position").first()
    assert plan_exercise is not None
    response = as_user(personas.owner.user).post(
        reverse("plan-exercise-update", args=[plan_a.pk, plan_exercise.pk]),
        _dose_post(plan_exercise, sets=42),
        **HTMX,
    )
    html = response.content.decode()
    assert f'id="plan-exercise-{plan_exercise.pk}"' in html and "Sets must be between 1 and 10." in html
    plan_exercise.refresh_from_db()
    assert plan_exercise.sets != 42


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
