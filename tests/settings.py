"""The test run's settings: the product's, plus a second database for the outcome tests.

``embedded`` is an in-memory SQLite database beside the default one, so one run
checks the outcome definition on both backends whatever ``default`` is (SQLite
in the fast lane, PostgreSQL under ``make test``). Only tests that ask for it
(``pytest.mark.django_db(databases=[...])``) get it created and migrated; the
product never names it.
"""

from portal.settings import *  # noqa: F403
from portal.settings import DATABASES

EMBEDDED = "embedded"

DATABASES = {
    **DATABASES,
    EMBEDDED: {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TEST": {"NAME": ":memory:"}},
}
