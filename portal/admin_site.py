"""The admin site: Django's, with the staff member's own password change ending their credentials."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

from patients.auth_views import password_changed_on_page
from patients.models import User


class PlinthAdminSite(admin.AdminSite):
    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """Django's page; a saved password also revokes the staff member's API tokens."""
        user = cast(User, request.user)
        with transaction.atomic():
            before = user.password
            response = super().password_change(request, extra_context)
            if user.password != before:
                password_changed_on_page(request, user=user, via="change")
        return response
