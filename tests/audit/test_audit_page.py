"""Issue 15: the audit trail page reads as words, in the clinic's time, with the values before and after."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Clinic
from audit.models import AuditEvent
from audit.presentation import ACTION_WORDS, Change, action_words, entry_changes, entry_notes
from audit.services import PATIENT_OF
from careplans.services import ENDED_STATUSES
from library.models import ExerciseStatus
from tests.caseload.test_queries import AUDIT_INSERT
from tests.conftest import login
from tests.product import PRODUCT

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def _written_actions() -> set[str]:
    """Every action code the product writes: literal ones in its source, and the made-up ones."""
    codes: set[str] = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            codes |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
            codes |= set(re.findall(r'_audit_alerts\(\s*"([a-z_]+\.[a-z_]+)"', text))
    codes |= {f"careplan.{status}" for status in ENDED_STATUSES}
    codes |= {f"exercise.{status}" for status in ExerciseStatus.values}
    codes |= {f"{label.split('.')[1]}.viewed" for label in PATIENT_OF}
    return codes


def test_every_action_the_product_writes_has_words() -> None:
    written = _written_actions()
    assert {"checkin.corrected", "alert.acknowledged", "patient.viewed", "careplan.stopped"} <= written
    missing = sorted(written - set(ACTION_WORDS))
    assert not missing, f"audit actions without words in audit.presentation.ACTION_WORDS: {missing}"
    assert action_words("checkin.corrected") == "Corrected a check-in"
    assert action_words("something.new") == "something.new"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A correction: only the changed fields, in words.
        (
            {
                "local_date": "2026-05-03",
                "before": {"nprs": 7, "flag_fever": False},
                "after": {"nprs": 4, "flag_fever": True},
            },
            [Change("pain (NPRS 0-10)", "7", "4"), Change("fever", "no", "yes")],
        ),
        # A check-in sent again the same day: its replaced values; the receipt stamp is no change.
        (
            {
                "new": {"nprs": 3, "note": "", "received_at": "b"},
                "replaced": {"nprs": 5, "note": "", "received_at": "a"},
            },
            [Change("pain (NPRS 0-10)", "5", "3")],
        ),
        # A plan's details: the entry keeps only the values before.
        (
            {"before": {"title": "Back", "length_weeks": 12}},
            [Change("title", "Back", ""), Change("length (weeks)", "12", "")],
        ),
        ({"from": "draft", "to": "published", "slug": "bridge"}, [Change("", "draft", "published")]),
        ({"kind": "red_flag", "note": "Phoned"}, []),
        ({}, []),
    ],
)
def test_entry_changes_reads_each_shape_the_services_write(
    data: dict[str, Any], expected: list[Change]
) -> None:
    assert entry_changes(data) == expected


def test_entry_notes_are_the_note_and_the_reason() -> None:
    assert entry_notes({"kind": "red_flag", "note": "Phoned"}) == [("note", "Phoned")]
    assert entry_notes({"reason": "Recovered", "note": ""}) == [("reason", "Recovered")]
    assert entry_notes({"kind": "red_flag"}) == []


def _events(personas: Any, n: int, at: datetime) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=at - timedelta(minutes=i),
            actor=personas.patient_a.user,
            actor_email=personas.patient_a.user.email,
            clinic_id=personas.clinic.pk,
            patient_id=personas.patient_a.pk if i % 2 else personas.patient_b.pk,
            action="checkin.corrected",
            object_type="checkins.paincheckin",
            object_id=str(i),
            data={"before": {"nprs": 7}, "after": {"nprs": 4}},
        )
        for i in range(n)
    )


def test_the_page_shows_words_clinic_time_and_before_and_after(client: Client, personas: Any) -> None:
    Clinic.objects.filter(pk=personas.clinic.pk).update(timezone="Pacific/Auckland")
    # 22:15 UTC on 3 May is 10:15 on 4 May in Auckland (NZST, UTC+12).
    _events(personas, 1, datetime(2026, 5, 3, 22, 15, tzinfo=ZoneInfo("UTC")))
    login(client, personas.owner.user)
    html = client.get(reverse("audit-search")).content.decode()
    assert "times in the clinic's time zone (Pacific/Auckland)" in html
    assert "Mon 4 May 2026, 10:15:00" in html
    assert "Corrected a check-in" in html and "<code>checkin.corrected</code>" in html
    assert re.search(r"pain \(NPRS 0-10\): 7 <span aria-hidden=\"true\">→</span>.*? 4</li>", html)


def test_dates_searched_are_the_clinics_days(client: Client, personas: Any) -> None:
    Clinic.objects.filter(pk=personas.clinic.pk).update(timezone="Pacific/Auckland")
    _events(personas, 1, datetime(2026, 5, 3, 22, 15, tzinfo=ZoneInfo("UTC")))  # 4 May in Auckland
    login(client, personas.owner.user)
    on_4th = client.get(reverse("audit-search"), {"date_from": "2026-05-04", "date_to": "2026-05-04"})
    on_3rd = client.get(reverse("audit-search"), {"date_from": "2026-05-03", "date_to": "2026-05-03"})
    assert len(on_4th.context["rows"]) == 1 and len(on_3rd.context["rows"]) == 0


def _queries(client: Client) -> int:
    url = reverse("audit-search")
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len([q for q in captured.captured_queries if not q["sql"].startswith(AUDIT_INSERT)])


def test_the_page_is_paginated_with_a_fixed_number_of_queries(client: Client, personas: Any) -> None:
    login(client, personas.owner.user)
    at = datetime(2026, 5, 3, 12, 0, tzinfo=ZoneInfo("UTC"))
    _events(personas, 5, at)
    small = _queries(client)
    _events(personas, 120, at - timedelta(days=1))
    large = _queries(client)
    # Session, user, role, the clinic, the patients of the search form, the count and the page
    # (patients and users joined), whatever the number of entries.
    assert small == large <= 8, (small, large)
    html = client.get(reverse("audit-search")).content.decode()
    assert "Page 1 of 3" in html
