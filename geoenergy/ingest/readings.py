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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from geoenergy.config import Workspace
from geoenergy.contracts import INTERVALS_S
from geoenergy.errors import InputFileError
from geoenergy.ingest.checks import (
    RowChecks,
    check_float,
    check_text,
    parse_timestamps,
    rejects_frame,
)
from geoenergy.ingest.core import (
    IngestReport,
    RejectLog,
    previous_ingest,
    record_ingest,
    unchanged_report,
    utc_datetime,
)
from geoenergy.ingest.sources import DEFAULT_CHUNK_ROWS, open_table, sha256_file
from geoenergy.readings import SCHEMA, bucket_of, token_committed
from geoenergy.store import Meter, Store

KEY = ["meter_id", "timestamp"]


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
        known = _registered_meters(store)
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
        try:
            if total:
                total(src.size if src.format == "csv" else _parquet_rows(src.path))
            staged = _stage(src, ws, rs, known, staging, rejects, report, chunk_rows, progress)
            new_files, meter_stats = {}, []
            for b in sorted(staged):
                new = pd.concat([pd.read_parquet(p) for p in staged[b]], ignore_index=True)
                existing = rs.read_bucket(b, meter_ids=new["meter_id"].unique())
                accepted, rej, n_dup, stats = merge_bucket(new, existing, ws.tz, src)
                rejects.add(rej)
                report.n_duplicates += n_dup
                if len(accepted):
                    table = pa.Table.from_pandas(accepted[SCHEMA.names], preserve_index=False)
                    new_files[b] = rs.write_bucket_file(b, token, table)
                    report.n_accepted += len(accepted)
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


def _registered_meters(store: Store) -> np.ndarray:
    with store.session() as s:
        ids = s.execute(sa.select(Meter.meter_id)).scalars().all()
    return np.asarray(sorted(ids), dtype=object)


def _stage(src, ws, rs, known, staging, rejects, report, chunk_rows, progress):
    """Validate chunks; write good rows per bucket to staging; return {bucket: [paths]}."""
    staged: dict[int, list] = {}
    known_index = pd.Index(known)
    for first, df in src.iter_chunks(chunk_rows, progress=progress):
        report.n_rows += len(df)
        checks = RowChecks(df)
        meter = check_text(checks, df["meter_id"], "meter_id", "the meter's id")
        ts = parse_timestamps(checks, df["timestamp"], "timestamp", ws.tz)
        kwh = check_float(checks, df["kwh"], "kwh", unit="kWh", minimum=0.0)
        unknown = ~meter.isin(known_index)
        checks.add(
            unknown.to_numpy() & (meter != "").to_numpy(),
            "meter_id",
            "unknown_meter",
            lambda v: [
                f"meter_id={x!r} is not in the meter registry; ingest a registry that lists "
                f"it, then ingest this file again with --force."
                for x in v
            ],
        )
        rejects.add(checks.rejects())
        good = ~checks.bad
        if not good.any():
            continue
        part = pd.DataFrame(
            {
                "meter_id": meter.to_numpy()[good],
                "timestamp": ts.to_numpy(dtype="datetime64[ns]")[good],
                "kwh": kwh[good],
                "row": df.index.to_numpy()[good],
            }
        )
        part["timestamp"] = pd.to_datetime(part["timestamp"], utc=True).astype(
            "datetime64[ns, UTC]"
        )
        buckets = bucket_of(part["meter_id"].to_numpy(), rs.n_buckets)
        for b, g in part.groupby(buckets, sort=False):
            p = staging / f"b{int(b):03d}-{first}.parquet"
            g.to_parquet(p, index=False)
            staged.setdefault(int(b), []).append(p)
    if src.format == "csv":
        rejects.add_bad_lines(src.bad_lines)
        report.n_rows += len(src.bad_lines)
    return staged


def merge_bucket(new: pd.DataFrame, existing: pd.DataFrame, tz, src=None):
    """Merge staged rows of one bucket with the stored rows of the same meters.

    Parameters
    ----------
    new : DataFrame
        ``meter_id``, ``timestamp`` (UTC), ``kwh`` [kWh], ``row`` (row number in the file).
    existing : DataFrame
        Stored ``meter_id``, ``timestamp``, ``kwh`` of (at least) the same meters.
    tz : tzinfo
        Local time zone, for grid alignment of daily readings.

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
    rejected = []
    new = new.sort_values([*KEY, "row"], kind="stable").reset_index(drop=True)
    # 1. duplicates within the file
    g = new.groupby(KEY, sort=False)["kwh"]
    kmin, kmax, size = g.transform("min"), g.transform("max"), g.transform("size")
    conflict = ((size > 1) & ~np.isclose(kmin, kmax, rtol=1e-9, atol=1e-9)).to_numpy()
    if conflict.any():
        c = new[conflict]
        listing = c.groupby(KEY, sort=False).apply(
            lambda d: ", ".join(
                f"row {r}: {k:g}" for r, k in zip(d["row"], d["kwh"], strict=True)
            ),
            include_groups=False,
        )
        reasons = [
            f"meter {m} has {int(n)} rows for {_local(t, tz)} with different kwh ({listing[(m, t)]}); "
            f"none was kept. Keep the one correct row in the file and ingest it again."
            for m, t, n in zip(c["meter_id"], c["timestamp"], size[conflict], strict=True)
        ]
        rejected.append(_rejects(new, conflict, "kwh", "conflicting_duplicate", reasons, src))
    dup_in_file = new.duplicated(KEY, keep="first").to_numpy() & ~conflict
    n_dup = int(dup_in_file.sum())
    new = new[~conflict & ~dup_in_file].reset_index(drop=True)

    # 2. against stored readings
    if len(existing):
        existing = existing.drop_duplicates(KEY)
        m = new.merge(existing.rename(columns={"kwh": "kwh_stored"}), on=KEY, how="left")
        stored = m["kwh_stored"].notna().to_numpy()
        same = stored & np.isclose(m["kwh"], m["kwh_stored"].fillna(np.nan), rtol=1e-9, atol=1e-9)
        differ = stored & ~same
        if differ.any():
            d = m[differ]
            reasons = [
                f"meter {mid} already has kwh={old:g} stored for {_local(t, tz)}; this row gives "
                f"{k:g}. Stored readings are never overwritten: drop this row or correct the "
                f"source of the stored value."
                for mid, t, old, k in zip(
                    d["meter_id"], d["timestamp"], d["kwh_stored"], d["kwh"], strict=True
                )
            ]
            rejected.append(_rejects(new, differ, "kwh", "conflicts_with_stored", reasons, src))
        n_dup += int(same.sum())
        new = new[~stored].reset_index(drop=True)

    # 3. interval per meter over stored + new
    comb = pd.concat(
        [existing[KEY] if len(existing) else None, new[KEY]], ignore_index=True
    ).sort_values(KEY, kind="stable")
    interval = infer_intervals(comb)
    iv = new["meter_id"].map(interval)
    allowed = iv.isin(list(INTERVALS_S)).to_numpy() | iv.isna().to_numpy()
    if (~allowed).any():
        bad = new[~allowed]
        reasons = [
            f"readings of meter {mid} are mostly {_fmt_seconds(s)} apart; GeoEnergy accepts "
            f"15 min, 30 min, 1 h or 1 day intervals. Resample this meter's readings to one of "
            f"them and ingest again."
            for mid, s in zip(bad["meter_id"], iv[~allowed], strict=True)
        ]
        rejected.append(_rejects(new, ~allowed, "timestamp", "irregular_interval", reasons, src))
    local = new["timestamp"].dt.tz_convert(tz)
    sec = (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).to_numpy()
    ivv = iv.fillna(1).to_numpy(dtype=np.int64)
    ns_part = (new["timestamp"].dt.microsecond * 1000 + new["timestamp"].dt.nanosecond).to_numpy()
    off_grid = (
        allowed & (((sec % np.maximum(ivv, 1)) != 0) | (ns_part != 0)) & iv.notna().to_numpy()
    )
    if off_grid.any():
        bad = new[off_grid]
        reasons = [
            f"timestamp {_local(t, tz)} of meter {mid} is not on the meter's "
            f"{INTERVALS_S[int(s)]} grid (intervals start at multiples of {INTERVALS_S[int(s)]} "
            f"from local midnight). Fix the timestamp or the time zone (--timezone)."
            for mid, t, s in zip(bad["meter_id"], bad["timestamp"], iv[off_grid], strict=True)
        ]
        rejected.append(_rejects(new, off_grid, "timestamp", "off_grid", reasons, src))
    keep = allowed & ~off_grid
    accepted = new[keep].reset_index(drop=True)

    # 4. statistics of the meters touched, over stored + accepted
    if keep.all():
        # Nothing was dropped in step 3: stored + accepted is ``comb``.
        full, full_interval = comb, interval
    else:
        full = pd.concat(
            [existing[KEY] if len(existing) else None, accepted[KEY]], ignore_index=True
        ).sort_values(KEY, kind="stable")
        full_interval = infer_intervals(full)
    if len(full):
        agg = full.groupby("meter_id")["timestamp"].agg(["min", "max", "size"])
        stats = pd.DataFrame(
            {
                "meter_id": agg.index,
                "first": agg["min"].to_numpy(),
                "last": agg["max"].to_numpy(),
                "n": agg["size"].to_numpy(),
            }
        )
        stats["interval_s"] = stats["meter_id"].map(full_interval)
    else:
        stats = pd.DataFrame(columns=["meter_id", "first", "last", "n", "interval_s"])
    rej = pd.concat(rejected, ignore_index=True) if rejected else None
    return accepted, rej, n_dup, stats


def infer_intervals(df: pd.DataFrame) -> pd.Series:
    """Most common spacing of each meter's readings [s]; ties go to the shorter.

    ``df`` holds ``meter_id`` and ``timestamp`` sorted by both. Meters with a
    single reading are absent from the result.
    """
    if not len(df):
        return pd.Series(dtype="float64")
    ts = df["timestamp"]
    d = ts.diff().dt.total_seconds()
    d[(df["meter_id"] != df["meter_id"].shift()).to_numpy()] = np.nan
    pairs = pd.DataFrame({"meter_id": df["meter_id"].to_numpy(), "d": d.to_numpy()}).dropna()
    if not len(pairs):
        return pd.Series(dtype="float64")
    counts = pairs.groupby(["meter_id", "d"]).size()
    best = counts.groupby(level=0).idxmax()
    return pd.Series([p[1] for p in best], index=best.index, dtype="float64")


def _rejects(frame, mask, column, problem, reasons, src):
    sub = frame.copy()
    sub.index = pd.Index(frame["row"].to_numpy(), name="row")
    sub = sub.drop(columns=["row"])
    sub["timestamp"] = sub["timestamp"].astype(str)
    n = int(np.asarray(mask).sum())
    return rejects_frame(sub, np.asarray(mask), [column] * n, [problem] * n, reasons)


def _local(t, tz) -> str:
    return pd.Timestamp(t).tz_convert(tz).isoformat()


def _fmt_seconds(s) -> str:
    s = float(s)
    if s % 86400 == 0:
        return f"{s / 86400:g} day(s)"
    if s % 3600 == 0:
        return f"{s / 3600:g} h"
    if s % 60 == 0:
        return f"{s / 60:g} min"
    return f"{s:g} s"


def _update_meters(session, stats: pd.DataFrame) -> None:
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
    now = dt.datetime.now(dt.UTC)
    params = [
        {
            "b_meter_id": mid,
            "b_interval_s": None if pd.isna(iv) else int(iv),
            "b_first": utc_datetime(first),
            "b_last": utc_datetime(last),
            "b_n": int(n),
            "b_updated": now,
        }
        for mid, iv, first, last, n in zip(
            stats["meter_id"],
            stats["interval_s"],
            stats["first"],
            stats["last"],
            stats["n"],
            strict=True,
        )
    ]
    for i in range(0, len(params), 5000):
        session.connection().execute(stmt, params[i : i + 5000])
