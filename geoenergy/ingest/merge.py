"""Merge the new readings of one bucket with the stored ones, on sorted integer keys.

This room holds the arithmetic of a readings ingestion once the rows are
valid one by one: duplicates and conflicts inside the file and against the
store, each meter's interval, the grid check, and the meters' statistics.

Every (meter, timestamp) pair becomes one ``int64`` key: meters and
timestamps of the bucket are numbered densely in sorted order
(``key = meter_rank * n_timestamps + timestamp_rank``), so sorting, grouping
and matching against the store are NumPy sorts, differences and binary
searches instead of hash joins of strings. Rows arrive in file order and
readings files are usually sorted by meter and time, so the stable sorts
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
    m_rank, m_uni = pd.factorize(np.concatenate([new.code, old_code]), sort=True)
    t_rank, t_uni = pd.factorize(np.concatenate([new.ts, old_ts]), sort=True)
    n_t = max(len(t_uni), 1)
    key = m_rank.astype(np.int64) * n_t + t_rank
    k_new, k_old = key[:n_new], key[n_new:]
    ids = np.asarray(meter_ids, dtype=object)[np.asarray(m_uni, dtype=np.int64)]
    t_uni = np.asarray(t_uni, dtype=np.int64)
    ctx = _Context(ids, t_uni, n_t, tz)
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
    interval = _modal_spacing(comb, t_uni, n_t, len(m_uni))
    iv = interval[k // n_t]
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
    sec, sub_s = ctx.local_clock()
    tr = k % n_t
    ivv = np.where(np.isnan(iv), 1, iv).astype(np.int64)
    off_grid = allowed & ~np.isnan(iv) & (((sec[tr] % np.maximum(ivv, 1)) != 0) | sub_s[tr])
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
        full_interval = _modal_spacing(full, t_uni, n_t, len(m_uni))
    stats = _stats(ctx, full, full_interval)
    accepted = NewRows(
        code=np.asarray(m_uni, dtype=np.int64)[k // n_t], ts=t_uni[k % n_t], kwh=kwh, row=row
    )
    rej = pd.concat(rejected, ignore_index=True) if rejected else None
    return Merged(accepted, rej, n_dup, stats)


class _Context:
    """Turns keys back into meter ids and times, for messages and statistics."""

    def __init__(self, ids, t_uni, n_t, tz):
        self.ids, self.t_uni, self.n_t, self.tz = ids, t_uni, n_t, tz

    def meter(self, k):
        return self.ids[k // self.n_t]

    def ts(self, k):
        return self.t_uni[k % self.n_t]

    def local(self, t) -> str:
        return pd.Timestamp(int(t), tz="UTC").tz_convert(self.tz).isoformat()

    def local_clock(self):
        """Seconds since local midnight [s], and whether a sub-second part exists,
        of each distinct timestamp."""
        local = utc_index(self.t_uni).tz_convert(self.tz).tz_localize(None).asi8
        sec = (local // 1_000_000_000) % 86400
        return sec, (local % 1_000_000_000) != 0

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


def _conflicts(ctx, k, kwh, row, conflict, group, size) -> pd.DataFrame:
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


def _modal_spacing(keys: np.ndarray, t_uni: np.ndarray, n_t: int, n_meters: int) -> np.ndarray:
    """Most common spacing of each meter's readings [s] (ties go to the shorter).

    ``keys`` are sorted; the result has one value per meter rank, NaN for a
    meter with fewer than two readings.
    """
    out = np.full(max(n_meters, 1), np.nan)
    if len(keys) < 2:
        return out
    m = keys // n_t
    t = t_uni[keys % n_t]
    same = m[1:] == m[:-1]
    if not same.any():
        return out
    d = (t[1:] - t[:-1])[same]
    dm = m[1:][same]
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


def _stats(ctx, keys: np.ndarray, interval: np.ndarray) -> pd.DataFrame:
    if not len(keys):
        return pd.DataFrame(columns=["meter_id", "first", "last", "n", "interval_s"])
    m = keys // ctx.n_t
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
