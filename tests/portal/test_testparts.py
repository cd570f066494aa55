"""``make test`` in three parts (scripts/testparts.py), and a Redis database per xdist worker."""

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


class FakeParts:
    """testparts.main with the parts' selections given and their runs recorded, not run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, selected: set[str], codes: dict[str, int]) -> None:
        self.ran: list[str] = []
        self.codes = codes
        monkeypatch.setattr(testparts, "has_tests", lambda part, args: part in selected)
        monkeypatch.setattr(testparts, "run", self.run)

    def run(self, command: list[str]) -> int:
        part = next((arg.removeprefix("--part=") for arg in command if arg.startswith("--part=")), "all")
        self.ran.append(part)
        return self.codes.get(part, testparts.NO_TESTS_COLLECTED if part == "all" else 0)


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ({"parallel": 0, "live": 0, "serial": 0}, 0),
        ({"parallel": 0, "live": 0, "serial": 1}, 1),
        ({"parallel": 0, "live": 3, "serial": 0}, 3),
        ({"parallel": 1, "live": 0, "serial": 0}, 1),
        ({"parallel": 2, "live": 3, "serial": 1}, 2),
    ],
)
def test_every_part_runs_and_make_test_fails_if_any_fails(
    monkeypatch: pytest.MonkeyPatch, codes: dict[str, int], status: int
) -> None:
    parts = FakeParts(monkeypatch, selected={"parallel", "live", "serial"}, codes=codes)
    assert testparts.main([]) == status
    assert parts.ran == ["parallel", "live", "serial"]


def test_the_whole_suite_is_not_collected_again_to_find_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = FakeParts(monkeypatch, selected=set(), codes={})

    def collected(part: str, args: list[str]) -> bool:
        raise AssertionError(f"collected {part} for a run of the whole suite")

    monkeypatch.setattr(testparts, "has_tests", collected)
    assert testparts.main([]) == 0
    assert parts.ran == ["parallel", "live", "serial"]


def test_with_x_a_failed_first_part_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = FakeParts(monkeypatch, selected={"parallel", "live", "serial"}, codes={"parallel": 1})
    assert testparts.main(["tests/api", "-x"]) == 1
    assert parts.ran == ["parallel"]


@pytest.mark.parametrize("part", ["parallel", "live", "serial"])
def test_a_part_with_none_of_the_selected_tests_is_left_out(
    monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    parts = FakeParts(monkeypatch, selected={part}, codes={})
    assert testparts.main(["tests/foundation"]) == 0
    assert parts.ran == [part]


def test_a_selection_of_nothing_at_all_fails_as_pytest_does(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = FakeParts(monkeypatch, selected=set(), codes={})
    assert testparts.main(["-k", "no_test_is_called_this"]) == pytest.ExitCode.NO_TESTS_COLLECTED
    assert parts.ran == ["all"]


@pytest.mark.cli
def test_the_part_option_splits_a_selection_by_marker_after_k(tmp_path: Path) -> None:
    """The real collection, in a fresh process on the embedded default (no servers)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTEST") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env["PLINTH_VAR_DIR"] = str(tmp_path / "var")
    # A test marked alone, a browser test and one that needs neither, picked out by -k; every part
    # collected at once.
    args = [
        "tests/portal/test_testenv.py",
        "tests/portal/test_proxy.py",
        "tests/portal/test_docs_browser.py",
        "-k",
        "sigterm or spoof or redoc",
    ]
    collecting = {
        part: subprocess.Popen(
            testparts.pytest_command(part, args, "--collect-only", "-q", "-p", "no:cacheprovider"),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for part in testparts.PARTS
    }
    selected = {}
    for part, process in collecting.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        selected[part] = [line for line in output.splitlines() if "::" in line]
    assert selected == {
        "parallel": ["tests/portal/test_proxy.py::test_an_untrusted_peer_cannot_spoof_its_address"],
        "live": ["tests/portal/test_docs_browser.py::test_redoc_renders_without_csp_violations"],
        "serial": [
            "tests/portal/test_testenv.py::"
            "test_sigterm_stops_the_command_and_the_servers_and_removes_the_directory"
        ],
    }
