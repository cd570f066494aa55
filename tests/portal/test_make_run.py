"""`make run` as a newcomer sees it (issue 15): the banner with the URL and the logins comes last
and stays on screen, the processes' own output goes to var/log/ and no library noise reaches the
terminal, the page answers, and Ctrl-C stops web, worker and beat. The real script
(scripts/run.py) on the embedded default (SQLite, a filesystem broker, email to files), on a free
loopback port, in a throwaway folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = "Ctrl-C stops the web app, the worker and beat."

# It starts gunicorn, a Celery worker and beat: a services test (pyproject.toml's markers).
pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_make_run_ends_with_the_banner_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PLINTH_VAR_DIR": str(tmp_path),
        "PLINTH_PORT": str(port),
        "HOME": str(tmp_path),
    }
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        # Started with SIGINT ignored, as a shell starts a job in the background (`make run &`):
        # Ctrl-C's signal, sent by `kill -INT`, must still stop everything.
        proc = subprocess.Popen(
            [sys.executable, "scripts/run.py"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_ignore_sigint,
        )
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while LAST_LINE not in out.read_text():
            assert proc.poll() is None, f"run.py stopped: {out.read_text()}\n{err.read_text()}"
            assert time.monotonic() < deadline, f"no banner after 240 s: {out.read_text()}"
            time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(3)  # anything printed after the banner would push it off the screen
        shown = out.read_text()
        lines = [line for line in shown.splitlines() if line.strip()]
        assert lines[-1].strip() == LAST_LINE
        assert f"Plinth is running at http://127.0.0.1:{port}/" in shown
        assert "therapist@demo.plinth   lands on /caseload/" in shown
        # Nothing from the libraries on the terminal: no warnings, no Celery start-up noise.
        terminal = shown + err.read_text()
        for noise in ("fontTools", "No hostname", "WARNING", "Traceback", "celery@"):
            assert noise not in terminal, noise
        for name in ("web", "worker", "beat"):
            assert (tmp_path / "log" / f"{name}.log").exists(), name
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as page:
            assert page.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err.read_text()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.pid for p in alive]
    assert len(gone) >= 3  # gunicorn, the worker and beat (and their children)
