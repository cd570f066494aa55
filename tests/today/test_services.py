"""The check-in and alert services: local dates, replacing, red flags, emails, acknowledgement."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError

from alerts.models import Alert, AlertKind
from alerts.services import alert_acknowledge, alert_email_deliver
from alerts.tasks import alert_email_send
from audit.models import AuditEvent
from careplans.models import PlanStatus
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from portal.errors import DomainError
from tests.factories import PainCheckInFactory
from tests.helpers import make_plan
from today.services import checkin_submit

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("zone", "local_moment", "expected"),
    [
        # 23:30 on 10 March in Los Angeles is already 11 March in UTC: the patient's date wins.
        ("America/Los_Angeles", datetime(2026, 3, 10, 23, 30), date(2026, 3, 10)),
        # 00:30 on 11 March in Sydney is still 10 March in UTC: the new local day counts.
        ("Australia/Sydney", datetime(2026, 3, 11, 0, 30), date(2026, 3, 11)),
    ],
)
def test_checkin_lands_on_the_patients_local_date(
    personas: Any, zone: str, local_moment: datetime, expected: date
) -> None:
    patient = personas.patient_a
    patient.timezone = zone
    patient.save()
    make_plan(patient, therapist=personas.owner, start=date(2026, 3, 1))
    now = local_moment.replace(tzinfo=ZoneInfo(zone))
    assert now.astimezone(UTC).date() != expected  # the case where the UTC date would be wrong

    checkin, replaced = checkin_submit(patient=patient, nprs=4, side="left", now=now)

    assert (checkin.local_date, replaced) == (expected, False)
    assert checkin.received_at == now


def test_same_local_day_replaces_and_keeps_the_old_values_in_the_audit(
    personas: Any, plan_a_two_weeks_in: Any
) -> None:
    patient = personas.patient_a
    # Noon of the patient's own day, so the second check-in cannot cross a midnight.
    first_at = datetime.combine(patient.local_today(), time(12), tzinfo=ZoneInfo(str(patient.timezone)))
    with time_machine.travel(first_at, tick=False):
        first, _ = checkin_submit(patient=patient, nprs=7, side="left", note="stiff", now=first_at)
        second, replaced = checkin_submit(
            patient=patient, nprs=3, side="both", now=first_at + timedelta(minutes=5)
        )

    assert replaced is True
    assert second.pk == first.pk
    assert PainCheckIn.objects.filter(patient=patient).count() == 1
    stored = PainCheckIn.objects.get()
    assert (stored.nprs, stored.side, stored.note) == (3, "both", "")
    event = AuditEvent.objects.get(action="checkin.replaced")
    assert event.patient == patient and event.actor == patient.user
    assert event.data["replaced"]["nprs"] == 7
    assert event.data["replaced"]["side"] == "left"
    assert event.data["replaced"]["note"] == "stiff"
    assert event.data["new"]["nprs"] == 3
    assert AuditEvent.objects.filter(action="checkin.created").count() == 1


def test_next_local_day_is_a_new_checkin(personas: Any, plan_a_two_weeks_in: Any) -> None:
    now = datetime.now(UTC)
    checkin_submit(patient=personas.patient_a, nprs=5, side="left", now=now)
    _, replaced = checkin_submit(patient=personas.patient_a, nprs=4, side="left", now=now + timedelta(days=1))
    assert replaced is False
    assert PainCheckIn.objects.count() == 2


def test_no_active_plan_is_refused_with_a_clear_message(personas: Any) -> None:
    make_plan(personas.patient_a, therapist=personas.owner, status=PlanStatus.DRAFT)
    with pytest.raises(DomainError, match="no active care plan") as error:
        checkin_submit(patient=personas.patient_a, nprs=4, side="left")
    assert error.value.field == "plan"
    assert not PainCheckIn.objects.exists()
    assert not AuditEvent.objects.exists()


def test_plan_not_started_yet_is_refused(personas: Any) -> None:
    make_plan(personas.patient_a, start=personas.patient_a.local_today() + timedelta(days=3))
    with pytest.raises(DomainError, match="check-ins open"):
        checkin_submit(patient=personas.patient_a, nprs=4, side="left")
    assert not PainCheckIn.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"nprs": -1}, "nprs"),
        ({"nprs": 11}, "nprs"),
        ({"nprs": 3.5}, "nprs"),
        ({"nprs": "seven"}, "nprs"),
        ({"nprs": True}, "nprs"),
        ({"side": "up"}, "side"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_service_refuses_bad_values(
    personas: Any, plan_a_two_weeks_in: Any, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"nprs": 4, "side": "left", **kwargs}
    with pytest.raises(DomainError) as error:
        checkin_submit(patient=personas.patient_a, **args)
    assert error.value.field == field
    assert not PainCheckIn.objects.exists()


def test_red_flag_opens_an_alert_and_emails_after_commit(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The patient's own therapist differs from the plan's: both are told.
    personas.patient_a.therapist = personas.colleague
    personas.patient_a.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        checkin, _ = checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_bladder_bowel=True)
        alert = Alert.objects.get()
        # The alert is there at once; the email waits for the commit.
        assert alert.kind == AlertKind.RED_FLAG and alert.checkin == checkin and alert.is_open
        assert "loss of bowel or bladder control" in alert.detail
        assert mail.outbox == []
    assert len(callbacks) == 3  # the attention list's generation, the email and the outcome recompute
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([personas.owner.user.email, personas.colleague.user.email])
    assert "Ada Patient" in mail.outbox[0].subject
    assert f"/patients/{personas.patient_a.pk}/" in mail.outbox[0].body
    alert.refresh_from_db()
    assert alert.emailed_at is not None
    assert AuditEvent.objects.filter(action="alert.opened", patient=personas.patient_a).exists()


def test_outcome_recompute_runs_after_commit(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        checkin_submit(patient=personas.patient_a, nprs=6, side="left")
    snapshot = OutcomeSnapshot.objects.get(plan=plan_a_two_weeks_in)
    assert snapshot.checkin_count == 1 and snapshot.current == 6


def test_no_alert_and_no_email_when_the_transaction_rolls_back(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
        raise RuntimeError("something later in the same transaction failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not Alert.objects.exists()
    assert not PainCheckIn.objects.exists()


def test_no_red_flag_no_alert(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        checkin_submit(patient=personas.patient_a, nprs=6, side="left")
    assert len(callbacks) == 1  # only the outcome recompute
    assert not Alert.objects.exists()
    assert mail.outbox == []


def test_replacing_with_the_same_flag_raises_no_second_alert_but_a_new_flag_does(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
        checkin_submit(patient=personas.patient_a, nprs=7, side="left", flag_fever=True)
    assert Alert.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        checkin_submit(
            patient=personas.patient_a, nprs=7, side="left", flag_fever=True, flag_leg_weakness=True
        )
    assert Alert.objects.count() == 2
    assert len(mail.outbox) == 2


def test_alert_email_task_sends_once(personas: Any, plan_a_two_weeks_in: Any) -> None:
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    alert = Alert.objects.get()
    assert alert_email_send(alert.pk) == 1
    assert alert_email_send(alert.pk) == 0
    assert len(mail.outbox) == 1


def test_alert_email_task_declares_its_retry_policy() -> None:
    assert alert_email_send.acks_late is True
    assert alert_email_send.max_retries == 5
    assert OSError in alert_email_send.autoretry_for
    assert alert_email_send.retry_backoff


def test_failed_send_leaves_the_alert_unemailed_for_the_retry(
    personas: Any, plan_a_two_weeks_in: Any
) -> None:
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    alert = Alert.objects.get()
    with (
        mock.patch("alerts.services.send_mail", side_effect=ConnectionRefusedError("smtp down")),
        pytest.raises(ConnectionRefusedError),
    ):
        alert_email_deliver(alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.emailed_at is None
    assert alert_email_send(alert.pk) == 1


def test_broker_down_does_not_fail_the_checkin(
    personas: Any, plan_a_two_weeks_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    down = OperationalError("Error 111 connecting to redis")
    with (
        mock.patch("alerts.tasks.alert_email_send.delay", side_effect=down),
        mock.patch("outcomes.tasks.outcome_recompute_plan.apply_async", side_effect=down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        checkin, _ = checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    assert PainCheckIn.objects.filter(pk=checkin.pk).exists()
    assert Alert.objects.filter(emailed_at__isnull=True).count() == 1


def test_acknowledge_records_who_and_when(personas: Any, plan_a_two_weeks_in: Any) -> None:
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    alert = Alert.objects.get()
    alert_acknowledge(alert=alert, by=personas.colleague.user, ip="203.0.113.9")
    alert.refresh_from_db()
    assert alert.acknowledged_by == personas.colleague.user
    assert alert.acknowledged_at is not None and not alert.is_open
    event = AuditEvent.objects.get(action="alert.acknowledged")
    assert (event.actor, event.ip_address, event.patient) == (
        personas.colleague.user,
        "203.0.113.9",
        personas.patient_a,
    )
    # A second acknowledgement changes nothing.
    first_at = alert.acknowledged_at
    alert_acknowledge(alert=alert, by=personas.owner.user)
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_at) == (personas.colleague.user, first_at)
    assert AuditEvent.objects.filter(action="alert.acknowledged").count() == 1


@pytest.mark.parametrize("who", ["outsider", "patient"])
def test_only_the_clinics_therapists_can_acknowledge(
    personas: Any, plan_a_two_weeks_in: Any, who: str
) -> None:
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_fever=True)
    alert = Alert.objects.get()
    user = personas.outsider.user if who == "outsider" else personas.patient_a.user
    with pytest.raises(DomainError):
        alert_acknowledge(alert=alert, by=user)
    alert.refresh_from_db()
    assert alert.is_open


@pytest.mark.parametrize("nprs", [-1, 11, 99])
def test_database_refuses_nprs_outside_0_to_10(plan_a_two_weeks_in: Any, nprs: int) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PainCheckInFactory(plan=plan_a_two_weeks_in, nprs=nprs)


def test_database_refuses_an_update_outside_0_to_10(plan_a_two_weeks_in: Any) -> None:
    checkin = PainCheckInFactory(plan=plan_a_two_weeks_in, nprs=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        PainCheckIn.objects.filter(pk=checkin.pk).update(nprs=12)


def test_database_allows_one_checkin_per_patient_and_day(plan_a_two_weeks_in: Any) -> None:
    PainCheckInFactory(plan=plan_a_two_weeks_in)
    with pytest.raises(IntegrityError), transaction.atomic():
        PainCheckInFactory(plan=plan_a_two_weeks_in)
