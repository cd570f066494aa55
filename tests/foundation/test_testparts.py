"""``make test`` in two parts (scripts/testparts.py), and a Redis database per xdist worker.

The parts are checked in fresh pytest processes on the embedded default (no servers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.settings import worker_redis_url

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import testparts  # noqa: E402

#: A test of the parallel part that needs no database, and one of the serial part.
PARALLEL_TEST = "tests/foundation/test_proxy.py::test_an_untrusted_peer_cannot_spoof_its_address"
PARALLEL_FILE = PARALLEL_TEST.split("::")[0]
SERIAL_TEST = "tests/foundation/test_testenv.py"


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "gw0", "redis://127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", "gw1", "redis://127.0.0.1:6379/1"),
        ("redis://:secret@cache.internal:6380/3", "gw2", "redis://:secret@cache.internal:6380/5"),
        ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/1"),
    ],
)
def test_each_xdist_worker_has_its_own_redis_database(url: str, worker: str, expected: str) -> None:
    assert worker_redis_url(url, worker) == expected


@pytest.mark.parametrize(
    ("url", "worker"),
    [
        ("redis://127.0.0.1:6379/0", "gw16"),
        ("redis://127.0.0.1:6379/15", "gw1"),
        ("unix:///run/redis.sock?db=2", "gw1"),
    ],
)
def test_a_worker_without_a_database_of_its_own_is_refused(url: str, worker: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        worker_redis_url(url, worker)


@pytest.mark.parametrize(("codes", "status"), [([0, 0], 0), ([0, 1], 1), ([1, 0], 1), ([2, 1], 2), ([0], 0)])
def test_make_test_fails_if_either_part_fails(codes: list[int], status: int) -> None:
    assert testparts.overall_status(codes) == status


def _testparts(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/testparts.py in a fresh process, on the embedded default (no servers) under tmp_path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTEST") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env["PLINTH_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "testparts.py"), "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_selection_within_the_parallel_part_runs_it_alone_and_passes(tmp_path: Path) -> None:
    # -n 0 (after the part's -n 2, so it wins): two more interpreters would only add startup time.
    done = _testparts(tmp_path, PARALLEL_TEST, "-n", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the parallel part exited 0" in done.stdout
    assert "the serial part" not in done.stdout
    assert "1 passed" in done.stdout


def test_a_selection_within_the_serial_part_leaves_the_parallel_part_out(tmp_path: Path) -> None:
    # Collected, not run: the serial test starts servers of its own.
    done = _testparts(tmp_path, SERIAL_TEST, "--collect-only")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the serial part exited 0" in done.stdout
    assert "the parallel part" not in done.stdout
    assert "test_sigterm_stops_the_command_and_the_servers" in done.stdout


def test_a_selection_of_nothing_at_all_fails(tmp_path: Path) -> None:
    done = _testparts(tmp_path, PARALLEL_FILE, "-k", "no_test_is_called_this", "--collect-only")
    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout + done.stderr
