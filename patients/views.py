"""Pages: the therapist's caseload and new patients, invitations, the patient's day."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from patients.audit import audit_read
from patients.forms import InvitationRequestForm, PatientInviteForm, SessionMarkForm
from patients.selectors import (
    attention_page,
    attention_top,
    caseload_for,
    invitation_for_token,
    patient_for_clinic,
    patient_plans,
    pending_invitation,
    today_entry,
    today_for,
)
from patients.services import (
    INVITATION_PROBLEMS,
    INVITATION_STATUS,
    exercise_session_mark,
    invitation_accept,
    invitation_request_new,
    invitation_resend,
    invitation_state,
    patient_invite,
)
from portal.access import client_ip, patient_of, patient_required, therapist_of, therapist_required
from portal.errors import DomainError


def form_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's DomainError next to its field, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- therapist ----------------------------------------------------------------


@therapist_required
def caseload(request: HttpRequest) -> HttpResponse:
    therapist = therapist_of(request)
    result = caseload_for(
        clinic=therapist.clinic, search=request.GET.get("q", "")[:100], page=request.GET.get("page")
    )
    context: dict[str, Any] = {
        "clinic": therapist.clinic,
        "caseload": result,
        # The most urgent few who need attention today; a search that only swaps the results skips it.
        "attention": None if is_htmx(request) else attention_top(clinic=therapist.clinic),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "caseload-results":
        return render(request, "patients/_caseload_results.html", context)
    return render(request, "patients/caseload.html", context)


@therapist_required
def attention(request: HttpRequest) -> HttpResponse:
    """Everyone who needs attention today, most urgent first, a page at a time (``?page=``)."""
    therapist = therapist_of(request)
    context = {
        "clinic": therapist.clinic,
        "attention": attention_page(clinic=therapist.clinic, page=request.GET.get("page")),
    }
    return render(request, "patients/attention.html", context)


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
    return render(request, "patients/patient_add.html", {"form": form}, status=status)


@therapist_required
def patient_plans_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    plans = list(patient_plans(patient=patient))
    context = {
        "patient": patient,
        "plans": plans,
        "has_active": any(plan.status == "active" for plan in plans),
        "invited": not patient.user.has_usable_password(),
        "invitation": pending_invitation(patient=patient),
    }
    return render(request, "patients/patient_plans.html", context)


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
    return redirect("patient-plans", patient_id=patient.pk)


# --- invitations (anyone with the link) ----------------------------------------


@never_cache  # the page names the patient and their clinic, before anyone is logged in
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = invitation_for_token(token=token)
    state = invitation_state(found)
    if found is None or state != "valid":
        return render(
            request,
            "patients/invitation_problem.html",
            {"problem": INVITATION_PROBLEMS[state], "state": state, "form": InvitationRequestForm()},
            status=INVITATION_STATUS[state],
        )
    user = found.patient.user
    # The page names the patient: its reader, unless it is the patient, is in the trail.
    audit_read([found.patient])
    form = SetPasswordForm(user, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = invitation_accept(
                    token=token, password=form.cleaned_data["new_password1"], ip=client_ip(request)
                )
            except DomainError as exc:
                if exc.field is None and exc.code in INVITATION_STATUS:
                    # The link stopped working while the form was open (used, expired, account closed).
                    return render(
                        request,
                        "patients/invitation_problem.html",
                        {"problem": exc.message, "state": exc.code, "form": InvitationRequestForm()},
                        status=INVITATION_STATUS[exc.code],
                    )
                form_error(form, exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, "Your password is set. Here is your plan for today.")
                return redirect("today")
        status = 400
    return render(
        request,
        "patients/invitation.html",
        {"form": form, "invited_user": user, "clinic": found.patient.clinic},
        status=status,
    )


def invitation_request(request: HttpRequest) -> HttpResponse:
    form = InvitationRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation_request_new(email=form.cleaned_data["email"], ip=client_ip(request))
        # The same answer whether or not the address is known, so the form reveals nothing.
        return render(request, "patients/invitation_requested.html", {"email": form.cleaned_data["email"]})
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/invitation_problem.html", {"form": form}, status=status)


# --- patient -------------------------------------------------------------------


@patient_required
def today(request: HttpRequest) -> HttpResponse:
    return render(request, "patients/today.html", {"day": today_for(patient=patient_of(request))})


@patient_required
@require_POST
def today_mark(request: HttpRequest, item_id: int) -> HttpResponse:
    """One tap marks an exercise done (or undoes it); a plain form post works without JS."""
    patient = patient_of(request)
    form = SessionMarkForm(request.POST)
    error = notice = ""
    if not form.is_valid():
        error = "Tap the button again to mark the exercise."
    else:
        day = form.cleaned_data["local_date"]
        try:
            exercise_session_mark(
                patient=patient,
                plan_exercise_id=item_id,
                done=form.cleaned_data["done"],
                local_date=day,
                ip=client_ip(request),
            )
        except DomainError as exc:
            if exc.code == "not_found":
                raise Http404("No such exercise in your plan") from exc
            # A page from a day that has closed: the answer is not moved to today; the
            # page now shows today, and the patient taps again to record it there.
            error = exc.message
        else:
            if day is not None and day != patient.local_today():
                notice = f"Saved for {day:%A %-d %B}, the day this page was opened for."
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect(reverse("today") + f"#item-{item_id}")
    day_view, entry = today_entry(patient=patient, item_id=item_id)
    if entry is None:
        raise Http404("No such exercise in your plan")
    return render(
        request,
        "patients/_today_mark.html",
        {"day": day_view, "entry": entry, "error": error, "notice": notice},
    )
