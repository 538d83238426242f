"""The calendar of a dataset: how its time steps fall on local days and hours.

:func:`build_calendar` turns the time axis of a dataset into index arrays
(local day, local hour, valley hours, heating season, weekday, hours of
darkness, daily temperature) that are the same for every meter, so the
feature kernels (:mod:`detectors.features._kernel`) reduce each block of
meters with NumPy alone. The sun's position for ``darkness_corr`` lives
here too (:func:`sun_hours`, :func:`darkness`).

A local day has the hours it really has (23, 24 or 25 with DST); the
calendar records them, and where the clock repeats an hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Calendar:
    """How the time steps of a dataset map onto local days and hours.

    Attributes
    ----------
    step_s : float
        Time step of the dataset [s].
    daily : bool
        Steps coarser than 1 h: every meter gets the daily features only.
    n_steps : int
    dates : ndarray of datetime64[D], shape (D,)
        Local dates from the first to the last step.
    hours_per_day : ndarray of float, shape (D,)
        Real hours of each local day (23/24/25 with DST) [h].
    slots_per_day : ndarray of int, shape (D,)
        Hour slots a complete day fills (``min(hours, 24)``).
    hour_starts, hour_slot, hour_first : ndarray
        Runs of consecutive steps in one local hour: first step, slot
        (``day * 24 + hour``), and whether it is the first run of its slot.
    expected : int
        Steps in a complete hour (``3600 / step_s``).
    day_starts, day_run_day : ndarray
        Runs of consecutive steps in one local day: first step, day index.
    temp : ndarray of float, shape (D,), or None
        Daily mean temperature [degC], NaN where unknown.
    heating : ndarray of bool, shape (D,)
    weekday : ndarray of int, shape (D,)
        Day of week of each local date (Monday 0).
    dark : ndarray of float, shape (D, 24)
        Share of each local hour with the sun below the horizon.
    """

    step_s: float
    daily: bool
    n_steps: int
    dates: np.ndarray
    hours_per_day: np.ndarray
    slots_per_day: np.ndarray
    hour_starts: np.ndarray
    hour_slot: np.ndarray
    hour_first: np.ndarray
    expected: int
    day_starts: np.ndarray
    day_run_day: np.ndarray
    temp: np.ndarray | None
    heating: np.ndarray
    dark: np.ndarray
    weekday: np.ndarray

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def whole_days(self) -> bool:
        """The steps are exactly the slots ``0 .. days * 24 - 1``: no re-layout needed."""
        return (
            self.simple_hourly
            and self.n_steps == self.n_days * 24
            and bool((self.hour_slot == np.arange(self.n_steps)).all())
        )

    @property
    def simple_hourly(self) -> bool:
        """One step per hour slot and no repeated slot: the fast path."""
        return (
            not self.daily
            and self.expected == 1
            and bool(self.hour_first.all())
            and len(self.hour_slot) == self.n_steps
        )


def build_calendar(
    ds, *, temp=None, heating_season=((11, 15), (3, 15)), latitude=39.9, longitude=116.4
):
    """The :class:`Calendar` of ``ds`` (uses only its coordinates and attrs).

    Parameters
    ----------
    ds : xarray.Dataset
        With a ``time`` coordinate (naive datetime64), optionally
        ``local_time`` and ``attrs["timezone"]``, ``attrs["step_s"]`` [s].
    temp : Series, optional
        Daily mean temperature [degC] indexed by local date.
    heating_season : ((int, int), (int, int))
        First and last (month, day) of the heating season.
    latitude, longitude : float
        [deg north], [deg east], for the hours of darkness.
    """
    time = pd.DatetimeIndex(np.asarray(ds["time"].values))
    if time.tz is not None:
        time = time.tz_convert("UTC").tz_localize(None)
    if time.hasnans:
        raise ValueError(
            "ds.time has missing values (NaT); drop those steps with ds.dropna('time')."
        )
    if not time.is_monotonic_increasing or time.has_duplicates:
        raise ValueError(
            "ds.time must be strictly increasing; sort and deduplicate with "
            "ds.sortby('time').drop_duplicates('time')."
        )
    tz = ds.attrs.get("timezone")
    known_zone = True
    if "local_time" in ds.coords and ds["local_time"].dims == ("time",):
        local = pd.DatetimeIndex(np.asarray(ds["local_time"].values))
        tz = tz or ds["local_time"].attrs.get("timezone")
    elif tz:
        src = ds["time"].attrs.get("timezone", "UTC")
        local = time.tz_localize(src).tz_convert(tz).tz_localize(None)
    else:
        local = time
        known_zone = False
    if local.tz is not None:
        local = local.tz_localize(None)

    step = ds.attrs.get("step_s")
    if step is None:
        secs = np.diff(time.to_numpy().astype("datetime64[ns]").astype(np.int64)) / 1e9
        step = float(np.median(secs)) if len(time) > 1 else 3600.0
    step = float(step)
    if not step > 0:
        raise ValueError(f"ds.attrs['step_s'] must be a positive number of seconds, got {step!r}.")
    daily = step > 3600
    if not daily and 3600 % step:
        raise ValueError(
            f"the time step of ds ({step:g} s) does not divide an hour; resample to 15 min, "
            "30 min or 1 h first, e.g. ds.resample(time='1h').sum(min_count=...)."
        )

    day_start = local.normalize()
    d0 = day_start[0]
    day = ((day_start - d0) // pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    n_days = int(day[-1]) + 1
    dates = pd.date_range(d0, periods=n_days, freq="D")
    hours = np.full(n_days, 24.0)
    if tz:
        edges = pd.date_range(d0, periods=n_days + 1, freq="D").tz_localize(
            tz, ambiguous=True, nonexistent="shift_forward"
        )
        hours = np.asarray((edges[1:] - edges[:-1]) / pd.Timedelta(hours=1), dtype=np.float64)
    slots = np.minimum(np.rint(hours), 24).astype(np.int64)

    t = len(local)
    if daily:
        hour_starts = hour_slot = np.zeros(0, dtype=np.int64)
        hour_first = np.zeros(0, dtype=bool)
        expected = 0
    else:
        slot = day * 24 + local.hour.to_numpy()
        hour_starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
        hour_slot = slot[hour_starts]
        _, first = np.unique(hour_slot, return_index=True)
        hour_first = np.zeros(len(hour_slot), dtype=bool)
        hour_first[first] = True
        expected = round(3600 / step)
    day_starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])

    md = dates.month.to_numpy() * 100 + dates.day.to_numpy()
    (m0, dd0), (m1, dd1) = heating_season
    lo, hi = m0 * 100 + dd0, m1 * 100 + dd1
    heating = (md >= lo) | (md <= hi) if lo > hi else (md >= lo) & (md <= hi)

    temps = None
    if temp is not None:
        temps = temp.reindex(dates).to_numpy(dtype=np.float64)

    # local clock - UTC [h] of each day; without a zone, local mean solar time
    if known_zone:
        offset = ((local - time) / pd.Timedelta(hours=1)).to_numpy(dtype=np.float64)
        utc_offset = np.full(n_days, np.nan)
        utc_offset[day[day_starts]] = offset[day_starts]
        utc_offset = pd.Series(utc_offset).ffill().bfill().to_numpy()
    else:
        utc_offset = np.full(n_days, longitude / 15.0)

    return Calendar(
        step_s=step,
        daily=daily,
        n_steps=t,
        dates=dates.to_numpy().astype("datetime64[D]"),
        hours_per_day=hours,
        slots_per_day=slots,
        hour_starts=hour_starts,
        hour_slot=hour_slot,
        hour_first=hour_first,
        expected=expected,
        day_starts=day_starts,
        day_run_day=day[day_starts],
        temp=temps,
        heating=np.asarray(heating, dtype=bool),
        dark=darkness(dates, latitude, longitude, utc_offset),
        weekday=dates.day_of_week.to_numpy(),
    )


def sun_hours(dates, latitude: float, longitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Sunrise and sunset of each date, in hours after midnight UTC [h].

    Cooper's declination, Spencer's equation of time and the sunset hour
    angle of a geometric horizon (no refraction).

    References
    ----------
    .. [1] Duffie, J. A. and Beckman, W. A. (2013). Solar Engineering of
       Thermal Processes, 4th ed., Wiley, sections 1.5-1.6.
    """
    doy = pd.DatetimeIndex(dates).day_of_year.to_numpy()
    decl = np.radians(23.45) * np.sin(2 * np.pi * (284 + doy) / 365)
    b = 2 * np.pi * (doy - 1) / 365
    eot = 229.2 * (  # [min]
        0.000075
        + 0.001868 * np.cos(b)
        - 0.032077 * np.sin(b)
        - 0.014615 * np.cos(2 * b)
        - 0.04089 * np.sin(2 * b)
    )
    noon = 12.0 - longitude / 15.0 - eot / 60.0
    cos_ws = np.clip(-np.tan(np.radians(latitude)) * np.tan(decl), -1.0, 1.0)
    half = np.degrees(np.arccos(cos_ws)) / 15.0
    return noon - half, noon + half


def darkness(dates, latitude: float, longitude: float, utc_offset) -> np.ndarray:
    """Share of each local clock hour with the sun below the horizon, shape (days, 24).

    Parameters
    ----------
    dates : DatetimeIndex
        Local dates.
    latitude, longitude : float
        [deg north], [deg east].
    utc_offset : array of float
        Local clock minus UTC on each date [h].
    """
    rise, sset = sun_hours(dates, latitude, longitude)
    rise = (rise + np.asarray(utc_offset))[:, None]
    sset = (sset + np.asarray(utc_offset))[:, None]
    h = np.arange(24.0)[None, :]
    return np.clip(np.minimum(h + 1, rise) - h, 0, 1) + np.clip(h + 1 - np.maximum(h, sset), 0, 1)
