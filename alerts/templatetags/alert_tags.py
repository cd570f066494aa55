"""Template helpers for alerts: the acknowledgement note's limit, from its one definition."""

from __future__ import annotations

from django import template

from alerts.services import ACK_NOTE_MAX

register = template.Library()


@register.simple_tag
def ack_note_max() -> int:
    """The most characters an acknowledgement note takes (alerts.services.ACK_NOTE_MAX, the model's)."""
    return ACK_NOTE_MAX
