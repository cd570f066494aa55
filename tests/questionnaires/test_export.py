"""The patient's own data download holds their questionnaire responses (issue 18): instrument,
occasion, window and dates, each question's text with the answer, and the score; by the page and
the API alike, each download audited as the export is, and never another patient's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from questionnaires.services import response_save_draft, response_submit
from tests.conftest import Personas
from tests.helpers import api
from tests.questionnaires.test_responses import PSFS, entry, on_day, plan_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(library: None) -> None:
    from questionnaires.services import questionnaires_load_shipped

    questionnaires_load_shipped()


def _downloads(personas: Personas) -> list[tuple[str, dict[str, Any]]]:
    page = Client()
    page.force_login(personas.patient_a.user)
    return [
        ("page", json.loads(page.get(reverse("account-export")).content)),
        ("api", api(personas.patient_a.user).get(reverse("api-me-export")).json()),
    ]


def test_the_download_holds_each_response_with_its_questions_answers_and_score(
    personas: Personas, shipped: None
) -> None:
    plan = plan_in(personas.patient_a, personas)
    other = plan_in(personas.patient_b, personas)
    with on_day(plan, 2):
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "psfs", "intake").pk, answers=PSFS
        )
        response_save_draft(
            patient=personas.patient_a, schedule_id=entry(plan, "peg", "intake").pk, answers={"pain": 7}
        )
        response_submit(
            patient=personas.patient_b,
            schedule_id=entry(other, "peg", "intake").pk,
            answers={"pain": 2, "enjoyment": 9, "activity": 1},
        )
    with on_day(plan, 80):
        response_submit(
            patient=personas.patient_a, schedule_id=entry(plan, "groc", "week 12").pk, answers={"change": 5}
        )
        downloads = _downloads(personas)
    for via, data in downloads:
        rows = data["questionnaires"]
        assert [(r["instrument_code"], r["occasion"], r["status"]) for r in rows] == [
            ("peg", "intake", "draft"),
            ("psfs", "intake", "completed"),
            ("groc", "week 12", "completed"),
        ], via
        peg, psfs, groc = rows
        assert (psfs["instrument"], psfs["plan"]) == ("Patient-Specific Functional Scale", plan.pk)
        assert (psfs["opens_on"], psfs["closes_on"]) == ("2026-03-02", "2026-03-08")
        assert psfs["completed_at"].startswith("2026-03-04T10:00")
        assert psfs["score"] == 3.5 and psfs["score_range"] == [0.0, 10.0]  # (3 + 4) / 2
        items = {item["link_id"]: item for item in psfs["items"]}
        assert items["activity-1"]["answer"] == "Climbing stairs"
        assert items["rating-2"]["answer"] == 4 and items["rating-2"]["question"].startswith(
            "How well can you do: Lifting my son? (0 = unable"
        )
        assert items["rating-3"] == {
            "link_id": "rating-3",
            "question": items["rating-3"]["question"],
            "answer": None,
            "answer_text": "",
        }
        assert "instructions" not in items  # instructions are not questions
        assert (peg["score"], peg["completed_at"]) == (None, None)
        assert [(i["link_id"], i["answer"]) for i in peg["items"]] == [
            ("pain", 7),
            ("enjoyment", None),
            ("activity", None),
        ]
        [change] = groc["items"]
        assert (change["answer"], change["answer_text"]) == (5, "Quite a bit better")  # the choice in words
        assert groc["score"] == 5.0
    assert "enjoyment" in json.dumps(downloads[0][1])
    assert all(r["plan"] == plan.pk for _, data in downloads for r in data["questionnaires"])
    exported = AuditEvent.objects.filter(action="patient.exported", patient=personas.patient_a)
    assert sorted(event.data["via"] for event in exported) == ["api", "page"]
