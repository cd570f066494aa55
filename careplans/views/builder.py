"""Pages of the plan builder and plan history, and a patient's list of plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from careplans.forms import (
    PlanAddExerciseForm,
    PlanDetailsForm,
    PlanExerciseForm,
    PlanMoveForm,
    PlanSearchForm,
    SaveTemplateForm,
)
from careplans.models import CarePlan, PlanExercise, PlanStatus
from careplans.phases import current_phase_label, phase_groups, plan_phases
from careplans.plan_exercises import (
    KEEP_DOSE,
    careplan_exercise_add,
    careplan_exercise_move,
    careplan_exercise_remove,
    careplan_exercise_update,
    careplan_exercise_vary,
)
from careplans.selectors import (
    exercise_variants,
    ordered_plan_exercises,
    plan_exercise_of,
    plan_for_clinic,
    plan_library_search,
    plan_progress,
)
from careplans.services import (
    careplan_update_details,
)
from library.models import DOSAGE_LIMITS
from portal.access import client_ip
from portal.errors import DomainError
from portal.pages import form_error, is_htmx


def therapist_plan(request: HttpRequest, plan_id: int) -> CarePlan:
    return plan_for_clinic(clinic=therapist_of(request).clinic, plan_id=plan_id)


def _plan_exercise(plan: CarePlan, plan_exercise_id: int) -> PlanExercise:
    return plan_exercise_of(plan=plan, plan_exercise_id=plan_exercise_id)


def _plan_exercise_form(plan_exercise: PlanExercise, data: Any = None) -> PlanExerciseForm:
    initial = {name: getattr(plan_exercise, name) for name in DOSAGE_LIMITS} | {"note": plan_exercise.note}
    return PlanExerciseForm(data, initial=initial, prefix=f"plan_exercise-{plan_exercise.pk}")


def plan_url(plan: CarePlan, anchor: str = "") -> str:
    return reverse("plan-detail", args=[plan.pk]) + (f"#{anchor}" if anchor else "")


def _items_context(plan: CarePlan, bound: dict[int, PlanExerciseForm] | None = None) -> dict[str, Any]:
    plan_exercises = ordered_plan_exercises(plan=plan)
    phases = plan_phases(plan=plan)
    bound = bound or {}
    editable = plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE)
    # The progress and regress choices of every exercise on the page, in one query.
    variants = (
        exercise_variants(exercises=[item.exercise for item in plan_exercises], clinic=plan.patient.clinic)
        if editable
        else {}
    )
    for plan_exercise in plan_exercises:
        plan_exercise.variants = variants.get(plan_exercise.exercise_id)  # type: ignore[attr-defined]
    forms_ = {item.pk: bound.get(item.pk) or _plan_exercise_form(item) for item in plan_exercises}
    # A phased plan's exercises under their phases (issue 17); one group without phases.
    groups = [
        (group, [(item, forms_[item.pk]) for item in group.items])
        for group in phase_groups(plan, phases, plan_exercises)
    ]
    return {
        "plan": plan,
        "editable": editable,
        "entries": [(item, forms_[item.pk]) for item in plan_exercises],
        "groups": groups,
        "phases": phases,
        "phase": current_phase_label(plan, phases),
        "exercise_count": len(plan_exercises),
    }


@dataclass(frozen=True)
class ScheduleRow:
    """One questionnaire the plan asks for, as the builder lists it: its occasion, its
    instrument's code (e.g. psfs) and its window in the patient's local dates."""

    occasion: str
    instrument_code: str
    opens_on: date
    closes_on: date


def plan_schedule_rows(plan: CarePlan) -> list[ScheduleRow]:
    """``plan``'s questionnaire schedule (copied from its template when the plan was made; no page
    changes it), earliest window first: one query."""
    return [
        ScheduleRow(
            entry.occasion,
            entry.instrument_code,
            plan.start_date + timedelta(days=entry.opens_day),
            plan.start_date + timedelta(days=entry.closes_day),
        )
        for entry in plan.schedule.all()
    ]


def render_plan(request: HttpRequest, plan: CarePlan, *, status: int = 200, **forms_: Any) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    context = _items_context(plan, forms_.pop("bound", None))
    context.update(
        {
            "progress": plan_progress(plan=plan) if plan.status != PlanStatus.DRAFT else None,
            "details_form": forms_.get("details_form") or _details_form(plan),
            "search_form": PlanSearchForm(initial={"q": q}),
            "results": plan_library_search(plan=plan, q=q) if q else None,
            "q": q,
            "template_form": forms_.get("template_form") or SaveTemplateForm(),
            "add_error": forms_.get("add_error", ""),
            "vary": forms_.get("vary"),
            "phase_refused": forms_.get("phase_refused"),
            "version_count": plan.version,
            "schedule": plan_schedule_rows(plan),
        }
    )
    return render(request, "careplans/plan_detail.html", context, status=status)


def _details_form(plan: CarePlan, data: Any = None) -> PlanDetailsForm:
    initial = {
        "title": plan.title,
        "condition": plan.condition,
        "start_date": plan.start_date,
        "length_weeks": plan.length_weeks,
    }
    return PlanDetailsForm(data, initial=initial, prefix="details")


def _items_response(
    request: HttpRequest,
    plan: CarePlan,
    *,
    flash: str = "",
    error: str = "",
    added: Any = None,
    focus_pk: int | None = None,
    focus_on: str = "flash",
) -> HttpResponse:
    """The HTMX answer for add, move and remove: the exercise list, and the version count.

    The keyboard focus lands on one element of the answer (``autofocus``): the error if
    there is one; otherwise ``focus_on`` of the plan exercise ``focus_pk``: "card", or the
    move button "up" or "down" (the other one once the exercise reaches an end of the
    list), or with no ``focus_pk`` the "flash" message.
    """
    plan.refresh_from_db(fields=["version", "status", "current_phase", "phase_held"])
    context = _items_context(plan)
    if error:
        focus_pk, focus_on = None, "error"
    elif focus_on in ("up", "down") and focus_pk is not None:
        # Exercises move within their phase's group.
        groups: list[list[int]] = [[item.pk for item, _ in entries] for _, entries in context["groups"]]
        ids = next((group for group in groups if focus_pk in group), [])
        if focus_on == "up" and ids[:1] == [focus_pk]:
            focus_on = "down"
        elif focus_on == "down" and ids[-1:] == [focus_pk]:
            focus_on = "up"
    context |= {
        "flash": flash,
        "error": error,
        "added": added,
        "htmx_partial": True,
        "focus_pk": focus_pk,
        "focus_on": focus_on,
    }
    return render(request, "careplans/_plan_exercises.html", context)


# --- the builder ---------------------------------------------------------------------


@therapist_required
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    if is_htmx(request) and request.headers.get("HX-Target") == "library-results":
        return plan_search(request, plan_id)
    return render_plan(request, plan)


@therapist_required
def plan_search(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    q = request.GET.get("q", "")[:100]
    if not is_htmx(request):
        return redirect(reverse("plan-detail", args=[plan.pk]) + "?" + request.GET.urlencode() + "#library")
    results = plan_library_search(plan=plan, q=q) if q else None
    return render(request, "careplans/_plan_search_results.html", {"plan": plan, "results": results, "q": q})


@therapist_required
@require_POST
def plan_details_update(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    form = _details_form(plan, request.POST)
    if form.is_valid():
        try:
            careplan_update_details(
                plan=plan, by=therapist_of(request), ip=client_ip(request), **form.cleaned_data
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Plan details saved.")
            return redirect(plan_url(plan))
    return render_plan(request, plan, status=400, details_form=form)


@therapist_required
@require_POST
def plan_exercise_add(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    form = PlanAddExerciseForm(request.POST)
    error = ""
    added = None
    added_pk = None
    if not form.is_valid():
        error = "Choose an exercise from the library."
    else:
        try:
            plan_exercise = careplan_exercise_add(
                plan=plan,
                by=therapist_of(request),
                exercise_id=form.cleaned_data["exercise"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            error = exc.message
        else:
            added, added_pk = plan_exercise.exercise, plan_exercise.pk
    name = added.name if added else ""
    if is_htmx(request):
        flash = f"Added {name}." if name else ""
        return _items_response(
            request, plan, flash=flash, error=error, added=added, focus_pk=added_pk, focus_on="card"
        )
    if error:
        plan.refresh_from_db()
        return render_plan(request, plan, status=400, add_error=error)
    messages.success(request, f"Added {name}.")
    return redirect(plan_url(plan, "plan-exercises"))


@therapist_required
@require_POST
def plan_exercise_update(request: HttpRequest, plan_id: int, plan_exercise_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    plan_exercise = _plan_exercise(plan, plan_exercise_id)
    form = _plan_exercise_form(plan_exercise, request.POST)
    saved = False
    if form.is_valid():
        try:
            plan_exercise = careplan_exercise_update(
                plan_exercise=plan_exercise,
                by=therapist_of(request),
                ip=client_ip(request),
                **form.cleaned_data,
            )
            saved = True
        except DomainError as exc:
            form_error(form, exc)
    if is_htmx(request):
        plan.refresh_from_db(fields=["version", "status"])
        entry_form = _plan_exercise_form(plan_exercise) if saved else form
        context = {
            "plan": plan,
            "plan_exercise": plan_exercise,
            "form": entry_form,
            "editable": True,
            "saved": saved,
            "first": False,
            "last": False,
            "oob_versions": True,
            # Saved: the card has the focus; not saved: its first error (portal.forms).
            "focus_pk": plan_exercise.pk if saved else None,
            "focus_on": "card",
        }
        return render(request, "careplans/_plan_exercise.html", context)
    if saved:
        messages.success(request, f"{plan_exercise.exercise.name} saved.")
        return redirect(plan_url(plan, f"plan-exercise-{plan_exercise.pk}"))
    return render_plan(request, plan, status=400, bound={plan_exercise.pk: form})


@therapist_required
@require_POST
def plan_exercise_vary(request: HttpRequest, plan_id: int, plan_exercise_id: int) -> HttpResponse:
    """Progress or regress one plan exercise (a plain form post): back to the plan with a message,
    or the plan with the form open and the refusal beside its field (400)."""
    plan = therapist_plan(request, plan_id)
    plan_exercise = _plan_exercise(plan, plan_exercise_id)
    name = plan_exercise.exercise.name
    try:
        variant_id = int(request.POST.get("variant", ""))
    except ValueError:
        variant_id = 0
    try:
        varied = careplan_exercise_vary(
            plan_exercise=plan_exercise,
            by=therapist_of(request),
            variant_id=variant_id,
            dose=request.POST.get("dose", KEEP_DOSE),
            reason=request.POST.get("reason", ""),
            ip=client_ip(request),
        )
    except DomainError as exc:
        # The plan again with this exercise's form open, what was chosen kept and the message
        # beside its field (the reason, or the choice of exercise and dose).
        vary = {
            "pk": plan_exercise.pk,
            "field": "reason" if exc.field == "reason" else "choice",
            "message": f"{name} was not changed: {exc.message}",
            "variant": variant_id,
            "dose": request.POST.get("dose", KEEP_DOSE),
            "reason": request.POST.get("reason", "")[:300],
        }
        return render_plan(request, plan, status=400, vary=vary)
    plan.refresh_from_db(fields=["version", "status"])
    version = f" (version {plan.version})" if plan.status == PlanStatus.ACTIVE else ""
    messages.success(request, f"{name} is now {varied.exercise.name}{version}.")
    return redirect(plan_url(plan, f"plan-exercise-{plan_exercise.pk}"))


@therapist_required
@require_POST
def plan_exercise_move(request: HttpRequest, plan_id: int, plan_exercise_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    plan_exercise = _plan_exercise(plan, plan_exercise_id)
    form = PlanMoveForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            careplan_exercise_move(
                plan_exercise=plan_exercise,
                by=therapist_of(request),
                direction=form.cleaned_data["direction"],
                ip=client_ip(request),
            )
        except DomainError as exc:
            error = exc.message
    else:
        error = "Move an exercise up or down."
    if is_htmx(request):
        # The focus stays on the button that moved it, so that pressing it again moves it on.
        direction = form.cleaned_data["direction"] if form.is_valid() else ""
        return _items_response(request, plan, error=error, focus_pk=plan_exercise.pk, focus_on=direction)
    if error:
        messages.error(request, error)
    return redirect(plan_url(plan, f"plan-exercise-{plan_exercise.pk}"))


@therapist_required
@require_POST
def plan_exercise_remove(request: HttpRequest, plan_id: int, plan_exercise_id: int) -> HttpResponse:
    plan = therapist_plan(request, plan_id)
    plan_exercise = _plan_exercise(plan, plan_exercise_id)
    name = plan_exercise.exercise.name
    error = ""
    try:
        careplan_exercise_remove(plan_exercise=plan_exercise, by=therapist_of(request), ip=client_ip(request))
    except DomainError as exc:
        error = exc.message
    if is_htmx(request):
        return _items_response(request, plan, flash="" if error else f"Removed {name}.", error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Removed {name}.")
    return redirect(plan_url(plan, "plan-exercises"))
