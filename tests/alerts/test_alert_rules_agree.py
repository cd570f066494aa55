"""The alert job and today's attention list hold each other to one set of rules (alerts.rules).

On a mixed caseload (fresh and stale outcome snapshots, silences either side of
3 days, time zones either side of midnight, stopped and future plans), every
patient the job has an open worsening or silence alert for is on the attention
list with that reason, and every such reason on the list has its alert.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Clinic, Patient
from alerts.models import Alert, AlertKind
from alerts.selectors import attention_list
from alerts.services import alerts_detect
from careplans.models import CarePlan, PlanStatus
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_plan
from tests.factories import CarePlanFactory, ClinicFactory, PatientFactory, TherapistFactory

pytestmark = pytest.mark.django_db

# Noon UTC on a Wednesday: the same date in London, New York and Kolkata, and
# 00:00 the next day in Auckland (UTC+12).
NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
TODAY = date(2026, 5, 6)
RULE_KINDS = (AlertKind.WORSENING, AlertKind.SILENCE)


def _plan(clinic: Clinic, name: str, *, start: date, zone: str = "Europe/London", **kw: object) -> CarePlan:
    patient = PatientFactory(clinic=clinic, timezone=zone, user__full_name=name)
    return CarePlanFactory(patient=patient, therapist=TherapistFactory(clinic=clinic), start_date=start, **kw)


def _days(plan: CarePlan, values: dict[int, int]) -> None:
    """Check-ins on plan days (day offset -> NPRS)."""
    PainCheckIn.objects.bulk_create(
        PainCheckIn(patient=plan.patient, plan=plan, local_date=plan.start_date + timedelta(days=d), nprs=n)
        for d, n in values.items()
    )


def _caseload(clinic: Clinic) -> dict[str, Patient]:
    start = TODAY - timedelta(days=20)
    plans: dict[str, CarePlan] = {}
    worse = {**dict.fromkeys(range(0, 7), 3), **dict.fromkeys(range(14, 21), 6)}
    steady = dict.fromkeys(range(0, 21), 4)

    plans["fresh worsening"] = _plan(clinic, "Fresh Worsening", start=start)
    _days(plans["fresh worsening"], worse)
    outcome_refresh_plan(plan_id=plans["fresh worsening"].pk, today=TODAY)

    plans["stale worsening"] = _plan(clinic, "Stale Worsening", start=start)  # no snapshot yet
    _days(plans["stale worsening"], worse)

    # A snapshot that said "worsening" before the latest check-ins: they decide now.
    plans["stale snapshot"] = _plan(clinic, "Stale Snapshot", start=start)
    _days(plans["stale snapshot"], steady)
    OutcomeSnapshot.objects.create(
        plan=plans["stale snapshot"],
        baseline=1.0,
        current=6.0,
        worsening=True,
        computed_at=NOW - timedelta(days=30),
    )

    plans["fresh steady"] = _plan(clinic, "Fresh Steady", start=start)
    _days(plans["fresh steady"], steady)
    outcome_refresh_plan(plan_id=plans["fresh steady"].pk, today=TODAY)

    plans["just under"] = _plan(clinic, "Just Under", start=start)
    _days(plans["just under"], {**dict.fromkeys(range(0, 7), 3), **dict.fromkeys(range(14, 20), 5), 20: 4})

    plans["three quiet days"] = _plan(clinic, "Three Quiet", start=start)
    _days(plans["three quiet days"], dict.fromkeys(range(0, 17), 4))  # last on TODAY - 4

    plans["two quiet days"] = _plan(clinic, "Two Quiet", start=start)
    _days(plans["two quiet days"], dict.fromkeys(range(0, 18), 4))  # last on TODAY - 3

    plans["never, 3 days in"] = _plan(clinic, "Never Three", start=TODAY - timedelta(days=3))
    plans["never, 2 days in"] = _plan(clinic, "Never Two", start=TODAY - timedelta(days=2))
    plans["not started"] = _plan(clinic, "Not Started", start=TODAY + timedelta(days=2))
    plans["stopped"] = _plan(clinic, "Stopped Plan", start=start, status=PlanStatus.STOPPED)

    # The same two quiet days: in Auckland it is already tomorrow, so three.
    plans["auckland"] = _plan(clinic, "Auckland Quiet", start=start, zone="Pacific/Auckland")
    _days(plans["auckland"], dict.fromkeys(range(0, 18), 4))
    plans["new york"] = _plan(clinic, "New York Quiet", start=start, zone="America/New_York")
    _days(plans["new york"], dict.fromkeys(range(0, 18), 4))

    # Worsening and silent at once: both reasons, both alerts.
    plans["both"] = _plan(clinic, "Both Reasons", start=start)
    _days(plans["both"], {**dict.fromkeys(range(0, 7), 2), **dict.fromkeys(range(10, 16), 7)})
    return {key: plan.patient for key, plan in plans.items()}


def _job(clinic: Clinic, moment: datetime) -> set[tuple[int, str]]:
    alerts_detect(now=moment)
    return set(
        Alert.objects.filter(
            patient__clinic=clinic, kind__in=RULE_KINDS, cleared_at__isnull=True
        ).values_list("patient_id", "kind")
    )


def _listed(clinic: Clinic, moment: datetime) -> set[tuple[int, str]]:
    return {
        (row.patient_id, reason.kind)
        for row in attention_list(clinic=clinic, now=moment)
        for reason in row.reasons
        if reason.kind in RULE_KINDS
    }


def test_job_and_attention_list_agree_on_a_mixed_caseload() -> None:
    clinic = ClinicFactory()
    patients = _caseload(clinic)
    # Another clinic's silent patient: the job alerts, this clinic's list never shows it.
    _plan(ClinicFactory(), "Elsewhere", start=TODAY - timedelta(days=10))

    job, listed = _job(clinic, NOW), _listed(clinic, NOW)
    assert job == listed
    # What the rules say for this caseload, so the agreement is not an empty one.
    expected = {
        ("fresh worsening", AlertKind.WORSENING),
        ("stale worsening", AlertKind.WORSENING),
        ("three quiet days", AlertKind.SILENCE),
        ("never, 3 days in", AlertKind.SILENCE),
        ("auckland", AlertKind.SILENCE),
        ("both", AlertKind.WORSENING),
        ("both", AlertKind.SILENCE),
    }
    assert job == {(patients[key].pk, kind) for key, kind in expected}


@pytest.mark.parametrize(
    "moment",
    [
        NOW - timedelta(hours=11, minutes=30),  # 00:30 in London, the night before in New York
        NOW + timedelta(hours=5),  # 17:00 London, 13:00 New York
        NOW + timedelta(days=1),  # a day later: the two-day silences turn three
        NOW + timedelta(days=3, hours=6),
    ],
)
def test_job_and_attention_list_agree_as_the_days_go_by(moment: datetime) -> None:
    clinic = ClinicFactory()
    _caseload(clinic)
    _job(clinic, NOW)  # episodes opened earlier, cleared or kept at ``moment``
    job, listed = _job(clinic, moment), _listed(clinic, moment)
    assert job == listed
    assert {kind for _, kind in job} == set(RULE_KINDS)
