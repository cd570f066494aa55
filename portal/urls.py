from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from portal import views

handler404 = "portal.api_exceptions.api_aware_not_found"
handler500 = "portal.api_exceptions.api_aware_server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    # The API first: integrations send most of the requests, and a page's path fails
    # this prefix at once.
    path("api/v1/", include("portal.api_urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("patients.auth_urls")),
    path("admin/", admin.site.urls),
    path("", include("patients.account_urls")),
    path("", include("patients.urls")),
    path("", include("careplans.urls")),
]
