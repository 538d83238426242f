"""Merge the new readings of one bucket with the stored ones, on sorted integer keys.

This room holds the arithmetic of a readings ingestion once the rows are
valid one by one: duplicates and conflicts inside the file and against the
store, each meter's interval, the grid check, and the meters' statistics.

Every (meter, timestamp) pair becomes one ``int64`` key: the meters of the
bucket are ranked densely and the rank is put in the high bits above the
time since the bucket's first reading (see :class:`_Keys`), so sorting,
grouping and matching against the store are NumPy sorts, differences and
binary searches instead of hash joins of strings. Rows arrive in file order
and readings files are usually sorted by meter and time, so the stable sorts
mostly find runs already in order.

The rules are those of :mod:`geoenergy.ingest.readings`: an identical row is
a duplicate; rows giving one (meter, timestamp) different kWh are all
rejected; a stored reading is never overwritten; the interval is the most
common spacing of the meter's readings (ties go to the shorter); a row off
the meter's grid in local time is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoenergy.contracts import INTERVALS_S
from geoenergy.ingest.checks import rejects_frame

_ALLOWED_S = np.array(sorted(INTERVALS_S), dtype=np.float64)
_DENSE_COUNTS_MAX = 20_000_000
"""Largest meters x distinct-spacings table counted densely (else a pandas groupby)."""


@dataclass
class NewRows:
    """Valid rows of one bucket, as arrays (file order).

    Attributes
    ----------
    code : ndarray of int
        Meter number: index into the ``meter_ids`` handed to :func:`merge_rows`.
    ts : ndarray of int64
        Start of the interval, UTC. [ns since 1970-01-01]
    kwh : ndarray of float64
        Energy in the interval. [kWh]
    row : ndarray of int64
        Data-row number in the file (1-based).
    """

    code: np.ndarray
    ts: np.ndarray
    kwh: np.ndarray
    row: np.ndarray


@dataclass
class Merged:
    """What :func:`merge_rows` decided for one bucket.

    Attributes
    ----------
    accepted : NewRows
        Rows to store, sorted by meter and time.
    rejected : DataFrame or None
        Rejected-row records (:data:`geoenergy.ingest.checks.REJECT_COLUMNS`).
    n_duplicates : int
        Rows ignored as identical to a stored row or an earlier row of the file.
    stats : DataFrame
        Per meter, over stored + accepted: ``meter_id``, ``first``, ``last``
        (UTC), ``n``, ``interval_s`` [s] (NaN for a single reading).
    """

    accepted: NewRows
    rejected: pd.DataFrame | None
    n_duplicates: int
    stats: pd.DataFrame


def merge_rows(new: NewRows, stored: NewRows | None, meter_ids: np.ndarray, tz) -> Merged:
    """Merge ``new`` rows with the ``stored`` rows of (at least) the same meters.

    Parameters
    ----------
    new : NewRows
        Valid rows of the file in this bucket.
    stored : NewRows, optional
        Committed rows of the bucket (``row`` unused).
    meter_ids : ndarray of str
        Meter id of each meter number used in ``code``.
    tz : tzinfo or str
        Local time zone: the grid of an interval starts at local midnight.
    """
    n_new = len(new.code)
    old_code = stored.code if stored is not None else np.zeros(0, np.int64)
    old_ts = stored.ts if stored is not None else np.zeros(0, np.int64)
    old_kwh = stored.kwh if stored is not None else np.zeros(0, np.float64)
    ctx = _Keys(
        np.concatenate([new.code, old_code]), np.concatenate([new.ts, old_ts]), meter_ids, tz
    )
    k_new, k_old = ctx.key[:n_new], ctx.key[n_new:]
    rejected: list[pd.DataFrame] = []

    # 1. duplicates within the file: equal keys are adjacent once sorted (by row within).
    if n_new > 1 and (np.diff(new.row) > 0).all():
        order = np.argsort(k_new, kind="stable")
    else:
        order = np.lexsort((new.row, k_new))
    k = k_new[order]
    kwh = new.kwh[order]
    row = new.row[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    conflict = np.zeros(len(k), dtype=bool)
    if not first.all():
        starts = np.flatnonzero(first)
        size = np.diff(np.append(starts, len(k)))
        group = np.cumsum(first) - 1
        kmin = np.minimum.reduceat(kwh, starts)
        kmax = np.maximum.reduceat(kwh, starts)
        bad_group = (size > 1) & ~np.isclose(kmin, kmax, rtol=1e-9, atol=1e-9)
        conflict = bad_group[group]
        if conflict.any():
            rejected.append(_conflicts(ctx, k, kwh, row, conflict, group, size))
    n_dup = int((~first & ~conflict).sum())
    keep = first & ~conflict
    k, kwh, row = k[keep], kwh[keep], row[keep]

    # 2. against stored readings
    if len(k_old):
        o = np.argsort(k_old, kind="stable")
        k_old, old_kwh = k_old[o], old_kwh[o]
        once = np.ones(len(k_old), dtype=bool)
        once[1:] = k_old[1:] != k_old[:-1]
        k_old, old_kwh = k_old[once], old_kwh[once]
        pos = np.minimum(np.searchsorted(k_old, k), len(k_old) - 1)
        is_stored = k_old[pos] == k
        same = is_stored & np.isclose(kwh, old_kwh[pos], rtol=1e-9, atol=1e-9)
        differ = is_stored & ~same
        if differ.any():
            rejected.append(
                ctx.rejects(
                    k[differ],
                    kwh[differ],
                    row[differ],
                    "kwh",
                    "conflicts_with_stored",
                    [
                        f"meter {mid} already has kwh={old:g} stored for {ctx.local(t)}; this "
                        f"row gives {v:g}. Stored readings are never overwritten: drop this row "
                        f"or correct the source of the stored value."
                        for mid, t, old, v in zip(
                            ctx.meter(k[differ]),
                            ctx.ts(k[differ]),
                            old_kwh[pos[differ]],
                            kwh[differ],
                            strict=True,
                        )
                    ],
                )
            )
        n_dup += int(same.sum())
        k, kwh, row = k[~is_stored], kwh[~is_stored], row[~is_stored]

    # 3. interval per meter over stored + new
    comb = np.sort(np.concatenate([k_old, k]), kind="stable")
    interval = _modal_spacing(ctx, comb)
    iv = interval[ctx.meter_rank(k)]
    allowed = np.isnan(iv) | np.isin(iv, _ALLOWED_S)
    if (~allowed).any():
        sel = ~allowed
        rejected.append(
            ctx.rejects(
                k[sel],
                kwh[sel],
                row[sel],
                "timestamp",
                "irregular_interval",
                [
                    f"readings of meter {mid} are mostly {_fmt_seconds(s)} apart; GeoEnergy "
                    f"accepts 15 min, 30 min, 1 h or 1 day intervals. Resample this meter's "
                    f"readings to one of them and ingest again."
                    for mid, s in zip(ctx.meter(k[sel]), iv[sel], strict=True)
                ],
            )
        )
    sec, sub_s = ctx.local_clock(k)
    ivv = np.where(np.isnan(iv), 1, iv).astype(np.int64)
    off_grid = allowed & ~np.isnan(iv) & (((sec % np.maximum(ivv, 1)) != 0) | sub_s)
    if off_grid.any():
        sel = off_grid
        rejected.append(
            ctx.rejects(
                k[sel],
                kwh[sel],
                row[sel],
                "timestamp",
                "off_grid",
                [
                    f"timestamp {ctx.local(t)} of meter {mid} is not on the meter's "
                    f"{INTERVALS_S[int(s)]} grid (intervals start at multiples of "
                    f"{INTERVALS_S[int(s)]} from local midnight). Fix the timestamp or the time "
                    f"zone (--timezone)."
                    for mid, t, s in zip(ctx.meter(k[sel]), ctx.ts(k[sel]), iv[sel], strict=True)
                ],
            )
        )
    ok = allowed & ~off_grid
    k, kwh, row = k[ok], kwh[ok], row[ok]

    # 4. statistics of the meters touched, over stored + accepted
    if ok.all():
        full, full_interval = comb, interval
    else:
        full = np.sort(np.concatenate([k_old, k]), kind="stable")
        full_interval = _modal_spacing(ctx, full)
    stats = _stats(ctx, full, full_interval)
    accepted = NewRows(code=ctx.m_uni[ctx.meter_rank(k)], ts=ctx.ts(k), kwh=kwh, row=row)
    rej = pd.concat(rejected, ignore_index=True) if rejected else None
    return Merged(accepted, rej, n_dup, stats)


class _Keys:
    """The (meter, timestamp) pairs of one bucket as sortable ``int64`` keys.

    Meters are ranked densely in the order of their numbers (the sorted
    registry, so in id order). When the bucket's time span fits beside the
    meter rank in 62 bits, the key is ``rank << bits | (ts - t0) / unit``
    (``unit`` 1 s when every time is whole seconds, else 1 ns): no hashing of
    the times at all. Otherwise the distinct times are ranked as well.
    """

    def __init__(self, codes: np.ndarray, ts: np.ndarray, meter_ids, tz):
        self.tz = tz
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) and codes.max() - codes.min() <= 4 * len(codes) + 1_000_000:
            lo = codes.min()
            present = np.zeros(codes.max() - lo + 1, dtype=bool)
            present[codes - lo] = True
            self.m_uni = np.flatnonzero(present) + lo
            m_rank = (np.cumsum(present) - 1)[codes - lo]
        else:
            m_rank, m_uni = pd.factorize(codes, sort=True)
            self.m_uni = np.asarray(m_uni, dtype=np.int64)
        self.ids = np.asarray(meter_ids, dtype=object)[self.m_uni]
        m_rank = m_rank.astype(np.int64)
        self.t0 = int(ts.min()) if len(ts) else 0
        delta = ts - self.t0
        self.unit = 1_000_000_000 if not (delta % 1_000_000_000).any() else 1
        if self.unit > 1:
            delta = delta // self.unit
        self.bits = int(delta.max()).bit_length() if len(delta) else 0
        if self.bits + len(self.m_uni).bit_length() <= 62:
            self.t_uni = None
            self.key = (m_rank << self.bits) | delta
        else:
            t_rank, t_uni = pd.factorize(ts, sort=True)
            self.t_uni = np.asarray(t_uni, dtype=np.int64)
            self.n_t = len(t_uni)
            self.key = m_rank * self.n_t + t_rank

    def meter_rank(self, k):
        return k >> self.bits if self.t_uni is None else k // self.n_t

    def meter(self, k):
        return self.ids[self.meter_rank(k)]

    def ts(self, k):
        """UTC times of keys [ns since 1970-01-01]."""
        if self.t_uni is None:
            return (k & ((1 << self.bits) - 1)) * self.unit + self.t0
        return self.t_uni[k % self.n_t]

    def local(self, t) -> str:
        return pd.Timestamp(int(t), tz="UTC").tz_convert(self.tz).isoformat()

    def local_clock(self, k):
        """Seconds since local midnight [s] of each key, and whether its time has a
        sub-second part."""
        local = local_ns(self.ts(k), self.tz)
        return (local // 1_000_000_000) % 86400, (local % 1_000_000_000) != 0

    def rejects(self, k, kwh, row, column, problem, reasons) -> pd.DataFrame:
        """Rejected-row records of these rows, as the file gave them (UTC times)."""
        frame = pd.DataFrame(
            {
                "meter_id": self.meter(k),
                "timestamp": utc_index(self.ts(k)).astype(str),
                "kwh": kwh,
            },
            index=pd.Index(row, name="row"),
        )
        n = len(frame)
        return rejects_frame(frame, np.ones(n, dtype=bool), [column] * n, [problem] * n, reasons)


def _conflicts(ctx: _Keys, k, kwh, row, conflict, group, size) -> pd.DataFrame:
    """Records of rows whose (meter, timestamp) the file gives different kWh."""
    idx = np.flatnonzero(conflict)
    listing: dict[int, list[str]] = {}
    for i in idx:
        listing.setdefault(int(group[i]), []).append(f"row {row[i]}: {kwh[i]:g}")
    reasons = [
        f"meter {mid} has {int(size[group[i]])} rows for {ctx.local(t)} with different kwh "
        f"({', '.join(listing[int(group[i])])}); none was kept. Keep the one correct row in the "
        f"file and ingest it again."
        for i, mid, t in zip(idx, ctx.meter(k[idx]), ctx.ts(k[idx]), strict=True)
    ]
    return ctx.rejects(k[idx], kwh[idx], row[idx], "kwh", "conflicting_duplicate", reasons)


def _modal_spacing(ctx: _Keys, keys: np.ndarray) -> np.ndarray:
    """Most common spacing of each meter's readings [s] (ties go to the shorter).

    ``keys`` are sorted; the result has one value per meter rank, NaN for a
    meter with fewer than two readings. A meter whose most common spacing is
    one of the accepted intervals by a margin no other spacing can close is
    settled by four counts; only the others are counted value by value.
    """
    n_meters = len(ctx.m_uni)
    out = np.full(max(n_meters, 1), np.nan)
    if len(keys) < 2:
        return out
    m = ctx.meter_rank(keys)
    same = m[1:] == m[:-1]
    if not same.any():
        return out
    t = ctx.ts(keys)
    d = (t[1:] - t[:-1])[same]
    dm = m[1:][same]
    total = np.bincount(dm, minlength=n_meters)
    allowed_ns = (_ALLOWED_S * 1e9).astype(np.int64)
    counts = np.stack([np.bincount(dm[d == a], minlength=n_meters) for a in allowed_ns])
    best = counts.max(axis=0)
    others = total - counts.sum(axis=0)
    sure = best > others  # no other spacing can be as common
    out[sure] = _ALLOWED_S[counts.argmax(axis=0)[sure]]  # first maximum: the shorter
    rest = (total > 0) & ~sure
    if rest.any():
        sel = rest[dm]
        out[rest] = _mode_by_meter(dm[sel], d[sel], n_meters)[rest]
    return out


def _mode_by_meter(dm: np.ndarray, d: np.ndarray, n_meters: int) -> np.ndarray:
    """Most common ``d`` [ns] of each meter rank ``dm``, in seconds (ties: the smaller)."""
    out = np.full(n_meters, np.nan)
    d_rank, d_uni = pd.factorize(d, sort=True)
    n_d = len(d_uni)
    if n_meters * n_d <= _DENSE_COUNTS_MAX:
        counts = np.bincount(dm * n_d + d_rank, minlength=n_meters * n_d).reshape(n_meters, n_d)
        has = counts.max(axis=1) > 0
        best = counts.argmax(axis=1)  # the first maximum: the shortest spacing
        out[has] = np.asarray(d_uni, dtype=np.float64)[best[has]] / 1e9
        return out
    counts = pd.DataFrame({"m": dm, "d": d}).groupby(["m", "d"]).size()
    best = counts.groupby(level=0).idxmax()
    out[[p[0] for p in best]] = [p[1] / 1e9 for p in best]
    return out


def local_ns(ts: np.ndarray, tz) -> np.ndarray:
    """Local wall-clock times in ``tz`` of UTC times, both [ns since 1970-01-01].

    The zone's offset is looked up on a 15-minute grid over the span of
    ``ts`` (a few thousand conversions instead of one per row); rows in a
    grid cell where the offset changes are converted one by one.
    """
    ts = np.asarray(ts, dtype=np.int64)
    if not len(ts):
        return ts.copy()
    step = 900 * 1_000_000_000
    g0 = int(ts.min()) // step * step
    n_cells = (int(ts.max()) - g0) // step + 1
    if n_cells > 2_000_000:
        return utc_index(ts).tz_convert(tz).tz_localize(None).asi8
    edges = g0 + step * np.arange(n_cells + 1, dtype=np.int64)
    offsets = utc_index(edges).tz_convert(tz).tz_localize(None).asi8 - edges
    cell = (ts - g0) // step
    local = ts + offsets[cell]
    changing = offsets[1:] != offsets[:-1]
    if changing.any():
        exact = changing[cell]
        local[exact] = utc_index(ts[exact]).tz_convert(tz).tz_localize(None).asi8
    return local


def _stats(ctx, keys: np.ndarray, interval: np.ndarray) -> pd.DataFrame:
    if not len(keys):
        return pd.DataFrame(columns=["meter_id", "first", "last", "n", "interval_s"])
    m = ctx.meter_rank(keys)
    starts = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    ends = np.append(starts[1:], len(keys)) - 1
    return pd.DataFrame(
        {
            "meter_id": ctx.ids[m[starts]],
            "first": utc_index(ctx.ts(keys[starts])),
            "last": utc_index(ctx.ts(keys[ends])),
            "n": np.diff(np.append(starts, len(keys))),
            "interval_s": interval[m[starts]],
        }
    )


def utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    """UTC times from ``int64`` nanoseconds since 1970-01-01 (no copy)."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize(
        "UTC"
    )


def _fmt_seconds(s) -> str:
    s = float(s)
    if s % 86400 == 0:
        return f"{s / 86400:g} day(s)"
    if s % 3600 == 0:
        return f"{s / 3600:g} h"
    if s % 60 == 0:
        return f"{s / 60:g} min"
    return f"{s:g} s"


__all__ = ["Merged", "NewRows", "merge_rows", "utc_index"]
