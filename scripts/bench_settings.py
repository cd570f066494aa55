"""Settings of the benchmark's server: the portal's own, with the floor view's URLs added.

Everything else (PLINTH_ENV=production, the database, Redis) comes from the
environment, read by portal.settings as in a deployment. Used with scripts/ on
the Python path (scripts/bench_peak.py sets it), so that ``bench_urls`` imports.
"""

from portal.settings import *  # noqa: F403 (the product's settings, unchanged but for the URLconf)

ROOT_URLCONF = "bench_urls"
