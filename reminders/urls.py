"""The patient's settings (time zone and reminders) and the one-click reminder opt-out."""

from django.urls import path

from reminders import views

urlpatterns = [
    path("settings/", views.settings_page, name="patient-settings"),
    path("reminders/stop/<str:token>/", views.reminders_optout, name="reminders-optout"),
]
