"""Questionnaire outcomes (issue 18): each plan's baseline, week-12 endpoint, change and responder per
instrument, and the outcome report's section per instrument, against hand-computed figures for four
plans: two completers, one without an endpoint, one without a baseline."""

from __future__ import annotations

import csv
import io
import math
import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from careplans.models import CarePlan
from outcomes.instrument_report import InstrumentFigures
from outcomes.models import InstrumentOutcome
from outcomes.recompute import outcome_refresh_all
from outcomes.report import outcome_report
from outcomes.report_formats import report_dict
from questionnaires.services import questionnaires_load_shipped, response_submit
from tests.conftest import Personas, login
from tests.factories import PatientFactory
from tests.helpers import template_plan

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)
ZONE = ZoneInfo("Europe/London")
T_975_1 = 12.706204736  # Student's t, 97.5th percentile, 1 degree of freedom (tables)
Z_975 = 1.959963985


def on_day(day: int) -> Any:
    when = datetime.combine(START + timedelta(days=day), datetime.min.time(), ZONE).replace(hour=10)
    return time_machine.travel(when.astimezone(UTC), tick=False)


def send(plan: CarePlan, code: str, occasion: str, answers: dict[str, Any]) -> None:
    entry = plan.schedule.get(instrument_code=code, occasion=occasion)
    response_submit(patient=plan.patient, schedule_id=entry.pk, answers=answers)


def psfs(*ratings: tuple[str, int]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for slot, (activity, rating) in enumerate(ratings, start=1):
        answers[f"activity-{slot}"], answers[f"rating-{slot}"] = activity, rating
    return answers


def peg(pain: int, enjoyment: int, activity: int) -> dict[str, int]:
    return {"pain": pain, "enjoyment": enjoyment, "activity": activity}


#: Per plan: its intake and week-12 answers (None: not sent) for the PSFS and the PEG, and its GROC.
COHORT: list[dict[str, Any]] = [
    {  # completer: PSFS 3.5 -> 4.0 but +2 on the two intake activities (the new one is left out)
        "intake": {"psfs": psfs(("Stairs", 3), ("Lifting", 4)), "peg": peg(6, 5, 7)},
        "week 12": {
            "psfs": psfs(("Stairs", 6), ("Lifting", 5), ("Running", 1)),
            "peg": peg(4, 4, 4),
            "groc": {"change": 5},
        },
    },
    {  # completer, short of both MCIDs: PSFS +1.5; PEG 5 -> 11/3, a 26.7% reduction
        "intake": {"psfs": psfs(("Walking", 5), ("Sitting", 5)), "peg": peg(5, 5, 5)},
        "week 12": {"psfs": psfs(("Walking", 6), ("Sitting", 7)), "peg": peg(4, 4, 3), "groc": {"change": 2}},
    },
    {"intake": {"psfs": psfs(("Gardening", 2)), "peg": peg(8, 8, 8)}, "week 12": {}},  # no endpoint
    {"intake": {}, "week 12": {"psfs": psfs(("Golf", 7)), "peg": peg(3, 3, 3), "groc": {"change": 6}}},
]


def cohort(personas: Personas) -> list[CarePlan]:
    """``COHORT``'s four plans, started on day 0 and answered through the services on days 1 and 78,
    with their snapshots refreshed on day 90 (the library and the shipped instruments loaded)."""
    made = []
    with on_day(0):
        for _ in COHORT:
            patient = PatientFactory(clinic=personas.clinic, therapist=personas.owner)
            made.append(template_plan(patient, personas.owner))
    for day, occasion in ((1, "intake"), (78, "week 12")):
        with on_day(day):
            for plan, answers in zip(made, COHORT, strict=True):
                for code, given in answers[occasion].items():
                    send(plan, code, occasion, given)
    with on_day(90):
        outcome_refresh_all()
    return made


@pytest.fixture
def plans(personas: Personas, library: None) -> list[CarePlan]:
    questionnaires_load_shipped()
    return cohort(personas)


def r2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def rows_of(plan: CarePlan) -> dict[str, tuple[Any, ...]]:
    """Each instrument's (baseline, endpoint, change, percent change, responder, missing endpoint)."""
    return {
        row.instrument.code: (
            *(r2(v) for v in (row.baseline, row.endpoint, row.change, row.percent_change)),
            row.responder,
            row.missing_endpoint,
        )
        for row in InstrumentOutcome.objects.filter(plan=plan).select_related("instrument")
    }


def test_each_plans_figures_per_instrument(plans: list[CarePlan]) -> None:
    # (baseline, endpoint, change, percent change, responder, missing endpoint)
    assert [rows_of(plan) for plan in plans] == [
        {
            # Stairs 3 -> 6, Lifting 4 -> 5: +2 over the intake activities, 100 x 2 / 3.5 = 57.14%.
            "psfs": (3.5, 4.0, 2.0, 57.14, True, False),
            # 6 -> 4: a 33.3% reduction, at least the PEG's 30%.
            "peg": (6.0, 4.0, -2.0, -33.33, True, False),
            "groc": (None, 5.0, None, None, None, False),
        },
        {
            "psfs": (5.0, 6.5, 1.5, 30.0, False, False),
            "peg": (5.0, 3.67, -1.33, -26.67, False, False),
            "groc": (None, 2.0, None, None, None, False),
        },
        {
            "psfs": (2.0, None, None, None, None, True),
            "peg": (8.0, None, None, None, None, True),
            "groc": (None, None, None, None, None, True),
        },
        {
            "psfs": (None, 7.0, None, None, None, False),
            "peg": (None, 3.0, None, None, None, False),
            "groc": (None, 6.0, None, None, None, False),
        },
    ]


def wilson(count: int, n: int) -> tuple[float, float]:
    """Wilson's 95% interval in percent, by its formula (Wilson 1927)."""
    p, z2 = count / n, Z_975**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return round(100 * (centre - half), 2), round(100 * (centre + half), 2)


def by_code(plans: list[CarePlan], personas: Personas) -> dict[str, InstrumentFigures]:
    with on_day(90):
        report = outcome_report(clinic=personas.clinic)
    return {q.code: q for q in report.instruments}


def test_the_report_counts_and_intervals_per_instrument(plans: list[CarePlan], personas: Personas) -> None:
    figures = by_code(plans, personas)
    psfs_, peg_, groc = figures["psfs"], figures["peg"], figures["groc"]
    counts = ("cohort", "reached", "itt", "completers", "no_baseline", "no_endpoint")
    assert [getattr(psfs_, k) for k in counts] == [4, 4, 3, 2, 1, 1]
    assert [getattr(peg_, k) for k in counts] == [4, 4, 3, 2, 1, 1]
    # PSFS change in completers: +2.0 and +1.5; Student's t interval with 1 degree of freedom.
    changes = [2.0, 1.5]
    half = T_975_1 * statistics.stdev(changes) / math.sqrt(2)
    mean = statistics.mean(changes)
    assert psfs_.change.n == 2 and psfs_.change.value == pytest.approx(1.75)
    assert psfs_.change.interval is not None
    assert (psfs_.change.interval.low, psfs_.change.interval.high) == pytest.approx(
        (mean - half, mean + half)
    )
    # Responders by each instrument's own MCID: one of two completers, one of three ITT plans.
    for rate, (count, n) in ((psfs_.responders, (1, 2)), (psfs_.responders_itt, (1, 3))):
        assert (rate.count, rate.n) == (count, n)
        assert rate.interval is not None
        assert (round(rate.interval.low, 2), round(rate.interval.high, 2)) == wilson(count, n)
    assert (peg_.responders.count, peg_.responders_itt.n) == (1, 3)
    assert peg_.change.value == pytest.approx(statistics.mean([-2.0, 11 / 3 - 5]))
    assert peg_.percent.value == pytest.approx(statistics.mean([-100 / 3, -80 / 3]))
    # The GROC: no baseline and no MCID, so week-12 scores only: 5, 2 and 6; one plan missing.
    assert (groc.has_baseline, groc.has_mcid, groc.itt, groc.endpoint_missing) == (False, False, 0, 1)
    assert groc.endpoint.value == pytest.approx(statistics.mean([5, 2, 6]))
    assert (psfs_.source, peg_.source) == ("Stratford et al. 1995", "Krebs et al. 2009")
    # The GROC's copyright line names no citation: its description's "Sources:" list does.
    assert groc.source.startswith("Jaeschke R, Singer J, Guyatt GH. Measurement of health status")
    assert "Kamper SJ" in groc.source


def test_a_sent_questionnaire_refreshes_its_plans_figures(
    personas: Personas, library: None, django_capture_on_commit_callbacks: Any
) -> None:
    questionnaires_load_shipped()
    with on_day(0):
        plan = template_plan(personas.patient_a, personas.owner)
    with on_day(1), django_capture_on_commit_callbacks(execute=True):
        send(plan, "peg", "intake", peg(6, 6, 6))
    assert rows_of(plan)["peg"] == (6.0, None, None, None, None, False)
    with on_day(78), django_capture_on_commit_callbacks(execute=True):
        send(plan, "peg", "week 12", peg(3, 3, 3))
    assert rows_of(plan)["peg"] == (6.0, 3.0, -3.0, -50.0, True, False)


def test_the_page_csv_and_json_show_each_instrument_with_its_source(
    plans: list[CarePlan], personas: Personas, client: Client
) -> None:
    login(client, personas.owner.user)
    with on_day(90):
        page = client.get(reverse("outcome-report")).content.decode()
        download = client.get(reverse("outcome-report"), {"format": "csv"}).content.decode("utf-8-sig")
        data = report_dict(outcome_report(clinic=personas.clinic))
    for words in (
        "Patient-Specific Functional Scale (PSFS)",
        "Source: Stratford et al. 1995",
        "Source: Krebs et al. 2009",
        # The global rating of change's listed sources end with a full stop; the page adds one.
        "J Man Manip Ther 2009;17(3):163-170. Scores",
        "an improvement of at least 2 points (higher is better)",
        "an improvement of at least 30% of the baseline (lower is better)",
        "no minimal clinically important difference",
    ):
        assert words in page, words
    rows = {(r["group"], r["measure"]): r for r in csv.DictReader(io.StringIO(download))}
    responders = rows["PSFS (Stratford et al. 1995)", "responders, intention to treat (%)"]
    assert (responders["n"], responders["count"]) == ("3", "1")
    assert rows["PEG (Krebs et al. 2009)", "missing baseline"]["count"] == "1"
    questionnaires = {q["instrument"]: q for q in data["questionnaires"]}
    assert questionnaires["psfs"]["change_points"] == {"n": 2, "mean": 1.75, "ci95": [-1.43, 4.93]}
    assert questionnaires["groc"]["responders_completers"] is None
    assert "Questionnaires" in data["definitions"]


def _report_queries(personas: Personas) -> int:
    with on_day(90), CaptureQueriesContext(connection) as ctx:
        outcome_report(clinic=personas.clinic)
    return len(ctx.captured_queries)


def test_the_report_query_count_does_not_grow_with_responses(
    plans: list[CarePlan], personas: Personas
) -> None:
    before = _report_queries(personas)
    with on_day(0):
        more = [template_plan(PatientFactory(clinic=personas.clinic), personas.owner) for _ in range(6)]
    with on_day(1):
        for plan in more:
            send(plan, "psfs", "intake", psfs(("Stairs", 4)))
            send(plan, "peg", "intake", peg(5, 6, 7))
    with on_day(78):
        for plan in more:
            send(plan, "psfs", "week 12", psfs(("Stairs", 7)))
            send(plan, "groc", "week 12", {"change": 3})
    with on_day(90):
        outcome_refresh_all()
    assert _report_queries(personas) == before == 6


def test_the_api_gives_each_plans_questionnaire_figures(plans: list[CarePlan], personas: Personas) -> None:
    api = APIClient()
    api.force_authenticate(personas.owner.user)
    with on_day(90):
        body = api.get(reverse("api-outcome-detail", kwargs={"pk": plans[0].pk})).json()
    figures = {q["instrument"]: q for q in body["questionnaires"]}
    assert figures["peg"] == {
        "instrument": "peg",
        "title": "PEG: pain, enjoyment of life and general activity",
        "baseline": 6.0,
        "endpoint": 4.0,
        "change": -2.0,
        "percent_change": pytest.approx(-100 / 3),
        "responder": True,
        "missing_endpoint": False,
    }
