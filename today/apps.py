"""The patient's minute: today's exercises, marking them done, the daily check-in, their own data."""

from django.apps import AppConfig


class TodayConfig(AppConfig):
    name = "today"
    verbose_name = "Today"
