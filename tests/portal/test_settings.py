"""Settings from the environment, checked in fresh interpreters with exactly the environment given."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

# Each test runs manage.py or Python in a subprocess with settings of its own.
pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parents[2]

DUMP = """
import json
from django.conf import settings
names = {names!r}
print(json.dumps({{n: getattr(settings, n, None) for n in names}}, default=str))
"""


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    # Nothing from the caller's environment: no DATABASE_URL, REDIS_URL or EMAIL_HOST leaks in.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PLINTH_VAR_DIR": str(var_dir),
    }
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A guard against a hang, not a speed check: collectstatic compresses every file
    # (gzip and Brotli, the API docs' bundles included), about a minute of CPU.
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=420
    )


def _settings(env: dict[str, str], *names: str) -> dict[str, Any]:
    result = _run(["-c", "import django; django.setup()\n" + DUMP.format(names=list(names))], env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _production(var_dir: Path, **extra: str) -> dict[str, str]:
    values = {
        "PLINTH_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "plinth.example.org",
    }
    values.update(extra)
    return _env(var_dir, **values)


def test_defaults_run_on_one_machine_with_nothing_installed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    values = _settings(
        env,
        "DEBUG",
        "DATABASES",
        "CELERY_BROKER_URL",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        "EMAIL_BACKEND",
        "EMAIL_FILE_PATH",
        "SECRET_KEY",
        "PRODUCTION",
        "CACHES",
    )
    assert values["DEBUG"] is True
    assert values["PRODUCTION"] is False
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "plinth.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://localhost//"
    for folder in values["CELERY_BROKER_TRANSPORT_OPTIONS"].values():
        if isinstance(folder, str):
            assert Path(folder).is_relative_to(tmp_path)
            assert Path(folder).is_dir()
    assert values["EMAIL_BACKEND"] == "portal.mail.FileEmailBackend"
    assert values["EMAIL_FILE_PATH"] == str(tmp_path / "mail")
    # A development secret is generated once, kept under var/, and reused.
    secret_file = tmp_path / "secret_key"
    assert secret_file.read_text().strip() == values["SECRET_KEY"]
    assert len(values["SECRET_KEY"]) >= 50
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert _settings(env, "SECRET_KEY")["SECRET_KEY"] == values["SECRET_KEY"]


@pytest.mark.services
def test_default_setup_migrates_and_answers_healthz_without_services(tmp_path: Path) -> None:
    env = _env(tmp_path)
    migrate = _run(["manage.py", "migrate", "--no-input", "-v", "0"], env)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "plinth.sqlite3").exists()
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code, r.json()['checks'])\n"
    )
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "200 {'database': 'ok', 'broker': 'ok'}"


def test_environment_switches_to_postgres_redis_and_smtp(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        DATABASE_URL="postgres://plinth:pw@db.internal:5433/plinth",
        REDIS_URL="redis://cache.internal:6379/2",
        EMAIL_HOST="smtp.internal",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
    )
    values = _settings(env, "DATABASES", "CELERY_BROKER_URL", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT")
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "plinth")
    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"]) == ("smtp.internal", 587)
    assert not (tmp_path / "plinth.sqlite3").exists()


def test_postgres_connections_turn_the_jit_compiler_off_unless_asked(tmp_path: Path) -> None:
    url = "postgres://plinth:pw@db.internal:5433/plinth"
    options = _settings(_env(tmp_path, DATABASE_URL=url), "DATABASES")["DATABASES"]["default"]["OPTIONS"]
    assert options["options"] == "-c jit=off"
    kept = _settings(_env(tmp_path, DATABASE_URL=url, DATABASE_JIT="true"), "DATABASES")
    assert "options" not in kept["DATABASES"]["default"]["OPTIONS"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_test_databases_connection_has_jit_off() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_postgres_driver_is_psycopg_3(tmp_path: Path) -> None:
    result = _run(["-c", "import psycopg; print(psycopg.__version__)"], _env(tmp_path))
    assert result.returncode == 0
    assert result.stdout.startswith("3.")


def test_production_check_deploy_reports_nothing(tmp_path: Path) -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], _production(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    # Nothing of Django's own deployment checklist may be silenced to get there.
    silenced = _settings(_production(tmp_path), "SILENCED_SYSTEM_CHECKS")["SILENCED_SYSTEM_CHECKS"]
    assert not [check for check in silenced if check.startswith("security.")]


def test_production_turns_on_secure_cookies_hsts_and_ssl_redirect(tmp_path: Path) -> None:
    values = _settings(
        _production(tmp_path),
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_REDIRECT_EXEMPT",
        "STORAGES",
    )
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]
    assert "whitenoise" in values["STORAGES"]["staticfiles"]["BACKEND"]


@pytest.mark.parametrize(
    ("unset", "override", "message"),
    [
        ("SECRET_KEY", {}, "SECRET_KEY"),
        (None, {"SECRET_KEY": "short"}, "SECRET_KEY"),
        (None, {"SECRET_KEY": "a" * 60}, "SECRET_KEY"),
        ("ALLOWED_HOSTS", {}, "ALLOWED_HOSTS"),
    ],
    ids=["no-secret", "short-secret", "repetitive-secret", "no-hosts"],
)
def test_production_refuses_to_start_without_a_real_secret_and_hosts(
    tmp_path: Path, unset: str | None, override: dict[str, str], message: str
) -> None:
    env = _production(tmp_path, **override)
    if unset:
        env.pop(unset)
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    # It did not fall back to a generated development secret either.
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.services
def test_production_serves_collected_static_files_through_whitenoise(tmp_path: Path) -> None:
    env = _production(tmp_path)
    collect = _run(["manage.py", "collectstatic", "--no-input", "-v", "0"], env)
    assert collect.returncode == 0, collect.stderr
    script = (
        "import django; django.setup()\n"
        "from django.templatetags.static import static\n"
        "from django.test import Client\n"
        "url = static('portal/plinth.css')\n"
        "r = Client().get(url, secure=True, HTTP_HOST='plinth.example.org')\n"
        "print(url, r.status_code, r.headers.get('Cache-Control'))\n"
    )
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    url, status, cache = result.stdout.strip().splitlines()[-1].split(" ", 2)
    # A content-hashed name, served by whitenoise with a far-future cache lifetime.
    assert (
        url.startswith("/static/portal/plinth.")
        and url.endswith(".css")
        and url != "/static/portal/plinth.css"
    )
    assert status == "200"
    assert "immutable" in cache


def test_media_is_stored_under_var_by_default_and_in_an_s3_bucket_when_named(tmp_path: Path) -> None:
    local = _settings(_env(tmp_path), "MEDIA_ROOT", "STORAGES")
    assert local["MEDIA_ROOT"] == str(tmp_path / "media")
    assert local["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    bucket = _env(
        tmp_path,
        MEDIA_S3_BUCKET="clinic-media",
        MEDIA_S3_ENDPOINT_URL="https://s3.example.org",
        MEDIA_S3_REGION="",
    )
    script = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['default']\n"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url,"
        " s.default_acl, s.querystring_auth, s.file_overwrite)"
    )
    result = _run(["-c", script], bucket)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "clinic-media",
        "https://s3.example.org",
        "private",
        "True",
        "False",
    ]
