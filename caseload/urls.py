"""The therapist's caseload and the patient record."""

from django.urls import path

from caseload import views

urlpatterns = [
    path("caseload/", views.caseload, name="caseload"),
    path("patients/<int:patient_id>/", views.patient_record_page, name="patient-record"),
    path("patients/<int:patient_id>/phone/", views.patient_phone, name="patient-phone"),
]
