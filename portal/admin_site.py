"""The admin site: Django's, with its login rate limited and a password change ending the credentials."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator

from accounts.auth_views import password_changed_on_page
from accounts.limits import rate_limited
from accounts.models import User


class PlinthAdminSite(admin.AdminSite):
    # Django marks its own login page login_not_required; the override keeps that.
    @login_not_required
    @method_decorator(rate_limited("login"))
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Django's page, counted against the same per-address login limits as the site's own."""
        return super().login(request, extra_context)

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
