"""The project's URLs: the API, the admin, and each app's pages."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from portal import views

#: The apps with pages, each with its own urls.py.
PAGE_APPS = (
    "accounts",
    "library",
    "careplans",
    "questionnaires",
    "outcomes",
    "alerts",
    "reminders",
    "conversations",
    "today",
    "caseload",
)

handler404 = "portal.api.exceptions.api_aware_not_found"
handler500 = "portal.api.exceptions.api_aware_server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    # The API first: integrations send most of the requests, and a page's path fails
    # this prefix at once.
    path("api/v1/", include("portal.api.urls")),
    path("fhir/R4/", include("fhir_r4.urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.auth_urls")),
    path("admin/", admin.site.urls),
    *(path("", include(f"{app}.urls")) for app in PAGE_APPS),
]
