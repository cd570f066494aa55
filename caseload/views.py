"""The therapist's caseload page and the patient record."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import therapist_of, therapist_required
from accounts.selectors import patient_for_clinic
from alerts.selectors import attention_top
from caseload.record import patient_record
from caseload.selectors import caseload_for
from portal.pages import is_htmx

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
        return render(request, "caseload/_caseload_results.html", context)
    return render(request, "caseload/caseload.html", context)


@therapist_required
def patient_record_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's record. Every opening is written to the audit trail."""
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    record = patient_record(patient=patient, page=request.GET.get("page"))
    return render(request, "caseload/record.html", {"record": record, "patient": patient})
