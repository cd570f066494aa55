"""PDF documents drawn with fpdf2, in fonts that come with Plinth's Python packages.

Fonts come from Python packages Plinth depends on (``fontpkg-*``, pinned in
requirements.lock), never from the host: the production image
(``python:3.11-slim``) has no fonts at all. Atkinson Hyperlegible (Braille
Institute, designed for low-vision readers) sets the text; for characters it
lacks, fpdf2 falls back to IBM Plex Sans Arabic, Heebo (Hebrew) and Noto Sans
(Greek, Cyrillic, Vietnamese and the rest of Latin). Text shaping (HarfBuzz,
through ``uharfbuzz``) joins Arabic letters and lays right-to-left text out in
its order. ``undrawable`` names the characters no font has, for the caller to
log: a character is never replaced by a "?" quietly.

The plan handout (careplans.handout) and the outcome report
(outcomes.report_pdf) are drawn with ``Document``.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import fontpkg
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

INK = (27, 36, 48)


MUTED = (74, 85, 101)


BRAND = (8, 68, 103)


FONT = "Atkinson"


@dataclass(frozen=True)
class Face:
    """One font family from a package: its fpdf2 name, its fontpkg name and the
    fpdf2 styles it is registered for ("" regular, "B" bold)."""

    name: str
    package_family: str
    styles: tuple[str, ...]


# The first sets the text; the others are fpdf2 fallbacks, tried in order for a missing glyph.
# Variable fonts are used at their default instance (regular): instancing a bold at
# run time costs seconds per PDF, and a bold Hebrew or Greek name set regular loses nothing.
FACES = (
    Face(FONT, "Atkinson Hyperlegible", ("", "B")),
    Face("PlexArabic", "IBM Plex Sans Arabic", ("", "B")),
    Face("Heebo", "Heebo", ("",)),
    Face("NotoSans", "Noto Sans", ("",)),
)


_WEIGHT = {"": 400, "B": 700}


_RTL_CLASSES = ("R", "AL")


def font_files() -> dict[tuple[str, str], Path]:
    """(fpdf2 family, style) -> the TTF file inside its installed package.

    Raises ``fontpkg.FamilyNotInstalled`` when a font package is missing, so a
    broken install fails the first handout loudly instead of printing '?'.
    """
    return {
        (face.name, style): Path(fontpkg.path(face.package_family, weight=_WEIGHT[style]))
        for face in FACES
        for style in face.styles
    }


@functools.cache
def _cmap(path: Path) -> frozenset[int]:
    """The code points the font file has glyphs for (read once per process)."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _drawable() -> frozenset[int]:
    """Every code point some handout font has a glyph for."""
    return frozenset().union(*(_cmap(path) for path in font_files().values()))


def faces_for(text: str) -> list[Face]:
    """The first face, and the fallbacks that draw a character of ``text`` it lacks: fpdf2
    embeds (and subsets, at a cost) every font it is given, used or not."""
    files = font_files()
    needed = {ord(char) for char in text} - _cmap(files[(FACES[0].name, "")])
    return [FACES[0]] + [face for face in FACES[1:] if needed & _cmap(files[(face.name, "")])]


def undrawable(text: str) -> list[str]:
    """The distinct characters of ``text`` that no handout font can draw, in order of
    appearance; spaces, line breaks and invisible format characters (category Z*, Cc, Cf)
    need no glyph and are never reported."""
    drawable = _drawable()
    missing: list[str] = []
    for char in text:
        if ord(char) in drawable or char in missing or unicodedata.category(char)[0] in "Z":
            continue
        if unicodedata.category(char) in ("Cc", "Cf"):
            continue
        missing.append(char)
    return missing


def has_rtl(text: str) -> bool:
    """Whether ``text`` has a right-to-left letter (Unicode bidi class R or AL: Hebrew, Arabic, ...)."""
    return any(unicodedata.bidirectional(char) in _RTL_CLASSES for char in text)


def starts_rtl(text: str) -> bool:
    """Whether the first letter with a direction is right-to-left (Unicode UAX #9, rules P2-P3):
    the paragraph then reads from the right and is aligned right."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in _RTL_CLASSES:
            return True
        if direction == "L":
            return False
    return False


class Document(FPDF):
    """An A4 document in the packaged fonts, with paragraphs that take their own direction."""

    def __init__(self, footer_text: str, *, text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        files = font_files()
        faces = faces_for(text)
        for face in faces:
            for style in face.styles:
                self.add_font(face.name, style, files[(face.name, style)])
        # exact_match=False: a bold character only a regular fallback has is still drawn.
        self.set_fallback_fonts([face.name for face in faces[1:]], exact_match=False)
        self.set_text_shaping(True)
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.drawn: list[str] = []

    def para(
        self, value: str, *, size: float = 10.5, style: str = "", color: tuple[int, int, int] = INK
    ) -> None:
        self.drawn.append(value)
        self.set_font(FONT, style, size)
        self.set_text_color(*color)
        align = Align.R if starts_rtl(value) else Align.J
        self.multi_cell(0, size * 0.5, value, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def labelled(
        self, parts: Iterable[str], *, size: float = 10.5, style: str = "", color: tuple[int, int, int] = INK
    ) -> None:
        """Parts of one line (a label and people's text). With any right-to-left text each part
        is a paragraph of its own, so each takes its own direction: fpdf2 2.8 does not reorder
        a right-to-left run nested in a left-to-right line when the run holds digits or Latin."""
        parts = [part for part in parts if part]
        if any(has_rtl(part) for part in parts):
            for part in parts:
                self.para(part.strip(" :·"), size=size, style=style, color=color)
        else:
            self.para("".join(parts), size=size, style=style, color=color)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        align = Align.R if starts_rtl(self.footer_text) else Align.L
        self.cell(self.epw * 0.8, 5, self.footer_text, align=align)
        self.cell(0, 5, f"page {self.page_no()}/{{nb}}", align=Align.R)
