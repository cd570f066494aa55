"""`make run`'s emails: one .eml file per message, named by time, recipient and subject."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.mail import EmailMessage, send_mail

from portal.mail import mail_file_name


def test_each_message_is_a_file_named_by_time_recipient_and_subject(settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_BACKEND = "portal.mail.FileEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    send_mail("You are invited to Plinth", "Open the link.", None, ["patient@demo.plinth"])
    send_mail("Reminder: how is your pain today?", "Check in.", None, ["sam@demo.plinth"])
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 2
    invitation = next(name for name in names if "patient@demo.plinth" in name)
    assert invitation.endswith("_patient@demo.plinth_You-are-invited-to-Plinth.eml")
    parsed = email.message_from_bytes((tmp_path / invitation).read_bytes())
    assert parsed["Subject"] == "You are invited to Plinth" and parsed["To"] == "patient@demo.plinth"


def test_file_names_are_safe_whatever_the_subject() -> None:
    message = EmailMessage(subject="../../etc/passwd: ünïcode / ? *", to=["a b@x.org"])
    name = mail_file_name(message, at=datetime(2026, 11, 30, 8, 15, 2, 123456, tzinfo=UTC))
    assert name == "20261130-081502-123456_a-b@x.org_..-..-etc-passwd-n-code.eml"
    assert "/" not in name
