"""The printable handout: an HTML page with a print stylesheet, and a PDF."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape
from pypdf import PdfReader

from careplans.models import CarePlan
from library.models import ExerciseStatus
from tests.helpers import as_user, current_exercises

pytestmark = pytest.mark.django_db


def test_handout_page_has_names_steps_dosage_notes_and_therapist(plan_a: CarePlan, personas: Any) -> None:
    bird_dog = current_exercises(plan_a).get(exercise__slug="bird-dog")
    bird_dog.note = "Keep your back flat, like a table."
    bird_dog.save()
    response = as_user(personas.owner.user).get(reverse("plan-handout", args=[plan_a.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "print.css" in html and 'media="print"' in html
    for plan_exercise in current_exercises(plan_a).select_related("exercise"):
        assert escape(plan_exercise.exercise.name) in html
        assert plan_exercise.dosage_text in html
        for step in plan_exercise.exercise.steps:
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


def pdf_text(pdf: bytes) -> str:
    """The text a reader (or a screen reader) gets out of the PDF, as pypdf extracts it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_carries_the_plan_text(plan_a: CarePlan) -> None:
    from careplans.handout import handout_pdf
    from careplans.selectors import ordered_plan_exercises

    plan_exercises = ordered_plan_exercises(plan=plan_a)
    plan_exercises[0].note = "Breathe out as you tilt."
    text = pdf_text(handout_pdf(plan_a, plan_exercises))
    for plan_exercise in plan_exercises:
        assert plan_exercise.exercise.name in text  # typographic apostrophes included, as written
        assert plan_exercise.dosage_text in text
    assert "Breathe out as you tilt." in text
    assert "Olive Owner" in text


POLISH = "Łukasz Wąsik-Żółć"
HEBREW_NOTE = "לנשום עמוק, 3 פעמים ביום"
ARABIC_NOTE = "تنفس بعمق، ثلاث مرات يوميا"


@pytest.mark.cli
def test_polish_name_and_right_to_left_notes_print_as_written(
    plan_a: CarePlan, caplog: pytest.LogCaptureFixture, artifacts: Path
) -> None:
    from careplans.handout import handout_pdf
    from careplans.selectors import ordered_plan_exercises

    plan_a.patient.user.full_name = POLISH
    plan_a.patient.user.save()
    plan_a.title = "Ból krzyża, strona lewa"
    plan_exercises = ordered_plan_exercises(plan=plan_a)
    plan_exercises[0].note = HEBREW_NOTE
    plan_exercises[1].note = ARABIC_NOTE
    with caplog.at_level(logging.ERROR, logger="careplans.handout"):
        pdf = handout_pdf(plan_a, plan_exercises)
    assert caplog.records == []
    text = pdf_text(pdf)
    assert f"Home exercises for {POLISH}" in text
    assert "Ból krzyża, strona lewa" in text and "?ukasz" not in text
    # Right-to-left lines are stored in visual order (left to right on the page): each note's
    # words come out whole and reversed, which is the note read from the right.
    for note in (HEBREW_NOTE, ARABIC_NOTE):
        words = re.findall(r"\w+", note)
        (line,) = [line for line in text.splitlines() if words[0] in line]
        assert re.findall(r"\w+", line) == words[::-1]
    (artifacts / "handout-unicode.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        # A picture to look at: the order of right-to-left words cannot be read from extracted text.
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "90",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(artifacts / "handout-unicode.pdf"),
                str(artifacts / "handout-unicode"),
            ],
            check=True,
        )


def test_right_to_left_note_is_laid_out_from_the_right(plan_a: CarePlan) -> None:
    """Reading order on the page: the first Hebrew word stands right of the last one."""
    from careplans.handout import handout_pdf
    from careplans.selectors import ordered_plan_exercises

    plan_exercises = ordered_plan_exercises(plan=plan_a)
    plan_exercises[0].note = HEBREW_NOTE
    first, last = "לנשום", "ביום"
    positions: dict[str, float] = {}

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        for word in (first, last):
            if text.strip() in (word, word[::-1]):
                positions[word] = tm[4]

    PdfReader(io.BytesIO(handout_pdf(plan_a, plan_exercises))).pages[0].extract_text(visitor_text=visit)
    assert positions[first] > positions[last]


def test_fonts_come_from_installed_packages_not_the_host() -> None:
    from portal.pdf import font_files

    site_packages = {
        Path(p).resolve() for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])
    }
    files = font_files()
    assert files[("Atkinson", "")] != files[("Atkinson", "B")]
    for path in files.values():
        assert path.is_file()
        assert any(path.resolve().is_relative_to(root) for root in site_packages), path
        assert not path.resolve().is_relative_to(Path("/usr/share/fonts"))


def test_pdf_is_drawn_with_no_system_font_directory_visible(plan_a: CarePlan, monkeypatch: Any) -> None:
    """As on python:3.11-slim: hide /usr/share/fonts from every lookup the PDF could make."""
    import builtins

    from careplans.handout import handout_pdf
    from careplans.selectors import ordered_plan_exercises

    real_open, real_exists = builtins.open, Path.exists
    looked_up: list[str] = []

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(file))
        if str(file).startswith("/usr/share/fonts"):
            raise FileNotFoundError(file)
        return real_open(file, *args, **kwargs)

    def guarded_exists(path: Path, **kwargs: Any) -> bool:
        looked_up.append(str(path))
        return not str(path).startswith("/usr/share/fonts") and real_exists(path, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(Path, "exists", guarded_exists)
    plan_a.patient.user.full_name = POLISH
    plan_a.patient.user.save()
    assert f"Home exercises for {POLISH}" in pdf_text(
        handout_pdf(plan_a, ordered_plan_exercises(plan=plan_a))
    )
    assert any(name.endswith(".ttf") for name in looked_up)
    assert not [name for name in looked_up if "/usr/share/fonts" in name]


def test_a_character_no_font_has_is_logged_not_replaced_quietly(
    plan_a: CarePlan, caplog: pytest.LogCaptureFixture, allow_undrawable: None
) -> None:
    from careplans.handout import handout_pdf
    from careplans.selectors import ordered_plan_exercises
    from portal.pdf import undrawable

    assert undrawable("Zoë Łącka שלום سلام Ζωή Жанна\u200f\t") == []
    assert undrawable("ok \U0001f600 \u2192 \u6f22 \U0001f600") == ["\U0001f600", "\u6f22"]
    plan_exercises = ordered_plan_exercises(plan=plan_a)
    plan_exercises[0].note = "Well done \U0001f600"
    with caplog.at_level(logging.ERROR, logger="careplans.handout"):
        pdf = handout_pdf(plan_a, plan_exercises)
    assert pdf.startswith(b"%PDF-")
    (record,) = caplog.records
    assert "U+1F600 GRINNING FACE" in record.getMessage() and f"plan {plan_a.pk}" in record.getMessage()


def test_archived_exercise_still_prints_in_a_plan_that_uses_it(plan_a: CarePlan, personas: Any) -> None:
    bridge = plan_a.exercises.get(exercise__slug="bridge").exercise
    bridge.status = ExerciseStatus.ARCHIVED
    bridge.save()
    client = as_user(personas.owner.user)
    assert "Bridge" in client.get(reverse("plan-handout", args=[plan_a.pk])).content.decode()
    assert client.get(reverse("plan-handout-pdf", args=[plan_a.pk])).status_code == 200
    patient_page = as_user(personas.patient_a.user).get(reverse("my-handout")).content.decode()
    assert "Bridge" in patient_page
    assert "Bridge" in as_user(personas.patient_a.user).get(reverse("today")).content.decode()


def test_only_the_fallback_fonts_a_plan_needs_are_embedded() -> None:
    from portal.pdf import FACES, faces_for

    names = {face.name for face in FACES}
    latin = "Łukasz Wąsik-Żółć, 2 \u00d7 10 \u00b7 \u201cok\u201d"
    assert [face.name for face in faces_for(latin)] == ["Atkinson"]
    assert [face.name for face in faces_for("Zoë שלום")] == ["Atkinson", "Heebo"]
    assert {face.name for face in faces_for("سلام Жанна שלום")} == names
