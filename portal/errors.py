"""The domain errors. The API turns them into a 400 (429 when rate limited), a page into a message."""

from __future__ import annotations

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

#: What publishing a task raises when the broker cannot be reached.
BROKER_ERRORS: tuple[type[Exception], ...] = (KombuOperationalError, RedisError, OSError)


class DomainError(Exception):
    """A business rule was broken; ``message`` is written for the user to read.

    ``code``: the rule, a stable snake_case name that callers and tests branch on
    (each service's docstring lists its codes); required, so every refusal names its
    rule. ``field``: the form or payload field the message belongs to, or None for the
    whole request. The API answers 404 for code ``not_found`` and 400 with
    ``as_dict()`` otherwise; the code is not part of the response body.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def as_dict(self) -> dict[str, list[str]]:
        """The API's 400 body: ``{field or "non_field_errors": [message]}``."""
        return {self.field or "non_field_errors": [self.message]}


class RateLimited(DomainError):
    """Too many of something in a short while; the client may try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="rate_limited")
        self.retry_after = retry_after
