"""The web server of ``make run``: Django's development server, bounded as gunicorn is in production.

Django's ``runserver`` waits for a request's line and headers with no time
limit, and takes a request line or a header field of up to 64 KiB. A client
that never finishes its headers then holds a server thread, and itself, for
ever: curl 7.88 does exactly that for a URL longer than about 8 KB when it has
cookies for the site (it drops them as too long but leaves the header block
without its closing empty line), so a logged-in
``curl "http://127.0.0.1:8000/caseload/?q=aaaa...(9000)"`` waited for an
answer the server was still waiting to be asked for.

This server is Django's (the same request handler, WSGI handler, threads and
log lines) with these bounds:

- a request line longer than ``MAX_REQUEST_LINE`` bytes is answered 414 as
  soon as the line has arrived, before any header is read; a header field
  longer than ``MAX_HEADER_FIELD`` bytes (or more than 100 fields, Python's own
  limit) is answered 431. These are gunicorn's defaults, which production runs
  with: what production refuses never reaches the app here either.
- the request line and headers must arrive within ``HEAD_TIMEOUT`` seconds in
  all (a client trickling one byte at a time gains nothing), else 408; a
  kept-alive or fresh connection on which nothing arrives is closed silently.
- after the headers, every read of the body and every write of the answer may
  wait ``BODY_TIMEOUT`` seconds at most. A body that stops arriving makes the
  view's read fail (Django answers it as an error) and the rest of the body
  reads as empty, so the thread finishes.

Run as ``python -m portal.devserver 127.0.0.1:8000`` (scripts/run.py does).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import socketserver
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, cast

from django.core.management import call_command
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.wsgi import get_wsgi_application

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# gunicorn's defaults (limit_request_line, limit_request_field_size), in bytes
# without the line's CRLF; tests/foundation/test_devserver.py holds them equal.
MAX_REQUEST_LINE = 4094
MAX_HEADER_FIELD = 8190
# Seconds for the whole request line and headers, and for each read or write after them.
HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0


class _TimedSocketReader(io.RawIOBase):
    """The request socket as a raw stream whose every read waits at most ``handler.read_timeout()`` seconds.

    The first read that times out raises ``TimeoutError``; every read after it
    returns end of stream, so that Django's draining of an unread body ends.
    """

    def __init__(self, handler: DevRequestHandler) -> None:
        super().__init__()
        self._handler = handler
        self.timed_out = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self.timed_out:
            return 0
        try:
            self._handler.sock.settimeout(self._handler.read_timeout())
            received = self._handler.sock.recv_into(buffer)
        except TimeoutError:
            self.timed_out = True
            raise
        self._handler.bytes_received += received
        return received


class DevRequestHandler(WSGIRequestHandler):
    """Django's development request handler with gunicorn's size limits and read deadlines.

    ``head_timeout`` and ``body_timeout`` are in seconds (class attributes, so a
    test can shorten them). ``bytes_received`` counts the bytes received since
    the current request began.
    """

    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT
    bytes_received = 0
    sock: socket.socket
    _head_deadline: float | None = None

    def setup(self) -> None:
        super().setup()
        # socketserver's ``request`` is the connection's socket (django-stubs type it as a request).
        self.sock = cast(socket.socket, self.request)
        # socketserver made a plain buffered reader; this one keeps the deadlines.
        self.rfile.close()
        self.rfile = io.BufferedReader(_TimedSocketReader(self))  # type: ignore[assignment]

    def read_timeout(self) -> float:
        """Seconds the next read may wait: what is left of the head's deadline, else ``body_timeout``.

        Raises ``TimeoutError`` once the head's deadline has passed.
        """
        if self._head_deadline is None:
            return self.body_timeout
        left = self._head_deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request line and headers took over {self.head_timeout:g} s")
        return left

    def handle_one_request(self) -> None:
        self._head_deadline = time.monotonic() + self.head_timeout
        self.bytes_received = 0
        # What send_error() and the access log read if the request line never arrives.
        self.requestline = self.request_version = ""
        self.command = ""
        try:
            super().handle_one_request()
        except TimeoutError:
            self.close_connection = True
            if self._head_deadline is not None and self.bytes_received:
                self.send_error(
                    HTTPStatus.REQUEST_TIMEOUT,
                    explain=f"The request line and headers took longer than {self.head_timeout:g} seconds",
                )
            # Otherwise nothing was asked (an idle connection), or the answer could
            # not be written within body_timeout: there is no one to tell.

    def parse_request(self) -> bool:
        line = self.raw_requestline.rstrip(b"\r\n")
        if len(line) > MAX_REQUEST_LINE:
            # Refused before the headers are read: they may never end.
            self.requestline = line[:80].decode("latin-1") + "..."
            self.send_error(
                HTTPStatus.REQUEST_URI_TOO_LONG,
                explain=f"The request line is longer than {MAX_REQUEST_LINE} bytes",
            )
            return False
        if not super().parse_request():
            return False
        for name, value in self.headers.items():
            if len(name) + len(": ") + len(value) > MAX_HEADER_FIELD:
                self.send_error(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    explain=f"The header field {name[:64]} is longer than {MAX_HEADER_FIELD} bytes",
                )
                return False
        self._head_deadline = None
        # Bounds the body's reads and also the answer's writes (same socket).
        self.sock.settimeout(self.body_timeout)
        return True


class DevServer(socketserver.ThreadingMixIn, WSGIServer):
    """Django's threaded development server (one thread per connection) with ``DevRequestHandler``."""

    daemon_threads = True


def parse_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8000"`` or ``"[::1]:8000"`` as ``(host, port)``."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("address", type=parse_address, help="HOST:PORT to listen on")
    host, port = parser.parse_args(argv).address
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    application = get_wsgi_application()
    call_command("check")
    with DevServer((host, port), DevRequestHandler, ipv6=":" in host) as httpd:
        httpd.set_app(application)
        print(f"Development server at http://{host}:{port}/ (portal.devserver)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
