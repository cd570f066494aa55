"""`make run`'s web process answers every request shape promptly: too long is a 4xx at once.

The newcomer's report: ``curl -b jar "http://127.0.0.1:8000/caseload/?q=<9,000 characters>"``
hung for minutes. curl 7.88 drops the jar's cookies as too long for such a URL but still
writes ``Cookie: `` and never ends the headers; Django's runserver waited for them for
ever. The web process is now gunicorn, as in production, which refuses the request line
before it reads any header. The real process, on a free loopback port, every socket bounded.
"""

from __future__ import annotations

import importlib.util
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
# What curl 7.88.1 (Debian 12) sends for that URL: the headers never end.
CURL_788_LONG_URL = (
    b"GET /caseload/?q=" + b"a" * 9000 + b" HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nCookie: \r\n"
)
#: Far above what a correct server takes on a loaded machine, in seconds, and well below the
#: 30 s after which gunicorn would free a worker stuck on an unfinished request.
WAIT = 15.0

# A live server spoken to from another process: a services test (pyproject.toml's markers).
pytestmark = [pytest.mark.services, pytest.mark.alone]


def _run_module() -> object:
    spec = importlib.util.spec_from_file_location("plinth_run", ROOT / "scripts" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exchange(address: tuple[str, int], payload: bytes) -> tuple[bytes, float]:
    """Send ``payload`` (stopping if the server answers first), read until the server closes.

    Returns (what came back, seconds taken); a server silent for ``WAIT`` seconds raises TimeoutError.
    """
    started = time.monotonic()
    with socket.create_connection(address, timeout=WAIT) as sock:
        for start in range(0, len(payload), 1024):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(payload[start : start + 1024])
            except (BrokenPipeError, ConnectionResetError):
                break
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            pass
    return received, time.monotonic() - started


def status(received: bytes) -> int:
    return int(received.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The web process ``scripts/run.py`` starts, on a migrated throwaway SQLite database."""
    var = tmp_path_factory.mktemp("run-web")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PLINTH_VAR_DIR": str(var)}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    address = ("127.0.0.1", _free_port())
    command = _run_module().web_command(*address)  # type: ignore[attr-defined]
    log = var / "web.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                socket.create_connection(address, timeout=WAIT).close()
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_web_process_is_gunicorn_as_in_production() -> None:
    assert Path(_run_module().web_command("127.0.0.1", 8000)[0]).name == "gunicorn"  # type: ignore[attr-defined]


def test_curls_unfinished_request_with_a_long_url_is_refused_at_once(web: tuple[str, int]) -> None:
    received, seconds = exchange(web, CURL_788_LONG_URL)
    assert 400 <= status(received) < 500
    assert seconds < WAIT


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /" + b"p" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="long path"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"h" * 9000 + b"\r\n\r\n", id="long header"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nCookie: c=" + b"c" * 9000 + b"\r\n\r\n", id="long cookie"
        ),
    ],
)
def test_over_long_request_parts_are_a_prompt_4xx(web: tuple[str, int], request_bytes: bytes) -> None:
    received, seconds = exchange(web, request_bytes)
    assert 400 <= status(received) < 500
    assert seconds < WAIT


def test_ordinary_pages_are_served(web: tuple[str, int]) -> None:
    received, _ = exchange(
        web, b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status(received) == 200


def test_the_newcomers_curl_command_gets_an_answer(web: tuple[str, int], tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        if IN_CI:
            pytest.fail("curl is missing (scripts/sysdeps.sh installs it)")
        pytest.skip("curl is not installed")
    jar = tmp_path / "cookies.txt"
    jar.write_text("127.0.0.1\tFALSE\t/\tFALSE\t0\tsessionid\tabc\n")
    host, port = web
    done = subprocess.run(
        [
            curl,
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-b",
            str(jar),
            f"http://{host}:{port}/caseload/?q={'a' * 9000}",
        ],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.stdout.startswith("4")


def test_static_files_are_served_without_collectstatic(web: tuple[str, int]) -> None:
    request = b"GET /static/portal/plinth.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    received, _ = exchange(web, request)
    assert status(received) == 200
    assert b"text/css" in received.split(b"\r\n\r\n", 1)[0]
