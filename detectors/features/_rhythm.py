"""Daily and weekly rhythm: the shape of a meter's load over the clock and the week.

The features of the *rhythm* family. From the hourly layout
``(meters, days, 24)``: ``night_day_ratio``, ``valley_share``,
``valley_night_cv``, ``darkness_corr``, ``hour_to_hour_variability`` and
``daily_periodicity`` (:func:`hourly_rhythm`); from daily energy:
``day_to_day_variability`` and ``weekly_periodicity``
(:func:`daily_rhythm`). Human activity gives ordinary loads a daily and a
weekly cycle and jumps from hour to hour; a rig's constant draw has none,
and a valley-only rig or street lighting has a rhythm of its own. See
:data:`detectors.features.FEATURES` for each feature's reasoning.
"""

from __future__ import annotations

import numpy as np

from detectors.features._reduce import MIN_SEGMENT_DAYS, hsum, robust_cv
from detectors.features._regimes import latest_regime

NIGHT_HOURS = (0, 5)
"""Local hours ``[start, end)`` of the night mean in ``night_day_ratio``."""
DAY_HOURS = (10, 16)
"""Local hours ``[start, end)`` of the day mean in ``night_day_ratio``."""


def hourly_rhythm(xh, x0, v8, dsum, day_ok, mean_kw, cal, opts, res) -> None:
    """The hourly-shape features of the rhythm family into ``res``.

    Parameters
    ----------
    xh : ndarray, shape (meters, days * 24)
        Hourly energy [kWh per hour = kW], NaN where missing.
    x0 : ndarray, shape (meters, days, 24)
        The same as local days, 0 where missing.
    v8 : ndarray of uint8, shape (meters, days, 24)
        1 where an hour is present.
    dsum : ndarray, shape (meters, days)
        Energy of the hours present on each day [kWh].
    day_ok : ndarray of bool, shape (meters, days)
        Complete days.
    mean_kw : ndarray, shape (meters,)
        Mean load over the valid hours [kW].
    cal : detectors.features._calendar.Calendar
    opts : detectors.features._kernel.Options
    res : dict
        Feature name -> values, filled in place.
    """
    # mean load profile by local hour over complete days (night/day ratio, daily cycle)
    okf = day_ok.astype(np.float64)
    prof_e = np.einsum("mdh,md->mh", x0, okf)
    prof_n = np.einsum("mdh,md->mh", v8, day_ok.view(np.uint8), dtype=np.int64)
    n0, n1 = NIGHT_HOURS
    d0, d1 = DAY_HOURS
    night = prof_e[:, n0:n1].sum(axis=1) / prof_n[:, n0:n1].sum(axis=1)
    day = prof_e[:, d0:d1].sum(axis=1) / prof_n[:, d0:d1].sum(axis=1)
    res["night_day_ratio"] = night / np.maximum(day, 0.01 * mean_kw)

    s, e = opts.valley_hours
    if s > e:  # the valley spans midnight: evening of day d-1 plus morning of day d
        eve, morn = hsum(x0[:, :, s:]), hsum(x0[:, :, :e])
        v_day = eve + morn
        v_night = eve[:, :-1] + morn[:, 1:]
        v_ok = day_ok[:, :-1] & day_ok[:, 1:]
    else:
        v_day = hsum(x0[:, :, s:e])
        v_night, v_ok = v_day, day_ok
    total_ok = np.where(day_ok, dsum, 0.0).sum(axis=1)
    res["valley_share"] = np.where(
        total_ok > 0, np.where(day_ok, v_day, 0.0).sum(axis=1) / total_ok, np.nan
    )
    # robust, over the nights of the latest regime: a rig's off nights and the nights
    # before its onset say nothing about how constant it runs
    res["valley_night_cv"] = robust_cv(v_night, latest_regime(v_night, v_ok))

    # street lighting: Pearson correlation of the hourly load with darkness, complete days
    n_pts = okf @ cal.slots_per_day.astype(np.float64)
    sx = (okf * dsum).sum(axis=1)
    sxx = (okf * np.einsum("mdh,mdh->md", x0, x0)).sum(axis=1)
    sxd = (okf * np.einsum("mdh,dh->md", x0, cal.dark)).sum(axis=1)
    sd, sdd = okf @ cal.dark.sum(axis=1), okf @ (cal.dark**2).sum(axis=1)
    vx, vd = sxx - sx * sx / n_pts, sdd - sd * sd / n_pts
    r = (sxd - sx * sd / n_pts) / np.sqrt(np.maximum(vx, 0.0) * vd)
    flat = vx <= 1e-10 * sxx  # only rounding left: the load does not vary
    res["darkness_corr"] = np.where(
        (day_ok.sum(axis=1) >= MIN_SEGMENT_DAYS) & (vd > 0), np.where(flat, 0.0, r), np.nan
    )

    d = np.diff(xh, axis=1)
    np.abs(d, out=d)
    dok = ~np.isnan(d)
    mad = np.sum(d, axis=1, where=dok) / np.count_nonzero(dok, axis=1)
    del d, dok
    res["hour_to_hour_variability"] = np.where(mean_kw > 0, mad / mean_kw, np.nan)

    # daily cycle: amplitude of the mean 24-h profile over complete days
    has = prof_n > 0  # an hour never seen (DST spring) drops out of the profile
    n_hod = has.sum(axis=1)
    prof = np.where(has, prof_e / np.maximum(prof_n, 1), 0.0)
    pm = prof.sum(axis=1) / n_hod
    amp = np.sqrt(np.where(has, (prof - pm[:, None]) ** 2, 0.0).sum(axis=1) / n_hod)
    res["daily_periodicity"] = np.where(
        (day_ok.sum(axis=1) >= MIN_SEGMENT_DAYS) & (pm > 0), amp / pm, np.nan
    )


def daily_rhythm(energy, ok, e0, mean_e, off, cal, res) -> None:
    """``day_to_day_variability`` and ``weekly_periodicity`` into ``res``.

    Parameters
    ----------
    energy : ndarray, shape (meters, days)
        Daily energy [kWh], NaN unless the day is complete.
    ok : ndarray of bool, shape (meters, days)
        Complete days.
    e0 : ndarray, shape (meters, days)
        ``energy`` with 0 on incomplete days.
    mean_e : ndarray, shape (meters,)
        Mean daily energy over the complete days [kWh].
    off : ndarray of bool, shape (meters, days)
        Off days of a two-level meter (:func:`detectors.features._regimes.off_days`).
    cal : detectors.features._calendar.Calendar
    res : dict
        Feature name -> values, filled in place.
    """
    d = energy[:, 1:] - energy[:, :-1]
    # Changes between days in the same on/off state: a rig switched off on some days
    # varies in whole-day blocks, but is as steady as any rig from one on-day to the next.
    dok = np.isfinite(d) & (off[:, 1:] == off[:, :-1])
    n_pairs = dok.sum(axis=1)
    mad = np.where(dok, np.abs(d), 0.0).sum(axis=1) / n_pairs
    res["day_to_day_variability"] = np.where(
        (n_pairs >= MIN_SEGMENT_DAYS) & (mean_e > 0), mad / mean_e, np.nan
    )

    # weekly cycle: amplitude of the weekday means of daily energy after removing a
    # centred 7-day moving mean (which keeps a weekly cycle and drops trends and steps)
    n_days = energy.shape[1]
    cs = np.concatenate([np.zeros((len(e0), 1)), np.cumsum(e0, axis=1)], axis=1)
    cc = np.concatenate([np.zeros((len(e0), 1)), np.cumsum(ok, axis=1)], axis=1)
    idx = np.arange(n_days)
    lo, hi = np.maximum(idx - 3, 0), np.minimum(idx + 4, n_days)
    cnt = cc[:, hi] - cc[:, lo]
    moving = (cs[:, hi] - cs[:, lo]) / np.maximum(cnt, 1)
    rok = ok & (cnt >= 4)
    resid = np.where(rok, energy - moving, 0.0)
    weekday = np.eye(7)[cal.weekday]  # (D, 7) one-hot
    w_sum = resid @ weekday
    w_n = rok.astype(np.float64) @ weekday
    w_mean = w_sum / np.maximum(w_n, 1)
    w_amp = np.sqrt(((w_mean - w_mean.mean(axis=1, keepdims=True)) ** 2).mean(axis=1))
    res["weekly_periodicity"] = np.where(
        (w_n.min(axis=1) >= 2) & (mean_e > 0), w_amp / mean_e, np.nan
    )
