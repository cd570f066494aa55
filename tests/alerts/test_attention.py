"""Today's attention list: the four reasons, their order, and a query count that does not grow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.selectors import ATTENTION_PAGE_SIZE, ATTENTION_TOP, attention_list
from alerts.services import alert_acknowledge
from audit.models import AuditEvent
from careplans.models import ExerciseSession, PlanStatus
from outcomes.models import OutcomeSnapshot
from tests.caseload.test_queries import AUDIT_INSERT
from tests.conftest import login
from tests.factories import PatientFactory, PlanExerciseFactory
from tests.helpers import bulk_caseload, history, make_plan
from today.services import checkin_submit


def _daily(plan: Any, nprs: int, days: range) -> None:
    history(plan, dict.fromkeys(days, nprs))


def _reasons(clinic: Any) -> dict[str, list[str]]:
    return {row.name: [r.kind for r in row.reasons] for row in attention_list(clinic=clinic)}


def test_open_red_flag_is_listed_until_acknowledged(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    _daily(plan, 4, range(0, 14))
    checkin_submit(patient=personas.patient_a, nprs=4, side="left", flag_leg_weakness=True)
    rows = attention_list(clinic=personas.clinic)
    assert [row.name for row in rows] == ["Ada Patient"]
    top = rows[0].top
    assert top.kind == "red_flag"
    assert "Red flag, not yet acknowledged" in top.text and "new weakness in a leg" in top.text
    assert rows[0].url == reverse("patient-record", args=[personas.patient_a.pk])
    alert_acknowledge(alert=personas.patient_a.alerts.get(), by=personas.owner.user)
    assert attention_list(clinic=personas.clinic) == []


def test_worsening_is_current_two_points_above_baseline(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    # Baseline: week 1 mean 3.0. Current: mean of the 7 days ending at the latest check-in, 5.0 (+2.0).
    history(plan, {**dict.fromkeys(range(0, 7), 3), **dict.fromkeys(range(7, 15), 5)})
    assert _reasons(personas.clinic) == {"Ada Patient": ["worsening"]}
    row = attention_list(clinic=personas.clinic)[0]
    assert "2.0 points above the baseline of 3.0" in row.top.text


def test_just_under_two_points_is_not_worsening(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    history(plan, {**dict.fromkeys(range(0, 7), 3), **{d: 5 for d in range(7, 14)}, 14: 4})
    # current = mean(days 8-14) = (5*6 + 4) / 7 = 4.86 < 3 + 2
    assert _reasons(personas.clinic) == {}


def test_baseline_falls_back_to_the_first_checkin_of_week_two(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    history(plan, {8: 2, 9: 6, 12: 6, 13: 6, 14: 6})
    # Baseline 2 (day 8); current mean(days 8-14) = (2+6+6+6+6)/5 = 5.2: worsening.
    assert _reasons(personas.clinic) == {"Ada Patient": ["worsening"]}


def test_fresh_snapshot_is_used_and_stale_one_recomputed(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    _daily(plan, 4, range(0, 15))
    # A snapshot computed after the latest check-in is trusted as it is.
    OutcomeSnapshot.objects.create(plan=plan, baseline=1.0, current=6.0, worsening=True)
    assert _reasons(personas.clinic) == {"Ada Patient": ["worsening"]}
    # Once a newer check-in arrives, the snapshot is stale: the check-ins decide (no worsening).
    OutcomeSnapshot.objects.filter(plan=plan).update(computed_at=timezone.now() - timedelta(hours=1))
    assert _reasons(personas.clinic) == {}


def test_no_checkin_for_three_full_days(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    today = personas.patient_a.local_today()
    last = (today - plan.start_date).days - 4  # three full days since, plus today
    _daily(plan, 4, range(0, last + 1))
    row = attention_list(clinic=personas.clinic)[0]
    assert row.top.kind == "silence" and "No check-in for 3 full days" in row.top.text


def test_two_quiet_days_are_not_yet_silence(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    today = personas.patient_a.local_today()
    _daily(plan, 4, range(0, (today - plan.start_date).days - 2))
    assert _reasons(personas.clinic) == {}


def test_never_checked_in_three_days_into_the_plan(personas: Any) -> None:
    make_plan(
        personas.patient_a,
        therapist=personas.owner,
        start=personas.patient_a.local_today() - timedelta(days=3),
    )
    row = attention_list(clinic=personas.clinic)[0]
    assert row.top.kind == "silence" and "No check-in yet, 3 full days into the plan" in row.top.text


def test_adherence_under_half_in_the_last_seven_days(personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    _daily(plan, 4, range(0, 15))
    item = PlanExerciseFactory(plan=plan, days_per_week=7)
    today = personas.patient_a.local_today()
    for back in range(3):  # 3 of the 7 sessions due
        ExerciseSession.objects.create(
            patient=personas.patient_a, plan_exercise=item, local_date=today - timedelta(days=back)
        )
    row = attention_list(clinic=personas.clinic)[0]
    assert row.top.kind == "adherence"
    assert "Adherence 43% in the last 7 days (3 of 7 exercise sessions done)" in row.top.text
    # Four of seven is enough.
    ExerciseSession.objects.create(
        patient=personas.patient_a, plan_exercise=item, local_date=today - timedelta(days=3)
    )
    assert _reasons(personas.clinic) == {}


def test_sorted_by_urgency_and_scoped_to_the_clinic(personas: Any) -> None:
    flagged = make_plan(personas.patient_b, therapist=personas.owner)
    _daily(flagged, 4, range(0, 15))
    checkin_submit(patient=personas.patient_b, nprs=4, side="left", flag_fever=True)
    worse = make_plan(personas.patient_a, therapist=personas.owner)
    history(worse, {**dict.fromkeys(range(0, 7), 2), **dict.fromkeys(range(7, 15), 7)})
    quiet_patient = PatientFactory(
        clinic=personas.clinic, therapist=personas.owner, user__full_name="Aaron Quiet"
    )
    make_plan(quiet_patient, therapist=personas.owner, start=quiet_patient.local_today() - timedelta(days=10))
    # Another clinic's silent patient never shows here.
    outsider_patient = PatientFactory(clinic=personas.other_clinic, therapist=personas.outsider)
    make_plan(outsider_patient, therapist=personas.outsider)
    # A stopped plan is not watched.
    stopped_patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner)
    make_plan(stopped_patient, therapist=personas.owner, status=PlanStatus.STOPPED)

    rows = attention_list(clinic=personas.clinic)
    assert [(row.name, row.top.kind) for row in rows] == [
        ("Ben Patient", "red_flag"),
        ("Ada Patient", "worsening"),
        ("Aaron Quiet", "silence"),
    ]


def test_caseload_page_shows_the_attention_list(client: Client, personas: Any) -> None:
    plan = make_plan(personas.patient_a, therapist=personas.owner)
    _daily(plan, 4, range(0, 15))
    checkin_submit(patient=personas.patient_a, nprs=4, side="left", flag_fever=True)
    login(client, personas.colleague.user)
    html = client.get(reverse("caseload")).content.decode()
    assert "Needs attention today" in html
    assert reverse("patient-record", args=[personas.patient_a.pk]) in html
    assert "Red flag, not yet acknowledged" in html


def _count(django_assert_max_num_queries: Any, fn: Any) -> int:
    """Queries of ``fn``, the audit trail's read entries aside (one INSERT that SQLite splits)."""
    with django_assert_max_num_queries(200) as captured:
        fn()
    audit = [q for q in captured.captured_queries if q["sql"].startswith(AUDIT_INSERT)]
    if connection.vendor == "postgresql":
        assert len(audit) <= 1
    return len(captured) - len(audit)


@pytest.mark.parametrize("small,large", [(5, 200)])
def test_attention_and_dashboard_query_counts_do_not_grow(
    client: Client, personas: Any, django_assert_max_num_queries: Any, small: int, large: int
) -> None:
    def counts(n: int) -> tuple[int, int, int, int]:
        plans = bulk_caseload(personas.clinic, personas.owner, n)
        # Every reason present at each size: a red flag, a stale and a fresh snapshot, sessions.
        checkin_submit(patient=plans[0].patient, nprs=9, side="left", flag_fever=True)
        OutcomeSnapshot.objects.create(plan=plans[1], baseline=2.0, current=5.0, worsening=True)
        PlanExerciseFactory(plan=plans[2], days_per_week=7)
        rows = len(attention_list(clinic=personas.clinic))
        selector = _count(django_assert_max_num_queries, lambda: attention_list(clinic=personas.clinic))
        page = _count(django_assert_max_num_queries, lambda: client.get(reverse("caseload")))
        full = _count(django_assert_max_num_queries, lambda: client.get(reverse("attention") + "?page=2"))
        return selector, page, full, rows

    login(client, personas.owner.user)
    client.get(reverse("caseload"))
    selector_small, page_small, full_small, rows_small = counts(small)
    selector_large, page_large, full_large, rows_large = counts(large - small)
    assert rows_large > rows_small
    assert selector_small == selector_large
    # Red flags, stale pain (2), zones, plans, adherence (2), the listed patients for the audit trail.
    assert selector_small <= 8
    assert page_small == page_large
    assert full_small == full_large


def _viewed_patients(client: Client, url: str) -> tuple[str, set[int]]:
    """The page's HTML and the patients its request noted as read."""
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = client.get(url)
    assert response.status_code == 200
    viewed = AuditEvent.objects.filter(pk__gt=before, action="patient.viewed").values_list(
        "patient", flat=True
    )
    return response.content.decode(), set(viewed)


def test_caseload_lists_the_most_urgent_and_links_to_the_rest(client: Client, personas: Any) -> None:
    plans = bulk_caseload(personas.clinic, personas.owner, ATTENTION_TOP + 5)
    checkin_submit(patient=plans[-1].patient, nprs=9, side="left", flag_fever=True)
    ranked = attention_list(clinic=personas.clinic)
    assert len(ranked) == ATTENTION_TOP + 5  # everyone is quiet; one has a red flag as well
    login(client, personas.owner.user)
    # The audit entries of the caseload's own table are left aside: its first page is not filtered.
    html, viewed = _viewed_patients(client, reverse("caseload") + "?q=nobody-matches")
    assert f"Needs attention today ({ATTENTION_TOP + 5})" in html
    assert "and 5 more need attention" in html and reverse("attention") in html
    shown = [row.patient_id for row in ranked[:ATTENTION_TOP]]
    assert shown[0] == plans[-1].patient_id  # the red flag first
    assert viewed == set(shown)
    for row in ranked[ATTENTION_TOP:]:
        assert reverse("patient-record", args=[row.patient_id]) not in html


def test_attention_page_pages_through_everyone_in_order(client: Client, personas: Any) -> None:
    bulk_caseload(personas.clinic, personas.owner, ATTENTION_PAGE_SIZE + 3)
    ranked = [row.patient_id for row in attention_list(clinic=personas.clinic)]
    login(client, personas.colleague.user)
    html, viewed = _viewed_patients(client, reverse("attention"))
    assert "Page 1 of 2" in html and "and 3 more" not in html
    assert viewed == set(ranked[:ATTENTION_PAGE_SIZE])
    html, viewed = _viewed_patients(client, reverse("attention") + "?page=2")
    assert viewed == set(ranked[ATTENTION_PAGE_SIZE:])
    positions = [html.index(reverse("patient-record", args=[pk])) for pk in ranked[ATTENTION_PAGE_SIZE:]]
    assert positions == sorted(positions)
    # Another clinic's therapist sees none of them.
    login(client, personas.outsider.user)
    html, viewed = _viewed_patients(client, reverse("attention"))
    assert viewed == set() and "Nobody needs attention today" in html
