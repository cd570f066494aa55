"""Email: written to files, one per message, named so a person finds the one they want; and the
retry policy of every task that sends one email.

``make run``'s default (no ``EMAIL_HOST``): each message becomes
``var/mail/<UTC time>_<first recipient>_<subject>.eml``, e.g.
``20261130-081502-123456_patient@demo.plinth_You-are-invited-to-Plinth.eml``, which any mail
program opens. Django's own file backend writes every message of a process into one
``.log`` file with a timestamp for a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from smtplib import SMTPException
from typing import Any, Final, TypedDict

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class TaskOptions(TypedDict):
    """The Celery task options a shared retry policy sets (celery.shared_task's keywords)."""

    acks_late: bool
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: bool
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int
    soft_time_limit: int
    time_limit: int


#: Celery options of a task that sends one email (``@shared_task(**EMAIL_TASK_OPTIONS)``): an SMTP
#: error or a network failure (OSError: refused, timed out) is retried up to 5 times, after
#: exponential backoff with jitter capped at 600 s; acknowledged late, so a worker lost mid-send
#: runs it again (the task must send once however often it runs); 50 s soft, 60 s hard limit.
EMAIL_TASK_OPTIONS: Final = TaskOptions(
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


def mail_file_name(message: EmailMessage, *, at: datetime) -> str:
    """``<UTC time to the microsecond>_<first recipient>_<subject>.eml``, each part made safe for a
    file name (runs of other characters become one ``-``; the subject is cut to 60 characters)."""
    recipient = _UNSAFE.sub("-", (message.to or ["no-recipient"])[0]).strip("-") or "no-recipient"
    subject = _UNSAFE.sub("-", str(message.subject)).strip("-")[:60] or "no-subject"
    return f"{at:%Y%m%d-%H%M%S-%f}_{recipient}_{subject}.eml"


class FileEmailBackend(BaseEmailBackend):
    """Writes each message as an ``.eml`` file in ``EMAIL_FILE_PATH``; returns how many it wrote."""

    def __init__(self, *, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.folder = Path(settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            path = self.folder / mail_file_name(message, at=datetime.now(UTC))
            try:
                path.write_bytes(message.message().as_bytes())
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            written += 1
        return written
