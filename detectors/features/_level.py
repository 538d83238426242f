"""Load level and base load: how much a meter draws, and how flat it holds.

The features of the *level* family, from the hourly layout
``(meters, days, 24)``: ``load_factor`` (mean over peak),
``base_load_ratio`` (the day's lowest hour over the mean),
``plateau_share`` (hours near the meter's upper level), the night floor
(the lowest night hour, which :mod:`detectors.features._extract` turns into
``night_floor_vs_peer``) and ``floor_bimodality`` (how cleanly the nightly
floors fall into two levels: a constant block switched on and off). A rig runs at
constant power around the clock, so it lifts all three towards 1; see
:data:`detectors.features.FEATURES` for why each separates mining from the
confounders. ``mean_kw`` itself is computed by the kernel
(:mod:`detectors.features._kernel`), which every family shares, and the
peer comparison of the level by :mod:`detectors.features._peers`.
"""

from __future__ import annotations

import numpy as np

from detectors.features._reduce import MIN_SEGMENT_DAYS, day_min, sorted_quantile
from detectors.features._regimes import latest_regime, upward_split_medians

PLATEAU_QUANTILE, PLATEAU_BAND = 0.9, 0.8
"""``plateau_share``: hours at or above 80 % of the 90th-percentile hourly load."""

NIGHT_FLOOR_HOURS = (0, 5)
"""Local hours ``[start, end)`` whose lowest load is the night floor (``night_floor_vs_peer``):
inside the valley tariff, when a home's appliances are off and a rig, 24/7 or valley-only,
still runs."""

BIMODAL_MIN_SHARE = 0.05
"""``floor_bimodality``: smallest share of the nights in either level (at least 2 nights).
Below the 10-20 % of days a price-driven miner stops, above a handful of odd nights."""
BIMODAL_SPREAD_FLOOR = 0.01
"""``floor_bimodality``: the spread of the two levels is taken as at least 1 % of the upper
level, a rig's own hour-to-hour noise, so that two exactly constant levels stay finite."""


def level_features(xh, x3, day_ok, mean_kw, n_h, res):
    """``load_factor``, ``base_load_ratio``, ``plateau_share`` and ``floor_bimodality`` into ``res``.

    Parameters
    ----------
    xh : ndarray, shape (meters, days * 24)
        Hourly energy [kWh per hour = kW], NaN where missing.
    x3 : ndarray, shape (meters, days, 24)
        The same array seen as local days.
    day_ok : ndarray of bool, shape (meters, days)
        Complete days.
    mean_kw : ndarray, shape (meters,)
        Mean load over the valid hours [kW].
    n_h : ndarray, shape (meters,)
        Valid hours.
    res : dict
        Feature name -> values, filled in place.

    Returns
    -------
    peak, low : ndarray, shape (meters,)
        Largest and smallest hourly value [kW] (NaN-skipping).
    dmin : ndarray, shape (meters, days)
        Lowest hour of each complete day [kW], NaN on other days.
    """
    peak = np.fmax.reduce(xh, axis=1)  # fmax: NaN-skipping
    res["load_factor"] = np.where(peak > 0, mean_kw / peak, np.nan)

    # base load: the median over complete days of the day's lowest hour, so that
    # off days (vacancy, price-driven stops, maintenance) do not set it
    dmin = day_min(x3)
    low = np.fmin.reduce(dmin, axis=1)  # over every reading: catches negative ones
    dmin = np.where(day_ok, dmin, np.nan)
    base = sorted_quantile(np.sort(dmin, axis=1), day_ok.sum(axis=1), 0.5)
    res["base_load_ratio"] = np.where(mean_kw > 0, base / mean_kw, np.nan)

    # float32 halves the sort's memory traffic; 7 digits are plenty for a threshold
    upper = sorted_quantile(np.sort(xh.astype(np.float32), axis=1), n_h, PLATEAU_QUANTILE)
    at_top = np.count_nonzero(xh >= (PLATEAU_BAND * upper)[:, None], axis=1)
    res["plateau_share"] = np.where(upper > 0, at_top / n_h, np.where(n_h > 0, 0.0, np.nan))

    # night floor: the median over complete days of the lowest night hour [kW], of
    # the days after the best upward split of it when there is one (the meter's
    # latest regime: a rig switched on partway); the median keeps the off days of a
    # price-driven rig (10-20 %) from setting it
    a, b = NIGHT_FLOOR_HOURS
    nmin = np.where(day_ok, day_min(x3[:, :, a:b]), np.nan)
    overall = sorted_quantile(np.sort(nmin, axis=1), day_ok.sum(axis=1), 0.5)
    found, _before, after, _ = upward_split_medians(nmin)
    res["_night_floor_kw"] = np.where(found, np.fmax(after, overall), overall)

    # two levels of the night floor, over its latest regime (after an upward split of
    # 1.5x or more, as valley_night_cv): a rig switched on partway keeps its on and off
    # nights there, while a home back from weeks away, or one whose floor the heating
    # season lifts, has its two levels in two long blocks, of which only the last is left
    # (every night when that regime is too short to judge)
    nights = day_ok & ~np.isnan(nmin)
    latest = latest_regime(nmin, nights)
    short = latest.sum(axis=1) < 2 * MIN_SEGMENT_DAYS
    latest = np.where(short[:, None], nights, latest)
    res["floor_bimodality"], _gap = floor_bimodality(np.where(latest, nmin, np.nan))
    return peak, low, dmin


def floor_bimodality(nmin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ashman's D of the nightly floors split into two levels, and the gap between them.

    The nights are split at the least-squares (Otsu) threshold, the one that
    maximises the between-level variance, with at least
    :data:`BIMODAL_MIN_SHARE` of the nights on either side; then
    ``D = sqrt(2) (m_hi - m_lo) / sqrt(s_lo^2 + s_hi^2)`` with ``m`` the
    median and ``s`` the robust standard deviation (1.4826 MAD) of each level,
    ``sqrt(s_lo^2 + s_hi^2)`` floored at :data:`BIMODAL_SPREAD_FLOOR` of
    ``m_hi``. D above 2 means two cleanly separated levels. A constant block
    switched on and off by whole days (a rig's stops, its onset) makes the
    floor jump between two levels a rig's power apart, each as narrow as the
    household's own night floor; a real home's floor wanders (fridge cycles,
    standby, heating), so its levels overlap (D about 2-5). With the spread
    floor, D is at most ``sqrt(2) / BIMODAL_SPREAD_FLOOR`` (141).

    Parameters
    ----------
    nmin : ndarray, shape (meters, days)
        Lowest night hour of each complete day [kW], NaN on other days.

    Returns
    -------
    d : ndarray, shape (meters,)
        D [1]; 0 when the floor never changes, NaN with fewer than
        ``2 * MIN_SEGMENT_DAYS`` nights (non-NaN entries).
    gap : ndarray, shape (meters,)
        ``m_hi - m_lo`` [kW] (the power of the block a rig would be); 0 and NaN
        as ``d``.

    References
    ----------
    .. [1] Ashman, K. M., Bird, C. M. and Zepf, S. E. (1994). Detecting
       bimodality in astronomical datasets. Astronomical Journal 108(6),
       2348-2361.
    .. [2] Otsu, N. (1979). A threshold selection method from gray-level
       histograms. IEEE Transactions on Systems, Man, and Cybernetics 9(1), 62-66.
    """
    m, n_days = nmin.shape
    s = np.sort(nmin, axis=1)  # NaN last
    n = np.count_nonzero(~np.isnan(nmin), axis=1)
    out = np.full(m, np.nan)
    if n_days < 2:
        return out, out.copy()
    rows = np.arange(m)
    s0 = np.where(np.isnan(s), 0.0, s)
    cs = np.cumsum(s0, axis=1)
    k = np.arange(1, n_days + 1)[None, :]  # nights in the lower level
    nn = n[:, None]
    m1 = cs / k
    m2 = (cs[rows, np.maximum(n - 1, 0)][:, None] - cs) / np.maximum(nn - k, 1)
    k0 = np.maximum(np.ceil(BIMODAL_MIN_SHARE * n), 2)[:, None]
    gain = np.where((k >= k0) & (nn - k >= k0), k * (nn - k) * (m2 - m1) ** 2, -1.0)
    kb = np.argmax(gain, axis=1) + 1
    split = gain[rows, kb - 1] > 0
    lower = np.arange(n_days)[None, :] < kb[:, None]
    upper = ~lower & (np.arange(n_days)[None, :] < n[:, None])
    med_lo = _quantile_between(s, np.zeros(m, dtype=np.int64), kb)
    med_hi = _quantile_between(s, kb, n - kb)
    dev = np.where(lower, np.abs(s - med_lo[:, None]), np.nan)
    s_lo = 1.4826 * sorted_quantile(np.sort(dev, axis=1), kb, 0.5)
    dev = np.where(upper, np.abs(s - med_hi[:, None]), np.nan)
    s_hi = 1.4826 * sorted_quantile(np.sort(dev, axis=1), n - kb, 0.5)
    gap = med_hi - med_lo
    spread = np.fmax(np.sqrt(s_lo**2 + s_hi**2), BIMODAL_SPREAD_FLOOR * np.abs(med_hi))
    has = split & (gap > 0)
    d = np.where(has, np.sqrt(2.0) * gap / np.where(spread > 0, spread, 1.0), 0.0)
    enough = n >= 2 * MIN_SEGMENT_DAYS
    return np.where(enough, d, out), np.where(enough, np.where(has, gap, 0.0), out)


def _quantile_between(s, start, count) -> np.ndarray:
    """Median of ``s[i, start_i : start_i + count_i]`` (rows sorted ascending)."""
    pos = start + 0.5 * np.maximum(count - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, start + np.maximum(count - 1, 0)).astype(np.int64)
    rows = np.arange(s.shape[0])
    a, b = s[rows, lo], s[rows, hi]
    return np.where(count > 0, a + (pos - lo) * (b - a), np.nan)
