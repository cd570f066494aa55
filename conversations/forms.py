"""The send box: the text and the hidden idempotency key that makes a repeated send harmless."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from conversations.models import MESSAGE_MAX_LENGTH


class MessageForm(forms.Form):
    """The message and its idempotency key. The text's rules are the send service's
    (``conversations.services.message_text``), so the page and the API refuse alike; the
    key is a fresh UUID for each new form and kept when the form comes back with an error."""

    body = forms.CharField(
        label="Your message",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_MAX_LENGTH}),
        help_text=f"Up to {MESSAGE_MAX_LENGTH:,} characters. No attachments.",
    )
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"idempotency_key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
