"""Load level and base load: how much a meter draws, and how flat it holds.

The features of the *level* family, from the hourly layout
``(meters, days, 24)``: ``load_factor`` (mean over peak),
``base_load_ratio`` (the day's lowest hour over the mean),
``plateau_share`` (hours near the meter's upper level) and the night floor
(the lowest night hour, which :mod:`detectors.features._extract` turns into
``night_floor_vs_peer``). A rig runs at
constant power around the clock, so it lifts all three towards 1; see
:data:`detectors.features.FEATURES` for why each separates mining from the
confounders. ``mean_kw`` itself is computed by the kernel
(:mod:`detectors.features._kernel`), which every family shares, and the
peer comparison of the level by :mod:`detectors.features._peers`.
"""

from __future__ import annotations

import numpy as np

from detectors.features._reduce import day_min, sorted_quantile
from detectors.features._regimes import upward_split_medians

PLATEAU_QUANTILE, PLATEAU_BAND = 0.9, 0.8
"""``plateau_share``: hours at or above 80 % of the 90th-percentile hourly load."""

NIGHT_FLOOR_HOURS = (0, 5)
"""Local hours ``[start, end)`` whose lowest load is the night floor (``night_floor_vs_peer``):
inside the valley tariff, when a home's appliances are off and a rig, 24/7 or valley-only,
still runs."""


def level_features(xh, x3, day_ok, mean_kw, n_h, res):
    """``load_factor``, ``base_load_ratio`` and ``plateau_share`` into ``res``.

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
    return peak, low, dmin
