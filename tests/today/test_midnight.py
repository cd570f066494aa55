"""A check-in belongs to the local day the patient answered for: midnight is a boundary, not a cliff.

The clock is always controlled (time-machine, or the service's ``now``); the
patient is in London, where 4 May 2026 is BST (UTC+1).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.localday import ANSWER_GRACE, DAY_CLOSED, DAY_IN_FUTURE, answer_day, day_is_open
from accounts.models import Patient
from audit.models import AuditEvent
from careplans.models import CarePlan
from checkins.models import PainCheckIn
from portal.errors import DomainError
from tests.factories import PatientFactory
from tests.helpers import make_plan
from tests.today.test_pages import GOOD
from today.services import checkin_submit

pytestmark = pytest.mark.django_db

EVENING = date(2026, 5, 4)
MORNING = date(2026, 5, 5)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


@pytest.fixture
def plan(personas: Any) -> CarePlan:
    return make_plan(personas.patient_a, therapist=personas.owner, start=date(2026, 4, 20))


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rendered_day(html: str) -> str:
    match = re.search(r'<input type="hidden" name="local_date" value="([^"]*)"', html)
    assert match, "the form carries the day it was rendered for"
    return match.group(1)


# --- the rule ----------------------------------------------------------------------


def test_the_grace_period_is_two_hours_after_local_midnight() -> None:
    patient = PatientFactory(timezone="Europe/London")
    assert timedelta(hours=2) == ANSWER_GRACE
    assert day_is_open(patient=patient, day=EVENING, now=london(2026, 5, 5, 1, 59))
    assert not day_is_open(patient=patient, day=EVENING, now=london(2026, 5, 5, 2, 0))
    assert day_is_open(patient=patient, day=MORNING, now=london(2026, 5, 5, 23, 59))
    assert not day_is_open(patient=patient, day=date(2026, 5, 3), now=london(2026, 5, 5, 0, 1))


@pytest.mark.parametrize(
    ("zone", "now", "day", "code"),
    [
        # Kiritimati (UTC+14) is on 5 May at 10:30 UTC on 4 May: 4 May is yesterday, in grace.
        ("Pacific/Kiritimati", datetime(2026, 5, 4, 10, 30, tzinfo=UTC), date(2026, 5, 4), None),
        ("Pacific/Kiritimati", datetime(2026, 5, 4, 12, 1, tzinfo=UTC), date(2026, 5, 4), DAY_CLOSED),
        # Pago Pago (UTC-11) is still on 3 May then: 4 May is in its future.
        ("Pacific/Pago_Pago", datetime(2026, 5, 4, 10, 30, tzinfo=UTC), date(2026, 5, 4), DAY_IN_FUTURE),
        # Kathmandu (UTC+05:45): 00:44 local on 5 May.
        ("Asia/Kathmandu", datetime(2026, 5, 4, 18, 59, tzinfo=UTC), date(2026, 5, 4), None),
        ("Asia/Kathmandu", datetime(2026, 5, 4, 18, 59, tzinfo=UTC), date(2026, 5, 2), DAY_CLOSED),
        # New York springs forward at 02:00 on 8 March: the grace is 2 real hours, to 03:00 on the clock.
        ("America/New_York", datetime(2026, 3, 8, 6, 59, tzinfo=UTC), date(2026, 3, 7), None),
        ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC), date(2026, 3, 7), DAY_CLOSED),
    ],
)
def test_answer_day_across_zones(zone: str, now: datetime, day: date, code: str | None) -> None:
    patient = PatientFactory(timezone=zone)
    if code is None:
        assert answer_day(patient=patient, day=day, now=now) == day
    else:
        with pytest.raises(DomainError) as caught:
            answer_day(patient=patient, day=day, now=now)
        assert (caught.value.code, caught.value.field) == (code, "local_date")


# --- the service -------------------------------------------------------------------


def test_service_saves_a_late_answer_for_the_day_it_was_given_for(personas: Any, plan: CarePlan) -> None:
    patient = personas.patient_a
    checkin, replaced = checkin_submit(
        patient=patient, nprs=6, side="left", local_date=EVENING, now=london(2026, 5, 5, 0, 2)
    )
    assert (checkin.local_date, replaced) == (EVENING, False)
    assert checkin.received_at == london(2026, 5, 5, 0, 2)
    morning, replaced = checkin_submit(patient=patient, nprs=3, side="left", now=london(2026, 5, 5, 8, 0))
    assert (morning.local_date, replaced) == (MORNING, False)
    assert dict(PainCheckIn.objects.values_list("local_date", "nprs")) == {EVENING: 6, MORNING: 3}


def test_service_refuses_a_closed_day_a_future_day_and_a_day_before_the_plan(personas: Any) -> None:
    patient = personas.patient_a
    make_plan(patient, therapist=personas.owner, start=MORNING)
    cases = [
        (EVENING, london(2026, 5, 5, 2, 1), DAY_CLOSED),
        (date(2026, 5, 6), london(2026, 5, 5, 23, 0), DAY_IN_FUTURE),
        (EVENING, london(2026, 5, 5, 0, 30), "outside_plan"),
    ]
    for day, now, code in cases:
        with pytest.raises(DomainError) as caught:
            checkin_submit(patient=patient, nprs=4, side="left", local_date=day, now=now)
        assert (caught.value.code, caught.value.field) == (code, "local_date")
    assert not PainCheckIn.objects.exists() and not AuditEvent.objects.exists()


# --- the page: the field report's example --------------------------------------------


def test_form_opened_at_2358_and_sent_at_0002_counts_for_the_evening(personas: Any, plan: CarePlan) -> None:
    client = logged_in(personas.patient_a.user)
    with time_machine.travel(london(2026, 5, 4, 23, 58), tick=False):
        page = client.get(reverse("checkin"))
    assert rendered_day(page.content.decode()) == "2026-05-04"
    with time_machine.travel(london(2026, 5, 5, 0, 2), tick=False):
        sent = client.post(reverse("checkin"), {**GOOD, "nprs": "7", "local_date": "2026-05-04"})
        assert sent.status_code == 302 and sent["Location"].endswith("?day=2026-05-04")
        done = client.get(sent["Location"])
        assert b"Check-in saved" in done.content
    with time_machine.travel(london(2026, 5, 5, 8, 0), tick=False):
        morning = client.get(reverse("checkin")).content.decode()
        assert "You already checked in" not in morning
        assert rendered_day(morning) == "2026-05-05"
        client.post(reverse("checkin"), {**GOOD, "nprs": "3", "local_date": "2026-05-05"})
    # The morning answer is the morning's; the evening one is kept.
    assert dict(PainCheckIn.objects.values_list("local_date", "nprs")) == {EVENING: 7, MORNING: 3}
    assert AuditEvent.objects.filter(action="checkin.replaced").count() == 0


def test_form_sent_after_the_grace_period_asks_instead_of_moving_it(personas: Any, plan: CarePlan) -> None:
    client = logged_in(personas.patient_a.user)
    with time_machine.travel(london(2026, 5, 5, 2, 1), tick=False):
        page = client.post(reverse("checkin"), {**GOOD, "nprs": "8", "local_date": "2026-05-04"})
        html = page.content.decode()
        assert page.status_code == 400
        assert "The day has changed" in html and "Record it for today" in html
        assert rendered_day(html) == "2026-05-05"
        assert 'value="8" id="id_nprs_8" checked' in html  # the answers are kept
        assert not PainCheckIn.objects.exists()
        # The patient agrees: sent again as offered, it is recorded for today.
        again = client.post(reverse("checkin"), {**GOOD, "nprs": "8", "local_date": rendered_day(html)})
    assert again.status_code == 302
    assert PainCheckIn.objects.get().local_date == MORNING


def test_reminder_link_opens_the_previous_day_while_it_is_open(personas: Any, plan: CarePlan) -> None:
    client = logged_in(personas.patient_a.user)
    with time_machine.travel(london(2026, 5, 5, 0, 5), tick=False):
        html = client.get(reverse("checkin") + "?day=2026-05-04").content.decode()
        assert rendered_day(html) == "2026-05-04" and "Check-in for Monday 4 May" in html
    with time_machine.travel(london(2026, 5, 5, 2, 5), tick=False):
        for asked in ("2026-05-04", "2026-05-06", "nonsense", "2026-02-30"):
            html = client.get(reverse("checkin"), {"day": asked}).content.decode()
            assert rendered_day(html) == "2026-05-05" and "Today's check-in" in html


# --- the API -------------------------------------------------------------------------


def api_for(patient: Patient) -> APIClient:
    api = APIClient()
    api.force_login(patient.user)
    return api


@pytest.mark.parametrize(
    ("now", "local_date", "status", "saved_for"),
    [
        (london(2026, 5, 5, 0, 2), "2026-05-04", 201, EVENING),
        (london(2026, 5, 5, 0, 2), None, 201, MORNING),
        (london(2026, 5, 5, 0, 2), "2026-05-05", 201, MORNING),
        (london(2026, 5, 5, 2, 1), "2026-05-04", 400, None),
        (london(2026, 5, 5, 0, 2), "2026-05-06", 400, None),
        (london(2026, 5, 5, 0, 2), "2026-04-19", 400, None),  # before the plan, and closed
        (london(2026, 5, 5, 0, 2), "05/04/2026", 400, None),
        (london(2026, 5, 5, 0, 2), "2026-05-04T23:58:00", 400, None),
    ],
)
def test_api_checkin_takes_an_optional_iso_local_date(
    personas: Any, plan: CarePlan, now: datetime, local_date: str | None, status: int, saved_for: date | None
) -> None:
    body: dict[str, Any] = {"nprs": 5, "side": "right"}
    if local_date is not None:
        body["local_date"] = local_date
    with time_machine.travel(now, tick=False):
        response = api_for(personas.patient_a).post("/api/v1/checkins/", body, format="json")
    assert response.status_code == status, response.content
    if saved_for is None:
        assert list(response.json()) == ["local_date"]
        assert not PainCheckIn.objects.exists()
    else:
        assert response.json()["local_date"] == saved_for.isoformat()
        assert PainCheckIn.objects.get().local_date == saved_for


def test_api_before_the_plan_names_local_date(personas: Any) -> None:
    make_plan(personas.patient_a, therapist=personas.owner, start=MORNING)
    with time_machine.travel(london(2026, 5, 5, 0, 30), tick=False):
        response = api_for(personas.patient_a).post(
            "/api/v1/checkins/", {"nprs": 5, "side": "right", "local_date": "2026-05-04"}, format="json"
        )
    assert response.status_code == 400
    assert "Your plan starts on Tuesday 5 May" in response.json()["local_date"][0]


def test_schema_documents_local_date_as_an_optional_iso_date() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["components"]["schemas"]["CheckInCreateRequest"]
    assert body["properties"]["local_date"]["type"] == "string"
    assert body["properties"]["local_date"]["format"] == "date"
    assert "ISO 8601" in body["properties"]["local_date"]["description"]
    assert "local_date" not in body.get("required", [])
