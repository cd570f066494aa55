"""The acknowledge form: an optional note of what was done, and where the alert was shown."""

from __future__ import annotations

from django import forms

from alerts.services import ACK_NOTE_MAX

#: Where an acknowledge button sits, which decides the fragment an HTMX request gets back.
SHOWN_ON = (("record", "the patient record"), ("attention", "the attention list"))


class AlertAcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What was done (optional)",
        required=False,
        max_length=ACK_NOTE_MAX,
        error_messages={"max_length": f"The note can be at most {ACK_NOTE_MAX} characters."},
    )
    shown_on = forms.ChoiceField(choices=SHOWN_ON, required=False)
