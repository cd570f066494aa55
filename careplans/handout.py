"""The plan handout as a PDF (portal.pdf: fpdf2 in packaged fonts, any script).

A character that no font can draw is logged as an error (with its code point)
by ``careplans.handout``: it is never replaced by a "?" quietly.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from careplans.models import CarePlan, PlanExercise
from careplans.phases import PhaseLabel
from library.media import picture_bytes
from library.models import Exercise
from portal.pdf import BRAND, MUTED, Document, has_rtl, undrawable

logger = logging.getLogger(__name__)


#: The width of an exercise's picture on the handout, in millimetres (a third of an A4 line).
PICTURE_WIDTH_MM = 60


#: What an exercise's first lines take, in millimetres: the rule, its name and dose (heading),
#: and two steps; an exercise starts on a new page rather than leave these apart.
HEADING_MM = 17
FIRST_STEPS_MM = 11


@dataclass(frozen=True)
class _Picture:
    data: bytes
    height_mm: float
    description: str


def _first_picture(exercise: Exercise) -> _Picture | None:
    """The exercise's first picture (its page-size thumbnail) at PICTURE_WIDTH_MM, if it has one
    that can be read."""
    picture = next(iter(exercise.pictures), None)
    data = picture_bytes(picture) if picture is not None else None
    if picture is None or data is None:
        return None
    width, height = picture.page_size
    return _Picture(data, PICTURE_WIDTH_MM * height / width, picture.description)


def handout_pdf(
    plan: CarePlan, plan_exercises: Sequence[PlanExercise], *, phase: PhaseLabel | None = None
) -> bytes:
    """The plan's home-exercise handout as PDF bytes (A4): title, patient, dates, therapist,
    a phased plan's current phase (``phase``, issue 17), then each exercise with its dosage,
    steps, the therapist's note and precautions, and last the clinic's contact details (those
    filled in; none, no block).

    ``plan_exercises`` are the plan's exercises in order, with ``exercise`` loaded. Text in any
    script the fonts cover prints as written; a character none of them has is logged
    (``careplans.handout``, ERROR) with its code point.
    """
    therapist = plan.therapist.user.full_name or plan.therapist.user.email
    patient = str(plan.patient)
    footer_parts = [f"{plan.title} for {patient}", f"therapist {therapist}"]
    # A footer is one cell: with right-to-left text in it, only the patient's name (one direction).
    footer = patient if any(has_rtl(part) for part in footer_parts) else " · ".join(footer_parts)
    clinic = plan.patient.clinic
    contact = clinic.contact_items()
    texts = [plan.title, patient, therapist, plan.condition, str(phase or "")]
    if contact:
        texts += [clinic.name, *(text for _, text in contact)]
    for plan_exercise in plan_exercises:
        exercise = plan_exercise.exercise
        texts += [
            exercise.name,
            plan_exercise.dosage_text,
            plan_exercise.note,
            exercise.precautions,
            *exercise.steps,
        ]
    pdf = Document(footer, text="".join(texts))
    pdf.drawn.append(footer)
    pdf.set_title(f"{plan.title}: home exercises")
    pdf.set_author(therapist)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.para(plan.title, size=18, style="B", color=BRAND)
    pdf.ln(1)
    pdf.labelled(["Home exercises for ", patient], size=12, style="B")
    dates = f"From {plan.start_date:%-d %B %Y} for {plan.length_weeks} weeks"
    pdf.labelled(
        [f"{plan.condition} · " if plan.condition else "", dates, " · your therapist: ", therapist],
        size=10,
        color=MUTED,
    )
    if phase is not None:
        pdf.ln(1)
        pdf.labelled([phase.heading, f" · {phase.weeks}"], size=11, style="B", color=BRAND)
    pdf.ln(3)
    for number, plan_exercise in enumerate(plan_exercises, start=1):
        exercise = plan_exercise.exercise
        picture = _first_picture(exercise)
        # The name, dose, picture and first steps stay together on one page.
        needed = HEADING_MM + FIRST_STEPS_MM + (picture.height_mm + 2 if picture else 0)
        if pdf.get_y() + needed > pdf.page_break_trigger:
            pdf.add_page()
        pdf.set_draw_color(213, 219, 227)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2.5)
        pdf.para(f"{number}. {exercise.name}", size=13, style="B")
        pdf.para(plan_exercise.dosage_text, size=10.5, style="B", color=BRAND)
        pdf.ln(1)
        if picture is not None:
            pdf.image(io.BytesIO(picture.data), w=PICTURE_WIDTH_MM, alt_text=picture.description)
            pdf.ln(2)
        for step_number, step in enumerate(exercise.steps, start=1):
            pdf.para(f"{step_number}. {step}", size=10)
        if plan_exercise.note:
            pdf.ln(1)
            pdf.labelled([f"Note from {therapist}: ", plan_exercise.note], size=10, style="B")
        if exercise.precautions:
            pdf.labelled(["Take care: ", exercise.precautions], size=9, color=MUTED)
        if exercise.uploaded_video is not None:
            pdf.para("Watch its video on your Today page in Plinth.", size=9, color=MUTED)
        elif exercise.video_url or exercise.image_url:
            pdf.para(f"See it: {exercise.video_url or exercise.image_url}", size=9, color=MUTED)
        pdf.ln(3)
    pdf.ln(2)
    pdf.para(
        "Stop an exercise and contact your therapist if it causes sharp or spreading pain, numbness or "
        "weakness. Record your pain and ticks each day on Plinth.",
        size=9,
        color=MUTED,
    )
    if contact:
        pdf.ln(3)
        pdf.para(clinic.name, size=11, style="B", color=BRAND)
        for label, text in contact:
            pdf.labelled([f"{label}: " if label else "", text], size=10)
    missing = undrawable("".join(pdf.drawn))
    if missing:
        logger.error(
            "Handout of plan %s: no font draws %s",
            plan.pk,
            ", ".join(f"U+{ord(char):04X} {unicodedata.name(char, '?')}" for char in missing),
        )
    return bytes(pdf.output())
