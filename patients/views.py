from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import patient_of, patient_required, therapist_of, therapist_required


@therapist_required
def caseload(request: HttpRequest) -> HttpResponse:
    therapist = therapist_of(request)
    return render(request, "patients/caseload.html", {"clinic": therapist.clinic})


@patient_required
def today(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request)
    return render(request, "patients/today.html", {"patient": patient})
