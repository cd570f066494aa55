"""API v1 bad input (a 400 with the field, another clinic's ids, malformed JSON, odd ids in URLs),
the exception handler's mapping of domain and database errors, and list query counts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from careplans.models import CarePlan, PlanExercise, PlanStatus
from tests.factories import CarePlanFactory, ExerciseFactory, PatientFactory, PlanExerciseFactory
from tests.helpers import api
from tests.world import World

# --- bad input ----------------------------------------------------------------------------


BAD_PLAN_BODIES = [
    ({"patient": "seven", "start_date": "2026-01-01"}, "patient"),
    ({"patient": 1.5, "start_date": "2026-01-01"}, "patient"),
    ({"patient": 10**30, "start_date": "2026-01-01"}, "patient"),
    ({"patient": None, "start_date": "2026-01-01"}, "patient"),
    ({"start_date": "2026-01-01"}, "patient"),
    ({"patient": 1, "start_date": "yesterday"}, "start_date"),
    ({"patient": 1, "start_date": "2026-01-01", "title": "x" * 100_000}, "title"),
    ({"patient": 1, "start_date": "2026-01-01", "title": 12}, "title"),
    ({"patient": 1, "start_date": "2026-01-01", "length_weeks": 53}, "length_weeks"),
    ({"patient": 1, "start_date": "2026-01-01", "length_weeks": "12; DROP TABLE"}, "length_weeks"),
    ({"patient": 1, "start_date": "2026-01-01", "owner": "me"}, "owner"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), BAD_PLAN_BODIES)
def test_bad_plan_payloads_get_400_with_the_field(world: World, body: dict[str, Any], field: str) -> None:
    before = CarePlan.objects.count()
    response = api(world.p.owner.user).post(reverse("api-careplan-list"), body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and errors[field] and all(isinstance(m, str) for m in errors[field])
    assert CarePlan.objects.count() == before


@pytest.mark.django_db
def test_another_clinics_ids_in_a_payload_are_refused(world: World) -> None:
    client = api(world.p.outsider.user)
    before = CarePlan.objects.count()
    response = client.post(
        reverse("api-careplan-list"),
        {"patient": world.p.patient_a.pk, "start_date": str(date.today())},
        format="json",
    )
    assert response.status_code == 400 and "patient" in response.json()
    own_patient = PatientFactory(clinic=world.p.other_clinic)
    response = client.post(
        reverse("api-careplan-list"),
        {"patient": own_patient.pk, "template": world.template.pk, "start_date": str(date.today())},
        format="json",
    )
    assert response.status_code == 400 and "template" in response.json()
    assert CarePlan.objects.count() == before
    # Another clinic's plan in the URL: not found, and nothing changed.
    response = client.post(
        reverse("api-careplan-add-exercise", kwargs={"pk": world.plan_a.pk}), {"exercise": 1}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_unpublished_exercise_and_out_of_range_dosage(world: World) -> None:
    client = api(world.p.owner.user)
    draft = ExerciseFactory(status="draft")
    response = client.post(
        reverse("api-careplan-add-exercise", kwargs={"pk": world.draft_a.pk}),
        {"exercise": draft.pk},
        format="json",
    )
    assert response.status_code == 400 and "exercise" in response.json()
    item = PlanExercise.objects.get(plan=world.draft_a)
    url = reverse("api-careplan-exercise", kwargs={"pk": world.draft_a.pk, "plan_exercise_id": item.pk})
    for body, field in (
        ({"sets": 0}, "sets"),
        ({"reps": 0, "hold_seconds": 0}, "reps"),
        ({"note": 5}, "note"),
    ):
        response = client.patch(url, body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.json())
    item.refresh_from_db()
    assert item.sets == 2


@pytest.mark.django_db
def test_malformed_json_missing_content_type_and_wrong_shapes(world: World) -> None:
    client = api(world.p.owner.user)
    url = reverse("api-careplan-list")
    malformed = client.post(url, data='{"patient": 1,', content_type="application/json")
    assert malformed.status_code == 400 and "non_field_errors" in malformed.json()
    assert "Malformed" in malformed.json()["non_field_errors"][0]
    no_type = client.generic("POST", url, b'{"patient": 1}')
    assert no_type.status_code in (400, 415)
    assert no_type.json()
    form_encoded = client.post(url, data={"patient": "1"})
    assert form_encoded.status_code == 415
    for shape in ([1, 2], "plan", 7, None):
        response = client.post(url, data=json.dumps(shape), content_type="application/json")
        assert response.status_code == 400, shape
        assert response.json()
    assert CarePlan.objects.filter(patient=world.p.patient_b).count() == 1


@pytest.mark.django_db
def test_huge_and_odd_ids_in_urls_are_404_not_500(world: World) -> None:
    client = api(world.p.owner.user)
    for path in (
        "/api/v1/careplans/99999999999999999999999/",
        "/api/v1/careplans/-1/",
        "/api/v1/careplans/%00/",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


# --- query counts ---------------------------------------------------------------------------


def _grow(world: World, n: int) -> None:
    for _ in range(n):
        patient = PatientFactory(clinic=world.p.clinic, therapist=world.p.owner)
        plan = CarePlanFactory(patient=patient, therapist=world.p.owner, status=PlanStatus.ACTIVE)
        PlanExerciseFactory(plan=plan, exercise=world.exercise)
        PlanExerciseFactory(plan=plan)


LIST_ROUTES = [
    "api-careplan-list",
    "api-patient-list",
    "api-exercise-list",
    "api-template-list",
    "api-outcome-list",
    "api-alert-list",
]


@pytest.mark.django_db
@pytest.mark.parametrize("route", LIST_ROUTES)
def test_list_query_counts_do_not_grow_with_page_size(
    world: World, route: str, django_assert_max_num_queries: Any
) -> None:
    client = api(world.p.owner.user)
    _grow(world, 2)
    with django_assert_max_num_queries(6) as small:
        assert client.get(reverse(route), {"page_size": 2}).status_code == 200
    _grow(world, 10)
    with django_assert_max_num_queries(6) as large:
        assert client.get(reverse(route), {"page_size": 50}).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_exception_handler_maps_domain_and_database_errors() -> None:
    from django.db import IntegrityError

    from portal.api.exceptions import exception_handler
    from portal.errors import DomainError

    rule = exception_handler(DomainError("Too long.", field="title", code="too_long"), {})
    assert rule is not None and rule.status_code == 400 and rule.data == {"title": ["Too long."]}
    scope = exception_handler(DomainError("No such plan.", code="not_found"), {})
    assert scope is not None and scope.status_code == 404
    clash = exception_handler(IntegrityError("duplicate key"), {})
    assert clash is not None and clash.status_code == 400 and "non_field_errors" in clash.data
