"""The printable handout of a plan, as a page and a PDF, for the therapist and for the patient."""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify

from accounts.access import patient_of, patient_required, therapist_required
from careplans.handout import handout_pdf
from careplans.models import CarePlan
from careplans.phases import current_phase_label, in_current_phase, plan_phases
from careplans.selectors import active_plan_of, ordered_plan_exercises
from careplans.views.builder import plan_url, therapist_plan

# --- the handout -----------------------------------------------------------------------


def _handout(request: HttpRequest, plan: CarePlan, *, pdf: bool, back_url: str) -> HttpResponse:
    # A phased plan's handout is its current phase's (issue 17): what the patient does now.
    phase = current_phase_label(plan, plan_phases(plan=plan))
    plan_exercises = in_current_phase(plan, ordered_plan_exercises(plan=plan))
    if pdf:
        response = HttpResponse(
            handout_pdf(plan, plan_exercises, phase=phase), content_type="application/pdf"
        )
        name = slugify(f"{plan.patient} {plan.title}")[:80] or "plan"
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    context = {
        "plan": plan,
        "clinic": plan.patient.clinic,
        "plan_exercises": plan_exercises,
        "phase": phase,
        "back_url": back_url,
        "printed_on": date.today(),
    }
    return render(request, "careplans/handout.html", context)


@therapist_required
def plan_handout(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    return _handout(request, plan, pdf=False, back_url=plan_url(plan))


@therapist_required
def plan_handout_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _handout(request, therapist_plan(request, plan_id), pdf=True, back_url="")


def _my_plan(request: HttpRequest) -> CarePlan:
    patient = patient_of(request)
    plan = active_plan_of(patient=patient)
    if plan is None:
        raise Http404("No active plan")
    plan.patient = patient
    return plan


@patient_required
def my_handout(request: HttpRequest) -> HttpResponse:
    return _handout(request, _my_plan(request), pdf=False, back_url=reverse("today"))


@patient_required
def my_handout_pdf(request: HttpRequest) -> HttpResponse:
    return _handout(request, _my_plan(request), pdf=True, back_url="")
