"""The feature cache: readings that did not change are not read, laid out or run through the kernel again.

Most of a detection run's time goes into reading the readings store, laying
each meter's readings out as hours (:func:`geoenergy.readings.bucket_layout`)
and the load-signature kernel (:func:`detectors.features.extract_features`
runs it over every meter's hourly series). This module keeps what can be
kept of all three between runs, in ``WORKSPACE/cache/``.

**Kernel rows.** A meter's kernel row depends only on its own readings in
the window and its reading interval, and on what every meter shares: the
calendar of the window (local dates and hours, the daily temperature,
heating season, hours of darkness), the kernel options and the kernel's
code. A *run key* (BLAKE2b of the calendar's arrays, the options, the NumPy
version and the source of :mod:`detectors.features`) names the file
``cache/features-<run key>.parquet``; each row carries a *meter key*:

- for a dataset opened from the workspace's readings store
  (:func:`geoenergy.readings.open_readings`, variable ``readings_version``
  in its attributes) the key is made of the store's manifest: the files of
  the meter's bucket, the window's first step and the meter's interval. A
  meter whose bucket lists the same files is reused **without reading a
  byte of the store**. When the bucket gained files since (an append, a
  late day), only the meters named in the new files are recomputed; the
  others keep their rows (a file, once committed, never changes);
- for any other dataset (in memory, or dask from elsewhere) the key is a
  BLAKE2b of the meter's readings and interval, as before.

**Layouts.** When the window itself changes - the daily re-run after a day
was appended, whose window is a day longer - every kernel row changes: the
kernel's window-level reductions (steps and onsets, periodicity, the
variability over days) do not merge per day, so the kernel runs for every
meter again. What does not change is the layout of the old days:
``cache/layout/bucket=NNN.json`` (and the ``.npy`` arrays it names) keeps,
per bucket, the sum and the count of the readings of every (meter, step) of
the window [kWh], the files they came from and the window. A re-run reads
only the files added since (the new day: 1/120 of the data), adds their
rows to the kept sums in the order a full read would (so the sums are equal
to the bit), and hands the laid-out hours to the kernel. The layout is
written again only once the files added since hold over 1/8
(:data:`RESAVE_SHARE`) of its readings, about two weeks of days on a
120-day window: until then each re-run reads those few days again, which
costs less than writing the whole layout every day. A bucket whose files
were rewritten (compaction), or whose kept window lost readings, is read
whole again. A layout takes 9 bytes per meter and step (2.6 GB for 100,000
meters x 120 days).

**Bounded memory.** A store-backed dataset is processed bucket by bucket
(one bucket's readings at a time per thread, then dropped), so a run holds
the kernel rows of all meters (about 300 bytes each) but the readings of
only a few buckets. A dask-backed dataset from elsewhere - or any, when a
``dask.distributed`` client is the default scheduler, so that the cluster
does the reading - is computed a few chunks at a time and keyed by its
readings (no kept layouts then).

The kernel runs in chunks of a fixed number of meters (:func:`_kernel_rows`),
so a meter's row is the same to the bit whether it was computed in this
run, alone, in its bucket or read back: a run that reuses rows or layouts
gives the same features, and scores, as a run with an empty cache, and a
batched run the same as one over all meters in memory. The table is then
assembled from all rows exactly as :func:`~detectors.features.extract_features`
does (peer medians, statuses, contracted power, onset dates). Peer levels
are never cached: they depend on the batch.

What is not reused: the kernel rows after the window changed (above); the
peer levels, scoring, reasons and hotspots, which run on the small feature
table each time; the layout of a bucket after compaction.

The cache uses the private steps of :mod:`detectors.features._extract`
(check, kernel, assemble) so that it can run the kernel on a subset of the
meters and assemble the whole table; :func:`cached_features` attaches it
to a :class:`detectors.model.MiningModel` for the length of a ``with``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FeatureCache", "cached_features"]

CACHE_FOLDER = "cache"
"""Folder of the feature cache inside the workspace."""

LAYOUT_FOLDER = "layout"
"""Folder of the kept layouts inside the cache folder (one file per bucket)."""

KEEP_FILES = 2
"""Cache files (windows) kept: the newest ones; older windows are deleted after a run."""

FORMAT = 2
"""Version of the cache files' layout (part of the run key)."""

_DIGEST = 16  # bytes of BLAKE2b: 128 bits, collisions are not a practical concern
_MAX_COUNT = 255  # readings of one (meter, step) a kept layout can count (uint8)

RESAVE_SHARE = 8
"""A kept layout is written again once the files added since hold over 1/8 of its readings."""


def _source_digest() -> str:
    """BLAKE2b of the source of :mod:`detectors.features`: any change to the kernel invalidates."""
    import detectors.features

    h = hashlib.blake2b(digest_size=_DIGEST)
    for path in sorted(Path(detectors.features.__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _update(h, value) -> None:
    if isinstance(value, np.ndarray):
        h.update(str(value.dtype).encode() + str(value.shape).encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())


def _files_key(files: str, t0: int, interval: float) -> bytes:
    """Meter key of a store-backed row: its bucket's files, the window's start, its interval."""
    h = hashlib.blake2b(files.encode(), digest_size=_DIGEST)
    h.update(np.asarray([t0], dtype=np.int64).tobytes())
    h.update(np.asarray([interval], dtype=np.float64).tobytes())
    return h.digest()


class FeatureCache:
    """Kernel rows of meters and layouts of readings, kept in ``folder`` between runs.

    Parameters
    ----------
    folder : str or Path
        Where the cache files go (created on first write), e.g.
        ``ws.path / "cache"``.
    keep : int, default :data:`KEEP_FILES`
        Cache files of kernel rows (one per window and feature code) to keep.
    readings : geoenergy.readings.ReadingsStore, optional
        The store a dataset from :func:`geoenergy.readings.open_readings`
        was opened on: such a dataset is then read bucket by bucket from
        the store's files, keyed by the manifest (see the module). Without
        it, every dataset is keyed by its readings.
    layouts : bool, default True
        Keep each bucket's layout (sums and counts per meter and step) for
        the next run (store-backed datasets only).
    keep_rows : iterable of str, optional
        Meters whose readings [kWh per step] to keep in :attr:`kept` when
        they are read for the kernel (e.g. the registered data centres, whose
        evidence needs their hourly load: handed over with
        :func:`detectors.datacentre.known_readings`, so that their buckets
        are not read twice). A meter whose kernel row is reused is not read,
        so not kept.
    persist : bool, default True
        Write the kernel rows to ``folder`` for the next run. ``False`` (a
        throw-away workspace, e.g. ``geoenergy detect`` from files): the rows
        are kept in memory for this cache's calls only (a fit then a score)
        and nothing is written.

    Attributes
    ----------
    last : dict
        Of the last call: ``meters``, ``computed`` (meters run through the
        kernel) and ``reused`` (rows read from the cache).
    computed, reused : int
        The same, summed over every call since the cache was made.
    buckets : dict
        Buckets laid out, summed over the calls: ``read`` (every file read),
        ``extended`` (a kept layout plus the files added since), ``kept``
        (a kept layout, no file read) and ``skipped`` (every row reused).
    """

    def __init__(
        self,
        folder,
        *,
        keep: int = KEEP_FILES,
        readings=None,
        layouts: bool = True,
        persist: bool = True,
        keep_rows=(),
    ):
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be a positive number of files, got {keep!r}.")
        self.folder = Path(folder)
        self.keep = keep
        self.readings = readings
        self.layouts = layouts
        self.persist = persist
        self.keep_rows = frozenset(str(m) for m in keep_rows)
        self.kept: dict[str, np.ndarray] = {}
        self.last: dict = {}
        self.computed = self.reused = 0
        self.buckets = {"read": 0, "extended": 0, "kept": 0, "skipped": 0}
        self.rows_read = 0
        self._source = None
        self._memory: tuple[str, pd.DataFrame] | None = None
        self._lock = threading.Lock()

    def summary(self) -> str:
        """One line for the run's notes: meters computed and read back."""
        return (
            f"features: {self.computed:,} meter series through the kernel, "
            f"{self.reused:,} read from the cache (readings unchanged)"
        )

    def layout_summary(self) -> str:
        """One line for the run's notes: how the store's buckets were read."""
        b = self.buckets
        return (
            f"readings: {b['read']:,} bucket(s) read whole, {b['extended']:,} from the kept "
            f"layout plus the files added since, {b['kept']:,} from the kept layout, "
            f"{b['skipped']:,} not needed; {self.rows_read:,} stored readings read"
        )

    # -- keys ---------------------------------------------------------------------

    def run_key(self, cal, opts, dtype) -> str:
        """BLAKE2b of everything a kernel row depends on except the meter's own series."""
        if self._source is None:
            self._source = _source_digest()
        h = hashlib.blake2b(digest_size=_DIGEST)
        for value in (FORMAT, self._source, np.__version__, str(dtype), dataclasses.astuple(opts)):
            _update(h, value)
        for f in dataclasses.fields(cal):
            h.update(f.name.encode())
            _update(h, getattr(cal, f.name))
        return h.hexdigest()

    @staticmethod
    def meter_keys(x: np.ndarray, interval: np.ndarray) -> np.ndarray:
        """BLAKE2b of each meter's readings (NaN where missing) and interval, as bytes."""
        x = np.ascontiguousarray(x)
        interval = np.ascontiguousarray(interval, dtype=np.float64)
        keys = np.empty(len(x), dtype=object)
        for i in range(len(x)):
            h = hashlib.blake2b(x[i].data, digest_size=_DIGEST)
            h.update(interval[i : i + 1].data)
            keys[i] = h.digest()
        return keys

    # -- files ----------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.folder / f"features-{key}.parquet"

    def _read(self, key: str) -> pd.DataFrame | None:
        if self._memory is not None and self._memory[0] == key:
            return self._memory[1]
        path = self._path(key)
        if not self.persist or not path.exists():
            return None
        try:
            return pd.read_parquet(path).set_index("meter_id")
        except (OSError, ValueError):  # a damaged cache is only a slower run
            return None

    def _write(self, key: str, table: pd.DataFrame) -> None:
        self._memory = (key, table)
        if not self.persist:
            return
        path = self._path(key)
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            table.reset_index().to_parquet(tmp, index=False)
            os.replace(tmp, path)  # readers see the old file or the new, never half of one
            files = sorted(
                self.folder.glob("features-*.parquet"),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
            for old in files[self.keep :]:
                old.unlink(missing_ok=True)
        except OSError:  # a read-only or full disk: the run goes on, the next one computes again
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    # -- extraction -----------------------------------------------------------------

    def extract_features(
        self,
        ds,
        *,
        weather=None,
        groups=None,
        peer_reference=None,
        valley_hours=(23, 7),
        min_days: int = 14,
        min_group_size: int = 20,
        contracted_kw=None,
        n_jobs: int = -1,
    ) -> pd.DataFrame:
        """:func:`detectors.features.extract_features`, running the kernel only for changed meters.

        Parameters and result as :func:`detectors.features.extract_features`
        (with its default calendar settings). A dask-backed ``ds`` is
        processed a bucket (store-backed, see the module) or a chunk at a time.
        """
        import inspect

        from detectors.features import _kernel as kernel
        from detectors.features import extract_features
        from detectors.features._checks import _check_extract_features
        from detectors.features._extract import _assemble

        # The calendar settings extract_features uses by default (this cache keeps them).
        default = {k: p.default for k, p in inspect.signature(extract_features).parameters.items()}
        args = _check_extract_features(
            ds,
            weather,
            groups,
            peer_reference,
            valley_hours,
            min_days,
            min_group_size,
            contracted_kw,
            default["heating_season"],
            default["latitude"],
            default["longitude"],
            n_jobs,
        )
        kwh, meter_ids, cal, row_interval, groups, contracted, threads = args
        opts = kernel.Options(
            valley_hours=(int(valley_hours[0]), int(valley_hours[1])), min_days=int(min_days)
        )
        lazy = type(kwh).__module__.startswith("dask")
        manifest = self._manifest(ds, cal) if lazy else None
        dtype = np.dtype(np.float64) if lazy else np.asarray(kwh).dtype
        key = self.run_key(cal, opts, dtype)
        ids = pd.Index(np.asarray(meter_ids).astype(str), name="meter_id")
        columns = [f"k{j}" for j in range(len(kernel.COLUMNS))]
        cached = self._read(key)
        if cached is None or list(cached.columns) != ["meter_key", "files", *columns]:
            cached = None
        run = _Run(kernel, cal, opts, row_interval, ids, cached, columns)
        if self.keep_rows:
            run.keep = (self.keep_rows, self.kept)
        if manifest is not None:
            self._from_store(run, ds, manifest, threads)
        elif lazy:
            self._by_chunk(run, kwh, threads)
        else:
            run.rows(np.asarray(kwh), np.arange(len(ids)), threads)
        miss = ~run.hit
        if miss.any() or (run.files != run.old_files).any():
            table = pd.DataFrame(run.out, index=ids, columns=columns)
            table.insert(0, "files", run.files)
            table.insert(0, "meter_key", run.keys)
            if ids.is_unique:
                self._write(key, table)
        self.last = {
            "meters": len(ids),
            "computed": int(miss.sum()),
            "reused": int(run.hit.sum()),
        }
        self.computed += self.last["computed"]
        self.reused += self.last["reused"]
        return _assemble(
            run.out,
            meter_ids,
            cal,
            groups,
            peer_reference,
            int(min_group_size),
            contracted,
            int(min_days),
        )

    def _by_chunk(self, run, kwh, threads: int) -> None:
        """A dask array not read here: a few chunks of meters in memory at a time.

        The chunks are computed by dask's scheduler (a ``dask.distributed``
        cluster when one is the default client), two per thread at a time.
        """
        import dask

        bounds = np.r_[0, np.cumsum(kwh.chunks[0])]
        step = 2 * max(threads, 1)
        for i in range(0, len(bounds) - 1, step):
            spans = list(zip(bounds[i : i + step], bounds[i + 1 : i + step + 1], strict=False))
            blocks = dask.compute(*[kwh[lo:hi] for lo, hi in spans])
            for (lo, hi), x in zip(spans, blocks, strict=True):
                run.rows(np.asarray(x), np.arange(lo, hi), threads)

    # -- store-backed datasets --------------------------------------------------------

    def _manifest(self, ds, cal) -> dict | None:
        """The store's manifest when ``ds`` is its current view, hourly or finer; else None."""
        rs = self.readings
        version = ds.attrs.get("readings_version")
        if rs is None or version is None or cal.daily or "interval_s" not in ds.coords:
            return None
        if _cluster():
            return None  # a dask.distributed cluster reads the chunks (see _by_chunk)
        m = rs.manifest()
        if int(m["version"]) != int(version):
            return None  # the store changed since ds was opened: read it as dask would
        return m

    def _from_store(self, run, ds, manifest: dict, threads: int) -> None:
        """Kernel rows of a store-backed ``ds``, bucket by bucket (see the module)."""
        from geoenergy.readings import bucket_of

        rs = self.readings
        step_ns = round(float(ds.attrs["step_s"]) * 1e9)
        time_ns = pd.DatetimeIndex(np.asarray(ds["time"].values)).as_unit("ns").asi8
        edge_ns = np.r_[time_ns, time_ns[-1] + step_ns].astype(np.int64)
        buckets = bucket_of(run.ids.to_numpy(dtype=object), rs.n_buckets)
        order = np.argsort(buckets, kind="stable")
        bounds = np.searchsorted(buckets[order], np.arange(rs.n_buckets + 1))
        work = [
            (b, order[bounds[b] : bounds[b + 1]])
            for b in range(rs.n_buckets)
            if bounds[b + 1] > bounds[b]
        ]

        def prepare(item):
            b, rows = item
            names = manifest["files"].get(f"{b:03d}", [])
            return _Bucket(self, run, b, names, rows, edge_ns, step_ns).prepare()

        # Buckets in batches of a few kernel chunks: each batch's buckets are read and laid
        # out on threads, then its meters go through the kernel together (a small bucket
        # alone would fill a padded chunk with copies), then the batch is dropped.
        size = _chunk_size(run.kernel, run.cal, len(edge_ns) - 1)
        target = size * max(threads, 1) * 4
        batches, current, n = [], [], 0
        for item in work:
            current.append(item)
            n += len(item[1])
            if n >= target:
                batches.append(current)
                current, n = [], 0
        if current:
            batches.append(current)
        pool = None
        if threads > 1 and len(work) > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(max_workers=threads)
        try:
            for batch in batches:
                done = list(pool.map(prepare, batch) if pool else map(prepare, batch))
                parts = [p for p in done if p is not None]
                if not parts:
                    continue
                need = np.concatenate([p[0] for p in parts])
                x = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
                del parts, done
                run.compute(x, need, threads)
                del x
        finally:
            if pool is not None:
                pool.shutdown()

    def _count(self, what: str, rows: int = 0) -> None:
        with self._lock:
            self.buckets[what] += 1
            self.rows_read += rows

    # -- kept layouts -------------------------------------------------------------------

    def _layout_dir(self) -> Path:
        return self.folder / LAYOUT_FOLDER

    def _load_layout(self, bucket: int) -> dict | None:
        """The kept layout of a bucket: ``bucket=NNN.json`` names its arrays' files."""
        path = self._layout_dir() / f"bucket={bucket:03d}.json"
        if not self.layouts or not path.exists():
            return None
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            arrays = {
                # mapped: a re-run copies what it keeps once, straight from the page cache
                name: np.load(self._layout_dir() / f"{meta['token']}-{name}.npy", mmap_mode="r")
                for name in ("ids", "sums", "counts")
            }
        except (OSError, ValueError, KeyError):  # damaged or replaced meanwhile: read again
            return None
        arrays["ids"] = np.asarray(arrays["ids"]).astype(object)
        return {**meta, **arrays}

    def _save_layout(self, bucket: int, layout: dict) -> None:
        """Keep a bucket's layout: new array files, then the JSON naming them (atomic swap)."""
        if not self.layouts or int(layout["counts"].max(initial=0)) > _MAX_COUNT:
            return
        folder = self._layout_dir()
        path = folder / f"bucket={bucket:03d}.json"
        token = f"{bucket:03d}-{os.getpid()}-{threading.get_ident()}-{os.urandom(4).hex()}"
        meta = {k: layout[k] for k in ("files", "t0", "step", "outside")}
        meta["rows"] = int(layout["counts"].sum(dtype=np.int64))
        meta["token"] = token
        arrays = {
            "ids": np.asarray(layout["ids"], dtype=str),
            "sums": layout["sums"],
            "counts": layout["counts"].astype(np.uint8),
        }
        old = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError, ValueError, KeyError):
                old = json.loads(path.read_text(encoding="utf-8"))["token"]
            for name, values in arrays.items():
                np.save(folder / f"{token}-{name}.npy", values)
            tmp = path.with_name(f"{path.name}.{token}.tmp")
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, path)  # readers see the old layout or the new, never half of one
        except OSError:  # a read-only or full disk: the next run reads the bucket again
            old = token
        if old is not None:
            for name in arrays:
                with contextlib.suppress(OSError):
                    (folder / f"{old}-{name}.npy").unlink(missing_ok=True)


@dataclasses.dataclass
class _Run:
    """One extraction: the rows wanted, what the cache holds, what was found."""

    kernel: object
    cal: object
    opts: object
    interval: np.ndarray
    ids: pd.Index
    cached: pd.DataFrame | None
    columns: list

    def __post_init__(self):
        n = len(self.ids)
        self.out = np.empty((n, len(self.columns)), dtype=np.float64)
        self.hit = np.zeros(n, dtype=bool)
        self.keys = np.full(n, None, dtype=object)
        self.files = np.full(n, "", dtype=object)
        self.old_files = np.full(n, "", dtype=object)
        self.old_keys = np.full(n, None, dtype=object)
        self.pos = np.full(n, -1, dtype=np.int64)
        self._values = None
        self.keep: tuple | None = None
        if self.cached is not None and self.ids.is_unique:
            self.pos = self.cached.index.get_indexer(self.ids)
            found = self.pos >= 0
            self.old_keys[found] = self.cached["meter_key"].to_numpy()[self.pos[found]]
            self.old_files[found] = self.cached["files"].to_numpy()[self.pos[found]]

    def take(self, rows: np.ndarray) -> None:
        """Rows ``rows`` (positions) are read from the cache."""
        if self._values is None:
            self._values = self.cached[self.columns].to_numpy()
        self.out[rows] = self._values[self.pos[rows]]
        self.hit[rows] = True

    def compute(self, x: np.ndarray, rows: np.ndarray, threads: int = 1) -> None:
        """Rows ``rows`` through the kernel from their readings ``x`` (one row each)."""
        if self.keep is not None:
            wanted, kept = self.keep
            names = self.ids[rows]
            for i in np.flatnonzero(names.isin(wanted)):
                kept[names[i]] = np.array(x[i], dtype=np.float64)  # a copy: x is reused
        self.out[rows] = _kernel_rows(
            self.kernel, x, self.cal, self.opts, self.interval[rows], threads
        )

    def rows(self, x: np.ndarray, rows: np.ndarray, threads: int) -> None:
        """Readings ``x`` of ``rows`` in memory: keyed by the readings themselves."""
        keys = FeatureCache.meter_keys(x, self.interval[rows])
        self.keys[rows] = keys
        hit = self.old_keys[rows] == keys
        if hit.any():
            self.take(rows[hit])
        if not hit.all():
            self.compute(x if not hit.any() else x[~hit], rows[~hit], threads)


class _Bucket:
    """One bucket of a store-backed extraction: rows reused, and the hours of the others."""

    def __init__(self, cache, run, bucket, names, rows, edge_ns, step_ns):
        self.cache, self.r, self.bucket = cache, run, bucket
        self.names, self.rows = list(names), rows
        self.edge_ns, self.step_ns = edge_ns, step_ns
        self.files = json.dumps(self.names)
        self._arrays: dict[tuple, tuple] = {}

    def _read(self, names) -> tuple | None:
        """The rows of these files (memoised), as :meth:`ReadingsStore.read_files_arrays`."""
        names = tuple(names)
        if not names:
            return None
        if names not in self._arrays:
            self._arrays[names] = self.cache.readings.read_files_arrays(list(names))
        return self._arrays[names]

    def prepare(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Reuse what the cache holds; the rows still to compute and their hours, or None."""
        run, rows = self.r, self.rows
        t0 = int(self.edge_ns[0])
        keys = np.array([_files_key(self.files, t0, iv) for iv in run.interval[rows]], object)
        run.keys[rows] = keys
        run.files[rows] = self.files
        hit = run.old_keys[rows] == keys
        # Rows kept under an earlier file list of this bucket: unchanged unless named
        # in a file added since.
        for old in set(run.old_files[rows[~hit]]) - {"", self.files}:
            try:
                before = json.loads(old)
            except ValueError:
                continue
            if self.names[: len(before)] != before:
                continue  # files rewritten (compaction): every row again
            added = self._read(self.names[len(before) :])
            named = set() if added is None else set(_present(added))
            sel = ~hit & (run.old_files[rows] == old)
            old_keys = np.array(
                [_files_key(old, t0, iv) for iv in run.interval[rows[sel]]], dtype=object
            )
            same = (run.old_keys[rows[sel]] == old_keys) & ~np.isin(
                run.ids[rows[sel]].to_numpy(dtype=object), list(named)
            )
            idx = np.flatnonzero(sel)[same]
            hit[idx] = True
        if hit.any():
            run.take(rows[hit])
        if hit.all():
            self.cache._count("skipped")
            return None
        need = rows[~hit]
        return need, self._hours(run.ids[need].to_numpy(dtype=object), run.interval[need])

    def _hours(self, meters: np.ndarray, interval: np.ndarray) -> np.ndarray:
        """Energy per step of ``meters`` [kWh]: a kept layout plus new files, or every file."""
        from geoenergy.readings import complete_steps

        lay = self._layout()
        n_t = len(self.edge_ns) - 1
        pos = (
            pd.Index(lay["ids"]).get_indexer(meters)
            if len(lay["ids"])
            else np.full(len(meters), -1)
        )
        duration = np.diff(self.edge_ns) / 1e9
        if len(pos) == len(lay["ids"]) and (pos == np.arange(len(pos))).all():
            sums = lay["sums"]  # every meter of the bucket, in order: no copy
            own = isinstance(sums, np.ndarray) and not isinstance(sums, np.memmap)
            own = own and sums.flags.writeable and sums.dtype == np.float64
            return complete_steps(sums, lay["counts"], interval, duration, inplace=own)
        sums = np.zeros((len(meters), n_t))
        counts = np.zeros((len(meters), n_t), dtype=lay["counts"].dtype)
        have = pos >= 0
        sums[have] = lay["sums"][pos[have]]
        counts[have] = lay["counts"][pos[have]]
        del lay
        return complete_steps(sums, counts, interval, duration)

    def _layout(self) -> dict:
        """Sums and counts of every meter of the bucket over the window (kept or read)."""
        from geoenergy.readings import bucket_layout, step_of

        cache, edge_ns, step = self.cache, self.edge_ns, self.step_ns
        t0, n_t = int(edge_ns[0]), len(edge_ns) - 1
        kept = cache._load_layout(self.bucket)
        usable = (
            kept is not None
            and kept["step"] == step
            and (t0 - kept["t0"]) % step == 0
            and self.names[: len(kept["files"])] == kept["files"]
            and (kept["outside"] == 0 or (kept["t0"] == t0 and kept["sums"].shape[1] == n_t))
        )
        if not usable:
            arrays = self._read(self.names)
            if arrays is None:
                ids = np.zeros(0, dtype=object)
                sums, counts = np.zeros((0, n_t)), np.zeros((0, n_t), dtype=np.int64)
                n_rows = 0
            else:
                ids = np.sort(_present(arrays))
                sums, counts = bucket_layout(arrays, ids, edge_ns)
                n_rows = len(arrays[2])
            lay = {"files": self.names, "t0": t0, "step": step, "ids": ids}
            lay.update(sums=sums, counts=counts, outside=int(n_rows - counts.sum()))
            cache._count("read", n_rows)
            cache._save_layout(self.bucket, lay)
            return lay
        # the kept window moved onto this one: same step, whole steps apart
        shift = (t0 - kept["t0"]) // step
        old_n = kept["sums"].shape[1]
        lo, hi = max(0, shift), min(old_n, shift + n_t)
        ids = kept["ids"]
        outside = int(kept["outside"])
        added = self.names[len(kept["files"]) :]
        if shift == 0 and old_n == n_t:  # the same window: the kept arrays as they are
            sums = np.array(kept["sums"]) if added else kept["sums"]
            counts = kept["counts"].astype(np.int32) if added else kept["counts"]
        else:  # copied once from the mapped file into the new window (zeros elsewhere)
            sums = np.empty((len(ids), n_t))
            counts = np.empty((len(ids), n_t), dtype=np.int32)
            a, b = lo - shift, hi - shift  # the kept columns' place in the new window
            if hi > lo:
                sums[:, a:b] = kept["sums"][:, lo:hi]
                counts[:, a:b] = kept["counts"][:, lo:hi]
                outside += int(kept["counts"][:, :lo].sum(dtype=np.int64))
                outside += int(kept["counts"][:, hi:].sum(dtype=np.int64))
            else:
                a = b = 0
                outside += int(kept["counts"].sum(dtype=np.int64))
            sums[:, :a] = 0.0
            sums[:, b:] = 0.0
            counts[:, :a] = 0
            counts[:, b:] = 0
        del kept["sums"], kept["counts"]
        arrays = self._read(added)
        n_rows = 0
        if arrays is not None:
            new_ids, meter_of_row, ts, kwh = arrays
            n_rows = len(ts)
            present = _present(arrays)
            extra = np.setdiff1d(present.astype(str), ids.astype(str)).astype(object)
            if len(extra):  # meters new to this bucket: rows of their own, in id order
                ids = np.concatenate([ids, extra])
                order = np.argsort(ids.astype(str), kind="stable")
                ids = ids[order]
                sums = np.concatenate([sums, np.zeros((len(extra), n_t))])[order]
                counts = np.concatenate([counts, np.zeros((len(extra), n_t), np.int32)])[order]
            row_of = pd.Index(ids.astype(str)).get_indexer(new_ids.astype(str))[meter_of_row]
            col = step_of(ts, edge_ns)
            ok = (row_of >= 0) & (col >= 0) & (col < n_t)
            # one reading at a time, in file order: the sums a full read gives, to the bit
            np.add.at(sums.reshape(-1), row_of[ok] * n_t + col[ok], kwh[ok])
            np.add.at(counts.reshape(-1), row_of[ok] * n_t + col[ok], 1)
            outside += int((~ok).sum())
        lay = {"files": self.names, "t0": t0, "step": step, "ids": ids}
        lay.update(sums=sums, counts=counts, outside=outside)
        cache._count("extended" if added else "kept", n_rows)
        # Kept again only once the files added since hold a good share of the readings:
        # re-reading a few days of new files costs less than writing every day's layout
        # (9 bytes a meter and step). A moved window keeps the wider layout it came from.
        if added and shift == 0 and n_rows * RESAVE_SHARE > int(kept.get("rows", 0)):
            cache._save_layout(self.bucket, lay)
        return lay


def _cluster() -> bool:
    """Whether a ``dask.distributed`` client is the default scheduler (never imports it)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.default_client()
    except ValueError:  # no client
        return False
    return True


def _present(arrays) -> np.ndarray:
    """The meter ids with at least one row in ``arrays`` (from ``read_files_arrays``)."""
    ids, meter_of_row = arrays[0], arrays[1]
    return ids[np.bincount(meter_of_row, minlength=len(ids)) > 0]


def _chunk_size(kernel, cal, steps: int) -> int:
    """Meters per kernel chunk: the kernel's own slice for the window, a multiple of 16."""
    hours = cal.n_days * 24 if not cal.daily else cal.n_days
    fits = kernel.SLICE_BYTES // (8 * max(hours, steps, 1))  # rows the kernel takes whole
    return max(16, fits // 16 * 16)


def _kernel_rows(kernel, x, cal, opts, interval, threads: int) -> np.ndarray:
    """The kernel over ``x`` in chunks of a fixed number of meters, so a row never depends on the rest.

    BLAS (the matrix products of the daily and weekly shape features) takes
    another path, and rounds the last bit differently, depending on how many
    rows one call sees. In chunks of a fixed size (the kernel's own slice for
    the window, rounded down to a multiple of 16, so it does not slice them
    further; the last chunk padded with copies of a row) a meter's row is the same whether it is computed alone or with the
    whole city, so a warm run equals a cold one to the bit. Against one
    :func:`~detectors.features.extract_features` call over all meters it
    agrees to rounding (about 1e-15 relative).
    """
    size = _chunk_size(kernel, cal, x.shape[1])
    n = len(x)

    def one(lo: int) -> np.ndarray:
        chunk, iv = x[lo : lo + size], interval[lo : lo + size]
        m = len(chunk)
        if m < size:  # the last chunk: pad it, copying only this chunk
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], size - m, axis=0)])
            iv = np.concatenate([iv, np.repeat(iv[:1], size - m)])
        return kernel.block_features(chunk, cal, opts, iv)[:m]

    starts = range(0, n, size)
    if n == 0:
        return np.empty((0, len(kernel.COLUMNS)))
    if threads <= 1 or len(starts) == 1:
        rows = [one(lo) for lo in starts]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(threads, len(starts))) as pool:
            rows = list(pool.map(one, starts))
    return np.concatenate(rows)


@contextlib.contextmanager
def cached_features(model, cache: FeatureCache):
    """Let ``model`` extract its features through ``cache`` inside the ``with`` block.

    ``model`` is a :class:`detectors.model.MiningModel`; its feature extraction
    (``_extract``, which its feature step calls with the same inputs as
    :func:`detectors.features.extract_features`) is replaced on the instance
    only, and restored on leaving (so a model saved
    afterwards carries nothing of the cache).

    Examples
    --------
    >>> with cached_features(model, FeatureCache(ws.path / "cache")):  # doctest: +SKIP
    ...     model.fit(ds, registry, weather)
    ...     scores = model.score(ds, registry, weather)
    """
    before = vars(model).get("_extract")
    model._extract = cache.extract_features
    try:
        yield cache
    finally:
        if before is None:
            del model._extract
        else:
            model._extract = before
