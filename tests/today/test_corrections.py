"""Issue 15: a patient corrects a check-in of the last 3 local days; older ones are read-only.

The service (today.corrections), the page, the API (PATCH) and what the therapist sees.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from alerts.models import Alert, AlertKind
from audit.models import AuditEvent
from checkins.models import PainCheckIn
from outcomes.models import OutcomeSnapshot
from portal.errors import DomainError, RateLimited
from tests.conftest import login
from tests.factories import PainCheckInFactory
from tests.helpers import make_plan
from today.corrections import checkin_correct

pytestmark = pytest.mark.django_db


def _checkin(personas: Any, days_ago: int, **answers: Any) -> PainCheckIn:
    patient = personas.patient_a
    plan = patient.plans.first() or make_plan(patient, therapist=personas.owner)
    return PainCheckInFactory(
        plan=plan, local_date=patient.local_today() - timedelta(days=days_ago), **answers
    )


def test_a_correction_changes_the_answers_marks_the_checkin_and_keeps_before_and_after(
    personas: Any,
) -> None:
    checkin = _checkin(personas, 1, nprs=7, side="left", note="after gardening")
    received = checkin.received_at
    _, changed = checkin_correct(
        patient=personas.patient_a,
        checkin_id=checkin.pk,
        changes={"nprs": 4, "side": "left", "note": "  typo: it was 4  "},
        ip="203.0.113.7",
    )
    checkin.refresh_from_db()
    assert changed is True
    assert (checkin.nprs, checkin.side, checkin.note) == (4, "left", "typo: it was 4")
    assert checkin.corrected_at is not None and checkin.received_at == received
    event = AuditEvent.objects.get(action="checkin.corrected")
    assert (event.actor, event.patient, event.ip_address) == (
        personas.patient_a.user,
        personas.patient_a,
        "203.0.113.7",
    )
    # Only what changed, before and after; the side stayed "left", so it is not listed.
    assert event.data == {
        "local_date": checkin.local_date.isoformat(),
        "before": {"nprs": 7, "note": "after gardening"},
        "after": {"nprs": 4, "note": "typo: it was 4"},
    }


@pytest.mark.parametrize(("days_ago", "allowed"), [(0, True), (1, True), (2, True), (3, False), (9, False)])
def test_the_last_three_local_days_can_be_corrected_and_older_ones_cannot(
    personas: Any, days_ago: int, allowed: bool
) -> None:
    checkin = _checkin(personas, days_ago, nprs=6)
    if allowed:
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": 5})
        checkin.refresh_from_db()
        assert checkin.nprs == 5
        return
    with pytest.raises(DomainError) as refused:
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": 5})
    assert refused.value.code == "checkin_too_old"
    checkin.refresh_from_db()
    assert (checkin.nprs, checkin.corrected_at) == (6, None)
    assert not AuditEvent.objects.filter(action="checkin.corrected").exists()


def test_the_window_is_counted_in_the_patients_own_calendar(personas: Any) -> None:
    patient = personas.patient_a
    patient.timezone = "Pacific/Kiritimati"  # UTC+14: already the next day when London is not
    patient.save()
    make_plan(patient, therapist=personas.owner, start=date(2026, 3, 1))
    now = datetime(2026, 3, 20, 11, 0, tzinfo=ZoneInfo("UTC"))  # 21 March, 01:00 in Kiritimati
    two_days = PainCheckInFactory(plan=patient.plans.get(), local_date=date(2026, 3, 19), nprs=6)
    three_days = PainCheckInFactory(plan=patient.plans.get(), local_date=date(2026, 3, 18), nprs=6)
    # In UTC it is 20 March, and 18 March would be two days back; where the patient lives it is three.
    checkin_correct(patient=patient, checkin_id=two_days.pk, changes={"nprs": 2}, now=now)
    with pytest.raises(DomainError) as refused:
        checkin_correct(patient=patient, checkin_id=three_days.pk, changes={"nprs": 2}, now=now)
    assert refused.value.code == "checkin_too_old"


def test_the_same_answers_change_nothing(personas: Any) -> None:
    checkin = _checkin(personas, 0, nprs=5, side="both")
    _, changed = checkin_correct(
        patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": 5, "side": "both"}
    )
    checkin.refresh_from_db()
    assert changed is False and checkin.corrected_at is None
    assert not AuditEvent.objects.filter(action="checkin.corrected").exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"nprs": 11}, "invalid_nprs"),
        ({"side": "up"}, "unknown_side"),
        ({"note": "x" * 2001}, "too_long"),
        ({"local_date": "2026-01-01"}, "unknown_field"),
    ],
)
def test_bad_corrections_are_refused_with_their_code(
    personas: Any, changes: dict[str, Any], code: str
) -> None:
    checkin = _checkin(personas, 0, nprs=5)
    with pytest.raises(DomainError) as refused:
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes=changes)
    assert refused.value.code == code
    checkin.refresh_from_db()
    assert checkin.nprs == 5 and checkin.corrected_at is None


def test_another_patients_checkin_is_not_found(personas: Any) -> None:
    theirs = PainCheckInFactory(plan=make_plan(personas.patient_b, therapist=personas.owner))
    with pytest.raises(DomainError) as refused:
        checkin_correct(patient=personas.patient_a, checkin_id=theirs.pk, changes={"nprs": 1})
    assert refused.value.code == "not_found"


def test_a_red_flag_newly_answered_yes_alerts_the_therapist_at_once(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    checkin = _checkin(personas, 1, nprs=5)
    with django_capture_on_commit_callbacks(execute=True):
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"flag_fever": True})
    alert = Alert.objects.get(patient=personas.patient_a)
    assert (alert.kind, alert.checkin, alert.acknowledged_at) == (AlertKind.RED_FLAG, checkin, None)
    assert "fever" in alert.detail
    assert AuditEvent.objects.get(action="alert.opened").data == {"kind": "red_flag", "flags": ["flag_fever"]}
    assert [message.to for message in mail.outbox] == [[personas.owner.user.email]]
    # Correcting the note of a check-in that already says yes raises no second alert.
    with django_capture_on_commit_callbacks(execute=True):
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"note": "feverish"})
    assert Alert.objects.filter(patient=personas.patient_a).count() == 1


def test_a_correction_refreshes_the_outcome_like_a_new_checkin(
    personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    checkin = _checkin(personas, 0, nprs=8)
    OutcomeSnapshot.objects.create(plan=checkin.plan, current=8.0, checkin_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": 2})
    assert OutcomeSnapshot.objects.get(plan=checkin.plan).current == 2.0


# --- the page ---------------------------------------------------------------------------


def test_the_checkin_page_lists_recent_checkins_and_offers_corrections_for_three_days(
    client: Client, personas: Any
) -> None:
    recent = _checkin(personas, 2, nprs=4)
    old = _checkin(personas, 3, nprs=6)
    login(client, personas.patient_a.user)
    html = client.get(reverse("checkin")).content.decode()
    assert "Your latest check-ins" in html
    correct = reverse("checkin-correct", args=[recent.pk])
    assert f'<a class="button small" href="{correct}">Correct' in html
    assert f'href="{reverse("checkin-correct", args=[old.pk])}">View' in html and "(read-only)" in html


def test_the_patient_corrects_on_the_page_and_the_therapist_sees_it_edited(
    client: Client, personas: Any
) -> None:
    checkin = _checkin(personas, 1, nprs=7, side="left")
    login(client, personas.patient_a.user)
    url = reverse("checkin-correct", args=[checkin.pk])
    form = client.get(url)
    assert form.status_code == 200 and 'value="7" id=' in form.content.decode()
    # The newcomer's report: a past day's form asked for the pain "right now".
    assert "How much pain did you have that day?" in form.content.decode()
    assert "right now" not in form.content.decode()
    answers = {"nprs": "3", "side": "left", "note": "", **dict.fromkeys(PainCheckIn.RED_FLAG_FIELDS, "no")}
    moment = datetime(2026, 5, 4, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(moment, tick=False):
        checkin.local_date = personas.patient_a.local_today() - timedelta(days=1)
        checkin.save()
        response = client.post(url, answers)
    assert response.status_code == 302 and response["Location"] == reverse("checkin") + "#recent-checkins"
    checkin.refresh_from_db()
    assert checkin.nprs == 3 and checkin.corrected_at == moment
    login(client, personas.owner.user)
    record = client.get(reverse("patient-record", args=[personas.patient_a.pk])).content.decode()
    # The clinic's zone (Europe/London): 09:30 on 4 May is summer time.
    assert '<span class="tag edited">edited 4 May, 09:30</span>' in record


def test_an_old_checkin_is_shown_read_only_and_a_correction_is_refused(client: Client, personas: Any) -> None:
    checkin = _checkin(personas, 5, nprs=7)
    login(client, personas.patient_a.user)
    url = reverse("checkin-correct", args=[checkin.pk])
    page = client.get(url).content.decode()
    assert "can no longer be changed" in page and '<form method="post" action="' + url not in page
    answers = {"nprs": "3", "side": "left", **dict.fromkeys(PainCheckIn.RED_FLAG_FIELDS, "no")}
    response = client.post(url, answers)
    assert response.status_code == 400
    assert "can no longer be changed" in response.content.decode()
    checkin.refresh_from_db()
    assert checkin.nprs == 7


def test_an_unanswered_safety_question_is_refused_on_the_page(client: Client, personas: Any) -> None:
    checkin = _checkin(personas, 0, nprs=7)
    login(client, personas.patient_a.user)
    response = client.post(reverse("checkin-correct", args=[checkin.pk]), {"nprs": "3", "side": "left"})
    assert response.status_code == 400
    assert "Answer each safety question" in response.content.decode()
    checkin.refresh_from_db()
    assert checkin.nprs == 7


@pytest.mark.parametrize("who", ["patient_b", "owner"])
def test_someone_elses_checkin_page_is_404(client: Client, personas: Any, who: str) -> None:
    checkin = _checkin(personas, 0)
    login(client, getattr(personas, who).user)
    assert client.get(reverse("checkin-correct", args=[checkin.pk])).status_code == 404


# --- the API ----------------------------------------------------------------------------


def _api(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_patch_corrects_the_patients_own_checkin(personas: Any) -> None:
    checkin = _checkin(personas, 2, nprs=7)
    response = _api(personas.patient_a.user).patch(
        f"/api/v1/checkins/{checkin.pk}/", {"nprs": 2, "flag_fever": False}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["nprs"] == 2 and body["corrected_at"] is not None and body["id"] == checkin.pk
    assert AuditEvent.objects.get(action="checkin.corrected").data["after"] == {"nprs": 2}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nprs": "7"}, "nprs"),
        ({"nprs": 3.5}, "nprs"),
        ({"flag_fever": "yes"}, "flag_fever"),
        ({"local_date": "2026-01-01"}, "local_date"),
        ({"date": "2026-01-01"}, "date"),
        ({"mood": "good"}, "mood"),
    ],
)
def test_patch_refuses_bad_input_naming_the_field(personas: Any, body: dict[str, Any], field: str) -> None:
    checkin = _checkin(personas, 0, nprs=7)
    response = _api(personas.patient_a.user).patch(f"/api/v1/checkins/{checkin.pk}/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    checkin.refresh_from_db()
    assert checkin.nprs == 7


def test_patch_of_an_old_checkin_is_refused_with_the_reason(personas: Any) -> None:
    checkin = _checkin(personas, 4, nprs=7)
    response = _api(personas.patient_a.user).patch(
        f"/api/v1/checkins/{checkin.pk}/", {"nprs": 2}, format="json"
    )
    assert response.status_code == 400
    assert "can no longer be changed" in response.json()["non_field_errors"][0]


@pytest.mark.parametrize("who", ["patient_b", "owner", "outsider"])
def test_patch_of_someone_elses_checkin_is_404(personas: Any, who: str) -> None:
    checkin = _checkin(personas, 0, nprs=7)
    response = _api(getattr(personas, who).user).patch(
        f"/api/v1/checkins/{checkin.pk}/", {"nprs": 1}, format="json"
    )
    assert response.status_code == 404
    checkin.refresh_from_db()
    assert checkin.nprs == 7


@pytest.mark.usefixtures("clock_stands_still")
def test_corrections_count_against_the_checkin_rate_limit(personas: Any, settings: Any) -> None:
    settings.PLINTH_RATE_LIMITS = {**settings.PLINTH_RATE_LIMITS, "checkin": (2, 60)}
    checkin = _checkin(personas, 0, nprs=5)
    for nprs in (4, 3):
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": nprs})
    with pytest.raises(RateLimited):
        checkin_correct(patient=personas.patient_a, checkin_id=checkin.pk, changes={"nprs": 2})
    checkin.refresh_from_db()
    assert checkin.nprs == 3
