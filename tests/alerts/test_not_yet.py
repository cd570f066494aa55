"""No alarm before the patient could have acted (Plinth issue 15).

A patient flagged "Adherence 0% in the last 7 days" minutes after their plan was
activated, before they had set a password. The rules (alerts.rules) now wait: a
patient who has not accepted the invitation is said plainly ("Waiting for Noor
to accept the invitation") on the attention list, caseload and record, with no
silence or adherence alarm; and a joined patient is judged only once the rule's
window has elapsed since the plan began (its start date and its activation).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from accounts.services import patient_invite
from alerts.models import Alert, AlertKind
from alerts.selectors import attention_list
from alerts.services import alerts_detect
from careplans.models import CarePlan
from tests.helpers import as_user, template_plan

pytestmark = pytest.mark.django_db

# 10:00 in London on a Wednesday: the plan is activated then.
ACTIVATED = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def _reasons(clinic: Any, patient_id: int, now: datetime) -> list[tuple[str, str]]:
    rows = [row for row in attention_list(clinic=clinic, now=now) if row.patient_id == patient_id]
    return [(reason.kind, reason.text) for row in rows for reason in row.reasons]


def test_a_patient_activated_minutes_ago_who_has_not_joined_is_waiting_not_alarming(
    personas: Any, library: None
) -> None:
    with time_machine.travel(ACTIVATED, tick=False):
        noor = patient_invite(
            clinic=personas.clinic,
            by=personas.owner,
            full_name="Noor Haddad",
            email="noor@example.test",
            timezone="Europe/London",
            reminder_time=time(18, 0),
        )
        plan = template_plan(noor, personas.owner)
    assert not noor.joined and plan.activated_at == ACTIVATED

    minutes_later = ACTIVATED + timedelta(minutes=10)
    waiting = [("waiting", "Waiting for Noor to accept the invitation.")]
    assert _reasons(personas.clinic, noor.pk, minutes_later) == waiting
    # Still no alarm ten days on: silence and adherence wait for the patient to join.
    assert _reasons(personas.clinic, noor.pk, ACTIVATED + timedelta(days=10)) == waiting
    assert alerts_detect(now=ACTIVATED + timedelta(days=10)).silence_raised == 0
    assert not Alert.objects.filter(patient=noor).exists()

    with time_machine.travel(minutes_later, tick=False):
        therapist = as_user(personas.owner.user)
        caseload = therapist.get(reverse("caseload")).content.decode()
        record = therapist.get(reverse("patient-record", args=[noor.pk])).content.decode()
        detail = therapist.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    for page in (caseload, record, detail):
        assert "Waiting for Noor to accept the invitation" in page
    assert "Adherence 0%" not in caseload and "0%" not in record


def test_a_joined_patient_on_the_plans_first_day_shows_no_0_percent(personas: Any, library: None) -> None:
    patient = personas.patient_a
    with time_machine.travel(ACTIVATED, tick=False):
        plan = template_plan(patient, personas.owner)
    assert patient.joined
    minutes_later = ACTIVATED + timedelta(minutes=10)
    assert _reasons(personas.clinic, patient.pk, minutes_later) == []
    with time_machine.travel(minutes_later, tick=False):
        caseload = as_user(personas.owner.user).get(reverse("caseload")).content.decode()
        record = (
            as_user(personas.owner.user).get(reverse("patient-record", args=[patient.pk])).content.decode()
        )
    assert "First day of the plan" in caseload and "0%" not in caseload
    assert "first day" in record
    # Days 1 to 6 with nothing done: silence from day 3 (its own 3-day window), while the
    # adherence alarm waits for its 7-day window.
    for day in range(1, 7):
        kinds = [kind for kind, _ in _reasons(personas.clinic, patient.pk, ACTIVATED + timedelta(days=day))]
        assert kinds == (["silence"] if day >= 3 else []), day
    assert _reasons(personas.clinic, patient.pk, ACTIVATED + timedelta(days=7)) == [
        ("silence", "No check-in yet, 7 full days into the plan."),
        # Days 1-7: three exercises twice a day (3 x 7 x 2 = 42), bridge and bird dog 5 days a
        # week (days 1-6 of week 1: 5, day 7 of week 2: 1; 6 each).
        ("adherence", "Adherence 0% in the last 7 days (0 of 54 exercise sessions done)."),
    ]
    assert CarePlan.objects.get(pk=plan.pk).start_date == ACTIVATED.date()


def test_a_plan_activated_today_with_an_earlier_start_waits_for_the_window_since_activation(
    personas: Any, library: None
) -> None:
    patient = personas.patient_a
    with time_machine.travel(ACTIVATED, tick=False):
        plan = template_plan(patient, personas.owner)
    # Started a month ago on paper; activated in Plinth only now.
    CarePlan.objects.filter(pk=plan.pk).update(start_date=ACTIVATED.date() - timedelta(days=30))
    for hours in (1, 71):
        now = ACTIVATED + timedelta(hours=hours)
        assert _reasons(personas.clinic, patient.pk, now) == [], hours
        assert alerts_detect(now=now).silence_raised == 0
    # Silence once 3 days have passed since activation; adherence once 7 have.
    three_days = ACTIVATED + timedelta(days=3)
    assert [kind for kind, _ in _reasons(personas.clinic, patient.pk, three_days)] == ["silence"]
    assert alerts_detect(now=three_days).silence_raised == 1
    assert Alert.objects.get(patient=patient).kind == AlertKind.SILENCE
    seven_days = ACTIVATED + timedelta(days=7)
    assert [kind for kind, _ in _reasons(personas.clinic, patient.pk, seven_days)] == ["silence", "adherence"]
