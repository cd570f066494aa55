"""The login page with its "Email me a sign-in link" form, the link itself (accounts.signin), and
logging out everywhere, which ends the links too."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.credentials import user_log_out_everywhere
from accounts.forms import EmailAuthenticationForm, SignInLinkForm
from accounts.limits import rate_limited, usage
from accounts.models import User
from accounts.signin import LINK_MINUTES, LINK_REFUSED, sign_in_link_use, sign_in_link_user
from accounts.tasks import sign_in_link_email
from portal.access import client_ip


class LoginPage(auth_views.LoginView):
    """Django's login view by email and password, with the sign-in link form beside it."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {"link_form": SignInLinkForm(), **super().get_context_data(**kwargs)}


def _login_page(request: HttpRequest, *, status: int, **context: Any) -> HttpResponse:
    """The login page with both forms (``context`` may bring its own), answering ``status``."""
    context = {"form": EmailAuthenticationForm(request), "link_form": SignInLinkForm(), "next": "", **context}
    return render(request, "registration/login.html", context, status=status)


@require_POST
@rate_limited("sign_in_link")
def sign_in_link_request(request: HttpRequest) -> HttpResponse:
    """Queue a sign-in link for the address typed, and say "check your email".

    The answer is the same page for every well-formed address, with an account or not
    (the task decides whether to send; accounts.tasks.sign_in_link_email). Past
    ``PLINTH_RATE_LIMITS["sign_in_link_account"]`` for one address the page is still
    the same but nothing is queued; past ``["sign_in_link"]`` for one client, 429.
    A malformed address: the login page again with the reason, 400.
    """
    form = SignInLinkForm(request.POST)
    if not form.is_valid():
        return _login_page(request, status=400, link_form=form)
    email = form.cleaned_data["email"]
    found = usage(request, scope="sign_in_link_account", count=True, key=email)
    if found is None or not found["should_limit"]:
        sign_in_link_email.delay(email, client_ip(request))
    return render(request, "registration/sign_in_link_sent.html", {"email": email, "minutes": LINK_MINUTES})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """An emailed link (``?sesame=<token>``): GET asks "Sign in to Plinth as <first name>?",
    and the "Sign in" button's POST (the token in the body) signs the patient in and goes to Today.

    GET neither signs in nor uses the link up (accounts.signin.sign_in_link_user): email
    scanners and link previews open links by themselves. Its answer names the patient by
    first name only, is never stored, and lets no request from it carry its address as the
    referrer (the token is in it).
    A link that does not work (expired, used, made before a new password or a log-out
    everywhere, an account that may not use links, or no token at all) gives the login
    page saying so, with the form to ask for a new one: 410 Gone, at GET and at POST.
    """
    if request.method == "POST":
        user = sign_in_link_use(token=request.POST.get("sesame", ""), ip=client_ip(request))
        if user is None:
            return _login_page(request, status=410, link_refused=LINK_REFUSED)
        login(request, user, backend="accounts.backends.ModelBackendWithRole")
        messages.success(request, "You are signed in.")
        return redirect("today")
    token = request.GET.get("sesame", "")
    user = sign_in_link_user(token=token)
    if user is None:
        response = _login_page(request, status=410, link_refused=LINK_REFUSED)
    else:
        context = {"first_name": user.get_short_name(), "token": token}
        response = render(request, "registration/sign_in_link_confirm.html", context)
    # The token is in this page's address: requests from it name our origin only, never the
    # address. Not "no-referrer": with it a browser posts the page's forms with "Origin: null",
    # which the CSRF check refuses.
    response["Referrer-Policy"] = "strict-origin"
    return response


@never_cache
@require_POST
@login_required
def log_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of the user (this one too) and every sign-in link emailed to them;
    then the login page, saying so. Their password and API tokens stay."""
    user = request.user
    assert isinstance(user, User)  # login_required
    user_log_out_everywhere(user=user, ip=client_ip(request))
    logout(request)
    messages.info(
        request, "You are logged out on every device, and sign-in links emailed to you no longer work."
    )
    return redirect("login")
