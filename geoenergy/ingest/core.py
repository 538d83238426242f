"""What every ingestion shares: the report, the re-ingest check and the commit record."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from geoenergy.ingest.checks import REJECT_COLUMNS
from geoenergy.ingest.sources import BadLine
from geoenergy.store import Ingest, RejectedRow, Store


@dataclass
class IngestReport:
    """What one ingestion did.

    Attributes
    ----------
    status : {"ingested", "unchanged"}
        ``"unchanged"`` when this exact file was ingested before.
    n_rows : int
        Data rows read from the file.
    n_accepted : int
        Rows that changed the workspace (new readings, new or updated meters, ...).
    n_duplicates : int
        Rows identical to a row already stored or earlier in the file (ignored).
    n_rejected : int
        Rows quarantined with their reason (``geoenergy rejected``).
    problems : dict
        ``{problem: (count, example message)}`` of the rejected rows.
    """

    kind: str
    path: str
    sha256: str
    status: str = "ingested"
    ingest_id: int | None = None
    n_rows: int = 0
    n_accepted: int = 0
    n_duplicates: int = 0
    n_rejected: int = 0
    problems: dict[str, tuple[int, str]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for humans."""
        if self.status == "unchanged":
            return (
                f"{self.path}: already ingested (ingest #{self.ingest_id}); nothing changed. "
                f"Use --force to process it again."
            )
        return (
            f"{self.path}: {self.n_rows:,} rows read, {self.n_accepted:,} accepted, "
            f"{self.n_duplicates:,} duplicates ignored, {self.n_rejected:,} rejected"
            + (" (see `geoenergy rejected`)" if self.n_rejected else "")
        )


class RejectLog:
    """Collects rejected rows of one ingestion and counts their problems."""

    def __init__(self):
        self.frames: list[pd.DataFrame] = []
        self.counter: Counter = Counter()
        self.examples: dict[str, str] = {}

    def add(self, frame: pd.DataFrame) -> None:
        if frame is None or not len(frame):
            return
        self.frames.append(frame[REJECT_COLUMNS])
        for problem, reason in zip(frame["problem"], frame["reason"], strict=True):
            self.counter[problem] += 1
            self.examples.setdefault(problem, reason)

    def add_bad_lines(self, lines: list[BadLine]) -> None:
        if not lines:
            return
        self.add(
            pd.DataFrame(
                {
                    "row_number": [b.row_number or 1 for b in lines],
                    "column": [None] * len(lines),
                    "value": [b.text for b in lines],
                    "reason": [b.reason for b in lines],
                    "problem": ["bad_line"] * len(lines),
                    "raw": [json.dumps({"line": b.text}, ensure_ascii=False) for b in lines],
                }
            )
        )

    @property
    def count(self) -> int:
        return sum(self.counter.values())

    def problems(self) -> dict[str, tuple[int, str]]:
        return {p: (n, self.examples[p]) for p, n in self.counter.most_common()}

    def rows(self):
        for frame in self.frames:
            yield from frame.itertuples(index=False)


def previous_ingest(store: Store, kind: str, sha256: str) -> Ingest | None:
    with store.session() as s:
        return s.scalars(
            sa.select(Ingest).where(Ingest.kind == kind, Ingest.sha256 == sha256)
        ).one_or_none()


def unchanged_report(prev: Ingest, path) -> IngestReport:
    return IngestReport(
        kind=prev.kind,
        path=str(path),
        sha256=prev.sha256,
        status="unchanged",
        ingest_id=prev.id,
        n_rows=prev.n_rows,
        n_accepted=0,
        n_duplicates=prev.n_rows - prev.n_rejected,
        n_rejected=prev.n_rejected,
    )


def begin_ingest(
    session,
    report: IngestReport,
    *,
    started_at: dt.datetime,
    options: dict | None = None,
    replace: bool = False,
) -> Ingest:
    """Insert the ingest record in the caller's transaction, before its rows.

    Rows written by the ingestion can then point at ``report.ingest_id``.
    With ``replace``, an earlier ingestion of the same file is removed first
    (its quarantined rows go with it; this run re-records those still bad).
    """
    if replace:
        session.execute(
            sa.delete(Ingest).where(Ingest.kind == report.kind, Ingest.sha256 == report.sha256)
        )
        session.flush()
    ing = Ingest(
        kind=report.kind,
        source_path=str(Path(report.path).resolve()),
        sha256=report.sha256,
        status="completed",
        options=options or {},
        started_at=started_at,
        finished_at=started_at,
    )
    session.add(ing)
    session.flush()
    report.ingest_id = ing.id
    return ing


def finish_ingest(session, ing: Ingest, report: IngestReport, rejects: RejectLog) -> None:
    """Store the counts and the rejected rows of ``ing`` in the caller's transaction."""
    ing.n_rows = report.n_rows
    ing.n_accepted = report.n_accepted
    ing.n_rejected = rejects.count
    ing.n_duplicates = report.n_duplicates
    ing.finished_at = dt.datetime.now(dt.UTC)
    batch = []
    table = RejectedRow.__table__
    for r in rejects.rows():
        batch.append(
            {
                "ingest_id": ing.id,
                "kind": report.kind,
                "source_path": ing.source_path,
                "row_number": int(r.row_number),
                "column": r.column,
                "value": r.value,
                "reason": r.reason,
                "raw": json.loads(r.raw) if isinstance(r.raw, str) else r.raw,
            }
        )
        if len(batch) >= 5000:
            session.execute(sa.insert(table), batch)
            batch = []
    if batch:
        session.execute(sa.insert(table), batch)
    session.flush()
    report.n_rejected = rejects.count
    report.problems = rejects.problems()


def record_ingest(
    session,
    report: IngestReport,
    rejects: RejectLog,
    *,
    started_at: dt.datetime,
    options: dict | None = None,
    replace: bool = False,
) -> Ingest:
    """:func:`begin_ingest` and :func:`finish_ingest` at once, for finished work."""
    ing = begin_ingest(session, report, started_at=started_at, options=options, replace=replace)
    finish_ingest(session, ing, report, rejects)
    return ing


def utc_datetime(ts) -> dt.datetime | None:
    """A pandas/numpy timestamp as an aware UTC ``datetime`` (None for NaT)."""
    if ts is None or pd.isna(ts):
        return None
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t.tz_convert("UTC").to_pydatetime()


#: Columns of :func:`rejected_frame`, as ``geoenergy rejected --export`` writes them.
REJECTED_EXPORT_COLUMNS = ("ingest_id", "kind", "file", "row", "column", "value", "reason", "raw")


def rejected_query(kind: str | None = None, file: str | None = None):
    """The quarantined rows, oldest ingestion and lowest row first, optionally filtered.

    Parameters
    ----------
    kind : str, optional
        Only rows of this ingest kind (readings, registry, labels, weather).
    file : str, optional
        Only rows of files whose path contains this text.
    """
    q = sa.select(
        RejectedRow.ingest_id,
        RejectedRow.kind,
        RejectedRow.source_path,
        RejectedRow.row_number,
        RejectedRow.column,
        RejectedRow.value,
        RejectedRow.reason,
        RejectedRow.raw,
    ).order_by(RejectedRow.ingest_id, RejectedRow.row_number)
    if kind:
        q = q.where(RejectedRow.kind == kind)
    if file:
        q = q.where(RejectedRow.source_path.contains(file))
    return q


def rejected_frame(store: Store, kind: str | None = None, file: str | None = None):
    """Every matching quarantined row as a table (:data:`REJECTED_EXPORT_COLUMNS`).

    ``raw``, the original row, is a JSON string so the table writes to CSV as is.
    """
    with store.session() as s:
        rows = s.execute(rejected_query(kind, file)).all()
    df = pd.DataFrame(rows, columns=list(REJECTED_EXPORT_COLUMNS))
    df["raw"] = [json.dumps(r, ensure_ascii=False) for r in df["raw"]]
    return df
