"""The therapist's phase controls on the plan page (issue 17): hold, release, advance by hand.

Plain form posts, like the builder's progressions: back to the plan with a message that
says what happened, or why not (the service's DomainError; a refused reason beside its field).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.access import therapist_of, therapist_required
from careplans.models import CarePlan
from careplans.phase_moves import careplan_phase_advance, careplan_phase_hold
from careplans.phases import current_phase_label, plan_phases
from careplans.views.builder import plan_url, render_plan, therapist_plan
from portal.access import client_ip
from portal.errors import DomainError


def _phase_change(
    request: HttpRequest,
    plan_id: int,
    change: Callable[[CarePlan], CarePlan],
    done: str,
    form: str = "",
) -> HttpResponse:
    """Apply ``change`` to the plan; on success the message ``done`` with the phase now
    ("{phase}" in it), back to the plan's phase section. A refused reason shows beside it in
    the reopened ``form`` ("hold", "advance"; 400); any other refusal as a message at the top."""
    plan = therapist_plan(request, plan_id)
    try:
        plan = change(plan)
    except DomainError as exc:
        message = f"The phase was not changed: {exc.message}"
        if form and exc.field == "reason":
            refused = {"form": form, "message": message, "reason": request.POST.get("reason", "")[:300]}
            return render_plan(request, plan, status=400, phase_refused=refused)
        messages.error(request, message)
        return redirect(plan_url(plan))
    label = current_phase_label(plan, plan_phases(plan=plan))
    messages.success(request, done.format(phase=label.heading if label else "", version=plan.version))
    return redirect(plan_url(plan, "plan-phase"))


@therapist_required
@require_POST
def plan_phase_advance(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Move the plan to its next phase now; the form posts the therapist's ``reason``."""
    return _phase_change(
        request,
        plan_id,
        lambda plan: careplan_phase_advance(
            plan=plan, by=therapist_of(request), reason=request.POST.get("reason", ""), ip=client_ip(request)
        ),
        "The plan is now in {phase} (version {version}).",
        form="advance",
    )


@therapist_required
@require_POST
def plan_phase_hold(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Hold the plan in its current phase; the form posts the therapist's ``reason``."""
    return _phase_change(
        request,
        plan_id,
        lambda plan: careplan_phase_hold(
            plan=plan,
            by=therapist_of(request),
            held=True,
            reason=request.POST.get("reason", ""),
            ip=client_ip(request),
        ),
        "{phase} is held: the plan stays in it until you release it.",
        form="hold",
    )


@therapist_required
@require_POST
def plan_phase_release(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Release the hold: the schedule moves the plan again (at once if a later phase is due)."""
    return _phase_change(
        request,
        plan_id,
        lambda plan: careplan_phase_hold(
            plan=plan, by=therapist_of(request), held=False, ip=client_ip(request)
        ),
        "Hold released: the plan is in {phase} and follows its schedule again.",
    )
