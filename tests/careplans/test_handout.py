"""The printable handout: an HTML page with a print stylesheet, and a PDF."""

from __future__ import annotations

import re
import zlib
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from careplans.models import CarePlan, ExerciseStatus
from tests.careplans.conftest import as_user

pytestmark = pytest.mark.django_db


def test_handout_page_has_names_steps_dosage_notes_and_therapist(plan_a: CarePlan, personas: Any) -> None:
    bird_dog = plan_a.items.get(exercise__slug="bird-dog")
    bird_dog.note = "Keep your back flat, like a table."
    bird_dog.save()
    response = as_user(personas.owner.user).get(reverse("plan-handout", args=[plan_a.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "print.css" in html and 'media="print"' in html
    for item in plan_a.items.select_related("exercise"):
        assert escape(item.exercise.name) in html
        assert item.dosage_text in html
        for step in item.exercise.steps:
            assert escape(step) in html
    assert "Keep your back flat, like a table." in html
    assert "Olive Owner" in html and "Ada Patient" in html


def test_handout_pdf_downloads(plan_a: CarePlan, personas: Any) -> None:
    response = as_user(personas.owner.user).get(reverse("plan-handout-pdf", args=[plan_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="ada-patient-')
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 2000


def test_pdf_carries_the_plan_text(plan_a: CarePlan, monkeypatch: Any) -> None:
    from careplans import handout
    from careplans.selectors import plan_items

    # With the core font the text is stored as plain strings, so it can be read back.
    monkeypatch.setattr(handout, "FONT_DIRS", ())
    items = plan_items(plan=plan_a)
    items[0].note = "Breathe out as you tilt."
    pdf = handout.handout_pdf(plan_a, items)
    text = b"".join(
        zlib.decompress(stream) for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    ).decode("latin-1")
    for item in items:
        assert item.exercise.name.replace("\u2019", "'") in text
        assert item.dosage_text in text
    assert "Breathe out as you tilt." in text
    assert "Olive Owner" in text


def test_archived_exercise_still_prints_in_a_plan_that_uses_it(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.items.get(exercise__slug="bridge").exercise
    bridge.status = ExerciseStatus.ARCHIVED
    bridge.save()
    client = as_user(personas.owner.user)
    assert "Bridge" in client.get(reverse("plan-handout", args=[plan_a.pk])).content.decode()
    assert client.get(reverse("plan-handout-pdf", args=[plan_a.pk])).status_code == 200
    patient_page = as_user(personas.patient_a.user).get(reverse("my-handout")).content.decode()
    assert "Bridge" in patient_page
    assert "Bridge" in as_user(personas.patient_a.user).get(reverse("today")).content.decode()


def test_latin1_fallback_maps_typographic_characters() -> None:
    from careplans.handout import _Handout

    pdf = _Handout("footer")
    pdf.unicode = False
    fancy = "Child\u2019s pose \u2013 2 \u00d7 10 \u2026 \u201cok\u201d"
    assert pdf.text_for(fancy) == 'Child\'s pose - 2 x 10 ... "ok"'
