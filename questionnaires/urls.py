"""The patient's questionnaire pages."""

from django.urls import path

from questionnaires import views

urlpatterns = [
    path("questionnaires/<int:schedule_id>/", views.questionnaire, name="questionnaire"),
    path("questionnaires/<int:schedule_id>/done/", views.questionnaire_done, name="questionnaire-done"),
]
