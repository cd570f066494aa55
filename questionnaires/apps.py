"""Questionnaires beyond pain (issue 18): FHIR Questionnaire definitions, their loading and scoring."""

from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Questionnaires"
