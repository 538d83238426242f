"""The feature cache: a meter whose readings did not change is not run through the kernel again.

Most of a detection run's feature time goes into the load-signature kernel
(:func:`detectors.features.extract_features` runs it over every meter's
hourly series). A meter's kernel row depends only on

- its own readings in the window (the row of ``ds.kwh``) and its reading
  interval, and
- what every meter shares: the calendar of the window (local dates and
  hours, the daily temperature, heating season, hours of darkness), the
  kernel options (valley hours, ``min_days``) and the kernel's code.

So the cache keeps, per meter, the kernel row under a key of those
inputs: a *run key* (BLAKE2b of the calendar's arrays, the options, the
NumPy version and the source of :mod:`detectors.features`) names the file
``WORKSPACE/cache/features-<run key>.parquet``, and each row carries a
*meter key* (BLAKE2b of the meter's readings and interval). A meter whose
key matches is read back; the others go through the kernel. The table is
then assembled from all rows exactly as
:func:`~detectors.features.extract_features` does (peer medians, statuses,
contracted power, onset dates). The kernel runs in chunks of a fixed number
of meters (:func:`_kernel_rows`), so a meter's row is the same to the bit
whether it was computed in this run, alone, or read back: a run that reuses
rows gives the same features, and scores, as a run with an empty cache.
Peer levels are never cached: they depend on the batch.

Keying on the readings themselves rather than on the manifest or the
meters table's counts means a correction, a late day or a re-ingestion of
a meter is always seen, whatever the store did to record it.

What it saves, and what not: within one run the built-in detectors extract
features twice (``fit``, then ``score``), so the second pass is free; a
re-run on the same window (a new model registered, other hotspot
parameters, a late day arriving for some meters inside a fixed
``start``/``end``) recomputes only the meters whose readings changed. A new
day appended at the end of an open window changes the window of every
meter, so every row is recomputed (the run key changes): making that daily
re-run incremental needs features that merge per day, which the kernel
does not offer yet.

The cache uses the private steps of :mod:`detectors.features._extract`
(check, kernel, assemble) so that it can run the kernel on a subset of the
meters and assemble the whole table; :func:`cached_features` attaches it
to a :class:`detectors.model.MiningModel` for the length of a ``with``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FeatureCache", "cached_features"]

CACHE_FOLDER = "cache"
"""Folder of the feature cache inside the workspace."""

KEEP_FILES = 2
"""Cache files (windows) kept: the newest ones; older windows are deleted after a run."""

_DIGEST = 16  # bytes of BLAKE2b: 128 bits, collisions are not a practical concern


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


class FeatureCache:
    """Kernel rows of meters, kept in ``folder`` between runs.

    Parameters
    ----------
    folder : str or Path
        Where the cache files go (created on first write), e.g.
        ``ws.path / "cache"``.
    keep : int, default :data:`KEEP_FILES`
        Cache files (one per window and feature code) to keep.

    Attributes
    ----------
    last : dict
        Of the last call: ``meters``, ``computed`` (meters run through the
        kernel) and ``reused`` (rows read from the cache).
    computed, reused : int
        The same, summed over every call since the cache was made.
    """

    def __init__(self, folder, *, keep: int = KEEP_FILES):
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be a positive number of files, got {keep!r}.")
        self.folder = Path(folder)
        self.keep = keep
        self.last: dict = {}
        self.computed = self.reused = 0
        self._source = None
        self._memory: tuple[str, pd.DataFrame] | None = None

    def summary(self) -> str:
        """One line for the run's notes: meters computed and read back."""
        return (
            f"features: {self.computed:,} meter series through the kernel, "
            f"{self.reused:,} read from the cache (readings unchanged)"
        )

    # -- keys ---------------------------------------------------------------------

    def run_key(self, cal, opts, dtype) -> str:
        """BLAKE2b of everything a kernel row depends on except the meter's own series."""
        if self._source is None:
            self._source = _source_digest()
        h = hashlib.blake2b(digest_size=_DIGEST)
        for value in (self._source, np.__version__, str(dtype), dataclasses.astuple(opts)):
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
        if not path.exists():
            return None
        try:
            return pd.read_parquet(path).set_index("meter_id")
        except (OSError, ValueError):  # a damaged cache is only a slower run
            return None

    def _write(self, key: str, table: pd.DataFrame) -> None:
        self._memory = (key, table)
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
        (with its default calendar settings). A dask-backed ``ds`` is passed
        through uncached (the cache needs the readings in memory to key them).
        """
        import inspect

        from detectors.features import _kernel as kernel
        from detectors.features import extract_features
        from detectors.features._checks import _check_extract_features
        from detectors.features._extract import _assemble

        # The calendar settings extract_features uses by default (this cache keeps them).
        default = {k: p.default for k, p in inspect.signature(extract_features).parameters.items()}

        kwargs = dict(
            weather=weather,
            groups=groups,
            peer_reference=peer_reference,
            valley_hours=valley_hours,
            min_days=min_days,
            min_group_size=min_group_size,
            contracted_kw=contracted_kw,
        )
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
        if type(kwh).__module__.startswith("dask"):
            self.last = {"meters": len(meter_ids), "computed": len(meter_ids), "reused": 0}
            self.computed += len(meter_ids)
            return extract_features(ds, n_jobs=n_jobs, **kwargs)
        opts = kernel.Options(
            valley_hours=(int(valley_hours[0]), int(valley_hours[1])), min_days=int(min_days)
        )
        x = np.asarray(kwh)
        key = self.run_key(cal, opts, x.dtype)
        keys = self.meter_keys(x, row_interval)
        ids = pd.Index(np.asarray(meter_ids).astype(str), name="meter_id")
        columns = [f"k{j}" for j in range(len(kernel.COLUMNS))]
        out = np.empty((len(ids), len(columns)), dtype=np.float64)
        hit = np.zeros(len(ids), dtype=bool)
        cached = self._read(key)
        if cached is not None and ids.is_unique and list(cached.columns[1:]) == columns:
            pos = cached.index.get_indexer(ids)
            found = pos >= 0
            stored = np.full(len(ids), None, dtype=object)
            stored[found] = cached["meter_key"].to_numpy()[pos[found]]
            hit = found & (stored == keys)
            out[hit] = cached[columns].to_numpy()[pos[hit]]
        miss = ~hit
        if miss.any():
            if miss.all():  # no copy of the readings on a cold run
                out[:] = _kernel_rows(kernel, x, cal, opts, row_interval, threads)
            else:
                out[miss] = _kernel_rows(kernel, x[miss], cal, opts, row_interval[miss], threads)
            table = pd.DataFrame(out, index=ids, columns=columns)
            table.insert(0, "meter_key", keys)
            if ids.is_unique:
                self._write(key, table)
        self.last = {"meters": len(ids), "computed": int(miss.sum()), "reused": int(hit.sum())}
        self.computed += self.last["computed"]
        self.reused += self.last["reused"]
        return _assemble(
            out,
            meter_ids,
            cal,
            groups,
            peer_reference,
            int(min_group_size),
            contracted,
            int(min_days),
        )


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
    hours = cal.n_days * 24 if not cal.daily else cal.n_days
    fits = kernel.SLICE_BYTES // (8 * max(hours, x.shape[1], 1))  # rows the kernel takes whole
    size = max(16, fits // 16 * 16)
    n = len(x)

    def one(lo: int) -> np.ndarray:
        chunk, iv = x[lo : lo + size], interval[lo : lo + size]
        m = len(chunk)
        if m < size:  # the last chunk: pad it, copying only this chunk
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], size - m, axis=0)])
            iv = np.concatenate([iv, np.repeat(iv[:1], size - m)])
        return kernel.block_features(chunk, cal, opts, iv)[:m]

    starts = range(0, n, size)
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
