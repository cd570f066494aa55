"""Fixtures of the accounts tests: a real SMTP server for the emails they read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import SMTPServer


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free port, and Django sending to it; the messages it
    accepted are in ``smtp.handler.messages``."""
    server = SMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    yield server
    server.stop()
