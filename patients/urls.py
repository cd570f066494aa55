from django.urls import path

from patients import views

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("today/", views.today, name="today"),
]
