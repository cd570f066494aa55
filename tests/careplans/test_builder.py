"""The plan builder: create a plan (from a template or from scratch, its start date), the dosage,
the exercise search, adding, moving and removing exercises, editing an active plan (a version).
Activating, ending and saving as a template: test_builder_lifecycle.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.services import careplan_create
from library.models import ExerciseStatus
from library.services import LOW_BACK_TEMPLATE_NAME
from library.template_models import PlanTemplate
from portal.errors import DomainError
from tests.factories import ExerciseFactory
from tests.helpers import HTMX, as_user, current_exercises

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


def test_archived_exercise_stays_in_a_plan_that_uses_it(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge").exercise
    bridge.status = ExerciseStatus.ARCHIVED
    bridge.save()
    html = as_user(personas.owner.user).get(reverse("plan-detail", args=[plan_a.pk])).content.decode()
    assert "Bridge" in html and "Archived in the library" in html


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
