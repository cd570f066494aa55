"""Time the therapist's caseload page with ~2,000 active plans in one clinic.

Usage: ``.venv/bin/python scripts/bench_caseload.py [--plans 2000] [--runs 10]``.
Seeds a throwaway test database (SQLite in memory by default; PostgreSQL when
DATABASE_URL is set, e.g. under scripts/testenv.py) with the bulk caseload of
tests/careplans/test_queries.py (five exercises, ticks and check-ins per plan,
which leaves every plan under half adherence, so each one needs attention),
refreshes their outcome snapshots as the nightly job does (unless
``--no-snapshots``), then times GET /caseload/ with the Django test client and prints the median,
the 95th percentile, the body size and the queries of one request.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Seed, warm up, time ``--runs`` requests and print the figures (milliseconds, KB, queries)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--no-snapshots",
        action="store_true",
        help="skip the nightly outcome refresh, so every plan's pain is recomputed on the page",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    # The test suite's own seeding and factories, loaded by name: they are typed for the
    # tests' looser settings, not for the product's strict check that covers scripts/.
    seeding: Any = importlib.import_module("tests.caseload.test_queries")
    factories: Any = importlib.import_module("tests.factories")

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    clinic = factories.ClinicFactory()
    therapist = factories.TherapistFactory(clinic=clinic)
    exercises = [factories.ExerciseFactory() for _ in range(5)]
    seeding._populate(clinic, therapist, args.plans, exercises)
    if not args.no_snapshots:
        # As in production: the nightly run (and each check-in) leaves a fresh snapshot per plan.
        from outcomes.recompute import outcome_refresh_all

        outcome_refresh_all(clinic_ids=[clinic.pk])
    client = Client()
    client.force_login(therapist.user)
    url = reverse("caseload")
    response = client.get(url)  # warm-up: the session's first request writes its stamp
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(
        f"caseload, {args.plans} active plans on {connection.vendor}"
        f"{' (no snapshots)' if args.no_snapshots else ''}: "
        f"median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms over {args.runs} runs, "
        f"{len(response.content) / 1024:.0f} KB, {len(queries)} queries"
    )


if __name__ == "__main__":
    main()
