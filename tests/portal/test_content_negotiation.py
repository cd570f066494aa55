"""What the API reads and answers in: JSON bodies in their declared charset, JSON out,
406 for a client that accepts no JSON, 415 for a body that is not JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from careplans.models import PlanStatus
from checkins.models import PainCheckIn
from tests.factories import CarePlanFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/checkins/"


@pytest.fixture
def api(personas: Any) -> APIClient:
    CarePlanFactory(patient=personas.patient_a, therapist=personas.owner, status=PlanStatus.ACTIVE)
    client = APIClient()
    client.force_authenticate(personas.patient_a.user)
    return client


def _written() -> tuple[int, int]:
    return PainCheckIn.objects.count(), AuditEvent.objects.count()


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/*", "text/html, application/json;q=0.9"]
)
def test_the_checkin_answer_is_json(api: APIClient, accept: str | None) -> None:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.post(URL, {"nprs": 3, "side": "left"}, format="json", **headers)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST, OPTIONS"
    body = json.loads(response.content)
    assert response.content == json.dumps(body, separators=(",", ":")).encode()
    assert (body["nprs"], body["side"], body["replaced"]) == (3, "left", False)


def test_an_indent_asked_for_in_accept_is_given(api: APIClient) -> None:
    response = api.post(
        URL, {"nprs": 3, "side": "left"}, format="json", HTTP_ACCEPT="application/json; indent=2"
    )
    assert response.status_code == 201
    assert response.content.decode() == json.dumps(json.loads(response.content), indent=2)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/yaml"])
def test_a_client_that_accepts_no_json_is_406_and_nothing_is_written(api: APIClient, accept: str) -> None:
    before = _written()
    response = api.post(URL, {"nprs": 3, "side": "left"}, format="json", HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert _written() == before


def test_format_json_in_the_query_is_json(api: APIClient) -> None:
    response = api.post(f"{URL}?format=json", {"nprs": 3, "side": "left"}, format="json")
    assert response.status_code == 201 and response.json()["nprs"] == 3


@pytest.mark.parametrize(("charset", "note"), [("utf-8", "café"), ("utf-16", "naïve"), ("latin-1", "é")])
def test_a_body_is_read_in_its_declared_charset(api: APIClient, charset: str, note: str) -> None:
    body = json.dumps({"nprs": 4, "side": "left", "note": note}, ensure_ascii=False).encode(charset)
    response = api.post(URL, body, content_type=f"application/json; charset={charset}")
    assert response.status_code == 201, response.content
    assert response.json()["note"] == note
    assert PainCheckIn.objects.get().note == note


@pytest.mark.parametrize(
    "body", [b'{"nprs": NaN, "side": "left"}', b'{"nprs": Infinity, "side": "left"}', b'{"nprs": 4,}']
)
def test_a_body_that_is_not_strict_json_is_400(api: APIClient, body: bytes) -> None:
    before = _written()
    response = api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("Malformed request body: JSON parse error")
    assert _written() == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_415(api: APIClient, content_type: str) -> None:
    before = _written()
    response = api.post(URL, b'{"nprs": 4, "side": "left"}', content_type=content_type)
    assert response.status_code == 415
    assert _written() == before
