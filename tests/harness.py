"""Real services for the fault tests: a redis-server, an aiosmtpd server and a Celery
worker process, each on a free loopback port, each stoppable and restartable."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
assert (ROOT / "manage.py").exists(), ROOT  # the workers start from the project's root
CELERY = str(Path(sys.executable).parent / "celery")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, seconds: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class RedisServer:
    """A throwaway redis-server without persistence: a restart loses every queued message."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/sysdeps.sh installs it)")
        self.binary = binary
        self.tmp = tmp
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.tmp), "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.port), seconds=15, what="redis-server")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), seconds=10, what="redis-server to stop")

    def restart(self) -> None:
        self.kill()
        self.start()


class CountingHandler:
    """Counts accepted messages per recipient. Can hold new transactions at RCPT,
    so a test can kill the worker while it is in the middle of an SMTP dialogue
    (a message held there is never accepted, so it is never counted)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.message_ids: Counter[str] = Counter()
        # Every message accepted, as parsed, for tests that read what was sent (a link in it).
        self.messages: list[Message] = []
        self.hold_after: int | None = None
        self.held = 0
        self.release = threading.Event()

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.hold_after is not None and self.total >= self.hold_after:
            with self.lock:
                self.held += 1
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held by the test; not accepted"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.counts[rcpt] += 1
            self.message_ids[str(message.get("Message-ID", ""))] += 1
            self.messages.append(message)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self) -> None:
        self.handler = CountingHandler()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def database_url() -> str:
    """The pytest test database, as a URL the worker process can use."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """``celery -A portal worker`` as a separate process group, so SIGKILL takes all of it."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.revived = 0

    @property
    def log_path(self) -> Path:
        # Kept in test-artifacts/ so a failed run's worker log can be read afterwards.
        folder = ROOT / "test-artifacts" / "jobs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"worker-{os.getpid()}-{id(self)}-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                *(CELERY, "-A", "portal", "worker", "--pool", "prefork", "-c", "2", "--loglevel", "INFO"),
                *(
                    "-n",
                    f"faults{self.runs}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(self._ready, seconds=60, what=f"the Celery worker (log: {self.log_path})", every=0.2)

    def supervise(self) -> bool:
        """Start the worker again if it has exited by itself; True if it had.

        What the deployment's restart policy does (docker-compose.yml: restart:
        unless-stopped). A Celery worker can exit on a broker connection it loses
        ("Unrecoverable error" from kombu's reconnect), and the system's promise
        (no reminder lost, none sent twice) holds for the stack as deployed.
        """
        if self.proc is None or self.proc.poll() is None:
            return False
        self.revived += 1
        self.start()
        return True

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
        return b" ready." in self.log_path.read_bytes()

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole worker: the main process and its pool children."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def worker_env(*, redis: RedisServer, smtp: SMTPServer, tmp: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "PYTEST"))}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis.url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        EMAIL_TIMEOUT="5",
        SECRET_KEY=settings.SECRET_KEY,
        SITE_URL=settings.SITE_URL,
        PLINTH_VAR_DIR=str(tmp / "var"),
        **extra,
    )
    return env


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` (and back afterwards)."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)

    def reset_pools() -> None:
        # The app's pools live in kombu's process-wide registries (keyed by broker URL):
        # close them all and empty the registries, or a later publish would be handed
        # a closed pool.
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url = url
    conf.broker_transport_options = {
        "visibility_timeout": 2 * 60 * 60,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
    }
    conf.task_always_eager = False
    reset_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
        reset_pools()
