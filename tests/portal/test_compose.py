"""docker-compose.yml, checked without a Docker engine: every command and setting it names exists."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        return shlex.split(words[2])
    return words


def _steps(service: dict[str, Any]) -> list[list[str]]:
    """The shell's `a && b && exec c` as [[a...], [b...], [c...]]."""
    steps: list[list[str]] = [[]]
    for word in _command(service):
        if word == "&&":
            steps.append([])
        elif not (word == "exec" and not steps[-1]):
            steps[-1].append(word)
    return steps


def _settings_env_names() -> set[str]:
    source = "\n".join(path.read_text() for path in sorted((ROOT / "portal" / "settings").glob("*.py")))
    return set(re.findall(r"(?:environ\.get|envbool|envint|envlist)\(\s*\"([A-Z0-9_]+)\"", source))


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} forms."""

    def replace(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3) or ""
        if name in given and given[name] != "":
            return given[name]
        if op == ":?":
            raise KeyError(f"{name} is required: {rest}")
        return rest if op == ":-" else ""

    return re.sub(r"\$\{([A-Z0-9_]+)(:-|:\?)?([^}]*)\}", replace, value)


def test_has_the_five_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat"}
    assert re.fullmatch(r"postgres:1[56](-\w+)?", compose["services"]["postgres"]["image"])
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_web_runs_gunicorn_on_our_wsgi_app_after_migrate_static_library_and_questionnaires(
    compose: dict[str, Any],
) -> None:
    steps = _steps(compose["services"]["web"])
    manage_steps = [step for step in steps if step[:2] == ["python", "manage.py"]]
    assert [step[2] for step in manage_steps] == [
        "migrate",
        "collectstatic",
        "load_library",
        "questionnaires_load_shipped",
    ]
    commands = get_commands()
    for step in manage_steps:
        assert step[2] in commands, step
    server = steps[-1]
    assert server[0] == "gunicorn"
    module_name, attr = server[1].split(":")
    assert (module_name, attr) == ("portal.wsgi", "application")
    application = getattr(importlib.import_module(module_name), attr)
    assert callable(application)
    assert "0.0.0.0:8000" in server


@pytest.mark.parametrize(("service", "role"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_run_our_celery_app(compose: dict[str, Any], service: str, role: str) -> None:
    command = _command(compose["services"][service])
    assert command[:4] == ["celery", "-A", "portal", role]
    app = find_app(command[2])
    assert isinstance(app, Celery)
    assert app.main == "portal"
    assert app is importlib.import_module("portal.celery").app


def test_app_services_share_one_image_and_environment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"plinth:latest"}
    environments = [services[name]["environment"] for name in APP_SERVICES]
    assert environments[0] == environments[1] == environments[2]
    dockerfile = services["web"]["build"]["dockerfile_inline"]
    assert "FROM python:3.11" in dockerfile
    assert "-r requirements.lock" in dockerfile
    for copied in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for path in copied.split():
            assert (ROOT / path).exists(), path


def test_the_image_copies_every_plinth_app_the_settings_install(compose: dict[str, Any]) -> None:
    """An app missing from the image starts locally and fails in production (questionnaires was
    missed once): every installed app that lives in this checkout is copied."""
    from django.apps import apps

    dockerfile = compose["services"]["web"]["build"]["dockerfile_inline"]
    copied = {
        path
        for line in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE)
        for path in line.split()
    }
    ours = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parts[: len(ROOT.resolve().parts) + 1]
        == (ROOT / config.name.split(".")[0]).resolve().parts
    }
    assert ours and ours <= copied, sorted(ours - copied)


def test_every_environment_name_is_one_settings_reads(compose: dict[str, Any]) -> None:
    read = _settings_env_names()
    environment = compose["services"]["web"]["environment"]
    assert {"PLINTH_ENV", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= set(environment)
    unknown = set(environment) - read
    assert not unknown, f"portal.settings never reads {sorted(unknown)}"
    assert environment["PLINTH_ENV"] == "production"
    assert "${SECRET_KEY" in environment["SECRET_KEY"]  # from the host's environment, never in the file


def test_service_urls_point_at_the_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    environment = services["web"]["environment"]
    postgres = services["postgres"]["environment"]
    database_url = _interpolate(environment["DATABASE_URL"], {"POSTGRES_PASSWORD": "pw"})
    assert (
        database_url == f"postgres://{postgres['POSTGRES_USER']}:pw@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def check(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "pg_isready" in check("postgres")
    assert "redis-cli ping" in check("redis")
    assert "/healthz" in check("web")
    assert resolve("/healthz").url_name == "healthz"
    assert "inspect ping" in check("worker")
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert services["web"]["depends_on"][name]["condition"] == "service_healthy"


def test_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {
        mount.split(":")[0]
        for service in compose["services"].values()
        for mount in service.get("volumes", [])
    }
    assert used == declared
    assert {"postgres-data", "redis-data"} <= declared


@pytest.mark.cli
def test_compose_environment_starts_production_settings_cleanly(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """The environment compose gives the app passes `check --deploy` (services need not be up)."""
    given = {
        "SECRET_KEY": "k3y-" + "x7Q9w2Lm" * 7,
        "POSTGRES_PASSWORD": "pw",
        "ALLOWED_HOSTS": "plinth.example.org",
    }
    environment = {
        name: _interpolate(str(value), given)
        for name, value in compose["services"]["web"]["environment"].items()
    }
    environment["PLINTH_VAR_DIR"] = str(tmp_path)
    environment["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

    with pytest.raises(KeyError, match="SECRET_KEY"):
        _interpolate(compose["services"]["web"]["environment"]["SECRET_KEY"], {})


def test_every_app_replica_shares_the_media_volume(compose: dict[str, Any]) -> None:
    """Pictures uploaded through one web replica are served by another and swept by the worker."""
    services = compose["services"]
    for name in APP_SERVICES:
        assert "media:/app/media" in services[name]["volumes"], name
        assert services[name]["environment"]["MEDIA_ROOT"] == "/app/media"
    assert "chown plinth /app/var /app/media" in services["web"]["build"]["dockerfile_inline"]
