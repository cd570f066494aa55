"""Moving a phased plan from one phase to the next (issue 17): by its schedule, or by hand.

The stored ``CarePlan.current_phase`` is authoritative: what the Today page, the handout
and the builder show. ``plan_phases_move_due`` (the beat task ``careplans.tasks``, every
15 minutes) moves each active, unheld plan whose patient's local date has reached a later
phase's first day (careplans.phases), so a phase begins for the patient within a quarter
of an hour of their local midnight. The therapist can hold the current phase (no
automatic move until released) and advance it by hand. Every move, hold and release is
a plan version with its reason and an audit event. One service, one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F

from accounts.models import Therapist
from audit.services import audit_log
from careplans.models import CarePlan, PlanPhase, PlanStatus, PlanVersion
from careplans.phases import phase_after, phase_due_on, phase_first_day, phase_label, plan_phases
from careplans.services import plan_check_clinic, plan_check_length, plan_locked, plan_version_record
from portal.errors import DomainError
from portal.validity import shows_text

#: Plans read per query by the scheduled move (keyset batches, so memory stays flat).
MOVE_BATCH = 500


def _phased_and_active(plan: CarePlan) -> list[PlanPhase]:
    """The plan's phases; refuses a plan without phases (no_phases) or not active (plan_not_active)."""
    phases = plan_phases(plan=plan)
    if not phases:
        raise DomainError("This plan has no phases.", code="no_phases")
    if plan.status != PlanStatus.ACTIVE:
        raise DomainError("Only an active plan moves between phases.", code="plan_not_active")
    return phases


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not shows_text(reason):
        raise DomainError(
            "Say why, in a few words: it goes in the plan's history.", field="reason", code="required"
        )
    plan_check_length(reason, model=PlanVersion, name="reason", field="reason", what="reason")
    return reason


def _move(plan: CarePlan, phases: list[PlanPhase], to: PlanPhase, *, began_on: date) -> PlanPhase:
    """Make ``to`` the plan's current phase from ``began_on`` (a local date); the phase it
    leaves ended the day before (or never ran, if that is before it began)."""
    current = next(phase for phase in phases if phase.pk == plan.current_phase_id)
    if current.began_on is None or current.began_on >= began_on:
        # Left on the day it began (or before): it was never in force for a whole day.
        current.began_on = current.ended_on = None
    else:
        current.ended_on = began_on - timedelta(days=1)
    current.save(update_fields=["began_on", "ended_on"])
    to.began_on, to.ended_on = began_on, None
    to.save(update_fields=["began_on", "ended_on"])
    plan.current_phase = to
    plan.save(update_fields=["current_phase"])
    return current


@transaction.atomic
def careplan_phase_advance(*, plan: CarePlan, by: Therapist, reason: str, ip: str | None = None) -> CarePlan:
    """Move an active phased plan to its next phase now, by hand: it begins on the patient's
    local today, and the schedule moves on from there (a held plan stays held). ``reason``:
    why, in the therapist's words (at most 300 characters), kept with the new version.
    Returns the plan as saved.

    Raises DomainError: not_found (a plan of another clinic), no_phases, plan_not_active,
    no_next_phase (already in the last phase), required (reason), too_long (reason).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    phases = _phased_and_active(plan)
    reason = _reason(reason)
    current = next(phase for phase in phases if phase.pk == plan.current_phase_id)
    following = phase_after(phases, current)
    if following is None:
        raise DomainError(f"{current.name} is the plan's last phase.", code="no_next_phase")
    _move(plan, phases, following, began_on=plan.patient.local_today())
    audit_log(
        action="careplan.phase_advanced",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"from": current.name, "to": following.name, "reason": reason},
    )
    plan_version_record(plan, by=by.user, ip=ip, reason=reason)
    return plan


@transaction.atomic
def careplan_phase_hold(
    *, plan: CarePlan, by: Therapist, held: bool, reason: str = "", ip: str | None = None
) -> CarePlan:
    """Hold an active phased plan in its current phase (``held`` True: no automatic move until
    released; ``reason`` required, at most 300 characters) or release the hold (``held``
    False; ``reason`` optional). Releasing moves the plan at once if its schedule is past the
    next phase's start (that phase begins today). Each is a new version and an audit event.
    Returns the plan as saved.

    Raises DomainError: not_found (a plan of another clinic), no_phases, plan_not_active,
    already_held, not_held, required (reason, to hold), too_long (reason).
    """
    plan_check_clinic(plan, by)
    plan = plan_locked(plan)
    phases = _phased_and_active(plan)
    if held and plan.phase_held:
        raise DomainError("This phase is already held.", code="already_held")
    if not held and not plan.phase_held:
        raise DomainError("This phase is not held.", code="not_held")
    reason = _reason(reason) if held or reason.strip() else ""
    plan.phase_held = held
    plan.save(update_fields=["phase_held"])
    current = next(phase for phase in phases if phase.pk == plan.current_phase_id)
    audit_log(
        action="careplan.phase_held" if held else "careplan.phase_released",
        actor=by.user,
        obj=plan,
        ip=ip,
        data={"phase": current.name, "reason": reason},
    )
    plan_version_record(plan, by=by.user, ip=ip, reason=reason or "Hold released.")
    if not held:
        _move_if_due(plan, phases, today=plan.patient.local_today(), catch_up=False)
    return plan


def _move_if_due(plan: CarePlan, phases: list[PlanPhase], *, today: date, catch_up: bool) -> bool:
    """Move the plan to the phase its schedule puts ``today`` in, if that is a later one.

    ``catch_up``: the scheduled move; the phase began on its own first day even if the
    move runs late (a worker down overnight), never before the current phase began.
    Otherwise (a hold released) it begins ``today``. Returns whether it moved.
    """
    current = next(phase for phase in phases if phase.pk == plan.current_phase_id)
    due = phase_due_on(plan, phases, today)
    if due is None or due.starts_week <= current.starts_week:
        return False
    began_on = today
    if catch_up:
        began_on = max(phase_first_day(plan, due), current.began_on or plan.start_date)
    _move(plan, phases, due, began_on=began_on)
    label = phase_label(plan, phases, due)
    week = plan.week_on(today)
    reason = f"{label.heading} ({label.weeks}) began in week {week}."
    audit_log(
        action="careplan.phase_began",
        actor=None,
        obj=plan,
        data={"from": current.name, "to": due.name, "began_on": began_on.isoformat(), "week": week},
    )
    plan_version_record(plan, by=None, ip=None, reason=reason)
    return True


@dataclass(frozen=True)
class PhaseMoveResult:
    checked: int
    moved: int


def plan_phases_move_due() -> PhaseMoveResult:
    """Move every active, unheld phased plan whose patient's local date has reached a later
    phase's first day (careplans.phases), each in its own transaction under the plan's row
    lock, re-checked there: a second run, or two at once, moves nothing twice.

    Reads the candidates (not in their last phase) in keyset batches of ``MOVE_BATCH``.
    Returns how many plans were checked and moved.
    """
    checked = moved = 0
    after = 0
    while True:
        batch = list(
            CarePlan.objects.filter(
                pk__gt=after, status=PlanStatus.ACTIVE, phase_held=False, current_phase__isnull=False
            )
            # Not in their last phase: some phase starts after the current one, within the plan.
            .filter(
                phases__starts_week__gt=F("current_phase__starts_week"),
                phases__starts_week__lte=F("length_weeks"),
            )
            .order_by("pk")
            .values_list("pk", flat=True)
            .distinct()[:MOVE_BATCH]
        )
        if not batch:
            return PhaseMoveResult(checked, moved)
        after = batch[-1]
        for plan_id in batch:
            checked += 1
            moved += _plan_move_due(plan_id)


@transaction.atomic
def _plan_move_due(plan_id: int) -> int:
    plan = plan_locked(CarePlan(pk=plan_id))
    if plan.status != PlanStatus.ACTIVE or plan.phase_held or plan.current_phase_id is None:
        return 0
    phases = plan_phases(plan=plan)
    return int(_move_if_due(plan, phases, today=plan.patient.local_today(), catch_up=True))
