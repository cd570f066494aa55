"""Alert rules (red flags, worsening, silence), the attention list, alert emails and the digest."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"
