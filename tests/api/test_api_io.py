"""portal.api_io: the shortcut parser and negotiation give DRF's own answers."""

from __future__ import annotations

import io
from typing import Any

import pytest
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework import parsers
from rest_framework.exceptions import NotAcceptable, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from portal.api_io import ContentNegotiation, JSONParser

BODIES: list[tuple[bytes, str]] = [
    (b'{"nprs": 4, "side": "left", "note": "caf\xc3\xa9"}', "utf-8"),
    ('{"note": "naïve"}'.encode("utf-16"), "utf-16"),
    ('{"note": "é"}'.encode("latin-1"), "latin-1"),
    (b'{"nprs": NaN}', "utf-8"),
    (b'{"nprs": Infinity}', "utf-8"),
    (b'{"nprs": 4,}', "utf-8"),
    (b"", "utf-8"),
    (b"\xff\xfe{", "utf-8"),
    (b"[1, 2, 3]", "utf-8"),
    (b'{"a": 1}', "bz2_codec"),
    (b'{"a": 1}', "no-such-charset"),
]


def _outcome(parser: Any, body: bytes, encoding: str) -> tuple[str, Any]:
    try:
        return "ok", parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding})
    except ParseError as exc:
        return "error", str(exc.detail)


@pytest.mark.parametrize(("body", "encoding"), BODIES)
def test_json_parser_answers_as_drf_does(body: bytes, encoding: str) -> None:
    assert _outcome(JSONParser(), body, encoding) == _outcome(parsers.JSONParser(), body, encoding)


ACCEPTS: list[str | None] = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "application/vnd.oai.openapi",
    "application/yaml",
    "",
]


def _choice(negotiation: Any, renderers: list[Any], accept: str | None, query: str) -> tuple[Any, ...]:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/me/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except NotAcceptable:
        return ("406",)
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?page=2"])
@pytest.mark.parametrize(
    "renderers",
    [[JSONRenderer()], [OpenApiYamlRenderer(), OpenApiJsonRenderer()]],
    ids=["api", "schema"],
)
def test_negotiation_answers_as_drf_does(renderers: list[Any], accept: str | None, query: str) -> None:
    ours = _choice(ContentNegotiation(), renderers, accept, query)
    assert ours == _choice(DefaultContentNegotiation(), renderers, accept, query)


CONTENT_TYPES: list[str | None] = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_parser_choice_is_drfs(content_type: str | None) -> None:
    raw = APIRequestFactory().generic("POST", "/api/v1/checkins/", b"{}")
    raw.META.pop("CONTENT_TYPE", None)
    if content_type is not None:
        raw.META["CONTENT_TYPE"] = content_type
    request = Request(raw)
    candidates = [JSONParser(), parsers.FormParser()]
    ours = ContentNegotiation().select_parser(request, candidates)
    assert ours is DefaultContentNegotiation().select_parser(request, candidates)


@pytest.mark.parametrize(
    ("accept", "indent"), [(None, None), ("application/json", None), ("application/json; indent=2", 2)]
)
def test_checkin_response_is_what_drf_would_render(
    personas: Any, accept: str | None, indent: int | None
) -> None:
    from careplans.models import PlanStatus
    from tests.factories import CarePlanFactory

    patient = personas.patient_a
    CarePlanFactory(patient=patient, therapist=personas.owner, status=PlanStatus.ACTIVE)
    client = APIClient()
    client.force_authenticate(patient.user)
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client.post("/api/v1/checkins/", {"nprs": 3, "side": "left"}, format="json", **headers)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST, OPTIONS"
    body = response.json()
    assert response.content == JSONRenderer().render(body, accept, {"indent": indent})
    assert (body["nprs"], body["side"], body["replaced"]) == (3, "left", False)
