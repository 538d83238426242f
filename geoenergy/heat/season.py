"""When recovered heat is useful: the heating season and a year-round base demand.

A data centre produces heat around the clock, but a space-heating network
only takes it during the heating season. The analysis lays every site's
heat on the hours of one reference year (local time) and counts as usable
only the heat that overlaps demand: all of it inside the season, and a
configurable base share (domestic hot water) outside it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "BEIJING_HEATING_SEASON",
    "heating_season_mask",
    "parse_month_day",
    "reference_hours",
    "reference_profile",
    "usable_heat",
]

BEIJING_HEATING_SEASON = ("11-15", "03-15")
"""Beijing's statutory heating period, 15 November to 15 March inclusive
(北京市供热采暖管理办法, 2010: the heating period runs from 15 November to
15 March of the following year)."""

_MD = re.compile(r"^(\d{1,2})-(\d{1,2})$")


def parse_month_day(value) -> tuple[int, int]:
    """``"MM-DD"`` -> (month, day); raises ValueError naming the value."""
    m = _MD.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not a month-day like '11-15'; use MM-DD.")
    month, day = int(m.group(1)), int(m.group(2))
    try:
        pd.Timestamp(year=2023, month=month, day=day)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid day of a non-leap year; use MM-DD.") from None
    return month, day


def reference_hours(year: int = 2023) -> pd.DatetimeIndex:
    """The 8,760 local (naive) hours of a non-leap reference year."""
    if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        raise ValueError(f"year must be a non-leap year (8760 h), got {year}; e.g. 2023.")
    return pd.date_range(f"{year}-01-01", periods=8760, freq="h")


def heating_season_mask(times, start: str = "11-15", end: str = "03-15") -> np.ndarray:
    """True for the hours inside the heating season.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Local times (naive, or aware in the local zone).
    start, end : str
        ``"MM-DD"`` first and last day of the season, inclusive. A season
        that wraps the new year (start after end) is handled.

    Returns
    -------
    numpy.ndarray of bool

    References
    ----------
    :data:`BEIJING_HEATING_SEASON` for the defaults.
    """
    if not isinstance(times, pd.DatetimeIndex):
        raise TypeError(f"times must be a pandas DatetimeIndex, got {type(times).__name__}.")
    m0, d0 = parse_month_day(start)
    m1, d1 = parse_month_day(end)
    md = times.month.to_numpy() * 100 + times.day.to_numpy()
    a, b = m0 * 100 + d0, m1 * 100 + d1
    if a <= b:
        return (md >= a) & (md <= b)
    return (md >= a) | (md <= b)


def reference_profile(series: pd.Series, *, year: int = 2023, timezone: str = "Asia/Shanghai"):
    """Lay a metered load on the 8,760 hours of a reference year.

    Each reference hour takes the mean of the metered values of the same
    calendar month and hour of day; months without readings take the
    hour-of-day mean over all readings. A full metered year is thus
    reproduced month by month, and a few weeks of readings still give a
    daily shape at the right level.

    Parameters
    ----------
    series : pandas.Series
        Hourly values (e.g. load [MW]) on a timezone-aware DatetimeIndex.
    year : int
        Non-leap reference year.
    timezone : str
        Local zone in which months and hours are counted.

    Returns
    -------
    numpy.ndarray
        8,760 values; NaN everywhere when ``series`` has no finite value.
    """
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("series must be a pandas Series on a DatetimeIndex.")
    if series.index.tz is None:
        raise ValueError("series needs a timezone-aware index (readings are stored in UTC).")
    hours = reference_hours(year)
    s = series.dropna()
    if s.empty:
        return np.full(len(hours), np.nan)
    local = s.index.tz_convert(timezone)
    frame = pd.DataFrame({"v": s.to_numpy(), "m": local.month, "h": local.hour})
    by_mh = frame.groupby(["m", "h"])["v"].mean()
    by_h = frame.groupby("h")["v"].mean()
    overall = float(frame["v"].mean())
    key = pd.MultiIndex.from_arrays([hours.month, hours.hour])
    out = by_mh.reindex(key).to_numpy()
    fill = by_h.reindex(hours.hour).to_numpy()
    out = np.where(np.isfinite(out), out, fill)
    return np.where(np.isfinite(out), out, overall)


def usable_heat(delivered_mw, season_mask, *, base_demand_fraction: float = 0.0):
    """Heat that overlaps demand over the reference year.

    Parameters
    ----------
    delivered_mw : array_like
        Heat the site can deliver in each reference hour [MW_th] (one value
        applies to every hour).
    season_mask : array_like of bool
        Heating-season hours (:func:`heating_season_mask`).
    base_demand_fraction : float
        Share of the delivered heat the network takes outside the season
        (domestic hot water) [-].

    Returns
    -------
    dict
        ``theoretical_mwh`` (all hours) and ``usable_mwh`` [MWh_th/yr],
        ``usable_hours`` (hours with any use) and ``usable_mw`` (the hourly
        usable heat [MW_th], an array like ``season_mask``).
    """
    mask = np.asarray(season_mask, dtype=bool)
    q = np.broadcast_to(np.asarray(delivered_mw, dtype=float), mask.shape)
    if np.any(q[np.isfinite(q)] < 0):
        raise ValueError("delivered_mw must be >= 0 [MW_th].")
    if not 0.0 <= base_demand_fraction <= 1.0:
        raise ValueError(f"base_demand_fraction must lie in [0, 1], got {base_demand_fraction!r}.")
    share = np.where(mask, 1.0, base_demand_fraction)
    used = q * share
    return {
        "theoretical_mwh": float(np.nansum(q)),
        "usable_mwh": float(np.nansum(used)),
        "usable_hours": int(np.count_nonzero(used > 0)),
        "usable_mw": used,
    }
