#!/usr/bin/env python3
"""`make run`: prepare the database, then run web, Celery worker and beat until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


def _stop(signum: int, frame: object) -> None:
    # `kill` or a closed terminal stops everything the same way Ctrl-C does.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    manage("migrate", "--no-input", "-v", "0")
    manage("load_library")
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
    # Each in its own process group: Ctrl-C reaches only this script, which then
    # stops them in order (a terminal's SIGINT would also hit Celery's pool children).
    running = {name: subprocess.Popen(cmd, cwd=ROOT, process_group=0) for name, cmd in procs.items()}
    var = Path(os.environ.get("PLINTH_VAR_DIR", ROOT / "var"))
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else f"SQLite ({var / 'plinth.sqlite3'})"
    broker = "Redis" if os.environ.get("REDIS_URL") else f"filesystem broker ({var / 'broker'})"
    mail = "SMTP" if os.environ.get("EMAIL_HOST") else f"files under {var / 'mail'}"
    print(
        f"\n  Plinth is running at http://{HOST}:{PORT}/\n"
        f"  database: {database}; broker: {broker}; email: {mail}\n\n"
        "  Demo logins (password for all: plinth-demo-2026)\n"
        "    therapist  therapist@demo.plinth\n"
        "    colleague  colleague@demo.plinth\n"
        "    patient    patient@demo.plinth\n"
        "    admin      admin@demo.plinth   (Django admin at /admin/)\n\n"
        "  Ctrl-C stops the web app, the worker and beat.\n",
        flush=True,
    )
    try:
        while all(proc.poll() is None for proc in running.values()):
            time.sleep(0.5)
        failed = [name for name, proc in running.items() if proc.poll() is not None]
        print(f"run: {', '.join(failed)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in running.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
