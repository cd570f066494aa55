"""What every settings module reads: the folders, the environment's parsers, the deployment kind."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PLINTH_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: bool = False) -> bool:
    """The variable ``name`` as a boolean: 1, true, yes or on (any case) is True, anything else
    False; ``default`` when it is unset or empty."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    """The variable ``name`` as an integer, ``default`` when unset or empty; ValueError if it is
    not one."""
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    """The variable ``name`` (or ``default``) split at commas, items trimmed, empty ones dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PLINTH_ENV = os.environ.get("PLINTH_ENV", "development")
PRODUCTION = PLINTH_ENV == "production"
DEBUG = envbool("DEBUG", default=not PRODUCTION)

# Redis, when set, is both the Celery broker (portal.settings.jobs) and the cache
# (portal.settings.limits).
REDIS_URL = os.environ.get("REDIS_URL", "")
