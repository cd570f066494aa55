"""Check-ins through the API: strict input, replace-on-same-day, who may read and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from alerts.models import Alert
from audit.models import AuditEvent
from checkins.models import PainCheckIn
from tests.helpers import history, make_plan

URL = "/api/v1/checkins/"


def _list_url(patient_id: Any) -> str:
    return f"/api/v1/patients/{patient_id}/checkins/"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _as(api: APIClient, user: Any) -> APIClient:
    api.force_authenticate(user=None)
    api.force_login(user)
    return api


def test_routes_are_named() -> None:
    assert reverse("api-checkin-create") == URL
    assert reverse("api-patient-checkins", args=[7]) == _list_url(7)


def test_post_creates_then_replaces(api: APIClient, personas: Any, plan_a_two_weeks_in: Any) -> None:
    _as(api, personas.patient_a.user)
    first = api.post(URL, {"nprs": 6, "side": "right", "note": "after a long walk"}, format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["nprs"] == 6 and body["side"] == "right" and body["replaced"] is False
    assert body["local_date"] == personas.patient_a.local_today().isoformat()
    assert body["plan"] == plan_a_two_weeks_in.pk and body["has_red_flag"] is False

    second = api.post(URL, {"nprs": 2, "side": "right", "flag_fever": True}, format="json")
    assert second.status_code == 200
    assert second.json()["id"] == body["id"] and second.json()["replaced"] is True
    assert second.json()["has_red_flag"] is True
    assert PainCheckIn.objects.get().nprs == 2
    assert AuditEvent.objects.get(action="checkin.replaced").data["replaced"]["nprs"] == 6
    assert Alert.objects.filter(kind="red_flag").count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"nprs": -1, "side": "left"}, "nprs", "from 0 to 10"),
        ({"nprs": 11, "side": "left"}, "nprs", "from 0 to 10"),
        ({"nprs": 3.5, "side": "left"}, "nprs", "whole number"),
        ({"nprs": "seven", "side": "left"}, "nprs", "whole number"),
        ({"nprs": "7", "side": "left"}, "nprs", "whole number"),
        ({"nprs": True, "side": "left"}, "nprs", "whole number"),
        ({"nprs": None, "side": "left"}, "nprs", "required"),
        ({"side": "left"}, "nprs", "required"),
        ({"nprs": 4, "side": "up"}, "side", "Must be one of"),
        ({"nprs": 4}, "side", "required"),
        ({"nprs": 4, "side": "left", "flag_fever": "yes"}, "flag_fever", "true or false"),
        ({"nprs": 4, "side": "left", "note": "x" * 2001}, "note", "2000"),
        ({"nprs": 4, "side": "left", "local_date": "2020-01-01"}, "local_date", "closed for answers"),
        ({"nprs": 4, "side": "left", "local_date": "04/05/2026"}, "local_date", "ISO 8601"),
        ({"nprs": 4, "side": "left", "local_date": "2999-01-01"}, "local_date", "has not started yet"),
        ({"nprs": 4, "side": "left", "received_at": "2020-01-01T00:00:00Z"}, "received_at", "Refused"),
        ({"nprs": 4, "side": "left", "date": "2020-01-01"}, "date", "Refused"),
        ({"nprs": 4, "side": "left", "patient": 1}, "patient", "Unknown field"),
    ],
)
def test_bad_input_is_400_with_the_field_and_nothing_written(
    api: APIClient, personas: Any, plan_a_two_weeks_in: Any, payload: dict[str, Any], field: str, reason: str
) -> None:
    _as(api, personas.patient_a.user)
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert reason in " ".join(errors[field])
    assert not PainCheckIn.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("body", ["[1, 2]", '"seven"', "{not json"])
def test_malformed_or_non_object_body_is_400(
    api: APIClient, personas: Any, plan_a_two_weeks_in: Any, body: str
) -> None:
    _as(api, personas.patient_a.user)
    response = api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert not PainCheckIn.objects.exists()


def test_form_encoded_body_is_refused(api: APIClient, personas: Any, plan_a_two_weeks_in: Any) -> None:
    _as(api, personas.patient_a.user)
    response = api.post(URL, {"nprs": "4", "side": "left"})
    assert response.status_code == 415
    assert not PainCheckIn.objects.exists()


def test_no_active_plan_is_400_with_a_clear_message(api: APIClient, personas: Any) -> None:
    _as(api, personas.patient_a.user)
    response = api.post(URL, {"nprs": 4, "side": "left"}, format="json")
    assert response.status_code == 400
    assert "no active care plan" in response.json()["plan"][0]
    assert not PainCheckIn.objects.exists()


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_a_therapist_cannot_post_a_checkin(
    api: APIClient, personas: Any, plan_a_two_weeks_in: Any, who: str
) -> None:
    persona = getattr(personas, who)
    _as(api, getattr(persona, "user", persona))
    response = api.post(URL, {"nprs": 4, "side": "left"}, format="json")
    assert response.status_code == 403
    assert "Only a patient can submit a check-in" in response.json()["detail"]
    assert not PainCheckIn.objects.exists()


def test_anonymous_cannot_post(api: APIClient, plan_a_two_weeks_in: Any) -> None:
    assert api.post(URL, {"nprs": 4, "side": "left"}, format="json").status_code in (401, 403)
    assert not PainCheckIn.objects.exists()


def test_therapists_of_the_clinic_list_a_patients_checkins(
    api: APIClient, personas: Any, plan_a_two_weeks_in: Any
) -> None:
    history(plan_a_two_weeks_in, {0: 5, 1: 4, 2: 3})
    for who in ("owner", "colleague"):
        _as(api, getattr(personas, who).user)
        response = api.get(_list_url(personas.patient_a.pk))
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert [row["nprs"] for row in body["results"]] == [3, 4, 5]  # newest first


@pytest.mark.parametrize("who", ["outsider", "patient_a", "patient_b"])
def test_others_get_404_for_a_patients_checkins(
    api: APIClient, personas: Any, plan_a_two_weeks_in: Any, who: str
) -> None:
    history(plan_a_two_weeks_in, {0: 5})
    _as(api, getattr(personas, who).user)
    response = api.get(_list_url(personas.patient_a.pk))
    assert response.status_code == 404
    assert "results" not in response.json()


@pytest.mark.parametrize("patient_id", ["999999999", "abc", "9" * 30])
def test_unknown_patient_id_is_404(api: APIClient, personas: Any, patient_id: str) -> None:
    _as(api, personas.owner.user)
    assert api.get(_list_url(patient_id)).status_code == 404


def test_list_query_count_does_not_grow(
    api: APIClient, personas: Any, django_assert_max_num_queries: Any
) -> None:
    plan = make_plan(personas.patient_a, start=personas.patient_a.local_today() - timedelta(days=120))
    _as(api, personas.owner.user)
    api.get(_list_url(personas.patient_a.pk))

    def count(n: int) -> int:
        PainCheckIn.objects.all().delete()
        history(plan, {d: d % 11 for d in range(n)})
        with django_assert_max_num_queries(20) as captured:
            assert api.get(_list_url(personas.patient_a.pk)).status_code == 200
        return len(captured)

    assert count(5) == count(110)


def test_list_filters_by_date_and_orders(api: APIClient, personas: Any, plan_a_two_weeks_in: Any) -> None:
    history(plan_a_two_weeks_in, {0: 5, 1: 9, 2: 3})
    _as(api, personas.owner.user)
    since = (plan_a_two_weeks_in.start_date + timedelta(days=1)).isoformat()
    body = api.get(_list_url(personas.patient_a.pk), {"since": since, "ordering": "nprs"}).json()
    assert [row["nprs"] for row in body["results"]] == [3, 9]
    assert api.get(_list_url(personas.patient_a.pk), {"since": "not-a-date"}).status_code == 400


def test_patient_with_an_api_token_checks_in(api: APIClient, personas: Any, plan_a_two_weeks_in: Any) -> None:
    token = api_token_create(user=personas.patient_a.user, name="phone app")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    response = api.post(URL, {"nprs": 5, "side": "centre"}, format="json")
    assert response.status_code == 201, response.json()
    assert PainCheckIn.objects.get().patient == personas.patient_a
