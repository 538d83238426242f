"""Exports: spreadsheet formula injection is neutralised, labels keep the data contract."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoenergy.web.exports import (
    FORMULA_TRIGGERS,
    LABEL_COLUMNS,
    csv_lines,
    neutralise,
    queue_columns,
    queue_export_row,
    xlsx_bytes,
)

DANGEROUS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","click")',
    "+41 22 123",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_starts_are_neutralised(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["北京市朝阳区", "M1", "", "a=b", " =1", 3, -2.5, None])
def test_other_values_pass_unchanged(value):
    assert neutralise(value) == value


@given(st.text())
def test_no_neutralised_text_starts_a_formula(value):
    out = neutralise(value)
    assert not out.startswith(FORMULA_TRIGGERS)
    assert out in (value, "'" + value)


def test_csv_cells_are_neutralised_and_round_trip():
    rows = [["M1", DANGEROUS[1], 0.95], ["M2", "ok", None]]
    text = "".join(csv_lines(["meter_id", "address", "score"], rows))
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed == [
        ["meter_id", "address", "score"],
        ["M1", "'" + DANGEROUS[1], "0.95"],
        ["M2", "ok", ""],
    ]


def test_xlsx_cells_are_text_never_formulas():
    from openpyxl import load_workbook

    data = xlsx_bytes(["address", "n"], [[v, i] for i, v in enumerate(DANGEROUS)])
    ws = load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    # Typed as text, not prefixed (issue 19): the value is the text itself.
    # (XML turns a carriage return into a line feed.)
    assert [c.value for c in cells] == [v.replace("\r", "\n") for v in DANGEROUS]
    assert {c.data_type for c in cells} == {"s"}  # no "f" (formula)
    assert {c.number_format for c in cells} == {"@"}
    assert all(c.quotePrefix for c in cells)
    assert [row[1].value for row in ws.iter_rows(min_row=2)] == list(range(len(DANGEROUS)))
    assert [row[1].data_type for row in ws.iter_rows(min_row=2)] == ["n"] * len(DANGEROUS)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet


def test_queue_export_columns_by_role():
    assert "address" in queue_columns(True) and "lon" in queue_columns(True)
    assert not {"address", "lon", "lat"} & set(queue_columns(False))
    row = {"rank": 1, "score": 0.123456789, "meter_id": "M1", "reasons": ["a", "b"]}
    cols = ["rank", "score", "meter_id", "reasons", "assignee"]
    assert queue_export_row(row, cols) == [1, 0.123457, "M1", "a; b", None]


def test_label_columns_are_the_data_contract():
    assert LABEL_COLUMNS == ("meter_id", "label", "inspected_on")


def test_queue_csv_over_http_neutralises_the_formula_address(ro_client_for, kit):
    text = ro_client_for("enforcement").get("/queue.csv").content.decode("utf-8-sig")
    rows = {r[2]: r for r in csv.reader(io.StringIO(text))}
    assert rows["M5"][3] == "'" + kit.FORMULA
    assert rows["M5"][11] == "'" + kit.FORMULA  # the reason, too


def test_queue_xlsx_over_http_neutralises_the_formula_address(ro_client_for, kit):
    from openpyxl import load_workbook

    data = ro_client_for("admin").get("/queue.xlsx?class=commercial").content
    ws = load_workbook(io.BytesIO(data)).active
    m5 = next(r for r in ws.iter_rows(min_row=2) if r[2].value == "M5")
    assert m5[3].value == kit.FORMULA and m5[3].data_type == "s" and m5[3].quotePrefix
