"""The test run's settings: the product's, plus a second database for the outcome tests.

``embedded`` is an in-memory SQLite database beside the default one, so one run
checks the outcome definition on both backends whatever ``default`` is (SQLite
in the fast lane, PostgreSQL under ``make test``). Only tests that ask for it
(``pytest.mark.django_db(databases=[...])``) get it created and migrated; the
product never names it.

Under pytest-xdist (``make check``, and the first two parts of ``make test``) each
worker process has its own in-memory databases already, and pytest-django gives
each its own PostgreSQL test database (``test_postgres_gw0``, ...). The file
cache of a run without Redis gets a folder per worker too, because Django's file
cache culls a third of its entries, whoever wrote them, once it holds more than
its limit, and a rate-limit test counting requests must not lose its counter to
another worker's writes. With Redis, worker ``gwN`` uses Redis database number
N above the URL's own for the cache and the Celery broker, so that nothing one
worker writes there, queues or flushes reaches another.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from portal.settings import *  # noqa: F403
from portal.settings import CACHES, DATABASES, REDIS_URL

EMBEDDED = "embedded"

DATABASES = {
    **DATABASES,
    EMBEDDED: {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TEST": {"NAME": ":memory:"}},
}

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    CACHES = {"default": {**CACHES["default"], "LOCATION": f"{CACHES['default']['LOCATION']}-{_WORKER}"}}


#: Redis's default ``databases`` setting: the numbers 0 to 15 exist.
REDIS_DATABASES = 16


def worker_redis_url(url: str, worker: str) -> str:
    """``url`` (``redis://host:port/N``) with the database number N + the index of ``worker`` (``gwK``).

    Raises ImproperlyConfigured if the number is past Redis's default 16 databases,
    rather than let the cache's fail-open hide every "DB index is out of range".
    """
    parts = urlsplit(url)
    base = parts.path.strip("/") or "0"
    if not base.isdigit() or "db=" in parts.query:
        raise ImproperlyConfigured(f"pytest-xdist workers need the Redis database in the URL's path: {url}")
    number = int(base) + int(worker.removeprefix("gw"))
    if number >= REDIS_DATABASES:
        raise ImproperlyConfigured(
            f"xdist worker {worker} would use Redis database {number}; Redis has {REDIS_DATABASES} (0-15)"
        )
    return parts._replace(path=f"/{number}").geturl()


if _WORKER and REDIS_URL:
    REDIS_URL = worker_redis_url(REDIS_URL, _WORKER)
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL}}

# Pages rank the attention list afresh in tests, which change the data between page views;
# tests/alerts/test_attention_cache.py turns the cache on.
PLINTH_ATTENTION_CACHE_SECONDS = 0


# Uploaded exercise media go to a folder of this process's own, removed when it exits.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="plinth-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
# FHIR bulk export files too.
FHIR_EXPORT_DIR = Path(tempfile.mkdtemp(prefix="plinth-test-fhir-exports-"))
atexit.register(shutil.rmtree, FHIR_EXPORT_DIR, ignore_errors=True)
