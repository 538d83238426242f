"""Exports: the case queue as CSV/XLSX for field teams, inspection labels as CSV.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (and tab or carriage return can smuggle one in), so an
address or note crafted as ``=HYPERLINK(...)`` could act when a field team
opens the file. CSV has no cell types: every text cell that starts with one
of those characters gets a leading apostrophe, which spreadsheets read as
"this is text". XLSX has types, so the text is kept as it is and the cell
is typed as a string (never a formula), formatted as text (``@``) and,
where it would start a formula, marked with Excel's hidden quote prefix: it
shows without an apostrophe and stays text when someone edits it.

References
----------
.. [1] OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from geoenergy.contracts import CONTRACTS
from geoenergy.store import InspectionLabel, Review

__all__ = [
    "CLASSIFIED_COLUMNS",
    "FORMULA_TRIGGERS",
    "LABEL_COLUMNS",
    "QUEUE_COLUMNS",
    "csv_lines",
    "label_rows",
    "neutralise",
    "queue_export_row",
    "xlsx_bytes",
]

#: Leading characters a spreadsheet may read as the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: ``{column: (header, needs address permission)}`` of the queue export, in order.
QUEUE_COLUMNS: dict[str, tuple[str, bool]] = {
    "rank": ("rank", False),
    "score": ("score", False),
    "meter_id": ("meter_id", False),
    "address": ("address", True),
    "customer_class": ("customer_class", False),
    "district": ("district", False),
    "building_use": ("building_use", False),
    "hotspot": ("hotspot", False),
    "onset_date": ("onset_date", False),
    "status": ("status", False),
    "assignee": ("assignee", False),
    "reasons": ("reasons", False),
    "lon": ("lon", True),
    "lat": ("lat", True),
}

#: Columns of the labels file: the data contract's, in its order.
LABEL_COLUMNS = tuple(c.name for c in CONTRACTS["labels"].columns)
#: Further columns of the labels file with ``classified=1``: the classified
#: rectification of a confirmed-mining label (codes; empty otherwise).
CLASSIFIED_COLUMNS = ("site_kind", "measure")


def neutralise(value):
    """``value`` safe for a spreadsheet cell: text starting a formula gets a leading ``'``.

    Numbers, dates and None pass unchanged.

    Examples
    --------
    >>> neutralise("=1+1")
    "'=1+1"
    >>> neutralise("北京市朝阳区")
    '北京市朝阳区'
    >>> neutralise(-3.5)
    -3.5
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def queue_columns(with_addresses: bool) -> list[str]:
    """Column keys of the queue export for a role."""
    return [k for k, (_, needs) in QUEUE_COLUMNS.items() if with_addresses or not needs]


def queue_export_row(row: dict, columns: list[str]) -> list:
    """One queue row (from :func:`geoenergy.web.queue.queue_rows`) as export cells."""
    out = []
    for k in columns:
        v = row.get(k)
        if k == "reasons":
            v = "; ".join(v or [])
        elif k == "score" and v is not None:
            v = round(float(v), 6)
        out.append(v)
    return out


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text, one line at a time (for streaming), every cell :func:`neutralise`-d.

    UTF-8 with a byte-order mark would help Excel read Chinese text, but the
    labels file must stay plain UTF-8 for ``geoenergy train``; the queue export
    adds the BOM itself.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        yield buf.getvalue()


def xlsx_bytes(header: list[str], rows: Iterable[list], *, title: str = "queue") -> bytes:
    """An XLSX workbook (one sheet) of ``rows``; text cells are text, never formulas.

    Text is written unchanged (no apostrophe), typed as a string with the
    text number format ``@``; text that would start a formula also carries
    the quote prefix.

    Written with openpyxl's write-only mode, so memory stays flat for large queues.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
    except ImportError:  # pragma: no cover - a declared dependency
        raise ImportError(
            "the XLSX export needs openpyxl: `pip install 'openpyxl>=3.1'`."
        ) from None
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])

    def cell(v):
        c = WriteOnlyCell(ws, value=v)
        if isinstance(v, str):
            # openpyxl makes any text starting with "=" a formula; force text.
            c.data_type = "s"
            c.number_format = "@"
            if v.startswith(FORMULA_TRIGGERS):
                c.quotePrefix = True
        return c

    ws.append([cell(h) for h in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def label_rows(session, *, source: str | None = None, classified: bool = False) -> list[list]:
    """Inspection labels as ``[meter_id, label, inspected_on (ISO date)]`` rows.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session.
    source : {"review", "file"}, optional
        Only labels from review outcomes, or only ingested ones; default all.
    classified : bool
        Add :data:`CLASSIFIED_COLUMNS`: the kind of site and measure of the
        outcome that wrote a "mining" label (its latest outcome that day).

    Returns
    -------
    list of list
        Sorted by inspection date then meter id; the columns of
        :data:`LABEL_COLUMNS` (the data contract's labels format), then
        :data:`CLASSIFIED_COLUMNS` when ``classified``.
    """
    stmt = sa.select(
        InspectionLabel.meter_id, InspectionLabel.label, InspectionLabel.inspected_on
    ).order_by(InspectionLabel.inspected_on, InspectionLabel.meter_id)
    if source is not None:
        stmt = stmt.where(InspectionLabel.source == source)
    rows = [[m, lab, day.isoformat()] for m, lab, day in session.execute(stmt)]
    if not classified:
        return rows
    found = {}
    outcomes = (
        sa.select(Review.meter_id, Review.inspected_on, Review.site_kind, Review.measure)
        .where(Review.action == "outcome", Review.outcome == "mining")
        .order_by(Review.version)
    )
    for m, day, kind, measure in session.execute(outcomes):
        found[(m, day.isoformat())] = (kind, measure)
    return [
        [*r, *(found.get((r[0], r[2]), (None, None)) if r[1] == "mining" else (None, None))]
        for r in rows
    ]
