"""API v1 routes. Each app contributes its viewsets to the one router here."""

from __future__ import annotations

from csp.constants import NONCE
from csp.decorators import csp_update
from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import MeView, PatientViewSet
from alerts.api import AlertViewSet
from careplans.api import CarePlanViewSet
from checkins.api import PatientCheckInListView
from conversations.api import MyMessagesView, PatientMessagesView
from library.api import ExerciseViewSet, PlanTemplateViewSet
from outcomes.api import OutcomeSnapshotViewSet
from portal.api.schema import SchemaView
from questionnaires.api import InstrumentViewSet, PlanQuestionnaireScheduleView, QuestionnaireResponseViewSet
from today.api import CheckInCorrectView, CheckInCreateView, MeExportView

# Hashes of the inline <style> elements of the pinned Redoc bundle (sidecar);
# tests/api/test_docs_browser.py fails if a sidecar upgrade changes them.
REDOC_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
]


router = DefaultRouter()


router.register("exercises", ExerciseViewSet, basename="api-exercise")


router.register("templates", PlanTemplateViewSet, basename="api-template")


router.register("patients", PatientViewSet, basename="api-patient")


router.register("careplans", CarePlanViewSet, basename="api-careplan")


router.register("outcomes", OutcomeSnapshotViewSet, basename="api-outcome")


router.register("alerts", AlertViewSet, basename="api-alert")


router.register("instruments", InstrumentViewSet, basename="api-instrument")


router.register(
    "questionnaire-responses", QuestionnaireResponseViewSet, basename="api-questionnaire-response"
)


urlpatterns: list[URLPattern | URLResolver] = [
    # Before the router, so these win over any "checkins" or "patients" route it generates.
    path("checkins/", CheckInCreateView.as_view(), name="api-checkin-create"),
    path("checkins/<str:checkin_id>/", CheckInCorrectView.as_view(), name="api-checkin-detail"),
    path(
        "patients/<str:patient_id>/checkins/", PatientCheckInListView.as_view(), name="api-patient-checkins"
    ),
    path(
        "careplans/<str:plan_id>/questionnaires/",
        PlanQuestionnaireScheduleView.as_view(),
        name="api-careplan-questionnaires",
    ),
    path("patients/<str:patient_id>/messages/", PatientMessagesView.as_view(), name="api-patient-messages"),
    path("me/", MeView.as_view(), name="api-me"),
    path("me/messages/", MyMessagesView.as_view(), name="api-me-messages"),
    path("me/export/", MeExportView.as_view(), name="api-me-export"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL of its own, so the
    # page needs no inline script; our templates drop the inline styles too.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    # Redoc injects <style> elements at run time: styled-components' ones get the
    # nonce given on the <redoc> element; the two the bundle adds while loading,
    # before it reads any option, are allowed by their hashes (an empty sheet that
    # is then filled through the CSSOM, and a fixed stylesheet). This page alone.
    path(
        "redoc/",
        csp_update({"style-src": [NONCE, *REDOC_STYLE_HASHES]})(
            SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")
        ),
        name="api-redoc",
    ),
    *router.urls,
]
