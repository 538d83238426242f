"""A live batch of readings, through the same checks and quarantine as a file.

The ingest API (``POST /api/v1/readings``) hands a parsed batch here. Rows
of meters the token may not write are refused first, each with its reason;
the rest are written, as received (every value as text), to a CSV file in
the workspace's staging folder and ingested by the public
:func:`geoenergy.ingest.ingest_readings`: the same row checks, duplicate
handling, quarantine of rejected rows and one transaction as a file. The
batch is acknowledged only after that transaction commits, so an
acknowledged reading is durable. Re-sending a batch gives the same file,
which ingestion recognises and leaves unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from geoenergy.store.models import RejectedRow

__all__ = [
    "MAX_BATCH_ROWS",
    "BatchError",
    "BatchResult",
    "ingest_batch",
    "parse_batch",
]

MAX_BATCH_ROWS = 10_000
"""Most rows in one batch; a larger one is refused whole (HTTP 413)."""

_COLUMNS = ("meter_id", "timestamp", "kwh")


class BatchError(ValueError):
    """A batch that cannot be read at all (HTTP 400/413/415), with the fix.

    Attributes
    ----------
    status : int
        The HTTP status the API answers with.
    """

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class BatchResult:
    """What one batch did (the API's response body).

    Attributes
    ----------
    rows : int
        Rows in the batch.
    accepted : int
        New readings stored.
    duplicates : int
        Rows identical to stored readings (ignored; re-sending is safe).
    rejected : int
        Rows refused, each in ``rejections`` with its 1-based ``row`` in the
        batch, ``meter_id``, ``column`` and ``reason``.
    """

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[dict] = field(default_factory=list)
    ingest_id: int | None = None
    status: str = "ingested"

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejections": self.rejections,
            "ingest_id": self.ingest_id,
            "status": self.status,
        }


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):  # JSON true/false is not a number: let the kWh check say so
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def parse_batch(body: bytes, content_type: str | None, *, max_rows: int = MAX_BATCH_ROWS):
    """Rows of a JSON or CSV batch, every value as text.

    Parameters
    ----------
    body : bytes
        The request body (UTF-8).
    content_type : str
        ``application/json`` (a list of ``{"meter_id", "timestamp", "kwh"}``)
        or ``text/csv`` (the readings contract, with a header row).
    max_rows : int
        Most rows allowed.

    Returns
    -------
    list of dict or str
        One ``{"meter_id", "timestamp", "kwh"}`` of strings per row; a row
        that is not an object is kept as a string naming the problem, and
        rejected with it.

    Raises
    ------
    BatchError
        Unreadable body, unknown content type, missing columns, too many rows.
    """
    ctype = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError("the body is not UTF-8 text; send UTF-8 JSON or CSV.") from None
    if ctype in ("application/json", ""):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BatchError(
                f"the body is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}); send a list of objects with meter_id, timestamp and kwh."
            ) from None
        if isinstance(data, dict) and isinstance(data.get("readings"), list):
            data = data["readings"]
        if not isinstance(data, list):
            raise BatchError(
                f"the JSON body is a {type(data).__name__}; send a list of objects "
                f'[{{"meter_id": "M1", "timestamp": "2026-12-07T08:00:00+08:00", "kwh": 1.5}}].'
            )
        rows = data
        if len(rows) > max_rows:
            raise BatchError(
                f"the batch has {len(rows):,} rows; at most {max_rows:,} per request. Split it.",
                413,
            )
        out = []
        for r in rows:
            if isinstance(r, dict):
                out.append({c: _text(r.get(c)) for c in _COLUMNS})
            else:
                out.append(
                    f"row is a {type(r).__name__}, not an object with {', '.join(_COLUMNS)}"
                )
        return out
    if ctype in ("text/csv", "application/csv", "text/plain"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BatchError(
                f"the CSV header {reader.fieldnames or []} lacks {missing}; the first line must "
                f"name the columns meter_id,timestamp,kwh."
            )
        out = []
        for r in reader:
            if len(out) >= max_rows:
                raise BatchError(
                    f"the batch has more than {max_rows:,} rows; at most {max_rows:,} per "
                    f"request. Split it.",
                    413,
                )
            out.append({c: _text(r.get(c)) for c in _COLUMNS})
        return out
    raise BatchError(
        f"Content-Type {ctype!r} is not accepted; send application/json or text/csv.", 415
    )


def ingest_batch(ws, rows, allowed_meters, *, store=None) -> BatchResult:
    """Ingest a parsed batch for a token allowed to write ``allowed_meters``.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The open workspace; naive timestamps are in its time zone.
    rows : list
        From :func:`parse_batch`.
    allowed_meters : collection of str
        Meters the token may write; other rows are refused with the reason.
    store : geoenergy.store.Store, optional
        The store the caller holds (default ``ws.store``).

    Returns
    -------
    BatchResult

    Raises
    ------
    geoenergy.errors.InputFileError
        Nothing can be ingested (e.g. the workspace has no meter registry).
    geoenergy.errors.ConfigError
        Another ingestion holds the readings store's lock; retry later.
    """
    from geoenergy.ingest import ingest_readings

    store = store or ws.store
    res = BatchResult(rows=len(rows))
    keep: list[int] = []
    for i, r in enumerate(rows):
        if isinstance(r, str):
            res.rejections.append({"row": i + 1, "meter_id": None, "column": None, "reason": r})
        elif r["meter_id"].strip() not in allowed_meters:
            res.rejections.append(
                {
                    "row": i + 1,
                    "meter_id": r["meter_id"],
                    "column": "meter_id",
                    "reason": (
                        f"meter {r['meter_id']!r} is not one of this token's meters "
                        f"({', '.join(sorted(allowed_meters))}); ask the administrator for "
                        f"a token that includes it (geoenergy tokens add)."
                    ),
                }
            )
        else:
            keep.append(i)
    if keep:
        folder = ws.staging_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"api-batch-{uuid.uuid4().hex}.csv"
        try:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(_COLUMNS)
                for i in keep:
                    w.writerow([rows[i][c] for c in _COLUMNS])
            report = ingest_readings(ws, path, store=store)
        finally:
            path.unlink(missing_ok=True)
        res.ingest_id = report.ingest_id
        res.status = report.status
        res.accepted = report.n_accepted
        res.duplicates = report.n_duplicates
        if report.n_rejected and report.ingest_id is not None:
            with store.session() as s:
                found = s.execute(
                    sa.select(RejectedRow.row_number, RejectedRow.column, RejectedRow.reason)
                    .where(RejectedRow.ingest_id == report.ingest_id)
                    .order_by(RejectedRow.row_number, RejectedRow.id)
                ).all()
            for n, col, reason in found:
                i = keep[n - 1] if 1 <= n <= len(keep) else None
                res.rejections.append(
                    {
                        "row": None if i is None else i + 1,
                        "meter_id": None if i is None else rows[i]["meter_id"],
                        "column": col,
                        "reason": reason,
                    }
                )
    res.rejections.sort(key=lambda r: (r["row"] is None, r["row"] or 0))
    res.rejected = res.rows - res.accepted - res.duplicates
    return res
