"""API v1 routes. Each app contributes its viewsets to the one router here."""

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from careplans.api import CarePlanViewSet, ExerciseViewSet, OutcomeSnapshotViewSet, PlanTemplateViewSet
from patients.api import CheckInCreateView, PatientCheckInListView
from patients.api_people import AlertViewSet, MeExportView, MeView, PatientViewSet

router = DefaultRouter()
router.register("exercises", ExerciseViewSet, basename="api-exercise")
router.register("templates", PlanTemplateViewSet, basename="api-template")
router.register("patients", PatientViewSet, basename="api-patient")
router.register("careplans", CarePlanViewSet, basename="api-careplan")
router.register("outcomes", OutcomeSnapshotViewSet, basename="api-outcome")
router.register("alerts", AlertViewSet, basename="api-alert")

urlpatterns: list[URLPattern | URLResolver] = [
    # Before the router, so these win over any "checkins" or "patients" route it generates.
    path("checkins/", CheckInCreateView.as_view(), name="api-checkin-create"),
    path(
        "patients/<str:patient_id>/checkins/", PatientCheckInListView.as_view(), name="api-patient-checkins"
    ),
    path("me/", MeView.as_view(), name="api-me"),
    path("me/export/", MeExportView.as_view(), name="api-me-export"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL of its own, so the
    # page needs no inline script; our templates drop the inline styles too.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    *router.urls,
]
