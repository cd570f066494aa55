#!/usr/bin/env python3
"""Run a command against throwaway PostgreSQL and Redis servers.

Usage: scripts/testenv.py -- COMMAND...

When DATABASE_URL and REDIS_URL are both set, the command runs against those.
Otherwise a PostgreSQL cluster (initdb/postgres as the ``postgres`` user when run
as root) and a redis-server start on free loopback ports in a temporary
directory, and are stopped again however the command ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    sys.exit("testenv: PostgreSQL is not installed (run scripts/sysdeps.sh)")


def as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def wait_for_port(port: int, what: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"testenv: {what} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"testenv: {what} did not start on port {port} within {seconds:.0f}s")


def start_postgres(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    bindir = pg_bindir()
    data = tmp / "pg"
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    # Durability is pointless for a cluster that is deleted after the run.
    proc = subprocess.Popen(
        as_postgres(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(tmp),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ]
        ),
        stdout=open(tmp / "postgres.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port, "postgres", proc)
    # The port answers a moment before the server accepts logins.
    for _ in range(100):
        ok = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            stdout=subprocess.DEVNULL,
        )
        if ok.returncode == 0:
            break
        time.sleep(0.1)
    return proc, f"postgres://postgres@127.0.0.1:{port}/postgres"


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    binary = shutil.which("redis-server") or sys.exit("testenv: redis-server is not installed")
    port = free_port()
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp),
        "--daemonize",
        "no",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    wait_for_port(port, "redis-server", proc)
    return proc, f"redis://127.0.0.1:{port}/0", cmd


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # postgres: fast shutdown; redis: clean exit
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_postgres(proc: subprocess.Popen[bytes] | None, data: Path) -> None:
    """Fast shutdown of the postmaster itself, not of runuser in front of it.

    runuser does not pass SIGINT on, so signalling it would leave the server
    running; the postmaster's pid is the first line of postmaster.pid.
    """
    if proc is None:
        return
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        stop(proc)
        return
    for sig, seconds in ((signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + seconds
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            break
    stop(proc)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__)
        return 2
    env = dict(os.environ)
    if env.get("DATABASE_URL") and env.get("REDIS_URL"):
        print("testenv: using DATABASE_URL and REDIS_URL from the environment", flush=True)
        return subprocess.call(argv, env=env)

    tmp = Path(tempfile.mkdtemp(prefix="plinth-test-"))
    pg = redis = None
    try:
        pg, database_url = start_postgres(tmp)
        redis, redis_url, redis_cmd = start_redis(tmp)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            # Fault tests restart Redis with exactly this command line.
            PLINTH_TEST_REDIS_CMD="\x1f".join(redis_cmd),
            PLINTH_TEST_REDIS_PID=str(redis.pid),
        )
        print(f"testenv: PostgreSQL at {database_url}, Redis at {redis_url} (in {tmp})", flush=True)
        child = subprocess.Popen(argv, env=env)
        try:
            return child.wait()
        finally:
            # Stopped early (SIGTERM from a CI timeout, a closed terminal): the
            # command goes first, then the servers, and the directory is removed.
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    finally:
        stop(redis)
        stop_postgres(pg, tmp / "pg")
        shutil.rmtree(tmp, ignore_errors=True)


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP: leave through the finally blocks, which stop the servers."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    sys.exit(main(sys.argv[1:]))
