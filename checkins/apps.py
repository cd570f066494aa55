"""What patients report: pain check-ins, exercises marked done, adherence, trends and charts."""

from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "checkins"
    verbose_name = "Check-ins"
