"""The audit trail: who did what to which record, when and from where; every read of patient data.

The lowest app: every other app writes entries, so it imports none of them.
"""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"
