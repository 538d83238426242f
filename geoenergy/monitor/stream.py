"""Live batches of readings, through the same checks and quarantine as a file.

The ingest API (``POST /api/v1/readings``) hands a parsed batch here. Rows
of meters the token may not write are refused first, each with its reason;
the rest are written, as received (every value as text), to a CSV file in
the workspace's staging folder and ingested by the public
:func:`geoenergy.ingest.ingest_readings`: the same row checks, duplicate
handling, quarantine of rejected rows and one transaction as a file. A
batch is acknowledged only after that transaction commits, so an
acknowledged reading is durable. Re-sending a batch changes nothing: its
rows are duplicates of stored ones (or the very file is recognised).

Group commit: one ingestion costs about the same for 2 rows as for
thousands (the store's transaction, the per-bucket merge), so the
:class:`Ingestor` ingests the batches that are waiting *together*, as one
file, and then tells each batch what became of its rows. Batches of one
group never share a meter (two batches of one token wait for each other),
which makes the split exact: a batch's rejected rows are found by their row
number in the group's file, its accepted rows by the growth of its meters'
reading counts, the rest are duplicates. The store's schema is checked once
per :class:`Ingestor` (per process), not per group.

Compaction on a schedule: every ingestion adds a Parquet file to each
readings bucket it touches, and each later ingestion that must read a
bucket opens all of them, so a live store would slow down by the minute.
:meth:`Ingestor.compact` (run by the API's background thread every
``every_s``) merges the small files of each bucket holding more than
``files_per_bucket`` files into one, taking the ingestion slot so it never
races an ingestion (batches wait for it, as for a group; a bucket at a time,
so they wait for one bucket at most), under the readings store's lock. Reads
stay identical (:func:`geoenergy.readings.compact_readings`). Settings, in
``geoenergy.toml`` (:class:`Compaction`)::

    [monitor.compaction]
    files_per_bucket = 16      # compact a bucket holding more files than this
    small_mb = 16.0            # merge only files smaller than this [MiB]
    every_s = 5.0              # look at the file counts this often [s]
    enabled = true
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, fields

import sqlalchemy as sa

from geoenergy.errors import ConfigError
from geoenergy.store.models import Meter, RejectedRow

__all__ = [
    "MAX_BATCH_ROWS",
    "MAX_GROUP_ROWS",
    "BatchError",
    "BatchResult",
    "Compaction",
    "Ingestor",
    "ingest_batch",
    "parse_batch",
]

MAX_BATCH_ROWS = 10_000
"""Most rows in one batch; a larger one is refused whole (HTTP 413)."""

MAX_GROUP_ROWS = 100_000
"""Most rows ingested together by one group commit of :class:`Ingestor`."""

_COLUMNS = ("meter_id", "timestamp", "kwh")


@dataclass(frozen=True)
class Compaction:
    """When the live ingestion compacts the readings store (``[monitor.compaction]``).

    Attributes
    ----------
    files_per_bucket : int
        Compact a bucket once it holds more files than this.
    small_mb : float
        Merge only files smaller than this [MiB]; larger ones stay, so a
        compaction rewrites recent small files, not a bucket's history.
    every_s : float
        Period of the file-count check [s].
    enabled : bool
        False: never compact from the server (``geoenergy db compact`` still works).
    """

    files_per_bucket: int = 16
    small_mb: float = 16.0
    every_s: float = 5.0
    enabled: bool = True

    @classmethod
    def from_ws(cls, ws) -> Compaction:
        extra = (getattr(getattr(ws, "settings", None), "extra", None) or {}).get("monitor") or {}
        data = dict(extra.get("compaction") or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"geoenergy.toml [monitor.compaction]: unknown keys {unknown}; "
                f"allowed: {sorted(known)}."
            )
        out = cls(**data)
        if out.files_per_bucket < 1 or out.small_mb <= 0 or out.every_s <= 0:
            raise ConfigError(
                "geoenergy.toml [monitor.compaction]: files_per_bucket must be >= 1, "
                "small_mb and every_s > 0."
            )
        return out


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


def _refuse(rows, allowed_meters) -> tuple[BatchResult, list[int]]:
    """Refuse rows of other meters (and non-objects); the indexes of the rest."""
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
    return res, keep


class _Pending:
    __slots__ = ("done", "error", "keep", "meters", "result", "rows")

    def __init__(self, rows, keep, result):
        self.rows, self.keep, self.result = rows, keep, result
        self.meters = {rows[i]["meter_id"] for i in keep}
        self.done = False
        self.error: BaseException | None = None


class Ingestor:
    """Ingests live batches of one workspace, waiting batches together (group commit).

    :meth:`submit` blocks until the batch is committed (or failed) and is
    safe to call from many threads. One thread at a time ingests a group
    (the leader: whichever submitter finds no ingestion running), so at most
    one ingestion per process touches the readings store.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    store : geoenergy.store.Store, optional
        The store the caller holds (default ``ws.store``).
    max_group_rows : int
        Most rows in one group.
    """

    def __init__(self, ws, *, store=None, max_group_rows: int = MAX_GROUP_ROWS):
        self.ws = ws
        self.store = store or ws.store
        self.max_group_rows = max_group_rows
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._schema_ok = False
        self._wants_slot = 0  # compactions waiting for the slot: groups let them in first
        self.groups = 0
        self.compactions = 0
        self.compact_seconds = 0.0

    def waiting(self) -> int:
        """Batches waiting for their group (not counting the one being ingested)."""
        return len(self._queue)

    def submit(self, rows, allowed_meters) -> BatchResult:
        """Ingest one parsed batch for a token allowed to write ``allowed_meters``.

        Returns
        -------
        BatchResult

        Raises
        ------
        geoenergy.errors.InputFileError
            Nothing can be ingested (e.g. the workspace has no meter registry).
        geoenergy.errors.ConfigError
            Another process holds the readings store's lock; retry later.
        """
        res, keep = _refuse(rows, allowed_meters)
        if keep:
            p = _Pending(rows, keep, res)
            with self._cond:
                self._queue.append(p)
                while not p.done:
                    if self._busy or self._wants_slot:
                        self._cond.wait()
                        continue
                    self._busy = True
                    group = self._take()
                    self._cond.release()
                    try:
                        self._ingest(group)
                    finally:
                        self._cond.acquire()
                        self._busy = False
                        self._cond.notify_all()
            if p.error is not None:
                raise p.error
        res.rejections.sort(key=lambda r: (r["row"] is None, r["row"] or 0))
        res.rejected = res.rows - res.accepted - res.duplicates
        return res

    def _exclusive(self):
        """Take the ingestion slot (wait for a running group); release with :meth:`_release`."""
        with self._cond:
            self._wants_slot += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._wants_slot -= 1
            self._busy = True

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def compact(self, settings: Compaction | None = None) -> dict:
        """Compact the readings buckets holding more than ``files_per_bucket`` files.

        One bucket at a time, each in the ingestion slot (no group runs
        meanwhile) and under the readings store's lock, its small files
        merged into one (:func:`geoenergy.readings.compact_readings`).

        Returns
        -------
        dict
            ``buckets`` compacted, ``files_before`` and ``files_after`` (of
            those buckets), ``seconds`` spent [s].

        Raises
        ------
        geoenergy.errors.ConfigError
            Another process holds the readings store's lock (try later).
        """
        from geoenergy.readings import compact_readings

        cfg = settings or Compaction()
        rs = self.ws.readings
        over = sorted(b for b, n in rs.file_counts().items() if n > cfg.files_per_bucket)
        out = {"buckets": 0, "files_before": 0, "files_after": 0, "seconds": 0.0}
        t0 = time.perf_counter()
        for b in over:
            self._exclusive()
            try:
                n = rs.file_counts().get(b, 0)
                if n <= cfg.files_per_bucket:
                    continue
                res = compact_readings(
                    self.ws, buckets=[b], small_bytes=int(cfg.small_mb * 1024 * 1024)
                )
            finally:
                self._release()
            out["buckets"] += res["buckets"]
            out["files_before"] += n
            out["files_after"] += rs.file_counts().get(b, 0)
        out["seconds"] = time.perf_counter() - t0
        if out["buckets"]:
            self.compactions += out["buckets"]
            self.compact_seconds += out["seconds"]
        return out

    def _take(self) -> list[_Pending]:
        group, meters, n = [], set(), 0
        for p in list(self._queue):
            if group and (p.meters & meters or n + len(p.keep) > self.max_group_rows):
                continue
            group.append(p)
            meters |= p.meters
            n += len(p.keep)
        for p in group:
            self._queue.remove(p)
        return group

    def _counts(self, meters) -> dict[str, int]:
        with self.store.session() as s:
            return dict(
                s.execute(
                    sa.select(Meter.meter_id, Meter.n_readings).where(
                        Meter.meter_id.in_(list(meters))
                    )
                ).all()
            )

    def _ingest(self, group: list[_Pending]) -> None:
        from geoenergy.ingest import ingest_readings

        try:
            if not self._schema_ok:  # once per process: it loads the migration scripts
                self.store.check()
                self._schema_ok = True
            meters = set().union(*(p.meters for p in group))
            before = self._counts(meters)
            folder = self.ws.staging_path
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"api-batch-{uuid.uuid4().hex}.csv"
            owner: list[tuple[_Pending, int]] = []
            try:
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    w = csv.writer(fh, lineterminator="\n")
                    w.writerow(_COLUMNS)
                    for p in group:
                        for i in p.keep:
                            w.writerow([p.rows[i][c] for c in _COLUMNS])
                            owner.append((p, i))
                report = ingest_readings(
                    self.ws,
                    path,
                    store=self.store,
                    check_schema=False,
                    meters={m.strip() for m in meters},
                )
            finally:
                path.unlink(missing_ok=True)
            self.groups += 1
            after = self._counts(meters) if report.status != "unchanged" else before
            bad: dict[int, int] = {}
            if report.n_rejected and report.ingest_id is not None:
                with self.store.session() as s:
                    found = s.execute(
                        sa.select(RejectedRow.row_number, RejectedRow.column, RejectedRow.reason)
                        .where(RejectedRow.ingest_id == report.ingest_id)
                        .order_by(RejectedRow.row_number, RejectedRow.id)
                    ).all()
                for n, col, reason in found:
                    if not 1 <= n <= len(owner):
                        continue
                    p, i = owner[n - 1]
                    bad[id(p)] = bad.get(id(p), 0) + (1 if not _seen(p, i) else 0)
                    p.result.rejections.append(
                        {
                            "row": i + 1,
                            "meter_id": p.rows[i]["meter_id"],
                            "column": col,
                            "reason": reason,
                        }
                    )
            for p in group:
                acc = sum(after.get(m, 0) - before.get(m, 0) for m in p.meters)
                p.result.ingest_id = report.ingest_id
                p.result.status = report.status
                p.result.accepted = acc
                p.result.duplicates = len(p.keep) - acc - bad.get(id(p), 0)
        except BaseException as exc:
            for p in group:
                p.error = exc
        finally:
            for p in group:
                p.done = True


def _seen(p: _Pending, i: int) -> bool:
    """Whether row ``i`` of ``p`` already has a rejection (a row may have several reasons)."""
    return any(r["row"] == i + 1 for r in p.result.rejections)


def ingest_batch(ws, rows, allowed_meters, *, store=None) -> BatchResult:
    """Ingest one parsed batch for a token allowed to write ``allowed_meters``.

    A one-off :class:`Ingestor` (no other batch to group with); see
    :meth:`Ingestor.submit` for what it returns and raises.
    """
    return Ingestor(ws, store=store).submit(rows, allowed_meters)
