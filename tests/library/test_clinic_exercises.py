"""A clinic's own exercises: written or copied by its therapists, drafts until published, seen by
that clinic and its patients only (pages, API, search, plan builder), every write audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from careplans.plan_exercises import careplan_exercise_add
from careplans.selectors import plan_library_search
from library.clinic_exercises import clinic_exercise_copy, clinic_exercise_create
from library.models import Exercise, ExerciseStatus
from library.selectors import visible_exercises
from portal.errors import DomainError
from tests.conftest import Personas, login
from tests.factories import BodyRegionFactory, CarePlanFactory, ExerciseFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _form(**changes: Any) -> dict[str, Any]:
    region = BodyRegionFactory(slug="lumbar", name="Lower back")
    values: dict[str, Any] = {
        "name": "Wall slide with band",
        "summary": "A wall slide with a resistance band around the knees.",
        "instructions": "Stand with your back to a wall.\nSlide down a hand's width.\nSlide back up.",
        "precautions": "Stop if your knee hurts.",
        "regions": [str(region.pk)],
        "category": "strength",
        "equipment": "band",
        "difficulty": "intermediate",
        "sets": "3",
        "reps": "8",
        "hold_seconds": "0",
        "sessions_per_day": "1",
        "days_per_week": "5",
    }
    values.update(changes)
    return values


def _ours(personas: Personas, name: str = "Clinic bridge", **fields: Any) -> Exercise:
    exercise: Exercise = ExerciseFactory(
        name=name, clinic=personas.clinic, status=fields.pop("status", ExerciseStatus.PUBLISHED), **fields
    )
    return exercise


def test_a_therapist_writes_a_draft_then_publishes_it(client: Client, personas: Personas) -> None:
    login(client, personas.owner.user)
    assert client.get(reverse("exercise-new")).status_code == 200
    response = client.post(reverse("exercise-new"), _form())
    exercise = Exercise.objects.get(name="Wall slide with band")
    assert response.status_code == 302 and response["Location"] == reverse(
        "exercise-detail", args=[exercise.slug]
    )
    assert (exercise.clinic, exercise.status, exercise.created_by) == (
        personas.clinic,
        ExerciseStatus.DRAFT,
        personas.owner.user,
    )
    assert exercise.slug == "wall-slide-with-band" and exercise.steps[1] == "Slide down a hand's width."
    assert [r.slug for r in exercise.regions.all()] == ["lumbar"]
    page = client.get(reverse("exercise-detail", args=[exercise.slug])).content.decode()
    assert "Draft: not offered for new plans" in page and "Publish" in page
    # A draft is not offered to the plan builder yet.
    plan = CarePlanFactory(patient=personas.patient_a, therapist=personas.owner)
    assert plan_library_search(plan=plan, q="wall slide") == []
    client.post(reverse("exercise-status", args=[exercise.slug]), {"status": "published"})
    exercise.refresh_from_db()
    assert exercise.status == ExerciseStatus.PUBLISHED
    assert [e.name for e in plan_library_search(plan=plan, q="wall slide")] == ["Wall slide with band"]
    trail = AuditEvent.objects.filter(object_id=str(exercise.pk)).order_by("pk")
    actions = list(trail.values_list("action", "clinic_id"))
    assert actions == [("exercise.created", personas.clinic.pk), ("exercise.published", personas.clinic.pk)]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"regions": []}, "regions", "Choose at least one body region."),
        ({"sets": "11"}, "sets", "Sets must be a whole number from 1 to 10."),
        ({"reps": "0", "hold_seconds": "0"}, "reps", "Give the exercise some reps or a hold time (or both)."),
        ({"category": "yoga"}, "category", "Select a valid choice."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        # Zero-width spaces show nothing: refused like an empty name.
        ({"name": "\u200b\u200b\u200b"}, "name", "Give the exercise a name that can be read."),
        ({"instructions": "\u200b\n\u2060"}, "instructions", "Give the exercise the steps that can be read."),
    ],
)
def test_the_shared_librarys_checks_refuse_bad_input_beside_the_field_and_save_nothing(
    client: Client, personas: Personas, changes: dict[str, Any], field: str, message: str
) -> None:
    login(client, personas.owner.user)
    response = client.post(reverse("exercise-new"), _form(**changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Exercise.objects.filter(clinic=personas.clinic).exists()


def test_copying_a_shared_exercise_makes_a_draft_of_our_own_to_edit(
    client: Client, personas: Personas
) -> None:
    shared = ExerciseFactory(
        name="Bridge", status=ExerciseStatus.PUBLISHED, reps=10, precautions="Go slowly."
    )
    shared.regions.set([BodyRegionFactory(slug="hip", name="Hip")])
    login(client, personas.colleague.user)
    response = client.post(reverse("exercise-copy", args=[shared.slug]))
    copy = Exercise.objects.get(clinic=personas.clinic)
    assert response["Location"] == reverse("exercise-edit", args=[copy.slug])
    assert (copy.name, copy.reps, copy.precautions, copy.copied_from, copy.status) == (
        "Bridge",
        10,
        "Go slowly.",
        shared,
        ExerciseStatus.DRAFT,
    )
    assert copy.slug == "bridge-2" and [r.slug for r in copy.regions.all()] == ["hip"]
    # Edited from the form: the shared exercise is untouched.
    region = copy.regions.get()
    client.post(
        reverse("exercise-edit", args=[copy.slug]),
        _form(name="Bridge, our way", regions=[str(region.pk)], reps="12"),
    )
    copy.refresh_from_db()
    shared.refresh_from_db()
    assert (copy.name, copy.reps, shared.name, shared.reps) == ("Bridge, our way", 12, "Bridge", 10)
    event = AuditEvent.objects.get(action="exercise.updated")
    assert {"name", "reps", "summary"} <= set(event.data["fields"]) and "regions" not in event.data["fields"]
    assert AuditEvent.objects.filter(action="exercise.copied", data__from="bridge").exists()
    # A clinic's own exercise is edited, not copied again; a shared one is never edited here.
    assert client.post(reverse("exercise-copy", args=[copy.slug])).status_code == 404
    # Copying it again while a draft copy is unfinished opens that draft, not a second one.
    again = client.post(reverse("exercise-copy", args=[shared.slug]), follow=True)
    assert again.redirect_chain[0][0] == reverse("exercise-edit", args=[copy.slug])
    assert "already has a draft copy of Bridge" in again.content.decode()
    assert Exercise.objects.filter(copied_from=shared).count() == 1
    assert client.get(reverse("exercise-edit", args=[shared.slug])).status_code == 404
    with pytest.raises(DomainError) as caught:
        clinic_exercise_copy(source=copy, clinic=personas.clinic, by=personas.owner.user)
    assert caught.value.code == "not_shared"


def test_another_clinic_gets_404_everywhere_and_never_finds_it(personas: Personas) -> None:
    ours = _ours(personas, "Northside hip hinge")
    draft = _ours(personas, "Northside draft", status=ExerciseStatus.DRAFT)
    outsider = login(Client(), personas.outsider.user)
    for exercise in (ours, draft):
        for name, method in [
            ("exercise-detail", "get"),
            ("exercise-edit", "get"),
            ("exercise-edit", "post"),
            ("exercise-status", "post"),
            ("exercise-copy", "post"),
        ]:
            response = getattr(outsider, method)(reverse(name, args=[exercise.slug]), {"status": "archived"})
            assert response.status_code == 404, (name, method, exercise.name)
    exercise_names = [e.name for e in outsider.get(reverse("library"), {"q": "Northside"}).context["page"]]
    assert exercise_names == []
    assert outsider.get(reverse("library"), {"source": "ours"}).context["page"].paginator.count == 0
    # The API: not listed, and not found by id, for the other clinic's therapist and patient.
    other_patient = PatientFactory(clinic=personas.other_clinic)
    for user in (personas.outsider.user, other_patient.user):
        api = APIClient()
        api.force_authenticate(user)
        assert api.get(reverse("api-exercise-detail", args=[ours.pk])).status_code == 404
        listed = api.get(reverse("api-exercise-list"), {"q": "Northside"}).json()
        assert listed["count"] == 0
    # Nor can its builder add it, even by a hand-made request.
    plan = CarePlanFactory(patient=other_patient, therapist=personas.outsider)
    assert plan_library_search(plan=plan, q="Northside") == []
    with pytest.raises(DomainError) as caught:
        careplan_exercise_add(plan=plan, by=personas.outsider, exercise_id=ours.pk)
    assert caught.value.code == "exercise_not_published"
    ours.refresh_from_db()
    assert ours.status == ExerciseStatus.PUBLISHED


def test_our_clinic_and_its_patients_see_it_beside_the_shared_library(personas: Personas) -> None:
    ours = _ours(personas, "Northside hip hinge")
    _ours(personas, "Northside draft", status=ExerciseStatus.DRAFT)
    ExerciseFactory(name="Shared squat", status=ExerciseStatus.PUBLISHED)
    colleague = login(Client(), personas.colleague.user)
    everything = colleague.get(reverse("library")).context["page"]
    assert [e.name for e in everything] == ["Northside draft", "Northside hip hinge", "Shared squat"]
    assert [e.name for e in colleague.get(reverse("library"), {"source": "ours"}).context["page"]] == [
        "Northside draft",
        "Northside hip hinge",
    ]
    assert [e.name for e in colleague.get(reverse("library"), {"source": "shared"}).context["page"]] == [
        "Shared squat"
    ]
    page = colleague.get(reverse("library")).content.decode()
    assert page.count("Our clinic's</li>") == 2 and page.count(">Draft</li>") == 1
    api = APIClient()
    api.force_authenticate(personas.patient_a.user)
    found = api.get(reverse("api-exercise-detail", args=[ours.pk])).json()
    assert (found["name"], found["shared"]) == ("Northside hip hinge", False)
    assert sorted(e["name"] for e in api.get(reverse("api-exercise-list")).json()["results"]) == [
        "Northside hip hinge",
        "Shared squat",
    ]
    # Staff curate the shared library; a clinic's own exercises are not theirs to see here.
    assert set(visible_exercises(clinic=None).values_list("name", flat=True)) == {"Shared squat"}


def test_slugs_are_made_from_the_name_and_never_collide(personas: Personas) -> None:
    region = BodyRegionFactory()
    values = {
        "name": "New",
        "summary": "s",
        "instructions": "one",
        "precautions": "",
        "category": "strength",
        "equipment": "none",
        "difficulty": "beginner",
        "sets": 1,
        "reps": 5,
        "hold_seconds": 0,
        "sessions_per_day": 1,
        "days_per_week": 7,
        "harder": None,
    }
    made = [
        clinic_exercise_create(
            clinic=personas.clinic, by=personas.owner.user, values=values, regions=[region]
        )
        for _ in range(3)
    ]
    # "new" is the page for writing one: never an exercise's slug.
    assert [e.slug for e in made] == ["new-2", "new-3", "new-4"]
    with pytest.raises(DomainError) as caught:
        clinic_exercise_create(
            clinic=personas.clinic, by=personas.owner.user, values={**values, "sets": 0}, regions=[region]
        )
    assert (caught.value.code, caught.value.field) == ("invalid", "sets")


def test_a_draft_is_discarded_with_its_pictures_and_a_published_one_is_kept(
    client: Client, personas: Personas, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from library.media import exercise_media_add
    from tests.media_files import picture, upload

    settings.MEDIA_ROOT = tmp_path
    draft = _ours(personas, name="Started by mistake", status=ExerciseStatus.DRAFT)
    exercise_media_add(exercise=draft, by=personas.owner.user, upload=upload(picture()), description="A mat")
    published = _ours(personas, name="In use")
    login(client, personas.owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exercise-discard", args=[draft.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("library")
    assert not Exercise.objects.filter(pk=draft.pk).exists()
    assert list((tmp_path / "exercise-media").iterdir()) == []
    assert AuditEvent.objects.filter(action="exercise.discarded", data__name="Started by mistake").exists()
    kept = client.post(reverse("exercise-discard", args=[published.slug]), follow=True)
    assert "Only a draft can be discarded" in kept.content.decode()
    assert Exercise.objects.filter(pk=published.pk).exists()
    login(client, personas.outsider.user)
    other = _ours(personas, name="Ours, a draft", status=ExerciseStatus.DRAFT)
    assert client.post(reverse("exercise-discard", args=[other.slug])).status_code == 404
