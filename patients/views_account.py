"""The user's own account pages: API tokens, the data download, and the clinic audit search."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patients.api_export import patient_export
from patients.api_tokens import api_token_create, api_token_revoke, tokens_for
from patients.audit import audit_log, audit_read
from patients.models import ApiToken, Clinic, Patient, User
from patients.selectors import clinic_audit_events, clinic_patients
from portal.access import client_ip, patient_of, patient_required, therapist_of, therapist_required
from portal.errors import DomainError

AUDIT_PER_PAGE = 50
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
        "patients/account_tokens.html",
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


@patient_required
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    """The patient's own data as a JSON download, the same document as /api/v1/me/export/."""
    patient = patient_of(request)
    audit_log(
        action="patient.exported",
        actor=request.user,
        obj=patient,
        ip=client_ip(request),
        data={"via": "page"},
    )
    body = json.dumps(patient_export(patient=patient), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plinth-my-data-{date.today():%Y-%m-%d}.json"'
    return response


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
    """The clinic's audit trail, searchable by patient and date range (newest first)."""
    therapist = therapist_of(request)
    form = AuditSearchForm(request.GET or None, clinic=therapist.clinic)
    events = clinic_audit_events(clinic=therapist.clinic)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("patient"):
            events = events.filter(patient=data["patient"])
        zone = timezone.get_current_timezone()
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
    return render(
        request,
        "patients/audit_search.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.is_bound and form.errors else 200,
    )
