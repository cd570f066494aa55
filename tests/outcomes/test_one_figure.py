"""Issue 15: one plan has one baseline, one current and one change wherever they are shown.

The record, its chart, the patient's progress page, the caseload row, the API,
the export and the patient's own data download read them from the plan's
snapshot (outcomes.selectors) and round them once (checkins.figures); after a
check-in every one of them shows the new figures at once.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from checkins.figures import nprs_text
from outcomes.recompute import outcome_refresh_all
from tests.conftest import login
from tests.helpers import history, make_plan

pytestmark = pytest.mark.django_db

#: Noon in London (GMT in March), the demo patient's time zone.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

CHECKIN = {
    "side": "left",
    "flag_leg_weakness": "no",
    "flag_bladder_bowel": "no",
    "flag_fever": "no",
    "flag_weight_loss": "no",
    "note": "",
}

#: Demo-like: week 1 all 5s (baseline 5.0); the last 7 days with check-ins, days 27-33 but
#: for day 30, average 20/6 = 3.33 (current 3.3): 1.7 points lower, 33% (from 5 to 3.33).
WEEK_FIVE = {**dict.fromkeys(range(7), 5), **{d: 6 for d in range(7, 27)}}
WEEK_FIVE.update({27: 3, 28: 4, 29: 3, 31: 3, 32: 4, 33: 3})


def _one(pattern: str, html: str) -> str:
    found = re.findall(pattern, html)
    assert len(found) == 1, (pattern, found)
    return str(found[0])


def _shown(therapist: Client, patient_client: Client, patient: Any, plan: Any) -> dict[str, tuple[str, ...]]:
    """(baseline, current, change) as each place shows them."""
    record = therapist.get(reverse("patient-record", args=[patient.pk])).content.decode()
    progress = patient_client.get(reverse("progress")).content.decode()
    caseload = therapist.get(reverse("caseload")).content.decode()
    api = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
    out = io.StringIO()
    call_command("export_outcomes", "--format", "json", stdout=out)
    [exported] = [row for row in json.loads(out.getvalue()) if row["patient_email"] == patient.user.email]
    [own] = json.loads(patient_client.get(reverse("account-export")).content)["plans"]

    def change(points: float | None, percent: int | None) -> str:
        return f"{'+' if points and points > 0 else ''}{points} points ({percent}%)"

    row = re.search(r"<strong>([\d.]+)</strong> now, baseline ([\d.]+) <span[^>]*>\((.+?)\)</span>", caseload)
    assert row is not None
    lower = re.search(
        r"Your pain is ([\d.]+) points? lower than when you started, a (\d+)% reduction", progress
    )
    assert lower is not None
    return {
        "record": (
            _one(r"<dt>Baseline</dt><dd>([\d.]+) / 10</dd>", record),
            _one(r"<dt>Current</dt><dd>([\d.]+) / 10</dd>", record),
            _one(r"<dt>Change so far</dt><dd>([^<]+)</dd>", record),
        ),
        "record chart": (_one(r'id="record-chart".*?>Baseline ([\d.]+)</text>', record),),
        "record phone chart": (_one(r'id="record-chart-phone".*?>Baseline ([\d.]+)</text>', record),),
        "progress": (
            *re.findall(r"You started at ([\d.]+) out of 10 and your pain is now ([\d.]+)\.", progress)[0],
            f"-{lower[1]} points (-{lower[2]}%)",
        ),
        "progress chart": (_one(r'id="progress-chart".*?>Baseline ([\d.]+)</text>', progress),),
        "progress phone chart": (_one(r'id="progress-chart-phone".*?>Baseline ([\d.]+)</text>', progress),),
        "caseload": (row[2], row[1], row[3]),
        "api": (
            nprs_text(api["baseline"]),
            nprs_text(api["current"]),
            change(api["change_so_far"], api["percent_change_so_far"]),
        ),
        "export": (
            nprs_text(exported["baseline"]),
            nprs_text(exported["current"]),
            change(exported["change_so_far"], exported["percent_change_so_far"]),
        ),
        "patient's download": (
            nprs_text(own["outcome"]["baseline"]),
            nprs_text(own["outcome"]["current"]),
            change(own["outcome"]["change_so_far"], own["outcome"]["percent_change_so_far"]),
        ),
    }


def _assert_everywhere(shown: dict[str, tuple[str, ...]], baseline: str, current: str, change: str) -> None:
    expected = {
        "record": (baseline, current, change),
        "record chart": (baseline,),
        "record phone chart": (baseline,),
        "progress": (baseline, current, change),
        "progress chart": (baseline,),
        "progress phone chart": (baseline,),
        "caseload": (baseline, current, change),
        "api": (baseline, current, change),
        "export": (baseline, current, change),
        "patient's download": (baseline, current, change),
    }
    assert shown == expected


def test_the_issue_example_shows_one_baseline_current_and_change_everywhere(
    client: Client, personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = personas.patient_a
    with time_machine.travel(NOW, tick=False):
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=34))
        history(plan, WEEK_FIVE)
        outcome_refresh_all()  # as the demo does
        therapist, patient_client = login(Client(), personas.owner.user), login(client, patient.user)
        _assert_everywhere(
            _shown(therapist, patient_client, patient, plan), "5.0", "3.3", "-1.7 points (-33%)"
        )

        # Today (day 34) at 2: days 28-34 average 19/6 = 3.17, so 3.2, 1.8 lower, 37%.
        with django_capture_on_commit_callbacks(execute=True):
            response = patient_client.post(reverse("checkin"), {**CHECKIN, "nprs": "2"})
        assert response.status_code == 302
        _assert_everywhere(
            _shown(therapist, patient_client, patient, plan), "5.0", "3.2", "-1.8 points (-37%)"
        )


def test_pages_are_current_before_the_recompute_runs_and_the_api_once_it_has(
    client: Client, personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = personas.patient_a
    with time_machine.travel(NOW, tick=False):
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=34))
        history(plan, WEEK_FIVE)
        outcome_refresh_all()
        therapist = login(client, personas.owner.user)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        # The recompute is queued on commit and has not run: the record computes the plan
        # whose snapshot the check-in overtook, through the same definition.
        with django_capture_on_commit_callbacks(execute=False) as queued:
            login(Client(), patient.user).post(reverse("checkin"), {**CHECKIN, "nprs": "2"})
        record = therapist.get(reverse("patient-record", args=[patient.pk])).content.decode()
        assert _one(r"<dt>Current</dt><dd>([\d.]+) / 10</dd>", record) == "3.2"
        assert _one(r"<dt>Change so far</dt><dd>([^<]+)</dd>", record) == "-1.8 points (-37%)"
        # The API serves the stored snapshot, with the time it was computed: the run
        # (seconds after the check-in) brings it up to date.
        stale = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
        assert stale["checkin_count"] == len(WEEK_FIVE)
        for callback in queued:
            callback()
        figures = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
        assert figures["checkin_count"] == len(WEEK_FIVE) + 1
        assert (nprs_text(figures["current"]), figures["change_so_far"]) == ("3.2", -1.8)
        later = NOW + timedelta(minutes=1)
        assert figures["computed_at"] == later.isoformat().replace("+00:00", "Z")


WEEK_TWELVE = {**dict.fromkeys(range(7), 5), 77: 3, 78: 4, 79: 3, 80: 3, 81: 4, 82: 3}


def _report(therapist: Client) -> tuple[str, str]:
    html = therapist.get(reverse("outcome-report")).content.decode()
    means = re.search(r"mean endpoint ([\d.]+) against mean baseline ([\d.]+)", html)
    assert means is not None
    # Intention to treat, completers, mean change in points, mean percent change.
    row = re.search(
        r'<th scope="row">Olive Owner</th>\s*<td>1</td>\s*<td>1</td>'
        r"\s*<td>.*?</td>\s*<td>([^<]+)</td>",
        html,
    )
    assert row is not None
    return f"{means[1]} from {means[2]}", row[1]


def test_the_report_the_record_and_the_export_agree_at_twelve_weeks(
    client: Client, personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = personas.patient_a
    # 01:00 on day 84 in London: week 12 is over, and yesterday (day 83) still takes answers.
    with time_machine.travel(datetime(2026, 3, 10, 1, 0, tzinfo=UTC), tick=False):
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=84))
        history(plan, WEEK_TWELVE)
        outcome_refresh_all()
        therapist = login(Client(), personas.owner.user)
        # Week 12 (days 77-82) averages 20/6 = 3.33: -1.7 points, -33.3%.
        assert _report(therapist) == ("3.3 from 5.0", "-33.3%")
        record = therapist.get(reverse("patient-record", args=[patient.pk])).content.decode()
        assert "<dt>Change at 12 weeks</dt><dd>-1.7 points (-33%)</dd>" in record
        api = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
        assert (nprs_text(api["endpoint"]), api["percent_change"]) == ("3.3", pytest.approx(-100 / 3))

        yesterday = (patient.local_today() - timedelta(days=1)).isoformat()
        with django_capture_on_commit_callbacks(execute=True):
            login(client, patient.user).post(
                reverse("checkin"), {**CHECKIN, "nprs": "2", "local_date": yesterday}
            )
        # Now 22/7 = 3.14: -1.9 points, -37.1%, in the report, the record, the API and the export.
        assert _report(therapist) == ("3.1 from 5.0", "-37.1%")
        record = therapist.get(reverse("patient-record", args=[patient.pk])).content.decode()
        assert "<dt>Change at 12 weeks</dt><dd>-1.9 points (-37%)</dd>" in record
        assert "<dt>Current</dt><dd>3.1 / 10</dd>" in record
        api = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
        assert (nprs_text(api["endpoint"]), api["change_so_far"]) == ("3.1", -1.9)
        out = io.StringIO()
        call_command("export_outcomes", "--format", "json", stdout=out)
        [row] = json.loads(out.getvalue())
        assert (row["endpoint"], row["percent_change"], row["change_so_far"]) == (3.14, -37.14, -1.9)


def test_day_one_says_the_first_week_sets_the_starting_point(
    client: Client, personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    patient = personas.patient_a
    with time_machine.travel(NOW, tick=False):
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today())
        # The recompute run after the commit writes the plan's first snapshot (the API's).
        with django_capture_on_commit_callbacks(execute=True):
            login(client, patient.user).post(reverse("checkin"), {**CHECKIN, "nprs": "6"})
        progress = client.get(reverse("progress")).content.decode()
        assert "Your first week sets your starting point." in progress
        assert "You have checked in on 1 day so far. Keep checking in until Monday 16 March" in progress
        assert "about the same" not in progress and "when you started" not in progress
        assert 'class="baseline"' not in progress

        therapist = login(Client(), personas.owner.user)
        record = therapist.get(reverse("patient-record", args=[patient.pk])).content.decode()
        assert "Baseline forming: 1 of the first week's check-ins so far (week 1 ends Mon 16 Mar)" in record
        assert 'class="baseline"' not in record and "Change so far" not in record
        assert "<dt>Current</dt><dd>6.0 / 10</dd>" in record
        caseload = therapist.get(reverse("caseload")).content.decode()
        assert "Baseline forming: 1 of the first week's check-ins</span>" in caseload
        api = therapist.get(reverse("api-outcome-detail", kwargs={"pk": plan.pk})).json()
        assert (api["state"], api["baseline"], api["change_so_far"]) == ("baseline_forming", 6.0, None)


def test_no_baseline_draws_no_line_and_the_record_says_why(client: Client, personas: Any) -> None:
    patient = personas.patient_a
    with time_machine.travel(NOW, tick=False):
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=20))
        history(plan, {18: 5, 19: 4})
        outcome_refresh_all()
        record = login(client, personas.owner.user).get(reverse("patient-record", args=[patient.pk]))
        html = record.content.decode()
        assert "No baseline: there was no check-in in the plan's first two weeks" in html
        assert 'class="baseline"' not in html and "Baseline " not in re.sub(r"<[^>]+>", "", html)


def test_a_check_in_written_by_another_path_is_still_shown(client: Client, personas: Any) -> None:
    patient = personas.patient_a
    with time_machine.travel(NOW, tick=False) as clock:
        plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=34))
        history(plan, WEEK_FIVE)
        outcome_refresh_all()
        clock.shift(timedelta(minutes=5))
        # Written behind the service's back (an import, the admin): the snapshot is now behind.
        history(plan, {34: 2})
        html = login(client, personas.owner.user).get(reverse("patient-record", args=[patient.pk]))
        assert "<dt>Current</dt><dd>3.2 / 10</dd>" in html.content.decode()
        assert "<dt>Change so far</dt><dd>-1.8 points (-37%)</dd>" in html.content.decode()


def test_no_endpoint_or_responder_before_week_12_is_over(client: Client, personas: Any) -> None:
    """The newcomer's report: in week 10 a record said "Week-12 endpoint 4.0", a change at 12
    weeks and "Responder: no" (the fallback's days 63-83 were still coming); the API said
    ``responder: false`` beside ``reached_week_12: false``. None of them is known before day 84."""
    patient = personas.patient_a
    plan = make_plan(patient, therapist=personas.owner, start=patient.local_today() - timedelta(days=69))
    history(plan, {**dict.fromkeys(range(0, 7), 6), **dict.fromkeys(range(63, 70), 4)})
    outcome_refresh_all(plan_ids=[plan.pk])
    plan.outcome.refresh_from_db()
    snapshot = plan.outcome
    assert (snapshot.reached_week_12, snapshot.endpoint, snapshot.change, snapshot.responder) == (
        False,
        None,
        None,
        None,
    )
    login(client, personas.owner.user)
    html = client.get(reverse("patient-record", args=[patient.pk])).content.decode()
    assert "<dt>Week-12 endpoint</dt><dd>not reached yet</dd>" in html
    assert "<dt>Responder</dt><dd>not known yet</dd>" in html and "Change at 12 weeks" not in html
    api = client.get(reverse("api-outcome-detail", args=[plan.pk])).json()
    assert (api["endpoint"], api["responder"], api["reached_week_12"]) == (None, None, False)
    # Once week 12 is over, the latest check-in of days 63-83 is the endpoint: 4.0, 2 points
    # and 33% down from 6.0, a responder.
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(days=15)):
        outcome_refresh_all(plan_ids=[plan.pk])
    snapshot.refresh_from_db()
    assert (snapshot.reached_week_12, snapshot.endpoint, snapshot.responder) == (True, 4.0, True)
