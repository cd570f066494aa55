#!/usr/bin/env python3
"""`make run`: prepare the database, then run web, Celery worker and beat until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = os.environ.get("PLINTH_HOST", "127.0.0.1")
PORT = os.environ.get("PLINTH_PORT", "8000")


def manage(*args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, check=True)


def web_command(host: str, port: int | str) -> list[str]:
    """The web process: gunicorn, as production runs it (docker-compose.yml), so its request
    limits hold here too: a request line over 4,094 bytes or a header over 8,190 is refused
    at once, and a request that never finishes frees its worker after ``--timeout`` seconds.
    Django's runserver has no such limits (it waited for ever on a request whose headers
    never ended). With DEBUG on, WhiteNoise serves the static files from the app folders."""
    return [
        str(BIN / "gunicorn"),
        "portal.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        "3",
        "--timeout",
        "30",
        "--access-logfile",
        "-",
    ]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, frame: object) -> None:
    # `kill` or a closed terminal stops everything the same way Ctrl-C does. Stopping has
    # begun: a second Ctrl-C (or kill) is ignored from here on, so it cannot interrupt the
    # stopping of the children half-way (a traceback, and children left running).
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    # SIGINT too, explicitly: a process started in the background by a shell (or by a test
    # runner) inherits SIGINT ignored, and Python then keeps ignoring it, so `kill -INT` left
    # the web app, the worker and beat running.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop)
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    manage("migrate", "--no-input", "-v", "0")
    manage("load_library")
    manage("questionnaires_load_shipped")
    manage("demo_clinic")
    procs = {
        "web": web_command(HOST, PORT),
        "worker": [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
        ],
        "beat": [str(BIN / "celery"), "-A", "portal", "beat", "--loglevel", "INFO"],
    }
    var = Path(os.environ.get("PLINTH_VAR_DIR", ROOT / "var"))
    logs = var / "log"
    logs.mkdir(parents=True, exist_ok=True)
    # Each in its own process group: Ctrl-C reaches only this script, which then
    # stops them in order (a terminal's SIGINT would also hit Celery's pool children).
    # Their output goes to var/log/, so the banner below stays the last thing on screen.
    running = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, process_group=0, stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT
        )
        for name, cmd in procs.items()
    }
    if not _wait_until_ready(running, logs):
        _stop_all(running)
        return 1
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else f"SQLite ({var / 'plinth.sqlite3'})"
    broker = "Redis" if os.environ.get("REDIS_URL") else f"filesystem broker ({var / 'broker'})"
    mail = "SMTP" if os.environ.get("EMAIL_HOST") else "files (below)"
    mail_folder = (
        f"sent by SMTP via {os.environ['EMAIL_HOST']}" if os.environ.get("EMAIL_HOST") else var / "mail"
    )
    print(
        f"\n  Plinth is running at http://{HOST}:{PORT}/\n"
        f"  database: {database}; broker: {broker}; email: {mail}\n\n"
        "  Demo logins (password for all: plinth-demo-2026)\n"
        "    therapist  therapist@demo.plinth   lands on /caseload/\n"
        "    colleague  colleague@demo.plinth   lands on /caseload/\n"
        "    patient    patient@demo.plinth     lands on /today/\n"
        "    admin      admin@demo.plinth       lands on /admin/\n\n"
        f"  Emails (invitations, password resets, reminders, alerts): {mail_folder}\n"
        f"  Logs: {logs / 'web.log'}, worker.log and beat.log beside it.\n"
        "  Ctrl-C stops the web app, the worker and beat.\n",
        flush=True,
    )
    try:
        while all(proc.poll() is None for proc in running.values()):
            time.sleep(0.5)
        failed = [name for name, proc in running.items() if proc.poll() is not None]
        for name in failed:
            _show_tail(logs / f"{name}.log")
        print(f"run: {', '.join(failed)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(running)


def _stop_all(running: dict[str, subprocess.Popen[bytes]]) -> None:
    """Stop the children: SIGTERM to each, then up to 10 s each to exit before SIGKILL. SIGINT,
    SIGTERM and SIGHUP are ignored meanwhile (an impatient second Ctrl-C must not cut this
    short) and their handlers put back once every child has exited."""
    before = {stop_signal: signal.signal(stop_signal, signal.SIG_IGN) for stop_signal in STOP_SIGNALS}
    try:
        for proc in running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in running.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for stop_signal, handler in before.items():
            signal.signal(stop_signal, handler)


def _show_tail(path: Path, lines: int = 20) -> None:
    text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
    print(f"--- the last lines of {path} ---", *text, sep="\n", file=sys.stderr)


def _wait_until_ready(running: dict[str, subprocess.Popen[bytes]], logs: Path, timeout: float = 90) -> bool:
    """True once the web app answers /healthz and the worker says it is ready (each process's
    log is shown, and False returned, if one stops first or ``timeout`` seconds pass)."""
    deadline = time.monotonic() + timeout
    web_ok = worker_ok = False
    while time.monotonic() < deadline:
        stopped = [name for name, proc in running.items() if proc.poll() is not None]
        if stopped:
            for name in stopped:
                _show_tail(logs / f"{name}.log")
            print(f"run: {', '.join(stopped)} stopped while starting", file=sys.stderr)
            return False
        if not web_ok:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{PORT}/healthz", timeout=2) as answer:
                    web_ok = answer.status == 200
            except (OSError, ValueError):
                pass
        worker_ok = worker_ok or " ready." in (logs / "worker.log").read_text(errors="replace")
        if web_ok and worker_ok:
            return True
        time.sleep(0.5)
    for name in ("web", "worker"):
        _show_tail(logs / f"{name}.log")
    print(f"run: not ready after {timeout:.0f} s", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(main())
