"""The columnar store of meter readings and its xarray view.

Readings live in the workspace as Parquet files, hash-partitioned by meter
into ``readings_buckets`` buckets::

    readings/_manifest.json                 the committed set of files
    readings/bucket=007/<ingest>.parquet    immutable files: meter_id, timestamp (UTC), kwh

Files are never modified. An ingestion writes new files, stages a new
manifest (``_manifest.next.json``), commits its record to the relational
store, and only then swaps the manifest in with an atomic rename. A crash at
any point leaves the previous manifest, so readers see either the old or the
new state, never half of an ingestion; :meth:`ReadingsStore.recover` finishes
or discards a staged manifest and removes orphaned files.

Every ingestion adds a file per bucket it touches; :func:`compact_readings`
(``geoenergy db compact``) merges each bucket's files into one, with the
same reads after. A live server compacts on a schedule
(:meth:`geoenergy.monitor.stream.Ingestor.compact`): only the buckets past a
file count, and of those only the small files, so the work stays small.

:func:`open_readings` opens the store as an ``xarray.Dataset`` with dims
``("meter", "time")``, one dask chunk per bucket, at native, hourly or daily
resolution.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from geoenergy.errors import ConfigError

MANIFEST = "_manifest.json"
MANIFEST_NEXT = "_manifest.next.json"
SCHEMA = pa.schema(
    [
        ("meter_id", pa.string()),
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("kwh", pa.float64()),
    ]
)
RESOLUTIONS = {"native": None, "hourly": 3600, "daily": 86400}


def bucket_of(meter_ids, n_buckets: int) -> np.ndarray:
    """Stable bucket number of each meter id (same on every machine and run)."""
    ids = np.asarray(meter_ids, dtype=object)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    return (pd.util.hash_array(ids) % np.uint64(n_buckets)).astype(np.int64)


class ReadingsStore:
    """The partitioned Parquet store of one workspace.

    Parameters
    ----------
    path : Path
        The ``readings/`` folder of the workspace.
    n_buckets : int
        Number of hash partitions; fixed once data has been written.
    """

    def __init__(self, path, n_buckets: int = 64):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest()
        if manifest["files"] and manifest["buckets"] != n_buckets:
            # The stored layout wins over a changed setting.
            n_buckets = manifest["buckets"]
        self.n_buckets = n_buckets

    # -- manifest -------------------------------------------------------------------
    def manifest(self) -> dict:
        """The committed manifest (do not modify the dict: it is cached).

        Parsed again only when the file changed (every writer replaces it
        with a rename, so its inode, size or mtime differ).
        """
        p = self.path / MANIFEST
        try:
            st = os.stat(p)
        except FileNotFoundError:
            return {"version": 0, "buckets": None, "files": {}, "ingests": []}
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = getattr(self, "_manifest_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        m = json.loads(p.read_text(encoding="utf-8"))
        self._manifest_cache = (key, m)
        return m

    def file_counts(self) -> dict[int, int]:
        """Committed files per bucket (a count only: no paths built)."""
        return {int(k): len(v) for k, v in self.manifest()["files"].items()}

    def files(self, buckets: Iterable[int] | None = None) -> dict[int, list[Path]]:
        """Committed files per bucket."""
        files = self.manifest()["files"]
        if buckets is None:
            return {int(k): [self.path / n for n in v] for k, v in files.items()}
        out = {}
        for b in buckets:  # only the wanted buckets' paths: a store holds thousands
            names = files.get(f"{int(b):03d}")
            if names is not None:
                out[int(b)] = [self.path / n for n in names]
        return out

    @contextmanager
    def lock(self):
        """Exclusive lock for writers (one ingestion at a time per workspace)."""
        fd = os.open(self.path / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(
                    f"another ingestion is writing to {self.path}; wait for it to finish."
                ) from None
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def new_token(self) -> str:
        return uuid.uuid4().hex[:12]

    def write_bucket_file(self, bucket: int, token: str, table: pa.Table) -> str:
        """Write one immutable file; returns its name relative to the store."""
        rel = f"bucket={bucket:03d}/{token}.parquet"
        dest = self.path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".tmp")
        pq.write_table(table.cast(SCHEMA), tmp, compression="zstd", row_group_size=1_000_000)
        os.replace(tmp, dest)
        return rel

    def stage(self, token: str, new_files: dict[int, str]) -> None:
        """Stage a manifest that adds ``new_files`` ({bucket: relative name})."""
        m = self.manifest()
        files = {k: list(v) for k, v in m["files"].items()}
        for b, rel in new_files.items():
            files.setdefault(f"{b:03d}", []).append(rel)
        nxt = {
            "version": m["version"] + 1,
            "buckets": self.n_buckets,
            "files": dict(sorted(files.items())),
            "ingests": [*m.get("ingests", []), token],
            "token": token,
        }
        _write_json_atomic(self.path / MANIFEST_NEXT, nxt)

    def publish(self) -> None:
        """Make the staged manifest the committed one (atomic rename)."""
        os.replace(self.path / MANIFEST_NEXT, self.path / MANIFEST)

    def recover(
        self, is_committed: Callable[[str], bool], *, sweep: bool | None = None
    ) -> str | None:
        """Finish or discard a staged manifest left by a crash; drop orphan files.

        Parameters
        ----------
        is_committed : callable
            ``is_committed(token)`` tells whether the relational store holds
            the ingestion of that token (its commit point).
        sweep : bool, optional
            Remove files the manifest does not name (orphans of an
            interrupted write). Default: only when a staged manifest was
            found, since listing the store costs time growing with its file
            count on every ingestion; orphans are harmless to reads and
            :func:`compact_readings` sweeps always.

        Returns
        -------
        str or None
            ``"published"`` or ``"discarded"`` when a staged manifest was found.
        """
        nxt = self.path / MANIFEST_NEXT
        outcome = None
        if nxt.exists():
            try:
                token = json.loads(nxt.read_text(encoding="utf-8")).get("token")
            except json.JSONDecodeError:
                token = None
            if token and is_committed(token):
                self.publish()
                outcome = "published"
            else:
                nxt.unlink()
                outcome = "discarded"
        if sweep or (sweep is None and outcome is not None):
            known = {n for ns in self.manifest()["files"].values() for n in ns}
            for f in self.path.glob("bucket=*/*"):
                if f"{f.parent.name}/{f.name}" not in known:
                    f.unlink()
        return outcome

    def compact(
        self,
        *,
        min_files: int = 2,
        buckets: Iterable[int] | None = None,
        small_bytes: int | None = None,
    ) -> dict:
        """Merge the files of every bucket holding ``min_files`` or more into one.

        Each ingestion adds one file per bucket it touches, so a store fed a
        day at a time collects thousands of small files that every read must
        open. The merged file holds the same rows, sorted by meter and time.
        The new manifest is swapped in atomically, then the old files are
        removed; a crash before the swap leaves orphans that
        :meth:`recover` removes. Call it under :meth:`lock`, after
        :meth:`recover` (see :func:`compact_readings`); a reader that opened
        the old manifest before the swap may have to read again.

        Parameters
        ----------
        min_files : int
            Compact a bucket only when it holds at least this many files
            (counting only the small ones when ``small_bytes`` is given).
        buckets : iterable of int, optional
            Only these buckets (default all).
        small_bytes : int, optional
            Merge only the files smaller than this [B] and leave the larger
            ones as they are, so a live store's compaction rewrites the
            recent small files, not the whole history. Default: all files.

        Returns
        -------
        dict
            ``buckets`` compacted, ``files_before`` and ``files_after`` (whole
            store), ``rows`` rewritten.
        """
        m = self.manifest()
        files = {k: list(v) for k, v in m["files"].items()}
        before = sum(len(v) for v in files.values())
        token = "c" + self.new_token()
        old: list[Path] = []
        n_buckets = n_rows = 0
        wanted = None if buckets is None else {f"{int(b):03d}" for b in buckets}
        for key, names in sorted(files.items()):
            if wanted is not None and key not in wanted:
                continue
            keep: list[str] = []
            if small_bytes is not None:
                sizes = {n: os.stat(self.path / n).st_size for n in names}
                keep = [n for n in names if sizes[n] >= small_bytes]
                names = [n for n in names if sizes[n] < small_bytes]
            if len(names) < max(min_files, 2 if keep else 1):
                continue
            table = pa.concat_tables([pq.read_table(self.path / n, schema=SCHEMA) for n in names])
            order = pc.sort_indices(
                table, sort_keys=[("meter_id", "ascending"), ("timestamp", "ascending")]
            )
            files[key] = [*keep, self.write_bucket_file(int(key), token, table.take(order))]
            old.extend(self.path / n for n in names)
            n_buckets += 1
            n_rows += table.num_rows
        if n_buckets:
            nxt = {**m, "version": m["version"] + 1, "files": dict(sorted(files.items()))}
            nxt["compacted"] = token
            _write_json_atomic(self.path / MANIFEST, nxt)
            for f in old:
                f.unlink(missing_ok=True)
        return {
            "buckets": n_buckets,
            "files_before": before,
            "files_after": sum(len(v) for v in files.values()),
            "rows": n_rows,
        }

    # -- reading --------------------------------------------------------------------
    def read_bucket(
        self,
        bucket: int,
        meter_ids=None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Read committed rows of one bucket, optionally filtered.

        Returns a frame with ``meter_id`` (str), ``timestamp`` (UTC) and ``kwh``.
        """
        table = self.read_bucket_table(bucket, meter_ids=meter_ids, start=start, end=end)
        return (table if table is not None else SCHEMA.empty_table()).to_pandas()

    def read_bucket_table(
        self,
        bucket: int,
        meter_ids=None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pa.Table | None:
        """:meth:`read_bucket` as an Arrow table (:data:`SCHEMA`); None for an empty bucket."""
        paths = self.files([bucket]).get(bucket, [])
        if not paths:
            return None
        filters = []
        if meter_ids is not None:
            filters.append(("meter_id", "in", list(meter_ids)))
        if start is not None:
            filters.append(("timestamp", ">=", pd.Timestamp(start).tz_convert("UTC")))
        if end is not None:
            filters.append(("timestamp", "<", pd.Timestamp(end).tz_convert("UTC")))
        tables = [pq.read_table(p, filters=filters or None, schema=SCHEMA) for p in paths]
        return pa.concat_tables(tables)

    def read_bucket_arrays(self, bucket: int):
        """Every committed row of one bucket as NumPy arrays, meter ids decoded once.

        Returns
        -------
        tuple or None
            ``(ids, meter_of_row, ts, kwh)``: the distinct meter ids (object
            array), for each row the index of its meter in ``ids``, the
            timestamps [ns since 1970-01-01 UTC, int64] and the energy
            [kWh]; None for an empty bucket.
        """
        paths = self.files([bucket]).get(bucket, [])
        return self.read_files_arrays(paths) if paths else None

    def read_files_arrays(self, paths):
        """:meth:`read_bucket_arrays` of the given files (names relative to the store, or paths).

        The rows come in the order of ``paths``, each file's in its own order,
        so a caller that names a bucket's files as the manifest lists them
        gets the rows :meth:`read_bucket_arrays` gives.
        """
        parts = [pq.read_table(self.path / p, read_dictionary=["meter_id"]) for p in paths]
        table = pa.concat_tables(parts).unify_dictionaries()
        meter = table.column("meter_id").combine_chunks()
        ts = table.column("timestamp").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
        return (
            meter.dictionary.to_numpy(zero_copy_only=False).astype(object),
            meter.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            ts.to_numpy(),
            table.column("kwh").to_numpy(),
        )


def token_committed(store) -> Callable[[str], bool]:
    """``f(token)``: is the readings ingestion with this commit token committed in the store?

    A readings write is two-phase: the Parquet files are staged under a token
    in ``manifest.next.json``, the relational store records the ingestion with
    that token, then the manifest is swapped. :meth:`ReadingsStore.recover`
    asks this function which side of the swap an interrupted write reached.

    Parameters
    ----------
    store : geoenergy.store.Store
        The workspace's relational store.
    """
    import sqlalchemy as sa

    from geoenergy.store import Ingest

    def is_committed(token: str) -> bool:
        with store.session() as s:
            rows = s.execute(sa.select(Ingest.options).where(Ingest.kind == "readings")).scalars()
            return any((o or {}).get("token") == token for o in rows)

    return is_committed


def compact_readings(
    ws, *, min_files: int = 2, buckets=None, small_bytes: int | None = None
) -> dict:
    """Compact the workspace's readings store: one file per bucket (reads unchanged).

    Takes the writer lock (no ingestion runs meanwhile) and first finishes or
    discards an interrupted ingestion. See :meth:`ReadingsStore.compact`.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    min_files : int, default 2
        Compact a bucket only when it holds at least this many files.
    buckets, small_bytes
        See :meth:`ReadingsStore.compact`.
    """
    rs = ws.readings
    with rs.lock():
        rs.recover(token_committed(ws.store), sweep=True)
        return rs.compact(min_files=min_files, buckets=buckets, small_bytes=small_bytes)


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, separators=(",", ":")))  # dumps: the C encoder
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -- the xarray view ------------------------------------------------------------------


def open_readings(
    ws,
    *,
    resolution: str = "hourly",
    meters=None,
    customer_class=None,
    start=None,
    end=None,
    store=None,
):
    """Open the workspace's readings as a lazy ``xarray.Dataset``.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The workspace.
    resolution : {"hourly", "daily", "native"}
        Time step of the result. Finer readings are summed into the step; a
        step is NaN unless every reading inside it is present (gaps are never
        filled). Days are local days in the workspace time zone. ``"native"``
        requires all selected meters to share one interval.
    meters : list of str, optional
        Only these meter ids.
    customer_class : str or list of str, optional
        Only meters of these classes.
    start, end : str or Timestamp, optional
        Time window ``[start, end)``; naive values are local time.
    store : geoenergy.store.Store, optional
        The relational store (default: the workspace's).

    Returns
    -------
    xarray.Dataset
        Variable ``kwh`` [kWh] with dims ``("meter", "time")``, chunked with
        dask by meter bucket (one chunk per bucket). ``time`` is the start of
        each step in UTC (``attrs["timezone"] == "UTC"``); ``local_time`` gives
        it in the workspace zone. Meter coordinates: ``customer_class``,
        ``interval_s`` [s], ``lon``, ``lat`` [deg, WGS84].

    Examples
    --------
    >>> ds = open_readings(ws, resolution="daily")  # doctest: +SKIP
    >>> ds.kwh.mean("time").compute()  # doctest: +SKIP
    """
    import dask
    import dask.array as dsa
    import sqlalchemy as sa
    import xarray as xr

    from geoenergy.store import Meter

    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}, got {resolution!r}.")
    store = store or ws.store
    tz = ws.tz
    rs = ws.readings
    if (rs.path / MANIFEST_NEXT).exists():
        with rs.lock():
            rs.recover(token_committed(store))
    q = sa.select(
        Meter.meter_id,
        Meter.customer_class,
        Meter.interval_s,
        # as the driver gives them (UTC text on SQLite): parsed below in one call, not
        # one datetime at a time by the ORM's type
        sa.type_coerce(Meter.first_reading, sa.String),
        sa.type_coerce(Meter.last_reading, sa.String),
        Meter.lon,
        Meter.lat,
    ).where(Meter.n_readings > 0)
    if customer_class is not None:
        classes = [customer_class] if isinstance(customer_class, str) else list(customer_class)
        q = q.where(Meter.customer_class.in_(classes))
    if meters is not None:
        meters = list(meters)
        if len(meters) <= 1000:  # a case page asks for one meter: do not read the registry
            q = q.where(Meter.meter_id.in_(meters))
    with store.session() as s:
        reg = pd.DataFrame(
            s.connection().execute(q).all(),
            columns=["meter_id", "customer_class", "interval_s", "first", "last", "lon", "lat"],
        )
    for col in ("first", "last"):  # aware UTC (naive values are UTC: see UTCDateTime)
        reg[col] = pd.to_datetime(reg[col], utc=True, format="ISO8601")
    if meters is not None:
        wanted = pd.Index(list(meters))
        missing = wanted.difference(reg["meter_id"])
        if len(missing):
            raise ValueError(
                f"{len(missing)} requested meter(s) have no readings in this workspace "
                f"(e.g. {list(missing[:5])}); check the ids or ingest their readings."
            )
        reg = reg[reg["meter_id"].isin(wanted)]
    if reg.empty:
        raise ValueError(
            "no readings match the selection; ingest readings with "
            "`geoenergy ingest readings FILE` or widen the selection."
        )
    intervals = reg["interval_s"].dropna().astype(int)
    if resolution == "native":
        if intervals.nunique() > 1:
            found = sorted(int(i) for i in intervals.unique())
            raise ValueError(
                f"the selected meters have different intervals {found} [s]; "
                f"use resolution='hourly' or 'daily', or select meters of one interval."
            )
        step = int(intervals.iloc[0]) if len(intervals) else 3600
    else:
        step = RESOLUTIONS[resolution]
    coarse = reg[reg["interval_s"].fillna(0) > step]
    if len(coarse):
        raise ValueError(
            f"{len(coarse)} meter(s) have readings coarser than the {resolution} step "
            f"(e.g. {coarse['meter_id'].iloc[0]} every {int(coarse['interval_s'].iloc[0])} s); "
            f"use resolution='daily' or exclude them with meters=[...]."
        )

    t_first = pd.Timestamp(reg["first"].min()).tz_convert("UTC")
    t_last = pd.Timestamp(reg["last"].max()).tz_convert("UTC")
    if start is not None:
        t_first = max(t_first, _as_utc(start, tz))
    if end is not None:
        t_last = min(t_last, _as_utc(end, tz) - pd.Timedelta(1, "ns"))
    if step == 86400:
        d0 = t_first.tz_convert(tz).normalize()
        d1 = t_last.tz_convert(tz).normalize()
        local_days = pd.date_range(d0.tz_localize(None), d1.tz_localize(None), freq="D")
        edges = (
            pd.DatetimeIndex([*local_days, local_days[-1] + pd.Timedelta(days=1)])
            .tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
            .tz_convert("UTC")
        )
    else:
        t0 = t_first.floor(f"{step}s")
        t1 = t_last.floor(f"{step}s") + pd.Timedelta(seconds=step)
        edges = pd.date_range(t0, t1, freq=f"{step}s")
    edges = edges.as_unit("ns")
    times = edges[:-1]
    edge_ns = edges.asi8
    duration_s = np.diff(edge_ns) / 1e9

    reg = reg.assign(bucket=bucket_of(reg["meter_id"].to_numpy(), rs.n_buckets))
    reg = reg.sort_values(["bucket", "meter_id"], kind="stable").reset_index(drop=True)
    window = (edges[0], edges[-1])
    blocks = []
    for b, grp in reg.groupby("bucket", sort=True):
        ids = grp["meter_id"].to_numpy()
        ivs = grp["interval_s"].fillna(step).to_numpy(dtype=np.float64)
        delayed = dask.delayed(_load_block)(rs, int(b), ids, ivs, edge_ns, duration_s, window)
        blocks.append(dsa.from_delayed(delayed, shape=(len(ids), len(times)), dtype=np.float64))
    data = dsa.concatenate(blocks, axis=0)
    time_utc = times.tz_localize(None)
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), data)},
        coords={
            "meter": reg["meter_id"].to_numpy(dtype=str),
            "time": (
                "time",
                time_utc.to_numpy(),
                {"timezone": "UTC", "long_name": "start of step (UTC)"},
            ),
            "local_time": (
                "time",
                times.tz_convert(tz).tz_localize(None).to_numpy(),
                {"timezone": str(tz), "long_name": "start of step (local time)"},
            ),
            "customer_class": ("meter", reg["customer_class"].to_numpy(dtype=str)),
            "interval_s": (
                "meter",
                reg["interval_s"].fillna(-1).to_numpy(dtype=np.int64),
                {"units": "s"},
            ),
            "lon": ("meter", reg["lon"].to_numpy(dtype=np.float64), {"units": "degrees_east"}),
            "lat": ("meter", reg["lat"].to_numpy(dtype=np.float64), {"units": "degrees_north"}),
        },
        attrs={
            "title": "GeoEnergy meter readings",
            "resolution": resolution,
            "step_s": step,
            "timezone": str(tz),
            # the manifest this view was opened at (the feature cache reads the same files)
            "readings_version": int(rs.manifest()["version"]),
        },
    )
    ds["kwh"].attrs.update(
        {"units": "kWh", "long_name": "energy consumed in the step", "cell_methods": "time: sum"}
    )
    return ds


def _as_utc(t, tz) -> pd.Timestamp:
    t = pd.Timestamp(t)
    if t.tzinfo is None:
        t = t.tz_localize(tz)
    return t.tz_convert("UTC")


def _load_block(rs, bucket, meter_ids, intervals_s, edge_ns, duration_s, window):
    """One dask block: the (meters x steps) energy of one bucket [kWh]."""
    arrays = rs.read_bucket_arrays(bucket)
    if arrays is None:
        return np.full((len(meter_ids), len(edge_ns) - 1), np.nan)
    sums, counts = bucket_layout(arrays, meter_ids, edge_ns)
    return complete_steps(sums, counts, intervals_s, duration_s)


def bucket_layout(arrays, meter_ids, edge_ns) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the readings of each (meter, step) of one bucket.

    Parameters
    ----------
    arrays : tuple
        ``(ids, meter_of_row, ts, kwh)`` from :meth:`ReadingsStore.read_bucket_arrays`.
    meter_ids : ndarray of str
        The meters wanted, one row each (rows of other meters are left out).
    edge_ns : ndarray of int64
        Step edges [ns since 1970-01-01 UTC]; readings outside are left out.

    Returns
    -------
    (ndarray, ndarray)
        ``sums`` [kWh] (float64, 0 where there is no reading; summed in the
        order of the rows) and ``counts`` (int64), both (meters, steps).
    """
    n_m, n_t = len(meter_ids), len(edge_ns) - 1
    ids, meter_of_row, ts, kwh = arrays
    if n_m == 0:
        return np.zeros((0, n_t)), np.zeros((0, n_t), dtype=np.int64)
    # Meters are matched once per distinct id, not once per row.
    order = np.argsort(meter_ids)
    sorted_ids = meter_ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    block_row = np.where(sorted_ids[pos] == ids, order[pos], -1)
    row = block_row[meter_of_row]
    col = step_of(ts, edge_ns)
    ok = (row >= 0) & (col >= 0) & (col < n_t)
    flat = row[ok] * n_t + col[ok]
    sums = np.bincount(flat, weights=kwh[ok], minlength=n_m * n_t)
    counts = np.bincount(flat, minlength=n_m * n_t)
    return sums.reshape(n_m, n_t), counts.reshape(n_m, n_t)


def step_of(ts, edge_ns) -> np.ndarray:
    """Index of the step holding each timestamp [ns]; out of ``[0, steps)`` when outside."""
    n_t = len(edge_ns) - 1
    steps = np.diff(edge_ns)
    if n_t and (steps == steps[0]).all():
        return np.floor_divide(ts - edge_ns[0], steps[0])
    # local days: 23 or 25 h long at a daylight-saving change
    return np.searchsorted(edge_ns, ts, side="right") - 1


def complete_steps(sums, counts, intervals_s, duration_s, *, inplace: bool = False) -> np.ndarray:
    """Energy of each (meter, step) [kWh]: the sum where every reading is present, else NaN.

    Parameters
    ----------
    sums, counts : ndarray, shape (meters, steps)
        From :func:`bucket_layout`.
    intervals_s : ndarray, shape (meters,)
        Each meter's reading interval [s].
    duration_s : ndarray, shape (steps,)
        Length of each step [s].
    inplace : bool, default False
        Write the NaNs into ``sums`` (float64, writable) and return it: no
        second array of the same size.
    """
    duration_s = np.asarray(duration_s, dtype=np.float64)
    if len(duration_s) and (duration_s == duration_s[0]).all():  # one step length: per meter
        expected = np.rint(duration_s[0] / np.asarray(intervals_s, dtype=np.float64))
        if np.issubdtype(counts.dtype, np.integer) and (
            expected.min(initial=0) >= 0 and expected.max(initial=0) <= np.iinfo(counts.dtype).max
        ):
            expected = expected.astype(counts.dtype)  # compared in the counts' own type
        if inplace:
            sums[counts != expected[:, None]] = np.nan
            return sums
        return np.where(counts == expected[:, None], sums, np.nan)
    out = np.full(sums.shape, np.nan)
    expected = np.rint(duration_s[None, :] / intervals_s[:, None])
    complete = counts == expected
    out[complete] = sums[complete]
    return out
