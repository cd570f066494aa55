"""A phased plan's phases (issue 17): which phase a plan week falls in, and how pages name it.

The rule, stated once: a phase runs from the first day of its ``starts_week`` (plan week
k begins on ``start_date + 7(k-1)``, a local date of the patient, DESIGN.md) until the
next phase's start; the first phase also covers any weeks before its own start. The
plan's stored ``current_phase`` is what the patient is asked to do: the quarter-hourly move
(careplans.phase_moves) advances it once the patient's local date reaches the next
phase's first day, unless the therapist holds it; the therapist can also advance it by
hand. A plan without phases has no current phase and behaves as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from careplans.models import CarePlan, PlanExercise, PlanPhase


def plan_phases(*, plan: CarePlan) -> list[PlanPhase]:
    """The plan's phases in the order they start (one query; none for a plan without phases,
    which has no current phase)."""
    if plan.current_phase_id is None:
        return []
    return list(plan.phases.order_by("starts_week", "id"))


def phase_first_day(plan: CarePlan, phase: PlanPhase) -> date:
    """The patient's local date on which ``phase`` is due to begin: the first day of its week."""
    return plan.start_date + timedelta(days=7 * (phase.starts_week - 1))


def phase_due_on(plan: CarePlan, phases: Sequence[PlanPhase], day: date) -> PlanPhase | None:
    """The phase the schedule puts ``day`` (the patient's local date) in: the last one whose
    first day is on or before it, else the first. A phase starting after the plan's last
    week is never due by the schedule (only by hand). None without phases."""
    due = [
        phase
        for phase in phases
        if phase.starts_week <= plan.length_weeks and phase_first_day(plan, phase) <= day
    ]
    return due[-1] if due else (phases[0] if phases else None)


def phase_after(phases: Sequence[PlanPhase], phase: PlanPhase) -> PlanPhase | None:
    """The phase that follows ``phase``, or None for the last."""
    index = [each.pk for each in phases].index(phase.pk)
    return phases[index + 1] if index + 1 < len(phases) else None


@dataclass(frozen=True)
class PhaseLabel:
    """How pages name a phase: "Phase 2 of 3: Control · weeks 5-8"."""

    number: int
    count: int
    name: str
    first_week: int
    last_week: int

    @property
    def weeks(self) -> str:
        if self.first_week == self.last_week:
            return f"week {self.first_week}"
        return f"weeks {self.first_week}-{self.last_week}"

    @property
    def heading(self) -> str:
        return f"Phase {self.number} of {self.count}: {self.name}"

    def __str__(self) -> str:
        return f"{self.heading} · {self.weeks}"


def phase_label(plan: CarePlan, phases: Sequence[PlanPhase], phase: PlanPhase) -> PhaseLabel:
    """``phase``'s number among ``phases`` (the plan's, in order), its name and its weeks: from
    week 1 for the first phase, to the week before the next phase or the plan's last week."""
    index = [each.pk for each in phases].index(phase.pk)
    following = phases[index + 1] if index + 1 < len(phases) else None
    first = 1 if index == 0 else phase.starts_week
    last = following.starts_week - 1 if following else max(plan.length_weeks, phase.starts_week)
    return PhaseLabel(index + 1, len(phases), phase.name, first, last)


def current_phase_label(plan: CarePlan, phases: Sequence[PlanPhase]) -> PhaseLabel | None:
    """The label of the plan's current phase, None for a plan without phases."""
    current = next((phase for phase in phases if phase.pk == plan.current_phase_id), None)
    return phase_label(plan, phases, current) if current is not None else None


def in_current_phase(plan: CarePlan, items: Sequence[PlanExercise]) -> list[PlanExercise]:
    """The exercises the patient does now: those of the current phase and those of no phase
    (every exercise of a plan without phases), in the order given."""
    return [item for item in items if item.phase_id is None or item.phase_id == plan.current_phase_id]


@dataclass(frozen=True)
class PhaseGroup:
    """A phase and its exercises, for the builder (``label`` None: exercises of no phase)."""

    phase: PlanPhase | None
    label: PhaseLabel | None
    current: bool
    items: list[PlanExercise]


def phase_groups(
    plan: CarePlan, phases: Sequence[PlanPhase], items: Sequence[PlanExercise]
) -> list[PhaseGroup]:
    """``items`` grouped by phase in the phases' order, exercises of no phase first (a plan
    without phases: one group of them all). Phases without exercises are listed too."""
    loose = [item for item in items if item.phase_id is None]
    groups = [PhaseGroup(None, None, False, loose)] if loose or not phases else []
    for phase in phases:
        groups.append(
            PhaseGroup(
                phase,
                phase_label(plan, phases, phase),
                phase.pk == plan.current_phase_id,
                [item for item in items if item.phase_id == phase.pk],
            )
        )
    return groups
