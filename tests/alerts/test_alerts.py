"""Worsening and silence alerts: one per episode, cleared when it ends, raised again if it recurs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Invitation, Patient
from accounts.services import invitations_purge_expired
from alerts.models import Alert, AlertKind
from alerts.rules import Pain
from alerts.services import _worsening_detail, alerts_detect, alerts_digest_send, digest_clinics
from careplans.models import PlanStatus
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from outcomes.recompute import outcome_refresh_plan
from tests.factories import CarePlanFactory, PainCheckInFactory, PatientFactory
from tests.helpers import bulk_patients

pytestmark = pytest.mark.django_db

# Noon UTC on a Wednesday: the same date in London, New York and Kolkata.
NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
TODAY = date(2026, 5, 6)


def open_alerts(patient: Patient, kind: str) -> list[Alert]:
    return list(Alert.objects.filter(patient=patient, kind=kind, cleared_at__isnull=True))


def checkin(patient: Patient, day: date, nprs: int) -> None:
    plan = patient.plans.get(status=PlanStatus.ACTIVE)
    PainCheckIn.objects.update_or_create(
        patient=patient, local_date=day, defaults={"plan": plan, "nprs": nprs}
    )
    outcome_refresh_plan(plan_id=plan.pk, today=TODAY)


def test_worsening_alert_raised_once_per_episode_and_again_after_it_clears() -> None:
    patient = PatientFactory(timezone="Europe/London")
    start = TODAY - timedelta(days=20)
    CarePlanFactory(patient=patient, start_date=start)
    for day in range(3):
        checkin(patient, start + timedelta(days=day), 3)  # baseline 3
    checkin(patient, TODAY - timedelta(days=1), 6)  # current 6: worse by 3
    assert alerts_detect(now=NOW).worsening_raised == 1
    for _ in range(3):  # nightly, while it lasts: nothing new
        assert alerts_detect(now=NOW).worsening_raised == 0
    [alert] = open_alerts(patient, AlertKind.WORSENING)
    assert "3.0 points above the baseline of 3.0" in alert.detail

    checkin(patient, TODAY, 0)  # current (6 + 0) / 2 = 3: back to baseline
    result = alerts_detect(now=NOW)
    assert (result.worsening_cleared, open_alerts(patient, AlertKind.WORSENING)) == (1, [])

    checkin(patient, TODAY, 9)  # worse again: a new episode
    assert alerts_detect(now=NOW).worsening_raised == 1
    assert Alert.objects.filter(patient=patient, kind=AlertKind.WORSENING).count() == 2
    assert len(open_alerts(patient, AlertKind.WORSENING)) == 1


def test_silence_alert_after_three_whole_days_once_and_again_after_a_checkin() -> None:
    patient = PatientFactory(timezone="America/New_York")
    CarePlanFactory(patient=patient, start_date=TODAY - timedelta(days=30))
    PainCheckInFactory(plan=patient.plans.get(), local_date=TODAY - timedelta(days=3))
    assert alerts_detect(now=NOW).silence_raised == 0  # two whole days missed so far
    PainCheckIn.objects.filter(patient=patient).update(local_date=TODAY - timedelta(days=4))
    assert alerts_detect(now=NOW).silence_raised == 1
    assert alerts_detect(now=NOW).silence_raised == 0
    assert alerts_detect(now=NOW + timedelta(days=1)).silence_raised == 0  # still the same episode
    [alert] = open_alerts(patient, AlertKind.SILENCE)
    assert "the last was on Sat 02 May 2026" in alert.detail

    PainCheckInFactory(plan=patient.plans.get(), local_date=TODAY)
    assert alerts_detect(now=NOW).silence_cleared == 1
    assert open_alerts(patient, AlertKind.SILENCE) == []
    assert alerts_detect(now=NOW + timedelta(days=4)).silence_raised == 1
    assert Alert.objects.filter(patient=patient, kind=AlertKind.SILENCE).count() == 2


def test_silence_counts_days_in_the_patients_own_zone() -> None:
    # 11:30 UTC on 6 May is already 7 May in Auckland (UTC+12).
    moment = datetime(2026, 5, 6, 12, 30, tzinfo=UTC)
    auckland = PatientFactory(timezone="Pacific/Auckland")
    london = PatientFactory(timezone="Europe/London")
    for patient in (auckland, london):
        CarePlanFactory(patient=patient, start_date=TODAY - timedelta(days=30))
        PainCheckInFactory(plan=patient.plans.get(), local_date=TODAY - timedelta(days=3))
    alerts_detect(now=moment)
    assert len(open_alerts(auckland, AlertKind.SILENCE)) == 1
    assert open_alerts(london, AlertKind.SILENCE) == []


def test_new_plan_and_stopped_plan_are_not_silent() -> None:
    fresh = PatientFactory()
    CarePlanFactory(patient=fresh, start_date=TODAY - timedelta(days=2))
    stopped = PatientFactory()
    CarePlanFactory(patient=stopped, start_date=TODAY - timedelta(days=30), status=PlanStatus.STOPPED)
    assert alerts_detect(now=NOW).silence_raised == 0


def test_alert_of_a_stopped_plan_is_cleared() -> None:
    patient = PatientFactory()
    plan = CarePlanFactory(patient=patient, start_date=TODAY - timedelta(days=30))
    alerts_detect(now=NOW)
    assert len(open_alerts(patient, AlertKind.SILENCE)) == 1
    plan.status = PlanStatus.STOPPED
    plan.save()
    assert alerts_detect(now=NOW).silence_cleared == 1


@pytest.mark.parametrize("n", [5, 40])
def test_detection_is_set_based(n: int) -> None:
    patients = bulk_patients(n, zones=["Europe/London", "Asia/Kolkata"], start=TODAY - timedelta(days=30))
    OutcomeSnapshot.objects.bulk_create(
        OutcomeSnapshot(plan=p.plans.get(), baseline=2, current=5, worsening=True) for p in patients[: n // 2]
    )
    with CaptureQueriesContext(connection) as ctx:
        result = alerts_detect(now=NOW)
    assert (result.worsening_raised, result.silence_raised) == (n // 2, n)
    assert len(ctx.captured_queries) <= 16


def test_digest_sends_one_email_per_therapist_once(personas: Any) -> None:
    for patient in (personas.patient_a, personas.patient_b):
        CarePlanFactory(patient=patient, therapist=personas.owner, start_date=TODAY - timedelta(days=30))
    alerts_detect(now=NOW)
    assert alerts_digest_send(now=NOW, clinic_ids=[personas.clinic.pk]) == 1
    [message] = mail.outbox
    assert message.to == [personas.owner.user.email]
    assert "Ada Patient" in message.body and "Ben Patient" in message.body
    assert alerts_digest_send(now=NOW, clinic_ids=[personas.clinic.pk]) == 0
    assert len(mail.outbox) == 1


def test_digest_goes_in_the_clinics_morning(personas: Any) -> None:
    personas.clinic.timezone = "Asia/Kolkata"
    personas.clinic.save()
    morning = datetime(2026, 5, 6, 1, 50, tzinfo=UTC)  # 07:20 in Kolkata
    assert personas.clinic.pk in digest_clinics(now=morning)
    assert personas.clinic.pk not in digest_clinics(now=morning + timedelta(hours=1))


def test_expired_unused_invitations_are_purged() -> None:
    patient = PatientFactory()
    expired = Invitation.objects.create(
        patient=patient, token_hash="a" * 64, expires_at=NOW - timedelta(days=1)
    )
    used = Invitation.objects.create(
        patient=patient,
        token_hash="b" * 64,
        expires_at=NOW - timedelta(days=1),
        used_at=NOW - timedelta(days=2),
    )
    live = Invitation.objects.create(patient=patient, token_hash="c" * 64, expires_at=NOW + timedelta(days=1))
    assert invitations_purge_expired(now=NOW) == 1
    assert set(Invitation.objects.values_list("pk", flat=True)) == {used.pk, live.pk}
    assert not Invitation.objects.filter(pk=expired.pk).exists()


def test_worsening_wording_rounds_as_the_pages_do() -> None:
    """The alert's figures are the pages' (half up to a tenth, checkins.figures.nprs_tenths), and
    the rise is the difference of the figures shown: 6.35 - 4.25 reads 6.4 - 4.3 = 2.1."""
    assert (
        _worsening_detail(Pain(4.25, 6.35)) == "Current pain 6.4/10 is 2.1 points above the baseline of 4.3."
    )
