"""Ingest meter readings into the workspace's Parquet store.

The file is streamed in chunks. Each chunk is validated row by row (meter id,
timestamp, kWh, meter known to the registry); good rows are staged by meter
bucket; rejected rows are kept with their reason. Then, bucket by bucket,
the staged rows are checked against each other and against what is already
stored:

- a row identical to a stored row or an earlier row of the file is a
  duplicate and is ignored (this is what makes re-ingestion idempotent);
- rows that give the same (meter, timestamp) different kWh are rejected, all
  of them: GeoEnergy cannot know which is right and never overwrites;
- each meter's interval (15 min, 30 min, 1 h or 1 day) is inferred as the
  most common spacing of its readings; a meter with another spacing, or a
  row off the meter's grid, is rejected with the fix;
- gaps stay gaps: nothing is filled.

Each column is checked once per distinct value (:func:`geoenergy.ingest.checks.
distinct`) and the bucket merge works on sorted integer keys
(:mod:`geoenergy.ingest.merge`). Rows that only extend their meters' series
at the recorded interval are merged from the meters table's history without
reading the stored files (:func:`_append_only`), so appending a day costs a
day, not the whole history.

The accepted rows become new immutable Parquet files and a staged manifest;
the ingest record, the rejected rows and the meters' statistics are
committed to the relational store in one transaction, and only then is the
manifest published (see :mod:`geoenergy.readings`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from geoenergy.config import Workspace
from geoenergy.errors import InputFileError
from geoenergy.ingest.checks import (
    RowChecks,
    check_float,
    check_text,
    distinct,
    parse_timestamps,
    rejects_frame,
)
from geoenergy.ingest.core import (
    IngestReport,
    RejectLog,
    previous_ingest,
    record_ingest,
    unchanged_report,
)
from geoenergy.ingest.merge import Merged, NewRows, merge_rows, utc_index
from geoenergy.ingest.sources import DEFAULT_CHUNK_ROWS, open_table, sha256_file
from geoenergy.readings import SCHEMA, bucket_of, token_committed
from geoenergy.store import Meter, Store

KEY = ["meter_id", "timestamp"]
MERGE_THREADS = 2
"""Buckets merged and written at once (each holds its bucket's rows in memory)."""
STAGE_IN_MEMORY_ROWS = 8_000_000
"""Valid rows held in memory between reading and merging; beyond, they are
spilled to the staging folder as ``.npy`` files and memory-mapped back."""


def ingest_readings(
    ws: Workspace,
    path,
    *,
    store: Store | None = None,
    column_map: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    force: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    check_schema: bool = True,
    meters=None,
) -> IngestReport:
    """Ingest a readings file (CSV or Parquet) into the workspace.

    Parameters
    ----------
    ws : Workspace
        The workspace; naive timestamps are read in ``ws.settings.timezone``.
    path : str or Path
        File with columns ``meter_id``, ``timestamp``, ``kwh`` [kWh].
    store : Store, optional
        The relational store (default: the workspace's).
    column_map : mapping, optional
        ``{file column: contract column}``.
    encoding : str
        Text encoding of a CSV file.
    delimiter : str, optional
        CSV delimiter (default ``","``).
    force : bool
        Process a file again even if this exact file was ingested before
        (e.g. after adding missing meters to the registry). Rows already
        stored are still ignored as duplicates.
    chunk_rows : int
        Rows per streamed chunk.
    progress, total : callable, optional
        Progress callbacks: ``total(n)`` once with the work size, ``progress(k)``
        with increments.
    check_schema : bool
        Check that the store's schema is at the head revision (loads the
        migration scripts: ~15 ms). The live ingestion
        (:class:`geoenergy.monitor.stream.Ingestor`) checks once per process
        and passes False.
    meters : iterable of str, optional
        Every meter id the file holds, when the caller knows them: the
        registry is then read for these meters only instead of whole (a
        live batch of 2 rows need not load 100,000 meters). A row of a meter
        not listed is rejected as unregistered, so list them all.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputFileError
        File-level problem; nothing was written.
    """
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    store = store or ws.store
    if check_schema:
        store.check()
    src = open_table(
        path, "readings", column_map=column_map, encoding=encoding, delimiter=delimiter
    )
    sha = sha256_file(src.path)
    rs = ws.readings
    with rs.lock():
        rs.recover(token_committed(store))
        prev = previous_ingest(store, "readings", sha)
        if prev is not None and not force:
            return unchanged_report(prev, src.path)
        known, history = _registered_meters(store, meters)
        if known.size == 0 and meters is not None:  # none registered: the full message below
            known, history = _registered_meters(store)
        if known.size == 0:
            raise InputFileError(
                src.path,
                "no meter registry has been ingested into this workspace, so no reading "
                "can be matched to a meter.",
                "run `geoenergy ingest registry REGISTRY.csv` first.",
            )
        report = IngestReport(kind="readings", path=str(src.path), sha256=sha)
        rejects = RejectLog()
        token = rs.new_token()
        staging = ws.staging_path / f"readings-{token}"
        staging.mkdir(parents=True, exist_ok=True)
        meter_stats: list[pd.DataFrame] = []
        try:
            if total:
                total(src.size if src.format == "csv" else _parquet_rows(src.path))
            known_buckets = bucket_of(known, rs.n_buckets)
            staged = _Staged(staging, known_buckets, rs.n_buckets)
            _stage(src, ws.tz, known, staged, rejects, report, chunk_rows, progress)
            known_pa = pa.array(known, type=pa.string())

            def merge_and_write(b: int):
                # One bucket: merge its staged rows with the store, write the accepted ones.
                new = staged.rows(b)
                merged = _append_only(new, history, known, ws.tz) if APPEND_FAST_PATH else None
                if merged is None:
                    stored = _stored_rows(rs, b, known, _present(new.code, len(known)))
                    merged = merge_rows(new, stored, known, ws.tz)
                acc = merged.accepted
                name = None
                if len(acc.code):
                    table = pa.table(
                        {
                            "meter_id": known_pa.take(pa.array(acc.code)),
                            "timestamp": pa.array(acc.ts, type=pa.int64()).view(
                                pa.timestamp("ns", tz="UTC")
                            ),
                            "kwh": acc.kwh,
                        },
                        schema=SCHEMA,
                    )
                    name = rs.write_bucket_file(b, token, table)
                # the accepted rows are written: keep only what the report needs
                return b, name, len(acc.code), merged.rejected, merged.n_duplicates, merged.stats

            new_files = {}
            # Buckets are independent: two at a time (sorting, Arrow and Parquet release
            # the GIL); their outcomes are taken in bucket order, so the report and the
            # rejected rows are the same as one at a time.
            with ThreadPoolExecutor(max_workers=MERGE_THREADS) as pool:
                for b, name, n_acc, rejected, n_dup, stats in pool.map(
                    merge_and_write, staged.buckets()
                ):
                    rejects.add(rejected)
                    report.n_duplicates += n_dup
                    if name is not None:
                        new_files[b] = name
                        report.n_accepted += n_acc
                    meter_stats.append(stats)
            rs.stage(token, new_files)
            try:
                with store.session() as s:
                    record_ingest(
                        s,
                        report,
                        rejects,
                        started_at=started,
                        options={
                            "token": token,
                            "column_map": dict(column_map or {}),
                            "encoding": encoding,
                            "timezone": ws.settings.timezone,
                        },
                        replace=prev is not None,
                    )
                    if meter_stats:
                        _update_meters(s, pd.concat(meter_stats, ignore_index=True))
            except BaseException:
                rs.recover(lambda _token: False)
                raise
            rs.publish()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    report.details["meters"] = int(sum(len(m) for m in meter_stats))
    report.seconds = time.perf_counter() - t0
    return report


def _parquet_rows(path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def _registered_meters(store: Store, only=None) -> tuple[np.ndarray, _History]:
    """The registered meter ids (all, or those of ``only``), sorted, and what the
    store already holds of each."""
    q = sa.select(
        Meter.meter_id,
        Meter.interval_s,
        Meter.first_reading,
        Meter.last_reading,
        Meter.n_readings,
    ).order_by(Meter.meter_id)
    with store.session() as s:
        if only is None:  # the whole registry: plain rows, no per-value type processing
            rows = (
                s.connection()
                .exec_driver_sql(
                    "SELECT meter_id, interval_s, first_reading, last_reading, n_readings "
                    "FROM meters"
                )
                .all()
            )
        else:
            ids = sorted({str(m) for m in only})
            rows = []
            for i in range(0, len(ids), 500):  # bound the IN list
                rows += s.execute(q.where(Meter.meter_id.in_(ids[i : i + 500]))).all()
    ids = np.asarray([r[0] for r in rows], dtype=object)
    order = np.argsort(ids, kind="stable")  # Python's order, as searchsorted compares
    rows = [rows[i] for i in order]

    def ns(values):  # aware datetimes, or naive UTC text (SQLite without the ORM's types)
        t = pd.DatetimeIndex(pd.to_datetime(list(values), utc=True, format="ISO8601"))
        t = t.as_unit("ns")
        return np.where(t.isna(), -1, t.asi8)

    history = _History(
        interval_s=np.asarray([np.nan if r[1] is None else r[1] for r in rows], np.float64),
        first=ns(r[2] for r in rows),
        last=ns(r[3] for r in rows),
        n=np.asarray([r[4] or 0 for r in rows], dtype=np.int64),
    )
    return ids[order], history


@dataclass
class _History:
    """Per registered meter (in the order of the sorted ids): what is stored.

    ``interval_s`` [s] (NaN if unknown), ``first`` and ``last`` reading
    [ns since 1970 UTC, -1 if none] and the number ``n`` of readings, as the
    last committed ingestion recorded them in the meters table.
    """

    interval_s: np.ndarray
    first: np.ndarray
    last: np.ndarray
    n: np.ndarray


APPEND_FAST_PATH = True
"""Decide appended readings from the meters' recorded history (see :func:`_append_only`)."""


def _append_only(new: NewRows, history: _History, known: np.ndarray, tz) -> Merged | None:
    """Merge rows that only extend their meters' series, without reading the store.

    When every new row of a meter lies after the meter's last stored reading
    and continues its series at its recorded interval (each new spacing,
    also from the last stored reading, equals it), nothing stored can be a
    duplicate and the most common spacing over stored + new is the recorded
    interval: its count only grows. The merge then needs, of the store, only
    the last reading of each meter (from the meters table) instead of the
    whole history, so appending a day costs a day. Returns None (read the
    store) otherwise, or when the merge rejects rows for their interval or
    grid (their absence changes the spacings the recorded interval came from).
    Meters with no stored reading at all need nothing of the store either.
    """
    code = new.code
    if not (history.n[code] > 0).any():
        return merge_rows(new, None, known, tz)  # the store holds nothing of these meters
    order = np.lexsort((new.ts, code))
    c, t = code[order], new.ts[order]
    first_of_meter = np.ones(len(c), dtype=bool)
    first_of_meter[1:] = c[1:] != c[:-1]
    prev = np.where(first_of_meter, history.last[c], np.r_[0, t[:-1]])
    checked = history.n[c] > 0  # meters without history have nothing stored to agree with
    step = history.interval_s[c] * 1e9
    if np.isnan(step[checked]).any():
        return None
    if not (t[checked] - prev[checked] == step[checked]).all():
        return None
    meters = np.flatnonzero(np.bincount(code, minlength=len(known)) > 0)
    meters = meters[history.n[meters] > 0]
    tail = NewRows(
        code=meters,
        ts=history.last[meters],
        kwh=np.full(len(meters), np.nan),
        row=np.zeros(len(meters), dtype=np.int64),
    )
    merged = merge_rows(new, tail, known, tz)
    if (
        merged.rejected is not None
        and merged.rejected["problem"].isin(["irregular_interval", "off_grid"]).any()
    ):
        return None
    stats = merged.stats
    pos = np.searchsorted(known, stats["meter_id"].to_numpy(dtype=object))
    before = history.n[pos] > 0
    stats.loc[before, "first"] = utc_index(history.first[pos[before]])
    stats.loc[before, "n"] = history.n[pos[before]] + stats["n"].to_numpy()[before] - 1
    return merged


def _stage(src, tz, known, staged, rejects, report, chunk_rows, progress) -> None:
    """Check every chunk; keep its valid rows in ``staged``, its rejected rows in ``rejects``.

    Each column is checked once per distinct value (:func:`distinct`), in the
    order of the contract (meter id, timestamp, kWh, then the registry), so a
    row is rejected for its first problem.
    """
    for table, rows in src.iter_arrow(chunk_rows, progress=progress, dictionary=True):
        n = table.num_rows
        report.n_rows += n
        checks = RowChecks(None, n=n)
        m_codes, m_uni = distinct(table.column("meter_id"))
        m_checks = RowChecks(m_uni.to_frame("meter_id"))
        meter = check_text(m_checks, m_uni, "meter_id", "the meter's id").to_numpy(dtype=object)
        checks.absorb(m_checks, m_codes)

        t_codes, t_uni = distinct(table.column("timestamp"))
        t_checks = RowChecks(t_uni.to_frame("timestamp"))
        ts = parse_timestamps(t_checks, t_uni, "timestamp", tz)
        ts_ns = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
        checks.absorb(t_checks, t_codes)

        kwh, k_checks, k_codes = _kwh(table.column("kwh"))
        checks.absorb(k_checks, k_codes)

        pos = np.minimum(np.searchsorted(known, meter), len(known) - 1)
        registered = known[pos] == meter
        u_checks = RowChecks(m_uni.to_frame("meter_id"))
        u_checks.add(
            ~registered & (meter != ""),
            "meter_id",
            "unknown_meter",
            lambda v: [
                f"meter_id={x!r} is not in the meter registry; ingest a registry that lists "
                f"it, then ingest this file again with --force."
                for x in v
            ],
        )
        checks.absorb(u_checks, m_codes)

        good = ~checks.bad
        if not good.all():
            rejects.add(_chunk_rejects(table, rows, checks))
        if good.any():
            idx = np.flatnonzero(good) if not good.all() else slice(None)
            staged.add(
                NewRows(
                    code=pos[m_codes[idx]],
                    ts=ts_ns[t_codes[idx]],
                    kwh=kwh[idx],
                    row=rows[idx],
                )
            )
    if src.format == "csv":
        rejects.add_bad_lines(src.bad_lines)
        report.n_rows += len(src.bad_lines)


def _kwh(column) -> tuple[np.ndarray, RowChecks, np.ndarray | None]:
    """Check the kWh column: numbers as they are, text once per distinct value.

    Returns the values [kWh] per row (NaN where bad), the checks and the codes
    for :meth:`RowChecks.absorb`.
    """
    t = column.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        values = column.to_numpy().astype(np.float64, copy=False)
        frame = pd.DataFrame({"kwh": values})
        checks = RowChecks(frame)
        return (
            check_float(checks, frame["kwh"], "kwh", unit="kWh", minimum=0.0),
            checks,
            None,
        )
    codes, uni = distinct(column)
    checks = RowChecks(uni.to_frame("kwh"))
    values = check_float(checks, uni, "kwh", unit="kWh", minimum=0.0)
    return values[codes], checks, codes


def _chunk_rejects(table: pa.Table, rows: np.ndarray, checks: RowChecks) -> pd.DataFrame:
    """Rejected-row records of a chunk, with the rows' values as they were read."""
    bad = checks.bad
    sub = table.take(pa.array(np.flatnonzero(bad)))
    sub = pa.table(
        {
            name: (pc.cast(col, col.type.value_type) if pa.types.is_dictionary(col.type) else col)
            for name, col in zip(sub.column_names, sub.columns, strict=True)
        }
    ).to_pandas()
    sub.index = pd.Index(rows[bad], name="row")
    return rejects_frame(
        sub,
        np.ones(len(sub), dtype=bool),
        checks.column[bad],
        checks.problem[bad],
        checks.reason[bad],
    )


class _Staged:
    """The valid rows of an ingestion, grouped by meter bucket until they are merged.

    Each chunk's rows are sorted by bucket (a stable sort: file order is kept
    within a bucket) and kept as arrays with the bucket boundaries. Past
    :data:`STAGE_IN_MEMORY_ROWS` rows, the arrays go to raw files in the
    staging folder and each bucket's slices are read back on their own (not
    memory-mapped: mapped pages would count as the process's memory), so a
    file of any size streams through bounded memory.
    """

    def __init__(self, folder, meter_buckets: np.ndarray, n_buckets: int):
        self.folder = folder
        self.meter_buckets = meter_buckets.astype(np.int16 if n_buckets < 2**15 else np.int32)
        self.n_buckets = n_buckets
        self.parts: list[tuple[NewRows, np.ndarray]] = []
        self.in_memory = 0

    def add(self, rows: NewRows) -> None:
        b = self.meter_buckets[rows.code]
        order = np.argsort(b, kind="stable")
        bounds = np.searchsorted(b[order], np.arange(self.n_buckets + 1))
        part = NewRows(
            code=rows.code[order].astype(np.int32),
            ts=rows.ts[order],
            kwh=rows.kwh[order],
            row=rows.row[order],
        )
        self.parts.append((part, bounds))
        self.in_memory += len(order)
        if self.in_memory > STAGE_IN_MEMORY_ROWS:
            self._spill()

    def _spill(self) -> None:
        for i, (part, bounds) in enumerate(self.parts):
            if isinstance(part.ts, _OnDisk):
                continue
            arrays = {}
            for name in ("code", "ts", "kwh", "row"):
                values = getattr(part, name)
                path = self.folder / f"part{i:05d}-{name}.bin"
                values.tofile(path)
                arrays[name] = _OnDisk(path, values.dtype)
            self.parts[i] = (NewRows(**arrays), bounds)
        self.in_memory = 0

    def buckets(self) -> list[int]:
        """Buckets that received rows, in order."""
        counts = np.zeros(self.n_buckets, dtype=np.int64)
        for _, bounds in self.parts:
            counts += np.diff(bounds)
        return [int(b) for b in np.flatnonzero(counts)]

    def rows(self, bucket: int) -> NewRows:
        """The staged rows of one bucket, in file order."""
        pieces = [(p, bd[bucket], bd[bucket + 1]) for p, bd in self.parts]
        pieces = [(p, lo, hi) for p, lo, hi in pieces if hi > lo]

        def cat(name, dtype):
            return np.concatenate(
                [np.asarray(getattr(p, name)[lo:hi], dtype=dtype) for p, lo, hi in pieces]
            )

        return NewRows(
            code=cat("code", np.int64),
            ts=cat("ts", np.int64),
            kwh=cat("kwh", np.float64),
            row=cat("row", np.int64),
        )


class _OnDisk:
    """A spilled array: ``[lo:hi]`` reads that slice from its raw file."""

    def __init__(self, path, dtype):
        self.path, self.dtype = path, np.dtype(dtype)

    def __getitem__(self, s: slice) -> np.ndarray:
        return np.fromfile(
            self.path,
            dtype=self.dtype,
            count=s.stop - s.start,
            offset=s.start * self.dtype.itemsize,
        )


def _present(codes: np.ndarray, n: int) -> np.ndarray:
    """The distinct values of ``codes`` (integers in ``[0, n)``), sorted."""
    seen = np.zeros(n, dtype=bool)
    seen[codes] = True
    return np.flatnonzero(seen)


def _stored_rows(rs, bucket: int, known: np.ndarray, codes: np.ndarray) -> NewRows | None:
    """The committed rows of ``bucket`` for the meters numbered ``codes`` in ``known``."""
    table = rs.read_bucket_table(bucket, meter_ids=known[codes])
    if table is None or not table.num_rows:
        return None
    m_codes, m_uni = distinct(table.column("meter_id"))
    ids = m_uni.to_numpy(dtype=object)
    pos = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    mine = (known[pos] == ids)[m_codes]  # the filter read only these; be sure
    ts = table.column("timestamp").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    return NewRows(
        code=pos[m_codes][mine],
        ts=ts.to_numpy()[mine],
        kwh=table.column("kwh").to_numpy()[mine],
        row=np.zeros(int(mine.sum()), dtype=np.int64),
    )


def merge_bucket(new: pd.DataFrame, existing: pd.DataFrame, tz, src=None):
    """Merge staged rows of one bucket with the stored rows of the same meters.

    A table-shaped front of :func:`geoenergy.ingest.merge.merge_rows`.

    Parameters
    ----------
    new : DataFrame
        ``meter_id``, ``timestamp`` (UTC), ``kwh`` [kWh], ``row`` (row number in the file).
    existing : DataFrame
        Stored ``meter_id``, ``timestamp``, ``kwh`` of (at least) the same meters.
    tz : tzinfo
        Local time zone, for grid alignment of daily readings.
    src : optional
        Unused; kept for callers of the earlier signature.

    Returns
    -------
    accepted : DataFrame
        New rows to store, sorted by meter and time.
    rejected : DataFrame
        Rejected-row records (see :mod:`geoenergy.ingest.checks`).
    n_duplicates : int
        Rows ignored as identical duplicates.
    stats : DataFrame
        Per meter: ``meter_id``, ``interval_s``, ``first``, ``last``, ``n``.
    """
    ids = np.asarray(
        sorted(set(new["meter_id"]) | set(existing["meter_id"] if len(existing) else [])),
        dtype=object,
    )

    def rows(df, row):
        return NewRows(
            code=np.searchsorted(ids, df["meter_id"].to_numpy(dtype=object)),
            ts=_utc_ns(df["timestamp"]),
            kwh=df["kwh"].to_numpy(dtype=np.float64),
            row=row,
        )

    merged = merge_rows(
        rows(new, new["row"].to_numpy(dtype=np.int64)),
        rows(existing, np.zeros(len(existing), np.int64)) if len(existing) else None,
        ids,
        tz,
    )
    acc = merged.accepted
    accepted = pd.DataFrame(
        {"meter_id": ids[acc.code], "timestamp": utc_index(acc.ts), "kwh": acc.kwh, "row": acc.row}
    )
    return accepted, merged.rejected, merged.n_duplicates, merged.stats


def infer_intervals(df: pd.DataFrame) -> pd.Series:
    """Most common spacing of each meter's readings [s]; ties go to the shorter.

    ``df`` holds ``meter_id`` and ``timestamp`` sorted by both. Meters with a
    single reading are absent from the result.
    """
    from geoenergy.ingest.merge import _Keys, _modal_spacing

    if not len(df):
        return pd.Series(dtype="float64")
    codes, ids = pd.factorize(df["meter_id"].to_numpy(dtype=object), sort=True)
    keys = _Keys(codes, _utc_ns(df["timestamp"]), np.asarray(ids, dtype=object), "UTC")
    interval = _modal_spacing(keys, np.sort(keys.key))
    has = ~np.isnan(interval)
    return pd.Series(interval[has], index=pd.Index(keys.ids[has], name="meter_id"))


def _utc_ns(s: pd.Series) -> np.ndarray:
    """Timestamps (aware, or naive UTC) as ``int64`` nanoseconds since 1970 UTC."""
    idx = pd.DatetimeIndex(s)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ns").asi8


def _update_meters(session, stats: pd.DataFrame) -> None:
    """Write each meter's statistics (interval, first and last reading, count) in the session.

    One set-based statement on the session's own DBAPI connection (inside
    its transaction), not a parameter set per meter through SQLAlchemy's
    type processing: on PostgreSQL the rows are copied into a temporary
    table (``COPY``) and joined by one ``UPDATE ... FROM``; on SQLite the
    driver's ``executemany`` runs the prepared ``UPDATE`` once per meter in
    C. The values stored are those of the ORM's types: UTC timestamps
    (``timestamptz``; on SQLite naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``).
    """
    if not len(stats):
        return
    conn = session.connection()
    now = pd.Timestamp(dt.datetime.now(dt.UTC))
    ids = stats["meter_id"].astype(str).tolist()
    intervals = stats["interval_s"].to_numpy(dtype=np.float64, na_value=np.nan)
    interval = [None if np.isnan(v) else int(v) for v in intervals]
    n = [int(v) for v in stats["n"].to_numpy(dtype=np.int64)]
    first = pd.DatetimeIndex(pd.to_datetime(stats["first"], utc=True))
    last = pd.DatetimeIndex(pd.to_datetime(stats["last"], utc=True))
    if conn.dialect.name == "postgresql":
        _update_meters_copy(conn, ids, interval, first, last, n, now)
        return
    if conn.dialect.name != "sqlite":  # any other database: the portable statement
        _update_meters_orm(session, ids, interval, first, last, n, now)
        return
    rows = zip(
        interval, _sqlite_text(first), _sqlite_text(last), n, ids, strict=True
    )  # the order of the placeholders below
    conn.exec_driver_sql(
        "UPDATE meters SET interval_s = ?, first_reading = ?, last_reading = ?, "
        f"n_readings = ?, updated_at = '{_sqlite_text(pd.DatetimeIndex([now]))[0]}' "
        "WHERE meter_id = ?",
        list(rows),
    )


def _sqlite_text(t: pd.DatetimeIndex) -> list:
    """UTC timestamps as SQLAlchemy stores ``DateTime`` on SQLite (None for NaT)."""
    text = np.datetime_as_string(t.tz_convert("UTC").tz_localize(None).to_numpy(), unit="us")
    text = np.char.replace(text.astype(str), "T", " ").astype(object)
    text[np.asarray(t.isna())] = None
    return text.tolist()


def _update_meters_copy(conn, ids, interval, first, last, n, now) -> None:
    """PostgreSQL: ``COPY`` into a temporary table, then one ``UPDATE ... FROM``."""
    raw = conn.connection.driver_connection
    firsts = [None if v is pd.NaT else v for v in first.to_pydatetime()]
    lasts = [None if v is pd.NaT else v for v in last.to_pydatetime()]
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS pg_temp.meter_stats_in")
        cur.execute(
            "CREATE TEMPORARY TABLE meter_stats_in (meter_id text PRIMARY KEY, "
            "interval_s integer, first_reading timestamptz, last_reading timestamptz, "
            "n_readings integer) ON COMMIT DROP"
        )
        with cur.copy(
            "COPY meter_stats_in (meter_id, interval_s, first_reading, last_reading, "
            "n_readings) FROM STDIN"
        ) as copy:
            for row in zip(ids, interval, firsts, lasts, n, strict=True):
                copy.write_row(row)
        cur.execute(
            "UPDATE meters SET interval_s = s.interval_s, first_reading = s.first_reading, "
            "last_reading = s.last_reading, n_readings = s.n_readings, updated_at = %s "
            "FROM meter_stats_in AS s WHERE meters.meter_id = s.meter_id",
            (now.to_pydatetime(),),
        )
        cur.execute("DROP TABLE meter_stats_in")


def _update_meters_orm(session, ids, interval, first, last, n, now) -> None:
    table = Meter.__table__
    stmt = (
        sa.update(table)
        .where(table.c.meter_id == sa.bindparam("b_meter_id"))
        .values(
            interval_s=sa.bindparam("b_interval_s"),
            first_reading=sa.bindparam("b_first", type_=table.c.first_reading.type),
            last_reading=sa.bindparam("b_last", type_=table.c.last_reading.type),
            n_readings=sa.bindparam("b_n"),
            updated_at=sa.bindparam("b_updated", type_=table.c.updated_at.type),
        )
    )
    params = [
        {
            "b_meter_id": mid,
            "b_interval_s": iv,
            "b_first": None if f is pd.NaT else f,
            "b_last": None if la is pd.NaT else la,
            "b_n": k,
            "b_updated": now.to_pydatetime(),
        }
        for mid, iv, f, la, k in zip(
            ids, interval, first.to_pydatetime(), last.to_pydatetime(), n, strict=True
        )
    ]
    for i in range(0, len(params), 5000):
        session.connection().execute(stmt, params[i : i + 5000])
