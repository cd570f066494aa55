"""Password pages: every way a user sets a new password ends the credentials it must end."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse_lazy

from accounts.credentials import revoked_tokens_message, user_password_changed
from accounts.models import User
from portal.access import client_ip


def password_changed_on_page(request: HttpRequest, *, user: User, via: str) -> None:
    """Run the password-change service for ``user`` and tell the page what it revoked.

    ``via`` is "reset", "change" or "admin" (staff set another user's password).
    Call inside the transaction that saved the password.
    """
    actor = request.user if isinstance(request.user, User) else user
    ended = user_password_changed(user=user, actor=actor, ip=client_ip(request), via=via)
    if ended.api_tokens:
        messages.info(request, revoked_tokens_message(ended.api_tokens, own=actor.pk == user.pk))


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's reset-link page; the new password also revokes the user's API tokens."""

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_changed_on_page(self.request, user=form.user, via="reset")
        return response


class PasswordChange(auth_views.PasswordChangeView):
    """Change one's own password (the old one first); this session stays, others end.

    A patient who joined without a password (an invitation or an emailed sign-in link,
    Plinth issue 19) has no old one to type: they choose their first here.
    """

    template_name = "registration/plinth_password_change.html"
    success_url = reverse_lazy("password_change_done")

    def get_form_class(self) -> Any:
        has_password = isinstance(self.request.user, User) and self.request.user.has_usable_password()
        return super().get_form_class() if has_password else SetPasswordForm

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_changed_on_page(self.request, user=form.user, via="change")
        return response


class PasswordChangeDone(auth_views.PasswordChangeDoneView):
    template_name = "registration/plinth_password_change_done.html"
