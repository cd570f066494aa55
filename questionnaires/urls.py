"""The patient's questionnaire pages, and the therapist's page of a plan's questionnaires."""

from django.urls import path

from questionnaires import plan_pages, views

urlpatterns = [
    path("questionnaires/<int:schedule_id>/", views.questionnaire, name="questionnaire"),
    path("questionnaires/<int:schedule_id>/done/", views.questionnaire_done, name="questionnaire-done"),
    path("plans/<int:plan_id>/questionnaires/", plan_pages.plan_questionnaires, name="plan-questionnaires"),
]
