"""A phased plan for the phase tests: the shared low-back template (three phases: weeks 1-4, 5-8,
9-12) for a patient in a given time zone, starting on START."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from accounts.models import Patient
from careplans.models import CarePlan
from tests.conftest import Personas
from tests.helpers import template_plan

START = date(2026, 3, 2)  # a Monday; week 5 (the second phase) begins on 30 March
CONTROL_BEGINS = START + timedelta(days=28)
MOVED = "Moved from Phase 1 of 3: Settle and move · weeks 1-4 to Phase 2 of 3: Control · weeks 5-8."


def local(zone: str, *args: int) -> datetime:
    """The UTC instant of the wall-clock time ``args`` (year, month, day[, hour, minute]) in ``zone``."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def phased_plan(patient: Patient, personas: Personas, zone: str) -> CarePlan:
    """The shared low-back template for ``patient`` living in ``zone``, starting on START."""
    patient.timezone = zone
    patient.save(update_fields=["timezone"])
    with time_machine.travel(local(zone, 2026, 3, 2, 9, 0), tick=False):
        return template_plan(patient, personas.owner)


def phase_of(plan: CarePlan) -> str:
    """The name of the plan's phase in force, read afresh from the database."""
    plan.refresh_from_db()
    assert plan.current_phase is not None
    return plan.current_phase.name
