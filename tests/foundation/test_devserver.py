"""`make run`'s web server (portal.devserver): no request holds a thread for ever; too long is a prompt 4xx.

Real servers on loopback, spoken to with raw bytes. Every socket has a timeout,
so a server that waits for ever fails a test instead of hanging it.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gunicorn import config as gunicorn_config

from portal import devserver

ROOT = Path(__file__).resolve().parents[2]
# What curl 7.88.1 (Debian 12) sends for a URL of 9,000 characters when its cookie jar has
# cookies for the host: it drops them all as too long, but still writes "Cookie: " and
# then no empty line, so the headers never end.
CURL_788_LONG_URL = (
    b"GET /caseload/?q=" + b"a" * 9000 + b" HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nCookie: \r\n"
)
# Bounds, in seconds, on what a test waits for: far above what a correct server takes.
WAIT = 5.0


class QuickHandler(devserver.DevRequestHandler):
    head_timeout = 0.5
    body_timeout = 0.5


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Reads the whole body, as a view would, and answers how many bytes it got."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    text = f"got {len(body)} bytes".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text]


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = devserver.DevServer(("127.0.0.1", 0), QuickHandler)
    httpd.set_app(echo_app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()
    thread.join(WAIT)


def exchange(address: tuple[str, int], *chunks: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Sends ``chunks`` (``pause`` seconds apart) until the server answers, then reads until it closes.

    Returns ``(everything received, seconds from connecting to the close)``; raises
    ``TimeoutError`` if the server is silent for ``WAIT`` seconds.
    """
    started = time.monotonic()
    with socket.create_connection(address, timeout=WAIT) as sock:
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered (or closed): the rest would not be read
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            pass  # closed with some of the request unread: a reset after the answer
    return received, time.monotonic() - started


def status(received: bytes) -> int:
    return int(received.split(b" ", 2)[1])


def test_the_limits_are_gunicorns_defaults() -> None:
    # What production (gunicorn, docker-compose.yml) refuses never reaches the app under `make run`.
    assert (
        gunicorn_config.LimitRequestLine.default,
        gunicorn_config.LimitRequestFieldSize.default,
    ) == (devserver.MAX_REQUEST_LINE, devserver.MAX_HEADER_FIELD)


def test_curls_unfinished_request_with_a_long_url_is_a_414_at_once(server: tuple[str, int]) -> None:
    received, seconds = exchange(server, CURL_788_LONG_URL)
    assert status(received) == 414
    assert b"longer than 4094 bytes" in received
    assert seconds < QuickHandler.head_timeout


def test_request_lines_up_to_the_limit_are_served(server: tuple[str, int]) -> None:
    head = b"GET /?q= HTTP/1.1"
    line = b"GET /?q=" + b"a" * (devserver.MAX_REQUEST_LINE - len(head)) + b" HTTP/1.1"
    ok, _ = exchange(server, line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status(ok) == 200
    refused, _ = exchange(server, line[:-9] + b"a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status(refused) == 414


def test_headers_that_never_end_are_a_408_after_the_head_timeout(server: tuple[str, int]) -> None:
    received, seconds = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert status(received) == 408
    assert QuickHandler.head_timeout <= seconds < WAIT


def test_headers_trickled_byte_by_byte_meet_the_same_deadline(server: tuple[str, int]) -> None:
    # A read timeout alone would wait for ever here: every byte arrives within it.
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    sending = len(head) * 0.05  # seconds, about 6.6
    received, seconds = exchange(server, *[head[i : i + 1] for i in range(len(head))], pause=0.05)
    assert status(received) == 408
    assert seconds < sending / 3


def test_a_connection_that_says_nothing_is_closed_without_an_answer(server: tuple[str, int]) -> None:
    received, seconds = exchange(server)
    assert received == b""
    assert QuickHandler.head_timeout <= seconds < WAIT


def test_a_body_that_stops_arriving_ends_the_request(server: tuple[str, int]) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    received, seconds = exchange(server, head + b"x" * 10)
    # The app's read fails (wsgiref answers its exception 500) and the thread is free again.
    assert status(received) == 500
    assert seconds < WAIT


def test_a_header_field_longer_than_gunicorns_is_a_431(server: tuple[str, int]) -> None:
    value = b"a" * (devserver.MAX_HEADER_FIELD - len(b"Cookie: "))
    ok, _ = exchange(
        server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: " + value + b"\r\n\r\n"
    )
    assert status(ok) == 200
    refused, _ = exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nCookie: " + value + b"a\r\n\r\n")
    assert status(refused) == 431


def test_kept_alive_requests_and_bodies_are_served(server: tuple[str, int]) -> None:
    post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received, _ = exchange(server, post + last)  # pipelined on one kept-alive connection
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert b"got 5 bytes" in received and b"got 0 bytes" in received


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_run_web(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The web process scripts/run.py starts (``python -m portal.devserver``), on a free port."""
    address = ("127.0.0.1", _free_port())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PLINTH_VAR_DIR": str(tmp_path)}
    log = tmp_path / "web.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portal.devserver", f"{address[0]}:{address[1]}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Django's setup and system checks come first: a bounded wait for the port to open.
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
        proc.wait(WAIT)


def test_make_runs_web_server_answers_curls_request_with_a_long_url_at_once(
    make_run_web: tuple[str, int], tmp_path: Path
) -> None:
    received, seconds = exchange(make_run_web, CURL_788_LONG_URL)
    assert status(received) == 414
    assert seconds < 1
    ordinary, _ = exchange(
        make_run_web, b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status(ordinary) == 200
    curl = shutil.which("curl")
    if curl is None:
        return
    # The newcomer's command itself, with a logged-in cookie jar.
    jar = tmp_path / "cookies.txt"
    jar.write_text("127.0.0.1\tFALSE\t/\tFALSE\t0\tsessionid\tabc\n")
    host, port = make_run_web
    url = f"http://{host}:{port}/caseload/?q={'a' * 9000}"
    done = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", str(jar), url],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.stdout == "414"
