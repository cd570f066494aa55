"""Pages: the therapist's caseload and new patients, invitations, the patient's day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import therapist_of, therapist_required
from accounts.forms import InvitationRequestForm, PatientInviteForm
from accounts.models import ApiToken, Clinic, Patient, User
from accounts.selectors import clinic_patients, invitation_for_token, patient_for_clinic
from accounts.services import (
    INVITATION_PROBLEMS,
    INVITATION_STATUS,
    invitation_accept,
    invitation_request_new,
    invitation_resend,
    invitation_state,
    patient_invite,
)
from accounts.tokens import api_token_create, api_token_revoke, tokens_for
from audit.models import AuditEvent
from audit.presentation import Change, action_words, entry_changes, entry_notes
from audit.selectors import clinic_audit_events
from audit.services import audit_read
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error, redirect_back


@therapist_required
def patient_add(request: HttpRequest) -> HttpResponse:
    therapist = therapist_of(request)
    form = PatientInviteForm(request.POST or None, initial={"timezone": therapist.clinic.timezone})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                patient = patient_invite(
                    clinic=therapist.clinic,
                    by=therapist,
                    ip=client_ip(request),
                    **form.cleaned_data,
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    f"{patient.user.full_name} is added. An invitation is on its way to "
                    f"{patient.user.email}; the link works once, for 7 days. Now build their plan.",
                )
                return redirect("patient-plans", patient_id=patient.pk)
        status = 400
    return render(
        request, "accounts/patient_add.html", {"form": form, "clinic": therapist.clinic}, status=status
    )


@therapist_required
@require_POST
def patient_invitation_resend(request: HttpRequest, patient_id: int) -> HttpResponse:
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    try:
        invitation_resend(patient=patient, by=therapist, ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"A new invitation link is on its way to {patient.user.email}.")
    # Back to the page it was sent from (the record or the plans page), else the plans page.
    return redirect_back(request, reverse("patient-plans", args=[patient.pk]))


# --- invitations (anyone with the link) ----------------------------------------


@never_cache  # the page names the patient and their clinic, before anyone is logged in
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = invitation_for_token(token=token)
    state = invitation_state(found)
    if found is None or state != "valid":
        return render(
            request,
            "accounts/invitation_problem.html",
            {"problem": INVITATION_PROBLEMS[state], "state": state, "form": InvitationRequestForm()},
            status=INVITATION_STATUS[state],
        )
    user = found.patient.user
    clinic = found.patient.clinic
    # The page names the patient: its reader, unless it is the patient, is in the trail.
    audit_read([found.patient])
    # "Continue to my plan" (Plinth issue 19) posts no password: one tap, no form to fill. A clinic
    # that turned sign-in links off does not offer it; a post of it there is a password form left empty.
    without_password = (
        request.method == "POST" and "without_password" in request.POST and clinic.sign_in_links
    )
    form = SetPasswordForm(user, None if without_password else (request.POST or None))
    status = 200
    if request.method == "POST":
        if without_password or form.is_valid():
            password = None if without_password else form.cleaned_data["new_password1"]
            try:
                user = invitation_accept(token=token, password=password, ip=client_ip(request))
            except DomainError as exc:
                if exc.field is None and exc.code in INVITATION_STATUS:
                    # The link stopped working while the form was open (used, expired, account closed).
                    return render(
                        request,
                        "accounts/invitation_problem.html",
                        {"problem": exc.message, "state": exc.code, "form": InvitationRequestForm()},
                        status=INVITATION_STATUS[exc.code],
                    )
                form_error(form, exc)
            else:
                login(request, user, backend="accounts.backends.ModelBackendWithRole")
                messages.success(
                    request,
                    "Your password is set. Here is your plan for today."
                    if password
                    else "You are in. Here is your plan for today. You can choose a password any time "
                    "from “Change password”, or sign in with an emailed link.",
                )
                return redirect("today")
        status = 400
    return render(
        request,
        "accounts/invitation.html",
        {"form": form, "invited_user": user, "clinic": clinic},
        status=status,
    )


def invitation_request(request: HttpRequest) -> HttpResponse:
    form = InvitationRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation_request_new(email=form.cleaned_data["email"], ip=client_ip(request))
        # The same answer whether or not the address is known, so the form reveals nothing.
        return render(request, "accounts/invitation_requested.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/invitation_problem.html", {"form": form}, status=status)


AUDIT_PER_PAGE = 50


@dataclass(frozen=True)
class AuditRow:
    """One entry of the audit page: the entry, its action in words, and the values it changed."""

    event: AuditEvent
    words: str
    changes: list[Change]
    notes: list[tuple[str, str]]


NEW_KEY_SESSION = "plinth_new_api_token"


class TokenForm(forms.Form):
    name = forms.CharField(
        label="What will use this token?",
        max_length=100,
        help_text="For example: the clinic's reporting system.",
    )


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens and make a new one; its key is shown once, on the page after.

    The key waits in the server-side session only until that page pops it, so a
    reload neither shows it again nor makes a second token.
    """
    user = _user(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = api_token_create(user=user, name=form.cleaned_data["name"], ip=client_ip(request))
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            request.session[NEW_KEY_SESSION] = created.key
            return redirect("account-tokens")
    new_key = request.session.pop(NEW_KEY_SESSION, None) if request.method == "GET" else None
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request,
        "accounts/account_tokens.html",
        {"form": form, "tokens": tokens_for(user=user), "new_key": new_key},
        status=status,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(user=_user(request), token_id=token_id, ip=client_ip(request))
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, f"Token “{token.name}” is revoked; it no longer works.")
    return redirect("account-tokens")


class PatientChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.user.full_name or obj.user.email)


class AuditSearchForm(forms.Form):
    patient = PatientChoiceField(queryset=Patient.objects.none(), required=False, empty_label="All patients")
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the clinic's own patients can be chosen; another id is "not one of the choices".
        field = cast(PatientChoiceField, self.fields["patient"])
        field.queryset = clinic_patients(clinic=clinic).order_by("user__full_name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data


@therapist_required
@require_GET
def audit_search(request: HttpRequest) -> HttpResponse:
    """The clinic's audit trail, searchable by patient and date range (newest first).

    Times, and the dates searched, are the clinic's (its time zone); each entry's action is
    in words (audit.presentation) with the values before and after where it keeps them.
    A fixed number of queries whatever the page shows.
    """
    therapist = therapist_of(request)
    clinic = therapist.clinic
    form = AuditSearchForm(request.GET or None, clinic=clinic)
    events = clinic_audit_events(clinic=clinic)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("patient"):
            events = events.filter(patient=data["patient"])
        zone = ZoneInfo(clinic.timezone)
        if data.get("date_from"):
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=zone))
        if data.get("date_to"):
            end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
            events = events.filter(at__lt=end)
    elif form.is_bound:
        events = events.none()
    events = events.order_by("-at", "-id")
    page = Paginator(events, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    # The entries shown are about these patients: reading them is reading their records.
    audit_read(event.patient for event in page.object_list if event.patient is not None)
    query = request.GET.copy()
    query.pop("page", None)
    rows = [
        AuditRow(event, action_words(event.action), entry_changes(event.data), entry_notes(event.data))
        for event in page.object_list
    ]
    return render(
        request,
        "accounts/audit_search.html",
        {"form": form, "page": page, "rows": rows, "clinic": clinic, "query": query.urlencode()},
        status=400 if form.is_bound and form.errors else 200,
    )
