"""The OpenAPI schema documents every endpoint with its errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    missing = []
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        needed = {"401"}
        if "{" in path:
            needed.add("404")
        if method in ("post", "put", "patch") and op.get("requestBody"):
            needed.add("400")
        if op.get("parameters") and any(p["in"] == "query" for p in op["parameters"]):
            needed.add("400")
        lacking = needed - codes
        if lacking:
            missing.append(f"{method.upper()} {path}: no {', '.join(sorted(lacking))}")
        if not op.get("summary") and not op.get("description"):
            missing.append(f"{method.upper()} {path}: no summary")
    assert not missing, "\n".join(missing)


def test_both_authentication_schemes_are_documented(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token made on /account/tokens/.",
    }
    assert "cookieAuth" in schemes


@pytest.mark.django_db
def test_schema_and_docs_are_served_from_our_own_static_files() -> None:
    client = Client()
    assert client.get("/api/v1/schema/").status_code == 200
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(url).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn" not in html.lower() and "https://" not in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db(transaction=True)
def test_schema_requests_at_once_all_succeed() -> None:
    """drf-spectacular shares inspector state between requests; concurrent ones must not see it."""
    from concurrent.futures import ThreadPoolExecutor

    Client().get("/api/v1/schema/?format=json")  # warm: extensions loaded once

    def fetch(_: int) -> int:
        return Client().get("/api/v1/schema/?format=json").status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(fetch, range(16)))
    assert codes == [200] * 16
