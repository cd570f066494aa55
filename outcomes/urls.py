"""Outcomes: the patient's progress, the clinic's report."""

from django.urls import path

from outcomes import views

urlpatterns = [
    path("progress/", views.progress, name="progress"),
    path("outcomes/", views.clinic_report, name="outcome-report"),
]
