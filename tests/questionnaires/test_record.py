"""The therapist's record shows the patient's questionnaires: each instrument's scores (a chart
and a table), the change in words against the MCID, the PSFS activities by name; every
response shown is read-audited; the page's query count does not grow with the responses."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from careplans.models import CarePlan, PlanSchedule
from questionnaires.models import Instrument, InstrumentResponse, ResponseStatus
from questionnaires.scoring import change_words, score_change
from questionnaires.services import questionnaires_load_shipped, response_save_draft, response_submit
from tests.conftest import Personas, login
from tests.helpers import template_plan

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)
ZONE = ZoneInfo("Europe/London")


@pytest.fixture
def shipped(library: None) -> None:
    questionnaires_load_shipped()


def on_day(day: int) -> Any:
    when = datetime.combine(START + timedelta(days=day), datetime.min.time(), ZONE).replace(hour=10)
    return time_machine.travel(when.astimezone(UTC), tick=False)


@pytest.fixture
def plan(personas: Personas, shipped: None) -> CarePlan:
    personas.patient_a.timezone = "Europe/London"
    personas.patient_a.save(update_fields=["timezone"])
    with on_day(0):
        return template_plan(personas.patient_a, personas.owner)


def send(plan: CarePlan, code: str, occasion: str, answers: dict[str, Any]) -> None:
    entry = plan.schedule.get(instrument_code=code, occasion=occasion)
    response_submit(patient=plan.patient, schedule_id=entry.pk, answers=answers)


def sent_intake_and_week_6(plan: CarePlan) -> None:
    with on_day(1):
        send(
            plan,
            "psfs",
            "intake",
            {"activity-1": "Climbing stairs", "rating-1": 3, "activity-2": "Lifting my son", "rating-2": 4},
        )
        send(plan, "peg", "intake", {"pain": 6, "enjoyment": 5, "activity": 7})
    with on_day(36):
        # The same two activities (kept by name: a later occasion cannot rename them) and a
        # new one, named at week 6.
        send(
            plan,
            "psfs",
            "week 6",
            {
                "activity-1": "Climbing stairs",
                "rating-1": 6,
                "activity-2": "Lifting my son",
                "rating-2": 5,
                "activity-3": "Running",
                "rating-3": 2,
            },
        )
        send(plan, "peg", "week 6", {"pain": 4, "enjoyment": 3, "activity": 4})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def record(client: Client, personas: Personas) -> Any:
    login(client, personas.owner.user)
    return client.get(reverse("patient-record", args=[personas.patient_a.pk]))


def test_the_record_shows_each_instruments_scores_the_change_and_the_psfs_activities(
    client: Client, personas: Personas, plan: CarePlan
) -> None:
    sent_intake_and_week_6(plan)
    with on_day(40):
        response = record(client, personas)
    assert response.status_code == 200
    html = response.content.decode()
    section = html[html.index('id="questionnaires-heading"') : html.index('id="checkins-heading"')]
    words = text_of(section)
    # PSFS: intake (3 + 4) / 2 = 3.5; week 6 (6 + 5 + 2) / 3 = 4.33; the change is over the two
    # activities rated before, each from its first rating: ((6 - 3) + (5 - 4)) / 2 = +2.0.
    assert "intake Mon 2 Mar 2026 3.5 2 answered, 0 skipped" not in words  # sent on day 1
    assert "intake Tue 3 Mar 2026 3.5 2 answered, 0 skipped" in words
    assert "week 6 Tue 7 Apr 2026 4.3 3 answered, 0 skipped" in words
    assert (
        "PSFS +2.0 points by week 6 against each activity's first rating (2 activities), at least the "
        "2-point increase that is the minimal clinically important difference (Stratford et al. 1995)."
    ) in words
    # The activities by name as first typed, a rating per occasion; Running was not asked at intake.
    assert "Climbing stairs 3 6" in words
    assert "Lifting my son 4 5" in words
    assert "Running not rated 2" in words
    # PEG: intake (6 + 5 + 7) / 3 = 6.0; week 6 (4 + 3 + 4) / 3 = 3.67; -2.33 is 38.9% of 6.
    # One rule for the PEG's scores (a mean of three items): one decimal, a whole mean too.
    assert "intake Tue 3 Mar 2026 6.0 3 answered, 0 skipped" in words
    assert "week 6 Tue 7 Apr 2026 3.7 3 answered, 0 skipped" in words
    assert (
        "PEG -2.3 points from intake to week 6 (a 39% reduction), at least the 30% reduction that is "
        "the minimal clinically important difference (Krebs et al. 2009)."
    ) in words
    # A chart per instrument, labelled with its range and direction, points at the scores.
    assert section.count('<svg class="pain-chart compact"') == 2
    assert "PSFS score, 0 to 10, higher is better" in section
    assert "PEG score, 0 to 10, lower is better" in section
    assert "PEG score, 0 to 10, lower is better, 2 scores: intake 6.0; week 6 3.7." in section
    assert "<title>intake: 6.0</title>" in section
    # What comes next: the week 12 questionnaires open on day 77.
    assert "Next: Global rating of change (week 12), open Mon 18 May to Sun 24 May 2026." in words


def test_a_draft_shows_as_started_not_sent_and_one_score_has_no_change_yet(
    client: Client, personas: Personas, plan: CarePlan
) -> None:
    with on_day(1):
        send(plan, "peg", "intake", {"pain": 6, "enjoyment": 5, "activity": 7})
        entry = plan.schedule.get(instrument_code="psfs", occasion="intake")
        response_save_draft(patient=plan.patient, schedule_id=entry.pk, answers={"activity-1": "Gardening"})
        response = record(client, personas)
    words = text_of(response.content.decode())
    assert "intake Tue 3 Mar 2026 started, not sent" in words
    assert "Gardening" not in words  # a draft's answers are the patient's until sent
    assert "One score so far: the change shows from the second." in words
    assert "PEG -" not in words and "PEG +" not in words
    assert "Next: Patient-Specific Functional Scale (intake), open Mon 2 Mar to Sun 8 Mar 2026." in words


def test_without_responses_the_record_says_none_were_sent_and_what_is_next(
    client: Client, personas: Personas, plan: CarePlan
) -> None:
    with on_day(10):
        response = record(client, personas)
    words = text_of(response.content.decode())
    assert (
        "No questionnaires sent yet. Next: PEG: pain, enjoyment of life and general activity (week 6), "
        "open Mon 6 Apr to Sun 12 Apr 2026."
    ) in words
    assert "pain-chart compact" not in response.content.decode()


def test_each_response_shown_is_read_audited_and_another_clinic_gets_404(
    client: Client, personas: Personas, plan: CarePlan
) -> None:
    sent_intake_and_week_6(plan)
    with on_day(40):
        assert record(client, personas).status_code == 200
        login(client, personas.outsider.user)
        assert client.get(reverse("patient-record", args=[personas.patient_a.pk])).status_code == 404
    viewed = AuditEvent.objects.filter(action="instrumentresponse.viewed")
    assert sorted(viewed.values_list("object_id", flat=True)) == sorted(
        str(pk) for pk in InstrumentResponse.objects.values_list("pk", flat=True)
    )
    assert viewed.count() == 4
    assert {(e.actor, e.patient, e.clinic) for e in viewed} == {
        (personas.owner.user, personas.patient_a, personas.clinic)
    }
    assert viewed.first() is not None and viewed.first().data == {"route": "patient-record"}  # type: ignore[union-attr]


def test_the_change_falls_short_of_the_mcid_in_words(shipped: None) -> None:
    peg = Instrument.objects.get(code="peg")
    # 6.0 to 5.0: a 16.7% reduction, short of 30%.
    assert change_words(peg, score_change(peg, baseline=6.0, current=5.0)) == (
        "PEG -1.0 points (a 17% reduction), short of the 30% reduction that is the minimal clinically "
        "important difference (Krebs et al. 2009)."
    )
    # A baseline of 0 leaves a percent MCID unjudged.
    assert change_words(peg, score_change(peg, baseline=0.0, current=2.0)) == (
        "PEG +2.0 points; the 30% reduction that is the minimal clinically important difference is a "
        "percent of the first score, which is 0, so it cannot be judged (Krebs et al. 2009)."
    )
    groc = Instrument.objects.get(code="groc")
    assert change_words(groc, score_change(groc, baseline=1.0, current=4.0)) == (
        "GROC +3 points; this instrument has no minimal clinically important difference."
    )
    psfs = Instrument.objects.get(code="psfs")
    assert psfs.mcid == Decimal("2")
    assert change_words(
        psfs, score_change(psfs, baseline=3.0, current=4.5), span=" from intake to week 6"
    ) == (
        "PSFS +1.5 points from intake to week 6, short of the 2-point increase that is the minimal "
        "clinically important difference (Stratford et al. 1995)."
    )


def _responses(plan: CarePlan, count: int) -> None:
    """``count`` sent PEG responses on the plan, one per schedule entry made for them."""
    InstrumentResponse.objects.filter(plan=plan).delete()
    PlanSchedule.objects.filter(plan=plan, occasion__startswith="visit ").delete()
    peg = Instrument.objects.get(code="peg")
    now = timezone.now()
    for k in range(count):
        entry = PlanSchedule.objects.create(
            plan=plan, instrument_code="peg", occasion=f"visit {k + 1}", opens_day=k, window_days=1
        )
        InstrumentResponse.objects.create(
            patient=plan.patient,
            plan=plan,
            schedule=entry,
            instrument=peg,
            occasion=entry.occasion,
            opens_on=plan.start_date + timedelta(days=k),
            closes_on=plan.start_date + timedelta(days=k),
            status=ResponseStatus.COMPLETED,
            answers={"pain": k % 11, "enjoyment": 5, "activity": 5},
            score=(k % 11 + 10) / 3,
            answered=3,
            skipped=0,
            started_at=now,
            completed_at=now,
        )


def test_record_query_count_does_not_grow_with_responses(
    client: Client, personas: Personas, plan: CarePlan, django_assert_max_num_queries: Any
) -> None:
    login(client, personas.owner.user)
    url = reverse("patient-record", args=[personas.patient_a.pk])
    client.get(url)  # warm the session
    counts = []
    for count in (1, 30):
        _responses(plan, count)
        with django_assert_max_num_queries(100) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count("answered, 0 skipped") == count
        counts.append(len(captured))
    assert counts[0] == counts[1]
    # The record's pin (tests/today), here with the responses' read among them.
    assert counts[0] <= 20
