"""scripts/testenv.py stops its throwaway servers however it is ended."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.services, pytest.mark.alone, pytest.mark.timeout(120)]
REPORT = re.compile(r"PostgreSQL at postgres://\S+:(\d+)/\S+, Redis at redis://\S+:(\d+)/\S+ \(in (\S+)\)")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_command_and_the_servers_and_removes_the_directory() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "testenv.py"), "--", "sleep", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    started = None
    deadline = time.monotonic() + 60
    while started is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        started = re.search(
            r"PostgreSQL at postgres://\S+:(\d+)/\S+, Redis at redis://\S+:(\d+)/\S+ \(in (\S+)\)", line
        )
    assert started, "testenv did not report its servers"
    pg_port, redis_port, directory = int(started[1]), int(started[2]), Path(started[3])
    assert _listening(pg_port) and _listening(redis_port) and directory.is_dir()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert not _listening(pg_port)
    assert not _listening(redis_port)
    assert not directory.exists()
