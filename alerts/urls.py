"""The attention list and acknowledging an alert."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("caseload/attention/", views.attention, name="attention"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
]
