"""Schemathesis over the whole OpenAPI schema against a live server on loopback.

Run as a therapist and as a patient (API tokens): no 5xx, responses conform to
the schema (status codes, content types, headers, bodies), and invalid data is
rejected. Bounded so that it finishes in about two minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.tokens import api_token_create
from tests.conftest import record_figure
from tests.world import World

MAX_EXAMPLES = int(os.environ.get("PLINTH_SCHEMATHESIS_EXAMPLES", "5"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# positive_data_acceptance expects every schema-valid payload to be accepted, but
# valid JSON can still break a domain rule (a patient id of another clinic, a
# plan that is already active): those answer 400 with the reason, by design.
EXCLUDED_CHECKS = "positive_data_acceptance"

# A live server spoken to from another process: a services test (pyproject.toml's markers).
pytestmark = pytest.mark.services


def schemathesis_command(base_url: str, key: str, report: Path) -> list[str]:
    return [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/api/v1/schema/?format=json",
        "--url",
        base_url,
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--header",
        f"Authorization: Bearer {key}",
        "--workers",
        "1",
        "--seed",
        "8",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]


def summarize(code: int, output: str, report: Path) -> dict[str, Any]:
    requests = 0
    if report.exists():
        for line in report.read_text().splitlines():
            for body in json.loads(line).values():
                # One interaction (request, response, timestamp) per test case's request (the
                # checks' few probes, such as ignored_auth's, are not recorded); counting each
                # interaction's keys made the figure three times too many.
                if isinstance(body, dict) and "recorder" in body:
                    requests += len(body["recorder"].get("interactions", {}))
    generated = re.search(r"(\d+) generated", output)
    return {
        "code": code,
        "output": output,
        "requests": requests,
        "cases": int(generated.group(1)) if generated else 0,
    }


@pytest.mark.django_db(transaction=True)
def test_schemathesis_as_therapist_and_patient(
    world: World, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    # Fuzzing posts many check-ins a minute; the limiter has its own test.
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (100_000, 60)}
    total = cases = 0
    failures: list[str] = []
    # Both personas at once: the live server answers requests on threads. One
    # request first, so drf-spectacular loads its extensions before two threads race to.
    Client().get("/api/v1/schema/?format=json")
    running = {}
    for persona, user in (("therapist", world.p.owner.user), ("patient", world.p.patient_a.user)):
        key = api_token_create(user=user, name=f"schemathesis {persona}").key
        report = tmp_path / f"{persona}.ndjson"
        log = (tmp_path / f"{persona}.log").open("w+")
        command = schemathesis_command(live_server.url, key, report)
        running[persona] = (
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True),
            log,
            report,
        )
    for persona, (process, log, report) in running.items():
        code = process.wait(timeout=300)
        log.seek(0)
        result = summarize(code, log.read(), report)
        log.close()
        total += result["requests"]
        cases += result["cases"]
        print(
            f"schemathesis as {persona}: {result['cases']} generated test cases, "
            f"{result['requests']} HTTP requests, exit {result['code']}"
        )
        if result["code"] != 0:
            failures.append(f"--- as {persona} ---\n{result['output'][-6000:]}")
    print(f"schemathesis: {cases} generated test cases, {total} HTTP requests in all")
    record_figure(
        f"schemathesis: {cases} generated test cases, {total} HTTP requests, {len(failures)} failing personas"
    )
    assert cases > 0 and total > 0
    assert not failures, "\n".join(failures)
