#!/usr/bin/env python3
"""One round of the morning-peak benchmark, driven by Locust as a library, headless.

Run by scripts/bench_peak.py in a process of its own (importing Locust
monkey-patches the standard library for gevent, which nothing else should
inherit): ``python scripts/peak_locustfile.py ROUND.json``. The JSON file is a
``bench_peak.Round`` as ``bench_peak.round_config`` writes it; the results go to
the file named by its ``out`` key as ``{"requests": {kind: {"times_ms": [...],
"failures": [...], "statuses": [...]}}, "elapsed_s": float, "cpu_warning": bool,
"locust": version}``
(the check-in API answers 201 to a patient's first check-in of the day, 200 to
one that replaces it).

Two kinds of simulated user: patients, ``rate`` check-ins a second in all, each
with the next patient's own API token (or to the floor view), and therapists,
each logged in already (their session cookie is in the file) and opening their
next page every ``page_every`` seconds. Every request carries the header that
the production TLS proxy adds (X-Forwarded-Proto: https), as on a deployment.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import locust
from locust import FastHttpUser, User, events, task
from locust.env import Environment

PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
SIDES = ("left", "right", "both", "centre")

_config: dict[str, Any] = {}
_tokens: Iterator[str] = iter(())
_therapists: Iterator[dict[str, Any]] = iter(())
_phones: Iterator[dict[str, Any]] = iter(())
_results: dict[str, dict[str, list[Any]]] = {}


def _record(
    request_type: str, name: str, response_time: float, exception: Any, response: Any = None, **_: Any
) -> None:
    """Keep every response time (ms, unrounded), status and failure, per kind of request."""
    entry = _results.setdefault(name, {"times_ms": [], "failures": [], "statuses": []})
    entry["statuses"].append(getattr(response, "status_code", 0) or 0)
    if exception is None:
        entry["times_ms"].append(response_time)
    else:
        entry["failures"].append(str(exception)[:200])


class Paced:
    """A user on a fixed schedule of its own: a first moment, then one task every ``period`` seconds.

    Locust's ``constant_throughput`` counts a wait in ``on_start`` as the first task's
    run time, so users delayed there all fall back into step after their first task:
    a burst of every user at once each period instead of arrivals spread over it.
    Here each user keeps its own timetable (the first moment plus whole periods),
    whatever its requests take, as phones and desktops on their own clocks do.
    """

    period = 1.0
    _next_at = 0.0

    def start_schedule(self, delay: float) -> None:
        self._next_at = time.monotonic() + delay
        time.sleep(delay)  # gevent's sleep: Locust has monkey-patched the standard library

    def wait_time(self) -> float:
        self._next_at += self.period
        return max(0.0, self._next_at - time.monotonic())


class Patient(Paced, FastHttpUser):
    """A patient's phone: one check-in per period, each as the next patient in the pool."""

    # Bounded, and long enough that an overloaded server shows as slow, not only as failed.
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        # Each phone on its own phase of the period (peak_rounds.phone_phases).
        self.start_schedule(next(_phones)["delay"])

    @task
    def checkin(self) -> None:
        headers = dict(PROXY_HEADERS)
        if _config["tokens"]:
            headers["Authorization"] = f"Bearer {next(_tokens)}"
        body = {"nprs": random.randint(0, 10), "side": random.choice(SIDES), "note": ""}
        with self.client.post(
            _config["path"], json=body, headers=headers, name="checkin", catch_response=True
        ) as response:
            if response.status_code not in (200, 201):
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")


class Therapist(Paced, FastHttpUser):
    """A therapist's desktop: logged in, opening the next page of their round every period."""

    # Bounded, and long enough that an overloaded server shows as slow, not only as failed.
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        me = next(_therapists)
        self.cookie: str = me["cookie"]
        self.pages: Iterator[list[str]] = itertools.cycle(me["pages"])
        # Spread the therapists' first pages over one period, as their clicks would be.
        self.start_schedule(me["delay"])

    @task
    def page(self) -> None:
        kind, path = next(self.pages)
        headers = {**PROXY_HEADERS, "Cookie": self.cookie}
        with self.client.get(
            path, headers=headers, name=kind, allow_redirects=False, catch_response=True
        ) as response:
            # A redirect here is the login page: the session was lost, which is a failure.
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code} for {path}")


def run(config: dict[str, Any]) -> dict[str, Any]:
    """Run one round as ``config`` says; return the results described in the module docstring."""
    global _tokens, _therapists, _phones
    _config.update(config)
    _tokens = itertools.cycle(config["tokens"]) if config["tokens"] else iter(())
    _therapists = iter(config["therapists"])
    _phones = iter(config["patients"])
    _results.clear()
    per_user = config["per_user_rate"]
    patients = len(config["patients"])
    Patient.period = 1 / per_user
    Patient.fixed_count = patients
    Therapist.period = config["page_every"]
    Therapist.fixed_count = len(config["therapists"])
    classes: list[type[User]] = [Patient]
    if config["therapists"]:
        classes.append(Therapist)
    env = Environment(user_classes=classes, host=config["host"], events=events)
    env.events.request.add_listener(_record)  # type: ignore[no-untyped-call]  # Locust's own hint is missing
    runner = env.create_local_runner()
    users = patients + len(config["therapists"])
    # Every user is started in one batch; each then waits for its own moment (on_start).
    runner.start(users, spawn_rate=users)
    started = time.monotonic()
    threading.Timer(config["seconds"], runner.quit).start()
    runner.greenlet.join()
    elapsed = time.monotonic() - started
    return {
        "requests": dict(_results),
        "elapsed_s": elapsed,
        "cpu_warning": runner.cpu_warning_emitted,
        "locust": locust.__version__,
    }


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    Path(config["out"]).write_text(json.dumps(run(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
