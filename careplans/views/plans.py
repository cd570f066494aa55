"""Pages of a patient's plans around the builder: the list, a new plan, activating, ending, saving as a
template, and the history of versions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from accounts.selectors import patient_for_clinic, pending_invitation
from careplans.forms import (
    PlanCreateForm,
    PlanEndForm,
    SaveTemplateForm,
)
from careplans.plan_templates import careplan_save_as_template
from careplans.selectors import (
    patient_plans,
    plan_versions,
)
from careplans.services import (
    careplan_activate,
    careplan_create,
    careplan_end,
)
from careplans.views.builder import plan_url, render_plan, therapist_plan
from library.selectors import plan_templates_for
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error


@therapist_required
def patient_plans_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    plans = list(patient_plans(patient=patient))
    context = {
        "patient": patient,
        "plans": plans,
        "has_active": any(plan.status == "active" for plan in plans),
        "invited": not patient.joined,
        "invitation": pending_invitation(patient=patient),
    }
    return render(request, "careplans/patient_plans.html", context)


# --- creating a plan -------------------------------------------------------------


@therapist_required
def plan_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    therapist = therapist_of(request)
    patient = patient_for_clinic(clinic=therapist.clinic, patient_id=patient_id)
    templates = plan_templates_for(clinic=therapist.clinic)
    initial = {"start_date": patient.local_today(), "length_weeks": 12}
    form = PlanCreateForm(request.POST or None, templates=templates, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = careplan_create(
                    patient=patient,
                    by=therapist,
                    template=data["template"],
                    title=data["title"],
                    condition=data["condition"],
                    start_date=data["start_date"],
                    length_weeks=data["length_weeks"],
                    ip=client_ip(request),
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(request, "Draft plan created. Adjust it, then activate it for the patient.")
                return redirect("plan-detail", plan_id=plan.pk)
        status = 400
    return render(request, "careplans/plan_new.html", {"form": form, "patient": patient}, status=status)


@therapist_required
@require_POST
def plan_activate(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    try:
        careplan_activate(plan=plan, by=therapist_of(request), ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The plan is active: {plan.patient} sees it on their Today page.")
    return redirect(plan_url(plan))


@therapist_required
def plan_end(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    form = PlanEndForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                ended = careplan_end(
                    plan=plan, by=therapist_of(request), ip=client_ip(request), **form.cleaned_data
                )
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(request, f"The plan is {ended.get_status_display().lower()}.")
                return redirect(plan_url(plan))
        status = 400
    return render(request, "careplans/plan_end.html", {"plan": plan, "form": form}, status=status)


@therapist_required
@require_POST
def plan_save_template(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    form = SaveTemplateForm(request.POST)
    if form.is_valid():
        try:
            template = careplan_save_as_template(
                plan=plan, by=therapist_of(request), name=form.cleaned_data["name"], ip=client_ip(request)
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Saved as the template “{template.name}” for your clinic.")
            return redirect(plan_url(plan))
    return render_plan(request, plan, status=400, template_form=form)


@therapist_required
def plan_history(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    versions = list(plan_versions(plan=plan))
    return render(request, "careplans/plan_history.html", {"plan": plan, "versions": versions})
