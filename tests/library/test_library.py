"""The therapist's exercise library: visibility rules, search, filters, HTMX and query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from library.models import Category, Equipment, Exercise, ExerciseStatus
from library.views import LIBRARY_PAGE_SIZE
from tests.conftest import Personas
from tests.factories import (
    BodyRegionFactory,
    CarePlanFactory,
    ExerciseFactory,
    PlanExerciseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist_client(client: Client, personas: Personas) -> Client:
    client.force_login(personas.owner.user)
    return client


def _names(response: Any) -> list[str]:
    return [exercise.name for exercise in response.context["page"].object_list]


# --- visibility ----------------------------------------------------------------


def test_library_lists_only_published_exercises(therapist_client: Client) -> None:
    ExerciseFactory(name="Published squat", status=ExerciseStatus.PUBLISHED)
    ExerciseFactory(name="Draft lunge", status=ExerciseStatus.DRAFT)
    ExerciseFactory(name="Archived plank", status=ExerciseStatus.ARCHIVED)
    response = therapist_client.get(reverse("library"))
    assert response.status_code == 200
    assert _names(response) == ["Published squat"]
    assert b"Draft lunge" not in response.content
    assert b"Archived plank" not in response.content


def test_draft_exercise_detail_is_404_even_when_a_plan_uses_it(
    therapist_client: Client, personas: Personas
) -> None:
    draft = ExerciseFactory(status=ExerciseStatus.DRAFT)
    plan = CarePlanFactory(patient=personas.patient_a, therapist=personas.owner)
    PlanExerciseFactory(plan=plan, exercise=draft)
    assert therapist_client.get(reverse("exercise-detail", args=[draft.slug])).status_code == 404


def test_published_exercise_detail_shows_steps_dosage_and_precautions(therapist_client: Client) -> None:
    exercise = ExerciseFactory(
        name="Wall push-up",
        instructions="Stand an arm's length from a wall.\nBend your elbows slowly.",
        precautions="Keep your back straight.",
        reps=12,
        sets=3,
    )
    response = therapist_client.get(reverse("exercise-detail", args=[exercise.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<li>Bend your elbows slowly.</li>" in html
    assert "3 sets x 12 reps" in html
    assert "Keep your back straight." in html


def test_archived_exercise_is_readable_only_where_a_plan_of_the_clinic_uses_it(
    client: Client, personas: Personas
) -> None:
    archived = ExerciseFactory(status=ExerciseStatus.ARCHIVED)
    url = reverse("exercise-detail", args=[archived.slug])

    client.force_login(personas.owner.user)
    assert client.get(url).status_code == 404  # no plan uses it yet

    plan = CarePlanFactory(patient=personas.patient_a, therapist=personas.owner)
    PlanExerciseFactory(plan=plan, exercise=archived)
    response = client.get(url)
    assert response.status_code == 200
    assert b"Archived" in response.content
    # A colleague of the same clinic reads it too; another clinic's therapist does not.
    client.force_login(personas.colleague.user)
    assert client.get(url).status_code == 200
    client.force_login(personas.outsider.user)
    assert client.get(url).status_code == 404
    # Still not offered in the library for new plans.
    client.force_login(personas.owner.user)
    assert archived.name not in _names(client.get(reverse("library")))


def test_archived_exercise_used_only_by_another_clinic_is_404(client: Client, personas: Personas) -> None:
    archived = ExerciseFactory(status=ExerciseStatus.ARCHIVED)
    outsider_patient_plan = CarePlanFactory(
        patient__clinic=personas.other_clinic, therapist=personas.outsider
    )
    PlanExerciseFactory(plan=outsider_patient_plan, exercise=archived)
    client.force_login(personas.owner.user)
    assert client.get(reverse("exercise-detail", args=[archived.slug])).status_code == 404


def test_unknown_slug_is_404(therapist_client: Client) -> None:
    assert therapist_client.get(reverse("exercise-detail", args=["no-such-thing"])).status_code == 404


# --- search and filters -----------------------------------------------------------


@pytest.fixture
def small_library(db: Any) -> dict[str, Exercise]:
    knee = BodyRegionFactory(name="Knee", slug="knee")
    back = BodyRegionFactory(name="Lower back", slug="lower-back")
    return {
        "bridge": ExerciseFactory(
            name="Bridge",
            summary="Lift the hips to strengthen the buttocks.",
            category=Category.STRENGTH,
            equipment=Equipment.MAT,
            regions=[back],
        ),
        "squat": ExerciseFactory(
            name="Sit to stand",
            summary="Stand up from a chair without using your hands.",
            category=Category.STRENGTH,
            equipment=Equipment.CHAIR,
            regions=[knee],
        ),
        "tilt": ExerciseFactory(
            name="Pelvic tilt",
            summary="Rock the pelvis to ease a stiff low back.",
            category=Category.MOBILITY,
            equipment=Equipment.MAT,
            regions=[back],
        ),
        "slide": ExerciseFactory(
            name="Heel slide",
            summary="Slide the heel towards the buttock to bend the knee.",
            category=Category.MOBILITY,
            equipment=Equipment.TOWEL,
            regions=[knee, back],
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Bridge", "Heel slide", "Pelvic tilt", "Sit to stand"]),
        ({"q": "tilt"}, ["Pelvic tilt"]),
        ({"q": "BUTTOCK"}, ["Bridge", "Heel slide"]),  # summary too, any case
        ({"q": "heel knee"}, ["Heel slide"]),  # every word must match
        ({"region": "knee"}, ["Heel slide", "Sit to stand"]),
        ({"region": "lower-back"}, ["Bridge", "Heel slide", "Pelvic tilt"]),
        ({"category": "strength"}, ["Bridge", "Sit to stand"]),
        ({"equipment": "mat"}, ["Bridge", "Pelvic tilt"]),
        ({"region": "lower-back", "category": "mobility", "equipment": "mat"}, ["Pelvic tilt"]),
        ({"q": "slide", "region": "lower-back"}, ["Heel slide"]),
        ({"q": "nothing matches this"}, []),
    ],
)
def test_search_and_filters(
    therapist_client: Client, small_library: dict[str, Exercise], params: dict[str, str], expected: list[str]
) -> None:
    response = therapist_client.get(reverse("library"), params)
    assert response.status_code == 200
    assert _names(response) == expected


def test_no_match_says_so(therapist_client: Client, small_library: dict[str, Exercise]) -> None:
    response = therapist_client.get(reverse("library"), {"q": "zzzz"})
    assert b"No exercise matches" in response.content
    assert b"0 exercises" in response.content


def test_bad_filter_value_is_shown_and_other_filters_still_apply(
    therapist_client: Client, small_library: dict[str, Exercise]
) -> None:
    response = therapist_client.get(reverse("library"), {"region": "tail", "category": "strength"})
    assert response.status_code == 200
    assert "region" in response.context["form"].errors
    assert b"Select a valid choice" in response.content
    assert _names(response) == ["Bridge", "Sit to stand"]


def test_htmx_request_gets_the_results_fragment_only(
    therapist_client: Client, small_library: dict[str, Exercise]
) -> None:
    response = therapist_client.get(reverse("library"), {"q": "bridge"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "<form" not in html
    assert 'id="result-count"' in html
    assert ">Bridge</a>" in html
    assert "Pelvic tilt" not in html
    assert "HX-Request" in response["Vary"]

    full = therapist_client.get(reverse("library"), {"q": "bridge"})
    assert "<html" in full.content.decode()
    assert 'id="library-results"' in full.content.decode()


def test_htmx_history_restore_gets_the_whole_page(
    therapist_client: Client, small_library: dict[str, Exercise]
) -> None:
    response = therapist_client.get(
        reverse("library"), {"q": "bridge"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_library_page_loads_htmx_from_our_own_static_files(therapist_client: Client) -> None:
    html = therapist_client.get(reverse("library")).content.decode()
    assert '<script src="/static/portal/vendor/htmx.min.js"' in html
    assert "hx-get" in html
    assert "https://" not in html.split("<main", 1)[0]  # no CDN in the head


def test_results_are_paged(therapist_client: Client, db: Any) -> None:
    ExerciseFactory.create_batch(LIBRARY_PAGE_SIZE + 3)
    first = therapist_client.get(reverse("library"))
    second = therapist_client.get(reverse("library"), {"page": 2})
    assert len(_names(first)) == LIBRARY_PAGE_SIZE
    assert len(_names(second)) == 3
    assert not set(_names(first)) & set(_names(second))


# --- query count ------------------------------------------------------------------


def _make_exercises(count: int) -> None:
    regions = [BodyRegionFactory(name=f"Area {n}", slug=f"area-{n}") for n in range(3)]
    exercises = Exercise.objects.bulk_create(
        Exercise(
            name=f"Exercise {n:04d}",
            slug=f"exercise-{n:04d}",
            summary="Move gently.",
            instructions="One.\nTwo.",
            category=Category.MOBILITY,
            status=ExerciseStatus.PUBLISHED,
        )
        for n in range(count)
    )
    through = Exercise.regions.through
    through.objects.bulk_create(
        through(exercise_id=exercise.pk, bodyregion_id=regions[n % 3].pk)
        for n, exercise in enumerate(exercises)
    )


@pytest.mark.parametrize(
    ("params", "share"), [({}, 1), ({"q": "exercise", "region": "area-1"}, 3)], ids=["all", "filtered"]
)
def test_library_query_count_is_the_same_for_30_and_300_exercises(
    therapist_client: Client, django_assert_max_num_queries: Any, params: dict[str, str], share: int
) -> None:
    # The first request of a session also refreshes the session row; measure after it.
    therapist_client.get(reverse("library"))
    counts: dict[str, int] = {}
    for size in (30, 300):
        Exercise.objects.all().delete()
        _make_exercises(size)
        for kind, headers in (("page", {}), ("htmx", {"HTTP_HX_REQUEST": "true"})):
            # session, user, patient profile (idle timeout), therapist profile, regions,
            # count, page, the page's regions
            with django_assert_max_num_queries(8) as captured:
                response = therapist_client.get(reverse("library"), params, **headers)
            assert response.status_code == 200
            assert response.context["page"].paginator.count == size // share
            assert len(response.context["page"].object_list) == min(size // share, LIBRARY_PAGE_SIZE)
            counts[f"{kind}-{size}"] = len(captured)
    assert counts["page-30"] == counts["page-300"]
    assert counts["htmx-30"] == counts["htmx-300"]
