"""Template tags other apps' pages use to show a piece of the conversations without importing it.

The patient's Settings page (reminders, a sibling app that may not import this one) shows
the message-email switch with ``{% load conversations %}{% message_emails_setting %}``.
"""

from __future__ import annotations

from typing import Any

from django import template

from conversations.models import Conversation

register = template.Library()


@register.inclusion_tag("conversations/_email_setting.html", takes_context=True)
def message_emails_setting(context: dict[str, Any]) -> dict[str, Any]:
    """The switch for the signed-in patient (``request.user.patient``): on unless they turned it off."""
    patient = getattr(context["request"].user, "patient", None)
    off = patient is not None and Conversation.objects.filter(patient=patient, email_patient=False).exists()
    return {"message_emails": not off, "csrf_token": context.get("csrf_token")}
