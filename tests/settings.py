"""The test run's settings: the product's, plus a second database for the outcome tests.

``embedded`` is an in-memory SQLite database beside the default one, so one run
checks the outcome definition on both backends whatever ``default`` is (SQLite
in the fast lane, PostgreSQL under ``make test``). Only tests that ask for it
(``pytest.mark.django_db(databases=[...])``) get it created and migrated; the
product never names it.

Under pytest-xdist (``make check``) each worker process has its own in-memory
databases already; the file cache of a run without Redis gets a folder per
worker too, because Django's file cache culls a third of its entries, whoever
wrote them, once it holds more than its limit, and a rate-limit test counting
requests must not lose its counter to another worker's writes.
"""

import os

from portal.settings import *  # noqa: F403
from portal.settings import CACHES, DATABASES

EMBEDDED = "embedded"

DATABASES = {
    **DATABASES,
    EMBEDDED: {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TEST": {"NAME": ":memory:"}},
}

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and CACHES["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    CACHES = {"default": {**CACHES["default"], "LOCATION": f"{CACHES['default']['LOCATION']}-{_WORKER}"}}
