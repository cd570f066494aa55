"""Fixtures for the foundation tests: every test starts with fresh rate-limit counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal.ratelimit import ratelimit_reset


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    ratelimit_reset()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The real hasher costs a third of a second per password; these tests make dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
