"""Messages between a patient and their clinic's care team (issue 19)."""

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Messages"
