"""In Chromium at a desktop and on a phone: the record's charts (the pain chart from
``checkins.charts`` and the questionnaire score charts from ``questionnaires.charts``) draw no
text over other text: the chart's own label above the plot stays clear of the y axis's top
number."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from library.services import library_load
from questionnaires.services import questionnaires_load_shipped, response_submit
from tests.browsing import DESKTOP, PHONE, page_errors, signed_in
from tests.factories import PainCheckInFactory, PatientFactory, TherapistFactory
from tests.helpers import template_plan

pytestmark = pytest.mark.browser

#: Every pair of visible <text> boxes in one chart that overlap, as "label / label".
OVERLAPS = """
() => {
  const found = [];
  for (const svg of document.querySelectorAll("svg.pain-chart")) {
    if (svg.getBoundingClientRect().width === 0) continue;
    const boxes = [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, r] = boxes[i], [b, s] = boxes[j];
        if (r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom) {
          found.push(`${svg.id}: ${a} / ${b}`);
        }
      }
    }
  }
  return found;
}
"""


def test_the_record_charts_keep_their_labels_apart_at_a_desktop_and_on_a_phone(
    transactional_db: Any, live_server: Any, browser: Any, artifacts: Path
) -> None:
    library_load()
    questionnaires_load_shipped()
    therapist = TherapistFactory(user__full_name="Tess Therapist")
    patient = PatientFactory(clinic=therapist.clinic, therapist=therapist, user__full_name="Noor Haddad")
    plan = template_plan(patient, therapist)
    for day, nprs in enumerate((10, 9, 7, 8, 6)):
        PainCheckInFactory(plan=plan, local_date=plan.start_date + timedelta(days=day), nprs=nprs)
    for code, answers in (
        (
            "psfs",
            {"activity-1": "Climbing stairs", "rating-1": 3, "activity-2": "Lifting my son", "rating-2": 4},
        ),
        ("peg", {"pain": 6, "enjoyment": 5, "activity": 7}),
    ):
        entry = plan.schedule.get(instrument_code=code, occasion="intake")
        response_submit(patient=patient, schedule_id=entry.pk, answers=answers)
    overlaps: dict[str, list[str]] = {}
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        context = signed_in(browser, live_server, therapist.user, size)
        page = context.new_page()
        errors = page_errors(page)
        try:
            page.goto(f"{live_server.url}/patients/{patient.pk}/")
            overlaps[label] = page.evaluate(OVERLAPS)
            page.locator(".record-chart").screenshot(path=str(artifacts / f"record-pain-chart-{label}.png"))
            page.locator(".questionnaire-history").first.screenshot(
                path=str(artifacts / f"record-score-chart-{label}.png")
            )
        finally:
            context.close()
        assert not errors, errors
    assert overlaps == {"desktop": [], "phone": []}
