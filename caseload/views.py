"""The therapist's caseload page and the patient record."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from accounts.forms import PatientPhoneForm
from accounts.models import Patient, User
from accounts.selectors import patient_for_clinic
from accounts.services import patient_phone_update
from alerts.selectors import attention_top
from caseload.record import patient_record
from caseload.selectors import caseload_for
from conversations.forms import MessageForm
from conversations.selectors import conversation_thread
from conversations.services import conversation_for
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error, is_htmx

#: The latest messages the record shows; the conversation page has the rest.
RECORD_MESSAGES = 10

# --- therapist ----------------------------------------------------------------


@therapist_required
def caseload(request: HttpRequest) -> HttpResponse:
    therapist = therapist_of(request)
    result = caseload_for(
        clinic=therapist.clinic,
        search=request.GET.get("q", "")[:100],
        page=request.GET.get("page"),
        reader=therapist.user,
    )
    context: dict[str, Any] = {
        "clinic": therapist.clinic,
        "caseload": result,
        # The most urgent few who need attention today; a search that only swaps the results skips it.
        "attention": None if is_htmx(request) else attention_top(clinic=therapist.clinic),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "caseload-results":
        return render(request, "caseload/_caseload_results.html", context)
    return render(request, "caseload/caseload.html", context)


@therapist_required
def patient_record_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's record. Every opening is written to the audit trail."""
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    record = patient_record(patient=patient, page=request.GET.get("page"))
    return render(
        request,
        "caseload/record.html",
        {
            "record": record,
            "patient": patient,
            "phone_form": PatientPhoneForm(initial={"phone": patient.phone}),
            **_conversation_context(patient, therapist.user),
        },
    )


def _conversation_context(patient: Patient, reader: User) -> dict[str, Any]:
    """The record's conversation card: the latest messages (shown, not marked read: the
    conversation page does that), the send box coming back here, and the poll."""
    conversation = conversation_for(patient=patient)
    page = reverse("patient-record", args=[patient.pk])
    return {
        "thread": conversation_thread(conversation=conversation, reader=reader, size=RECORD_MESSAGES),
        "form": MessageForm(),
        "send_url": reverse("patient-conversation", args=[patient.pk]),
        "poll_url": reverse("patient-conversation-thread", args=[patient.pk]),
        "next": f"{page}#conversation-heading",
        "paged": False,
    }


@therapist_required
@require_POST
def patient_phone(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Set or clear the patient's phone number from their record; a number that is not one
    shows the record again (400) with the reason beside the field and what was typed kept."""
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    form = PatientPhoneForm(request.POST)
    if form.is_valid():
        try:
            patient_phone_update(
                patient=patient, phone=form.cleaned_data["phone"], by=therapist.user, ip=client_ip(request)
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            name = patient.user.get_short_name()
            messages.success(
                request,
                f"{name}'s phone number is saved." if patient.phone else f"{name}'s phone number is removed.",
            )
            return redirect("patient-record", patient_id=patient.pk)
    record = patient_record(patient=patient)
    return render(
        request,
        "caseload/record.html",
        {
            "record": record,
            "patient": patient,
            "phone_form": form,
            **_conversation_context(patient, therapist.user),
        },
        status=400,
    )
