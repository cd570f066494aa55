"""CSV meant for spreadsheets: the one writer every CSV Plinth produces goes through.

Two rules, for files a clinic opens in Excel, LibreOffice Calc or Google Sheets:

* **Formula injection** (OWASP "CSV Injection"; OWASP ASVS 4.0 requirement
  5.3.10 / 5.0 requirement 1.2.10): a *text* cell whose first character is
  ``=``, ``+``, ``-``, ``@``, a tab, a carriage return, a line feed or NUL, or
  whose first character after leading spaces is one of ``= + - @``, is
  prefixed with a single quote, so the spreadsheet shows it as text instead of
  evaluating it.
* **Encoding**: a file for a spreadsheet starts with a UTF-8 byte-order mark;
  without it Excel reads UTF-8 as the local code page and "Zoë Łącka" arrives
  as "ZoÃ« ÅÄ…cka".

The injection rule goes by a value's *type*, not by its look. Numbers
(``int``, ``float``, ``Decimal``) are figures Plinth computed; they are written
in plain decimal notation, unquoted and unprefixed, so ``-2.5`` stays a
negative number the spreadsheet can sum. Every ``str`` is text (names, titles,
notes typed by people) and is neutralised even when it looks like a number:
the text ``"-2.5"`` becomes ``'-2.5``. Booleans are ``true``/``false``, dates
and times ISO 8601, ``None`` an empty cell.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Protocol

from django.http import HttpResponse

Cell = str | int | float | Decimal | bool | date | datetime | time | None

BOM = "\ufeff"
# Characters that make a spreadsheet read a cell as a formula (or split it) when they come first.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
# Some spreadsheets trim leading spaces before deciding whether a cell is a formula.
FORMULA_TRIGGERS_AFTER_SPACES = ("=", "+", "-", "@")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


class TextSink(Protocol):
    """Anything with ``write(str)``: a file, ``sys.stdout``, an ``HttpResponse``."""

    def write(self, text: str, /) -> object: ...


def neutralise_text(value: str) -> str:
    """Return ``value`` with a leading single quote if a spreadsheet would run it as a formula.

    ``value`` is a text cell. A value that is safe is returned unchanged, so
    ``neutralise_text("Ann Ash") == "Ann Ash"`` and
    ``neutralise_text('=HYPERLINK("http://x")') == "'=HYPERLINK(\\"http://x\\")"``.
    """
    if value.startswith(FORMULA_TRIGGERS) or value.lstrip(" ").startswith(FORMULA_TRIGGERS_AFTER_SPACES):
        return "'" + value
    return value


def spreadsheet_cell(value: Cell, *, decimals: int = 2) -> str:
    """One cell's text, by the module's rules.

    ``value``: text, a number, a boolean, a date/time or ``None``.
    ``decimals``: places for ``float`` and ``Decimal`` (rounded half-even; ``-0.00`` is
    written ``0.00``). ``int`` is written whole. A non-finite float is an empty cell,
    since no spreadsheet reads ``nan`` or ``inf`` as a number.
    Raises ``TypeError`` for any other type, so a new column cannot skip the rules.
    """
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        text = f"{value:.{decimals}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.") else text
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise_text(value)
    raise TypeError(f"spreadsheet_cell: unsupported cell type {type(value).__name__}")


class SpreadsheetWriter:
    """A ``csv.writer`` that passes every cell through :func:`spreadsheet_cell`.

    ``sink``: where the text goes (a file opened with ``newline=""``, stdout, an
    ``HttpResponse``). ``bom``: write the UTF-8 byte-order mark first (at construction).
    ``decimals``: as for :func:`spreadsheet_cell`. Rows end with ``\\r\\n`` (RFC 4180)
    unless ``lineterminator`` says otherwise.
    """

    def __init__(self, sink: TextSink, *, bom: bool, decimals: int = 2, lineterminator: str = "\r\n") -> None:
        if bom:
            sink.write(BOM)
        self._writer = csv.writer(sink, lineterminator=lineterminator)
        self._decimals = decimals

    def writerow(self, row: Iterable[Cell]) -> None:
        """Write one row; each cell as :func:`spreadsheet_cell` renders it."""
        self._writer.writerow([spreadsheet_cell(value, decimals=self._decimals) for value in row])

    def writerows(self, rows: Iterable[Iterable[Cell]]) -> None:
        """Write each row of ``rows`` with :meth:`writerow`."""
        for row in rows:
            self.writerow(row)


def csv_download(
    *, filename: str, header: Iterable[str], rows: Iterable[Iterable[Cell]], decimals: int = 2
) -> HttpResponse:
    """An attachment response: the byte-order mark, ``header``, then ``rows``.

    ``filename`` is the download's name (ASCII, no quotes). The response is
    ``text/csv; charset=utf-8``, every cell through :func:`spreadsheet_cell`.
    """
    response = HttpResponse(content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = SpreadsheetWriter(response, bom=True, decimals=decimals)
    writer.writerow(header)
    writer.writerows(rows)
    return response
