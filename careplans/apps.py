"""Care plans: the builder, versions, the handout, and moving a patient's plans with them."""

from django.apps import AppConfig


class CareplansConfig(AppConfig):
    name = "careplans"
    verbose_name = "Care plans"
