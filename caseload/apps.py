"""The therapist's desk: the caseload with the most urgent patients first, and the patient record."""

from django.apps import AppConfig


class CaseloadConfig(AppConfig):
    name = "caseload"
    verbose_name = "Caseload"
