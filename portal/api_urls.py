"""API v1 routes. Each app contributes its viewsets to the one router here."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
]
