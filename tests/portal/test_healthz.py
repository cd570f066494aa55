"""/healthz: 200 with the database and broker reachable, 503 naming the one that is not."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from portal import views

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    # Bound then released: nothing listens there for the next moment.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unreachable_database(tmp_path: Path) -> Any:
    """A real connection object of the same backend, pointed where no database is."""
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "no-such-dir" / "db.sqlite3")
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    return type(connection)(settings_dict, alias="healthz-broken")


def test_healthy(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert "failing" not in body
    assert "no-cache" in response["Cache-Control"]


def test_needs_no_login_and_answers_get_only(client: Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_broker_down_is_503_naming_the_broker(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"] == {"database": "ok", "broker": "unreachable"}


def test_filesystem_broker_folder_missing_is_503(client: Client, settings: Any, tmp_path: Path) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "queue")}
    assert client.get("/healthz").json()["failing"] == ["broker"]
    (tmp_path / "queue").mkdir()
    assert client.get("/healthz").status_code == 200


def test_database_down_is_503_naming_the_database(
    client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(views, "connection", _unreachable_database(tmp_path))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"] == {"database": "unreachable", "broker": "ok"}


def test_both_down_names_both(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(views, "connection", _unreachable_database(tmp_path))
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database", "broker"]
