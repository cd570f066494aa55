"""The attention list is ranked once per clinic and reused (alerts.attention_cache), but an
alert raised or acknowledged shows on the next page view at once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.selectors import attention_top
from alerts.services import alert_acknowledge
from tests.factories import PatientFactory
from tests.helpers import history, make_plan
from today.services import checkin_submit

pytestmark = pytest.mark.django_db(transaction=True)  # the generation moves on commit


@pytest.fixture
def cached(settings: Any) -> None:
    settings.PLINTH_ATTENTION_CACHE_SECONDS = 60
    # A key prefix of this test's own: clinic ids repeat between tests.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": uuid.uuid4().hex}}


def _names(clinic: Any) -> list[str]:
    return [row.name for row in attention_top(clinic=clinic).rows]


def test_a_second_view_reuses_the_ranking_and_alerts_show_at_once(personas: Any, cached: None) -> None:
    start = personas.patient_a.local_today() - timedelta(days=10)
    quiet = make_plan(personas.patient_a, therapist=personas.owner, start=start)
    history(quiet, dict.fromkeys(range(0, 5), 4))  # silent for the last five days
    assert _names(personas.clinic) == ["Ada Patient"]
    with CaptureQueriesContext(connection) as second:
        assert _names(personas.clinic) == ["Ada Patient"]
    # Only the audit trail's note of who was shown: no plan, alert or check-in is read.
    tables = " ".join(q["sql"] for q in second.captured_queries)
    assert "careplans_careplan" not in tables and "checkins_paincheckin" not in tables

    # A red flag raised by a check-in is on the very next view, ranked first.
    checkin_submit(patient=personas.patient_a, nprs=6, side="left", flag_bladder_bowel=True)
    [row] = attention_top(clinic=personas.clinic).rows
    assert row.top.kind == "red_flag"

    # Acknowledged: the red flag is gone at once, and the list ranked afresh knows that
    # today's check-in ended the silence too.
    alert_acknowledge(alert=personas.patient_a.alerts.get(), by=personas.owner.user)
    assert attention_top(clinic=personas.clinic).rows == []


def test_another_clinics_change_leaves_this_clinics_ranking_cached(personas: Any, cached: None) -> None:
    make_plan(personas.patient_a, therapist=personas.owner)
    outsider = PatientFactory(clinic=personas.other_clinic, therapist=personas.outsider)
    other = make_plan(outsider, therapist=personas.outsider)
    assert _names(personas.clinic) == ["Ada Patient"]
    checkin_submit(patient=other.patient, nprs=6, side="left", flag_leg_weakness=True)
    with CaptureQueriesContext(connection) as again:
        assert _names(personas.clinic) == ["Ada Patient"]
    assert "careplans_careplan" not in " ".join(q["sql"] for q in again.captured_queries)


def test_a_given_moment_is_always_ranked_afresh(personas: Any, cached: None) -> None:
    make_plan(personas.patient_a, therapist=personas.owner)
    attention_top(clinic=personas.clinic)
    with CaptureQueriesContext(connection) as at_moment:
        attention_top(clinic=personas.clinic, now=timezone.now())
    assert "careplans_careplan" in " ".join(q["sql"] for q in at_moment.captured_queries)
