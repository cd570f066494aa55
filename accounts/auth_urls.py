"""Sign-in (password or emailed link), sign-out and password pages (Django's views, rate limited and
ending credentials)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django.views.generic import TemplateView

from accounts import signin_views
from accounts.auth_views import PasswordChange, PasswordChangeDone, PasswordResetConfirm
from accounts.forms import ClinicPasswordResetForm
from accounts.limits import rate_limited

urlpatterns = [
    path("login/", rate_limited("login")(signin_views.LoginPage.as_view()), name="login"),
    path("login/link/", signin_views.sign_in_link_request, name="sign-in-link-request"),
    path("login/link/open/", signin_views.sign_in_link, name="sign-in-link"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", signin_views.log_out_everywhere, name="logout-everywhere"),
    path(
        "logged-out/",
        TemplateView.as_view(template_name="registration/logged_out.html"),
        name="logout-page",
    ),
    path(
        "password-reset/",
        rate_limited("password_reset")(
            auth_views.PasswordResetView.as_view(
                form_class=ClinicPasswordResetForm,
                html_email_template_name=None,
                success_url=reverse_lazy("password_reset_done"),
            )
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("password-change/", PasswordChange.as_view(), name="password_change"),
    path("password-change/done/", PasswordChangeDone.as_view(), name="password_change_done"),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
