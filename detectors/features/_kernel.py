"""The feature kernel: one block of meters at a time, NumPy reductions only.

:func:`block_features` reduces a ``(meters, time)`` block of readings
[kWh per step] to a ``(meters, len(COLUMNS))`` array: no loop over meters,
so it runs unchanged on each dask chunk and on a whole NumPy array, in
slices of a few MiB and, for an in-memory array, on threads. This room lays
the readings out as local hours and days, computes what every family
shares (complete days, daily energy, ``mean_kw``, ``missing_share``, the
status codes) and hands the rest to the feature families:
:mod:`~detectors.features._level`, :mod:`~detectors.features._rhythm`,
:mod:`~detectors.features._weather` and :mod:`~detectors.features._regimes`.
The time axis comes from :mod:`detectors.features._calendar`.

Hourly data is laid out as ``(meters, days, 24)`` local hours; a slot with
no reading (a gap, a DST spring-forward hour, hours before the first step)
is NaN. A *complete day* has every local hour it really has (23, 24 or 25
with DST; the repeated autumn hour is summed into one slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.features._calendar import Calendar
from detectors.features._level import level_features
from detectors.features._reduce import hsum
from detectors.features._regimes import (
    base_step,
    energy_step,
    off_days,
    onoff_features,
    refine_onset,
)
from detectors.features._rhythm import daily_rhythm, hourly_rhythm
from detectors.features._weather import weather_features

OK, DAILY_ONLY, ZERO_LOAD, INSUFFICIENT, NEGATIVE, NO_DATA = 0, 1, 2, 3, 4, 5
STATUS_CODES = {
    "ok": OK,
    "daily_only": DAILY_ONLY,
    "zero_load": ZERO_LOAD,
    "insufficient_data": INSUFFICIENT,
    "negative_readings": NEGATIVE,
    "no_data": NO_DATA,
}

HOURLY_FEATURES = (
    "load_factor",
    "base_load_ratio",
    "plateau_share",
    "night_day_ratio",
    "valley_share",
    "valley_night_cv",
    "darkness_corr",
    "hour_to_hour_variability",
    "daily_periodicity",
    "base_step_ratio",
    "base_step_vs_peer",  # needs the peer level: filled in by detectors.features._extract
    "night_floor_vs_peer",  # likewise
    "floor_bimodality",
)
DAILY_FEATURES = (
    "mean_kw",
    "day_to_day_variability",
    "weekly_periodicity",
    "temperature_sensitivity",
    "temperature_sensitivity_rel",
    "temperature_corr",
    "heating_season_ratio",
    "step_ratio",
    "step_fit",
    "off_day_share",
    "intermittency",
    "idle_day_share",
    "missing_share",
)
COLUMNS = (
    *DAILY_FEATURES,
    *HOURLY_FEATURES,
    "_status",
    "_n_days",
    "_n_negative",
    "_onset_day",
    "_base_step_kw",
    "_night_floor_kw",
)
"""Columns of :func:`block_features`: the features it computes plus bookkeeping."""

SLICE_BYTES = 8 * 2**20
"""Size of one (meters x hours) float64 temporary of the kernel [bytes]."""


@dataclass(frozen=True)
class Options:
    """Per-call settings of the kernels."""

    valley_hours: tuple[int, int] = (23, 7)
    min_days: int = 14


# -- the block kernel ----------------------------------------------------------------


def block_features(
    x: np.ndarray, cal: Calendar, opts: Options, interval, *, n_jobs: int = 1
) -> np.ndarray:
    """Features of one block of meters, computed in slices of a few MiB.

    The kernels are memory-bound: slices whose temporaries stay in cache
    and below glibc's mmap threshold (so freed memory is reused rather than
    faulted in afresh) run several times faster than one large block.

    Parameters
    ----------
    x : ndarray, shape (meters, time)
        Energy per step [kWh], NaN where missing.
    cal : Calendar
    opts : Options
    interval : ndarray, shape (meters,)
        Reading interval of each meter [s]; above 3600 the meter is
        daily-only.
    n_jobs : int, default 1
        Threads over the slices (NumPy releases the GIL in the reductions).

    Returns
    -------
    ndarray, shape (meters, len(COLUMNS))
    """
    x = np.asarray(x, dtype=np.float64)
    interval = np.asarray(interval, dtype=np.float64)
    hours = cal.n_days * 24 if not cal.daily else cal.n_days
    step = max(16, SLICE_BYTES // (8 * max(hours, x.shape[1], 1)))
    if n_jobs > 1:  # an even share of slices per thread
        step = min(step, max(16, -(-x.shape[0] // (2 * n_jobs))))
    if x.shape[0] <= step:
        return _slice_features(x, cal, opts, interval)
    starts = range(0, x.shape[0], step)

    def one(lo: int) -> np.ndarray:
        return _slice_features(x[lo : lo + step], cal, opts, interval[lo : lo + step])

    if n_jobs <= 1:
        return np.concatenate([one(lo) for lo in starts])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(n_jobs, len(starts))) as pool:
        return np.concatenate(list(pool.map(one, starts)))


def _slice_features(x: np.ndarray, cal: Calendar, opts: Options, interval) -> np.ndarray:
    """:func:`block_features` of one slice of meters."""
    m = x.shape[0]
    out = np.full((m, len(COLUMNS)), np.nan)
    if m == 0:
        return out
    col = {c: i for i, c in enumerate(COLUMNS)}
    interval = np.asarray(interval, dtype=np.float64)
    daily_row = np.full(m, cal.daily) | (interval > 3600)
    with np.errstate(all="ignore"):
        res: dict[str, np.ndarray] = {}
        if cal.daily:
            energy = _daily_from_native(x, cal, np.maximum(interval, cal.step_s))
            hours = None
            n_native, hi, lo = _native_stats(x)
        else:
            xh, extra = _hourly(x, cal)
            hours, energy, stats, dmin = _hourly_features(xh, cal, opts, res, extra)
            # one reading per hour slot: the slots hold exactly the readings
            n_native, hi, lo = stats if cal.simple_hourly else _native_stats(x)
            if daily_row.any():
                energy[daily_row] = _daily_from_native(x[daily_row], cal, interval[daily_row])
        n_neg = np.zeros(m, dtype=np.int64)
        if (lo < 0).any():  # rare: count only in the offending rows
            n_neg[lo < 0] = np.count_nonzero(x[lo < 0] < 0, axis=1)
        all_zero = (hi == 0) & (lo == 0)
        # mean level: over valid hours, or from complete days for daily-only meters
        ok = np.isfinite(energy)
        n_ok = ok.sum(axis=1)
        e0 = np.where(ok, energy, 0.0)
        day_hours = (ok * cal.hours_per_day[None, :]).sum(axis=1)
        mean_daily_kw = e0.sum(axis=1) / day_hours
        res["mean_kw"] = (
            mean_daily_kw if hours is None else np.where(daily_row, mean_daily_kw, hours)
        )
        res["missing_share"] = _missing_share(n_native, cal, interval, daily_row)
        onset, before, after, split = energy_step(energy, ok, n_ok, res)
        _daily_features(energy, ok, n_ok, cal, opts, res, split)
        if not cal.daily:
            onset = refine_onset(onset, xh, ok, before, after, daily_row)
            res["base_step_ratio"], res["_base_step_kw"] = base_step(dmin, energy, ok)

    for name, v in res.items():
        out[:, col[name]] = v
    status = np.where(daily_row, DAILY_ONLY, OK)
    status = np.where((n_native > 0) & all_zero, ZERO_LOAD, status)
    status = np.where(n_ok < opts.min_days, INSUFFICIENT, status)
    status = np.where(n_neg > 0, NEGATIVE, status)
    status = np.where(n_native == 0, NO_DATA, status)
    out[:, col["_status"]] = status
    out[:, col["_n_days"]] = n_ok
    out[:, col["_n_negative"]] = n_neg
    out[:, col["_onset_day"]] = onset
    return out


def _native_stats(x: np.ndarray):
    """Readings present, largest and smallest reading of each meter (NaN-skipping)."""
    return (
        np.count_nonzero(~np.isnan(x), axis=1),
        np.fmax.reduce(x, axis=1),
        np.fmin.reduce(x, axis=1),
    )


def _hourly(x: np.ndarray, cal: Calendar):
    """Readings as local hour slots (meters, days * 24) [kWh per hour], NaN = none.

    Returns the slots and, when a local hour repeats (DST autumn), the energy
    [kWh] that the slot layout leaves out, per (meter, day); else None. The
    repeated slot holds the mean of its two hours, a level like any other
    hour, and the day's energy gets the second hour back from the extra.
    """
    m = x.shape[0]
    if cal.simple_hourly and cal.whole_days:
        return x, None
    xh = np.full((m, cal.n_days * 24), np.nan)
    if cal.simple_hourly:
        xh[:, cal.hour_slot] = x
        return xh, None
    valid = ~np.isnan(x)
    sums = np.add.reduceat(np.where(valid, x, 0.0), cal.hour_starts, axis=1)
    counts = np.add.reduceat(valid, cal.hour_starts, axis=1, dtype=np.int32)
    run_len = np.diff(np.r_[cal.hour_starts, cal.n_steps])
    # An hour counts only when the grid covers it fully and every reading is present.
    vals = np.where((counts == cal.expected) & (run_len == cal.expected)[None, :], sums, np.nan)
    first = cal.hour_first
    xh[:, cal.hour_slot[first]] = vals[:, first]
    repeated = np.flatnonzero(~first)
    if not len(repeated):
        return xh, None
    extra = np.zeros((m, cal.n_days))
    for j in repeated:  # a repeated local hour (DST autumn): one or two per year
        slot = cal.hour_slot[j]
        xh[:, slot] = (xh[:, slot] + vals[:, j]) / 2.0
        extra[:, slot // 24] += xh[:, slot]
    return xh, extra


def _daily_from_native(x, cal: Calendar, interval) -> np.ndarray:
    """Daily energy [kWh] of meters read daily (or every few hours), NaN if incomplete.

    A day is complete when it holds the readings its length needs at the
    meter's interval (one for a daily meter).
    """
    m = x.shape[0]
    valid = ~np.isnan(x)
    sums = np.add.reduceat(np.where(valid, x, 0.0), cal.day_starts, axis=1)
    counts = np.add.reduceat(valid, cal.day_starts, axis=1, dtype=np.int32)
    need = np.maximum(
        1, np.rint(cal.hours_per_day[None, cal.day_run_day] * 3600.0 / interval[:, None])
    )
    out = np.full((m, cal.n_days), np.nan)
    out[:, cal.day_run_day] = np.where(counts >= need, sums, np.nan)
    return out


def _missing_share(n_native, cal: Calendar, interval, daily_row) -> np.ndarray:
    # Daily-only meters in a finer grid hold one reading per interval, not per step.
    expected = np.where(
        daily_row & ~cal.daily,
        np.maximum(1.0, np.rint(cal.hours_per_day.sum() * 3600.0 / interval)),
        cal.n_steps,
    )
    return 1.0 - np.minimum(n_native, expected) / expected


def _hourly_features(xh, cal: Calendar, opts: Options, res, extra=None):
    """Hourly-shape features into ``res``.

    Returns the mean load [kW], the daily energy [kWh] (NaN unless
    complete), the valid hours, largest and smallest hourly value, and the
    lowest hour of each complete day [kW].

    Written for few passes over the (meters, days, 24) array: the kernel
    is memory-bound, so each full-size temporary costs about as much as a
    reduction. The arrays every family needs are made once here.
    """
    m = xh.shape[0]
    n_days = cal.n_days
    x3 = xh.reshape(m, n_days, 24)
    valid3 = ~np.isnan(x3)
    x0 = np.where(valid3, x3, 0.0)
    v8 = valid3.view(np.uint8)
    dsum = hsum(x0)
    dcnt = hsum(v8).astype(np.int64)
    n_h = dcnt.sum(axis=1)
    mean_kw = dsum.sum(axis=1) / n_h
    day_ok = (dcnt == cal.slots_per_day[None, :]) & (cal.slots_per_day[None, :] >= 23)
    energy = np.where(day_ok, dsum if extra is None else dsum + extra, np.nan)

    peak, low, dmin = level_features(xh, x3, day_ok, mean_kw, n_h, res)
    hourly_rhythm(xh, x0, v8, dsum, day_ok, mean_kw, cal, opts, res)
    return mean_kw, energy, (n_h, peak, low), dmin


def _daily_features(energy, ok, n_ok, cal: Calendar, opts: Options, res, split) -> None:
    """Features of daily energy into ``res``: rhythm, weather and on/off regimes."""
    e0 = np.where(ok, energy, 0.0)
    mean_e = e0.sum(axis=1) / n_ok
    off, p90 = off_days(energy, ok, n_ok)
    daily_rhythm(energy, ok, e0, mean_e, off, cal, res)
    weather_features(energy, ok, off, split, cal, opts, res)
    onoff_features(energy, ok, n_ok, off, p90, res)
