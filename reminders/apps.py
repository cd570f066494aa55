"""Daily check-in reminders: who is due, claimed once, sent once; the patient's reminder settings."""

from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Reminders"
