"""Plinth settings, read from the environment.

With nothing set, Plinth runs on one machine with nothing installed: SQLite,
a filesystem Celery broker and email written to files, all under ``var/``.
``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_HOST`` switch to PostgreSQL, Redis
and real SMTP; ``PLINTH_ENV=production`` turns on the production checklist.

The settings are split by sub-domain, each module reading its own variables:
``env`` (folders, parsers, the deployment kind), ``base`` (Django's own), ``files`` (static
files, media, exports), ``api`` (REST framework, OpenAPI), ``jobs`` (Celery), ``security``
(cookies, headers, CSP, proxies, lockout, idle logout, production) and ``limits`` (the cache,
rate limits). ``DJANGO_SETTINGS_MODULE=portal.settings`` names this package, which gathers them.
"""

from __future__ import annotations

import django_stubs_ext

from portal.settings.api import *  # noqa: F403
from portal.settings.base import *  # noqa: F403
from portal.settings.env import *  # noqa: F403
from portal.settings.files import *  # noqa: F403
from portal.settings.jobs import *  # noqa: F403
from portal.settings.limits import *  # noqa: F403
from portal.settings.security import *  # noqa: F403

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, for mypy.
django_stubs_ext.monkeypatch()
