"""Writing a clinic for the outcome report's tests: its therapists, plans and check-ins from a
spec, the snapshots refreshed, and the report built (tests/outcomes/test_report_*.py)."""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from accounts.models import Clinic, Patient, Therapist, User
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.recompute import outcome_refresh_all
from outcomes.report import outcome_report
from outcomes.report_figures import (
    OutcomeReport,
    ReportFilters,
)

# 23:30 UTC: already tomorrow in Kiritimati (UTC+14), still today in Los Angeles.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
ZONES = ["UTC", "Europe/London", "America/Los_Angeles", "Pacific/Kiritimati"]
Reading = tuple[int, int]  # (day since the plan's start, NPRS)

_serial = itertools.count()


def week(k: int, *values: int) -> list[Reading]:
    """Readings on the first days of week k (1-based)."""
    return [(7 * (k - 1) + i, v) for i, v in enumerate(values)]


# --- writing a clinic -------------------------------------------------------------


@dataclass(frozen=True)
class PlanSpec:
    """One plan of a generated clinic: its therapist (an index), status, readings, today's plan day, zone."""

    therapist: int
    status: str
    readings: tuple[Reading, ...]
    today_day: int = 100
    zone: str = "UTC"


@dataclass(frozen=True)
class Written:
    spec: PlanSpec
    plan_id: int
    therapist_id: int


def make_clinic(names: Sequence[str], *, using: str = DEFAULT_DB_ALIAS) -> tuple[Clinic, list[Therapist]]:
    """A fresh clinic with one therapist per name (an empty name: the report labels them by email)."""
    n = next(_serial)
    clinic = Clinic.objects.db_manager(using).create(name=f"Report clinic {n}")
    therapists = [
        Therapist.objects.db_manager(using).create(
            user=User.objects.db_manager(using).create(email=f"rt{n}-{k}@report.test", full_name=name),
            clinic=clinic,
        )
        for k, name in enumerate(names)
    ]
    return clinic, therapists


def add_plan(clinic: Clinic, therapist: Therapist, spec: PlanSpec, *, using: str = DEFAULT_DB_ALIAS) -> int:
    """A patient (in ``spec.zone``) of ``clinic`` and their plan with ``therapist``, started so that
    the patient's local today (at NOW) is plan day ``spec.today_day``, with one check-in per reading."""
    n = next(_serial)
    local_today = NOW.astimezone(zoneinfo.ZoneInfo(spec.zone)).date()
    start = local_today - timedelta(days=spec.today_day)
    patient = Patient.objects.db_manager(using).create(
        user=User.objects.db_manager(using).create(email=f"rp{n}@report.test"),
        clinic=clinic,
        timezone=spec.zone,
    )
    plan = CarePlan.objects.db_manager(using).create(
        patient=patient, therapist=therapist, title="Knee plan", start_date=start, status=spec.status
    )
    PainCheckIn.objects.db_manager(using).bulk_create(
        PainCheckIn(patient=patient, plan=plan, local_date=start + timedelta(days=day), nprs=nprs)
        for day, nprs in spec.readings
    )
    return plan.pk


def write_clinic(
    names: Sequence[str], specs: Sequence[PlanSpec], *, using: str = DEFAULT_DB_ALIAS
) -> tuple[Clinic, list[Therapist], list[Written]]:
    """The clinic and its plans, with every snapshot refreshed at NOW."""
    clinic, therapists = make_clinic(names, using=using)
    written = []
    for spec in specs:
        therapist = therapists[spec.therapist % len(therapists)]
        written.append(Written(spec, add_plan(clinic, therapist, spec, using=using), therapist.pk))
    outcome_refresh_all(now=NOW, plan_ids=[w.plan_id for w in written], using=using)
    return clinic, therapists, written


def report_of(clinic: Clinic, *, using: str = DEFAULT_DB_ALIAS) -> OutcomeReport:
    return outcome_report(clinic=clinic, filters=ReportFilters(), using=using)


def plan_spec(first: list[int], twelfth: list[int], therapist: int = 0, **kw: Any) -> PlanSpec:
    """An active plan of therapist ``therapist`` (an index) with NPRS readings ``first`` on the first
    days of week 1 and ``twelfth`` of week 12; ``kw``: PlanSpec's today_day and zone."""
    return PlanSpec(therapist, PlanStatus.ACTIVE, (*week(1, *first), *week(12, *twelfth)), **kw)
