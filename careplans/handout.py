"""The plan handout as a PDF, drawn with fpdf2.

DejaVu Sans is used when the system has it, so any name prints as written;
otherwise the PDF core font, with the few typographic characters a plan uses
mapped to plain ones (core fonts only know Latin-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from careplans.models import CarePlan, PlanExercise

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
# Curly quotes, dashes, ellipsis, arrow, multiplication sign -> plain Latin-1.
LATIN1_FALLBACKS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u2192": "->",
        "\u00d7": "x",
        "\u00b7": "-",
    }
)
INK = (27, 36, 48)
MUTED = (74, 85, 101)
BRAND = (8, 68, 103)


class _Handout(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.family = "Helvetica"
        self.unicode = False
        for folder in FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.exists() and bold.exists():
                self.add_font("DejaVu", "", str(regular))
                self.add_font("DejaVu", "B", str(bold))
                self.family, self.unicode = "DejaVu", True
                break
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)

    def text_for(self, value: str) -> str:
        if self.unicode:
            return value
        return value.translate(LATIN1_FALLBACKS).encode("latin-1", "replace").decode("latin-1")

    def para(
        self, value: str, *, size: float = 10.5, style: str = "", color: tuple[int, int, int] = INK
    ) -> None:
        self.set_font(self.family, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, self.text_for(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.text_for(f"{self.footer_text} · page {self.page_no()}/{{nb}}"), align="C")


def handout_pdf(plan: CarePlan, items: Sequence[PlanExercise]) -> bytes:
    therapist = plan.therapist.user.full_name or plan.therapist.user.email
    pdf = _Handout(f"{plan.title} for {plan.patient} · therapist {therapist}")
    pdf.set_title(pdf.text_for(f"{plan.title}: home exercises"))
    pdf.set_author(pdf.text_for(therapist))
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.para(plan.title, size=18, style="B", color=BRAND)
    pdf.ln(1)
    pdf.para(f"Home exercises for {plan.patient}", size=12, style="B")
    details = f"From {plan.start_date:%-d %B %Y} for {plan.length_weeks} weeks · your therapist: {therapist}"
    if plan.condition:
        details = f"{plan.condition} · {details}"
    pdf.para(details, size=10, color=MUTED)
    pdf.ln(3)
    for number, item in enumerate(items, start=1):
        exercise = item.exercise
        pdf.set_draw_color(213, 219, 227)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2.5)
        pdf.para(f"{number}. {exercise.name}", size=13, style="B")
        pdf.para(item.dosage_text, size=10.5, style="B", color=BRAND)
        pdf.ln(1)
        for step_number, step in enumerate(exercise.steps, start=1):
            pdf.para(f"{step_number}. {step}", size=10)
        if item.note:
            pdf.ln(1)
            pdf.para(f"Note from {therapist}: {item.note}", size=10, style="B")
        if exercise.precautions:
            pdf.para(f"Take care: {exercise.precautions}", size=9, color=MUTED)
        if exercise.video_url or exercise.image_url:
            pdf.para(f"See it: {exercise.video_url or exercise.image_url}", size=9, color=MUTED)
        pdf.ln(3)
    pdf.ln(2)
    pdf.para(
        "Stop an exercise and contact your therapist if it causes sharp or spreading pain, numbness or "
        "weakness. Record your pain and ticks each day on Plinth.",
        size=9,
        color=MUTED,
    )
    return bytes(pdf.output())
