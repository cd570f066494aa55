#!/usr/bin/env python3
"""Run the pytest suite as ``make test`` does: in three parts, one after the other.

Usage: scripts/testparts.py [PYTEST_ARGS...]   (inside scripts/testenv.py, for PostgreSQL and Redis)

1. parallel: every selected test marked none of ``browser``, ``services``, ``alone`` (``cli`` included), on
   two pytest-xdist workers (``--dist worksteal``: the few long tests do not end
   up queued behind each other). Each worker has its own PostgreSQL test
   database (pytest-django) and its own Redis database (tests/settings.py).
2. live: the selected ``browser`` and ``services`` tests not marked ``alone``, on two workers
   too, each with its own Chromium, live server, servers on free ports and test database: a
   page walk waits on the browser as much as on the server, so two at once use the two cores.
3. serial: the selected tests marked ``alone``, one at a time. They assert time limits (a
   check-in answered within 2 s with Redis stopped) that a second worker would blur, or stop
   and restart Redis, a Celery worker or an SMTP server mid-test.

PYTEST_ARGS go to every part (a ``-n`` there overrides the first two parts'). With
PYTEST_ARGS, a part that holds none of the selected tests is left out (found by
collecting each part first; the whole suite has tests in each, so without
arguments no collection is made), so no pytest exits 5
("no tests collected") when the selection lies in fewer parts; a selection of
nothing at all still fails. The later parts run even if an earlier one failed,
unless the arguments ask to stop at the first failure (``-x``). Each part prints
its own ``--durations=25``. Exit status: the first failing part's, else 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

NO_TESTS_COLLECTED = 5
PARTS: dict[str, list[str]] = {
    "parallel": ["-n", "2", "--dist", "worksteal"],
    "live": ["-n", "2", "--dist", "worksteal"],
    "serial": [],
}
COMMON = ["--durations=25"]


def pytest_command(part: str, args: list[str], *extra: str) -> list[str]:
    """The pytest command line of one part; ``args`` last, so that they override."""
    return [sys.executable, "-m", "pytest", f"--part={part}", *extra, *PARTS[part], *COMMON, *args]


def has_tests(part: str, args: list[str]) -> bool:
    """Whether ``args`` select any test of ``part``, by collecting them (a few seconds).

    A collection that fails for another reason (an import error, a bad option)
    counts as having tests: the part then runs and reports the error itself.
    """
    command = pytest_command(part, args, "--collect-only", "-q", "-p", "no:cacheprovider")
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return done.returncode != NO_TESTS_COLLECTED


def stops_at_first_failure(args: list[str]) -> bool:
    return "-x" in args or "--exitfirst" in args


def run(command: list[str]) -> int:
    """Run ``command`` in a process group of its own and return its exit status.

    The group holds pytest and its xdist workers, which outlive a pytest that is
    killed alone. If this script is stopped by SIGTERM or SIGHUP (a CI timeout, a
    closed terminal), the whole group gets SIGTERM, as pytest alone did when
    scripts/testenv.py started it itself. Ctrl-C in a terminal reaches only the
    terminal's process group, so it is passed on, and the part has 30 s to tear down.
    """
    child = subprocess.Popen(command, process_group=0)
    try:
        return child.wait()
    except KeyboardInterrupt:
        signal_group(child.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=30)
        raise
    finally:
        if child.poll() is None:
            signal_group(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                signal_group(child.pid, signal.SIGKILL)
                child.wait()


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def overall_status(codes: list[int]) -> int:
    """The first non-zero exit status of the parts that ran, or 0."""
    return next((code for code in codes if code != 0), 0)


def main(args: list[str]) -> int:
    if not args:
        # The whole suite (make test) has tests in every part; collecting it three more times
        # to find that out took 15 to 40 s.
        selected = dict.fromkeys(PARTS, True)
    else:
        with ThreadPoolExecutor(max_workers=len(PARTS)) as pool:
            selected = dict(zip(PARTS, pool.map(lambda part: has_tests(part, args), PARTS), strict=True))
    parts = [part for part in PARTS if selected[part]]
    if not parts:
        # Nothing selected in any part: let pytest say so, with its exit status 5.
        return run([sys.executable, "-m", "pytest", *COMMON, *args])
    codes: list[int] = []
    for part in parts:
        if codes and codes[-1] != 0 and stops_at_first_failure(args):
            print(f"testparts: the {part} part is not run (-x and the previous part failed)", flush=True)
            break
        print(f"testparts: the {part} part: pytest {' '.join(pytest_command(part, args)[3:])}", flush=True)
        started = time.monotonic()
        codes.append(run(pytest_command(part, args)))
        seconds = time.monotonic() - started
        print(f"testparts: the {part} part exited {codes[-1]} after {seconds:.0f} s", flush=True)
    return overall_status(codes)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP: leave through run's finally block, which stops the running part."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(128 + signal.SIGINT)
