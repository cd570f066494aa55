"""The send box: the text and the hidden idempotency key that makes a repeated send harmless."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from conversations.models import MESSAGE_MAX_LENGTH

#: The refusal of a send box posted without its key (a stale or hand-made form): nothing is sent.
KEY_MISSING = (
    "Your message was not sent: the form was missing its one-time key. Check it and press Send again."
)


#: The refusal of a message the input guard took NUL characters out of: shown again, not sent.
NUL_IN_MESSAGE = (
    "Your message had a NUL character, which cannot be sent; it is removed. "
    "Check your message and press Send again."
)


def new_key() -> str:
    """A fresh idempotency key for a send box: a random UUID's 32 hex digits."""
    return uuid.uuid4().hex


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
        kwargs.setdefault("initial", {"idempotency_key": new_key()})
        super().__init__(*args, **kwargs)
