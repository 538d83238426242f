"""Numeric kernels of :mod:`detectors.features`: one block of meters at a time.

:func:`build_calendar` turns the time axis of a dataset into index arrays
(local day, local hour, valley hours, heating season, night length,
temperature), the same for every meter. :func:`block_features` reduces a
``(meters, time)`` block of readings [kWh per step] to a
``(meters, len(COLUMNS))`` array with NumPy reductions only: no loop over
meters, so it runs unchanged on each dask chunk and on a whole NumPy array.

Hourly data is laid out as ``(meters, days, 24)`` local hours; a slot with
no reading (a gap, a DST spring-forward hour, hours before the first step)
is NaN. A *complete day* has every local hour it really has (23, 24 or 25
with DST; the repeated autumn hour is summed into one slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    "base_step_vs_peer",  # needs the peer level: filled in by detectors.features
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
)
"""Columns of :func:`block_features`: the features it computes plus bookkeeping."""

NIGHT_HOURS = (0, 5)
"""Local hours ``[start, end)`` of the night mean in ``night_day_ratio``."""
DAY_HOURS = (10, 16)
"""Local hours ``[start, end)`` of the day mean in ``night_day_ratio``."""
PLATEAU_QUANTILE, PLATEAU_BAND = 0.9, 0.8
"""``plateau_share``: hours at or above 80 % of the 90th-percentile hourly load."""
IDLE_FRACTION = 0.15
"""``idle_day_share``: days at or below 15 % of the 90th-percentile day."""
ONOFF_CONTRAST = 2.0
"""Day states exist when the 90th-percentile day is at least twice the 10th."""
MIN_SEGMENT_DAYS = 7
"""Complete days required on each side of a step, and pairs for lag statistics."""
STEP_SEGMENT_DAYS = 14
"""Complete days a regime must last for a step (when the span has four times as many):
longer than the longest Chinese public holiday (8 days, Spring Festival and National
Day), so a household away for the golden week or a factory closed over it does not
pass for a step. Shorter spans use a quarter of their days, at least MIN_SEGMENT_DAYS."""


def _step_segment(n_days: int) -> int:
    """Complete days each side of a step, for a span of ``n_days`` days."""
    return max(MIN_SEGMENT_DAYS, min(STEP_SEGMENT_DAYS, n_days // 4))


ONSET_MIN_RATIO, ONSET_MIN_FIT = 1.5, 0.5
"""An onset date is reported when ``step_ratio`` and ``step_fit`` reach these."""
SLICE_BYTES = 8 * 2**20
"""Size of one (meters x hours) float64 temporary of the kernel [bytes]."""
_TINY = 1e-9  # relative size below which a variance counts as zero (rounding only)


@dataclass(frozen=True)
class Options:
    """Per-call settings of the kernels."""

    valley_hours: tuple[int, int] = (23, 7)
    min_days: int = 14


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
        onset, before, after, split = _step(energy, ok, n_ok, res)
        _daily_features(energy, ok, n_ok, cal, opts, res, split)
        if not cal.daily:
            onset = _refine_onset(onset, xh, ok, before, after, daily_row)
            res["base_step_ratio"], res["_base_step_kw"] = _base_step(dmin, energy, ok)

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


def _sorted_quantile(s: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile of rows sorted ascending with NaN last."""
    rows = np.arange(s.shape[0])
    pos = q * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    a = s[rows, lo].astype(np.float64)
    b = s[rows, hi].astype(np.float64)
    return np.where(n > 0, a + (pos - lo) * (b - a), np.nan)


def _hourly_features(xh, cal: Calendar, opts: Options, res, extra=None):
    """Hourly-shape features into ``res``.

    Returns the mean load [kW], the daily energy [kWh] (NaN unless
    complete) and the valid hours, largest and smallest hourly value.

    Written for few passes over the (meters, days, 24) array: the kernel
    is memory-bound, so each full-size temporary costs about as much as a
    reduction.
    """
    m = xh.shape[0]
    n_days = cal.n_days
    x3 = xh.reshape(m, n_days, 24)
    valid3 = ~np.isnan(x3)
    x0 = np.where(valid3, x3, 0.0)
    v8 = valid3.view(np.uint8)
    dsum = _hsum(x0)
    dcnt = _hsum(v8).astype(np.int64)
    n_h = dcnt.sum(axis=1)
    mean_kw = dsum.sum(axis=1) / n_h
    day_ok = (dcnt == cal.slots_per_day[None, :]) & (cal.slots_per_day[None, :] >= 23)
    energy = np.where(day_ok, dsum if extra is None else dsum + extra, np.nan)

    peak = np.fmax.reduce(xh, axis=1)  # fmax: NaN-skipping
    res["load_factor"] = np.where(peak > 0, mean_kw / peak, np.nan)

    # base load: the median over complete days of the day's lowest hour, so that
    # off days (vacancy, price-driven stops, maintenance) do not set it
    dmin = _day_min(x3)
    low = np.fmin.reduce(dmin, axis=1)  # over every reading: catches negative ones
    dmin = np.where(day_ok, dmin, np.nan)
    base = _sorted_quantile(np.sort(dmin, axis=1), day_ok.sum(axis=1), 0.5)
    res["base_load_ratio"] = np.where(mean_kw > 0, base / mean_kw, np.nan)

    # float32 halves the sort's memory traffic; 7 digits are plenty for a threshold
    upper = _sorted_quantile(np.sort(xh.astype(np.float32), axis=1), n_h, PLATEAU_QUANTILE)
    at_top = np.count_nonzero(xh >= (PLATEAU_BAND * upper)[:, None], axis=1)
    res["plateau_share"] = np.where(upper > 0, at_top / n_h, np.where(n_h > 0, 0.0, np.nan))

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
        eve, morn = _hsum(x0[:, :, s:]), _hsum(x0[:, :, :e])
        v_day = eve + morn
        v_night = eve[:, :-1] + morn[:, 1:]
        v_ok = day_ok[:, :-1] & day_ok[:, 1:]
    else:
        v_day = _hsum(x0[:, :, s:e])
        v_night, v_ok = v_day, day_ok
    total_ok = np.where(day_ok, dsum, 0.0).sum(axis=1)
    res["valley_share"] = np.where(
        total_ok > 0, np.where(day_ok, v_day, 0.0).sum(axis=1) / total_ok, np.nan
    )
    res["valley_night_cv"] = _cv(v_night, v_ok)

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
    return mean_kw, energy, (n_h, peak, low), dmin


def _day_min(x3: np.ndarray) -> np.ndarray:
    """NaN-skipping minimum over the 24 hour slots of each day.

    Pairwise halving (24 -> 12 -> 6 -> 3 -> 1): each step reads runs of
    neighbouring hours, so the array is streamed about twice instead of 24
    strided passes of one hour each, and ``np.fmin.reduce(x3, axis=2)``, whose
    inner loop is only 24 long, is slower still (1.6 vs 2.9 vs 1.7 ms for 667
    meters x 60 days).
    """
    a = x3
    while a.shape[2] > 3 and a.shape[2] % 2 == 0:
        half = a.shape[2] // 2
        a = np.fmin(a[:, :, :half], a[:, :, half:])
    out = a[:, :, 0].copy()
    for h in range(1, a.shape[2]):
        np.fmin(out, a[:, :, h], out=out)
    return out


def _hsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last (hour) axis; einsum is several times faster than ``sum(axis=2)``
    for a short last axis. uint8 counts stay exact (at most 24)."""
    return np.einsum("mdh->md", a)


def _cv(v, ok) -> np.ndarray:
    """Coefficient of variation of each row over ``ok`` entries (7 needed, mean > 0)."""
    n = ok.sum(axis=1)
    mean = np.where(ok, v, 0.0).sum(axis=1) / n
    var = np.where(ok, (v - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(n - 1, 1)
    return np.where((n >= MIN_SEGMENT_DAYS) & (mean > 0), np.sqrt(var) / mean, np.nan)


def _daily_features(energy, ok, n_ok, cal: Calendar, opts: Options, res, split) -> None:
    e0 = np.where(ok, energy, 0.0)
    mean_e = e0.sum(axis=1) / n_ok

    off, p90 = _off_days(energy, ok, n_ok)
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

    # temperature: least-squares slope of daily energy on daily mean temperature
    if cal.temp is None:
        res["temperature_sensitivity"] = np.full(len(energy), np.nan)
        res["temperature_sensitivity_rel"] = np.full(len(energy), np.nan)
        res["temperature_corr"] = np.full(len(energy), np.nan)
    else:
        # On all days, and on the on-days of a two-level meter: a rig switched off on
        # some days makes the daily energy jump, and when its stops happen to fall on
        # warm days the jumps correlate with the weather although no kWh follows it.
        # The weaker of the two responses counts: the weather explains a load only
        # when it does within the days the load is on, too. A steadily weather-
        # driven load (a heater whose use triples over the winter, also "two-level")
        # keeps its response there; with under ``min_days`` on-days only all days count.
        t = cal.temp[None, :]
        tok = ok & np.isfinite(t)
        every = _temperature_response(energy, tok, t, split, opts.min_days)
        on = _temperature_response(energy, tok & ~off, t, split, opts.min_days)
        use_on = np.isfinite(on[0]) & (np.abs(on[0]) < np.abs(every[0]))
        corr, slope, rel = (np.where(use_on, a, b) for a, b in zip(on, every, strict=True))
        res["temperature_corr"] = corr
        res["temperature_sensitivity"] = slope
        res["temperature_sensitivity_rel"] = rel

    h = cal.heating[None, :]
    n_in, n_out = (ok & h).sum(axis=1), (ok & ~h).sum(axis=1)
    m_in = np.where(ok & h, energy, 0.0).sum(axis=1) / n_in
    m_out = np.where(ok & ~h, energy, 0.0).sum(axis=1) / n_out
    res["heating_season_ratio"] = np.where(
        (n_in >= MIN_SEGMENT_DAYS) & (n_out >= MIN_SEGMENT_DAYS) & (m_out > 0),
        m_in / m_out,
        np.nan,
    )

    res["off_day_share"] = np.where(n_ok > 0, off.sum(axis=1) / n_ok, np.nan)
    pair = ok[:, 1:] & ok[:, :-1]
    n_pair = pair.sum(axis=1)
    switches = ((off[:, 1:] != off[:, :-1]) & pair).sum(axis=1)
    res["intermittency"] = np.where(n_pair >= MIN_SEGMENT_DAYS, 30.0 * switches / n_pair, np.nan)
    idle = ok & (energy <= (IDLE_FRACTION * p90)[:, None])
    res["idle_day_share"] = np.where(n_ok > 0, idle.sum(axis=1) / n_ok, np.nan)


def _temperature_response(energy, tok, t, split, min_days: int):
    """Response of daily energy to daily mean temperature over the days ``tok``.

    Least squares jointly with the best upward split (a regime dummy): a rig
    switched on in autumn raises the load while it gets colder, which a plain
    slope would read as electric heating. With the dummy only the day-to-day
    weather within each regime moves the slope.

    Returns
    -------
    corr, slope, rel : ndarray
        Partial correlation [-], slope [kWh/day per K] and slope over the mean
        daily energy [1/K]; NaN with fewer than ``min_days`` days.
    """
    n_t = tok.sum(axis=1)
    nt1 = np.maximum(n_t, 1)
    tm = np.where(tok, t, 0.0).sum(axis=1) / nt1
    em = np.where(tok, energy, 0.0).sum(axis=1) / nt1
    dt = np.where(tok, t - tm[:, None], 0.0)
    de = np.where(tok, energy - em[:, None], 0.0)
    after = tok & (np.arange(energy.shape[1])[None, :] >= split[:, None]) & (split >= 0)[:, None]
    am = after.sum(axis=1) / nt1
    da = np.where(tok, after - am[:, None], 0.0)
    stt, saa = (dt * dt).sum(axis=1), (da * da).sum(axis=1)
    sta, ste, sae = (dt * da).sum(axis=1), (dt * de).sum(axis=1), (da * de).sum(axis=1)
    joint = saa > 0.5  # both regimes hold days with a temperature
    sxx = np.where(joint, stt - sta * sta / np.where(joint, saa, 1.0), stt)
    slope = np.where(joint, ste - sta * sae / np.where(joint, saa, 1.0), ste) / sxx
    good = (n_t >= min_days) & (sxx > 1e-12)
    see = (de * de).sum(axis=1)
    see = np.where(joint, see - sae * sae / np.where(joint, saa, 1.0), see)
    corr = np.where(
        good, np.where(see > _TINY * (em * em) * n_t, slope * np.sqrt(sxx / see), 0.0), np.nan
    )
    return corr, np.where(good, slope, np.nan), np.where(good & (em > 0), slope / em, np.nan)


def _off_days(energy, ok, n_ok) -> tuple[np.ndarray, np.ndarray]:
    """Day states: 'off' when the days fall into two clearly different levels.

    A meter is two-level when its 90th-percentile day is at least
    ``ONOFF_CONTRAST`` times its 10th; its days below the midpoint of the two
    are off.

    Returns
    -------
    off : ndarray of bool
        Shaped like ``energy``; all False for a one-level meter.
    p90 : ndarray
        The 90th-percentile day of each meter [kWh].
    """
    srt = np.sort(energy, axis=1)
    p10, p90 = _sorted_quantile(srt, n_ok, 0.1), _sorted_quantile(srt, n_ok, 0.9)
    two_level = (p90 > ONOFF_CONTRAST * p10) & (p90 > 0)
    return ok & two_level[:, None] & (energy < ((p10 + p90) / 2)[:, None]), p90


def _step(energy, ok, n_ok, res):
    """Best upward least-squares split of daily energy.

    Returns the onset day index (NaN if none), the mean daily energy
    before and after the split [kWh], and the first day after the best
    upward split whatever its size (-1 if none), which the temperature
    regression takes as a regime change.
    """
    m, n_days = energy.shape
    e0 = np.where(ok, energy, 0.0)
    c = np.cumsum(ok, axis=1)
    s = np.cumsum(e0, axis=1)
    n, total = c[:, -1:], s[:, -1:]
    c1, s1 = c[:, :-1], s[:, :-1]  # days before split k = 1 .. D-1
    c2, s2 = n - c1, total - s1
    m1 = s1 / np.maximum(c1, 1)
    m2 = s2 / np.maximum(c2, 1)
    gain = c1 * c2 / np.maximum(n, 1) * (m2 - m1) ** 2
    seg = _step_segment(n_days)
    allowed = (c1 >= seg) & (c2 >= seg) & ok[:, 1:] & (m2 > m1)
    gain = np.where(allowed, gain, -1.0)
    k = np.argmax(gain, axis=1) if n_days > 1 else np.zeros(m, dtype=np.int64)
    found = gain[np.arange(m), k] > 0 if n_days > 1 else np.zeros(m, dtype=bool)
    mean = total[:, 0] / np.maximum(n[:, 0], 1)
    ss = np.where(ok, (energy - mean[:, None]) ** 2, 0.0).sum(axis=1)
    rows = np.arange(m)
    if n_days > 1:
        before, after, g = m1[rows, k], m2[rows, k], gain[rows, k]
    else:
        before = after = g = np.zeros(m)
    tiny = (_TINY * mean) ** 2 * n[:, 0]
    fit = np.where(found & (ss > tiny), g / np.where(ss > 0, ss, 1.0), 0.0)
    ratio = np.where(found, after / np.maximum(before, 0.01 * mean), 1.0)
    enough = n_ok >= 2 * MIN_SEGMENT_DAYS
    res["step_ratio"] = np.where(enough, ratio, np.nan)
    res["step_fit"] = np.where(enough, fit, np.nan)
    onset = found & enough & (ratio >= ONSET_MIN_RATIO) & (fit >= ONSET_MIN_FIT)
    split = np.where(found & enough, k + 1, -1)
    return np.where(onset, k + 1.0, np.nan), before, after, split


def _base_step(dmin, energy, ok) -> np.ndarray:
    """Step of the base load: median daily minimum after / before its best upward split.

    Returns the ratio and the rise [kW] (0 without an upward split).

    The split is the least-squares one of the daily minimum (at least
    ``_step_segment`` complete days each side, as the step of daily energy); medians of the two
    segments ignore short dips and spikes (holidays, maintenance). The
    before-median is floored at 1 % of the mean load so a load off at night
    stays finite. 1 when there is no upward split, NaN with too few days.
    """
    valid = ~np.isnan(dmin)
    n_valid = valid.sum(axis=1)
    m, n_days = dmin.shape
    enough = n_valid >= 2 * MIN_SEGMENT_DAYS
    if n_days < 2 * MIN_SEGMENT_DAYS:
        return np.where(enough, 1.0, np.nan), np.where(enough, 0.0, np.nan)
    d0 = np.where(valid, dmin, 0.0)
    c = np.cumsum(valid, axis=1)
    s = np.cumsum(d0, axis=1)
    n, total = c[:, -1:], s[:, -1:]
    c1, s1 = c[:, :-1], s[:, :-1]
    c2, s2 = n - c1, total - s1
    m1, m2 = s1 / np.maximum(c1, 1), s2 / np.maximum(c2, 1)
    gain = c1 * c2 / np.maximum(n, 1) * (m2 - m1) ** 2
    seg = _step_segment(n_days)
    allowed = (c1 >= seg) & (c2 >= seg) & valid[:, 1:] & (m2 > m1)
    gain = np.where(allowed, gain, -1.0)
    k = np.argmax(gain, axis=1)
    found = gain[np.arange(m), k] > 0
    late = np.arange(n_days)[None, :] > k[:, None]
    lo = np.sort(np.where(late, np.nan, dmin), axis=1)
    hi = np.sort(np.where(late, dmin, np.nan), axis=1)
    before = _sorted_quantile(lo, (valid & ~late).sum(axis=1), 0.5)
    after = _sorted_quantile(hi, (valid & late).sum(axis=1), 0.5)
    mean_kw = np.where(ok, energy, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1) / 24.0
    ratio = after / np.maximum(before, 0.01 * mean_kw)
    up = found & (ratio > 1.0)
    return (
        np.where(enough, np.where(up, ratio, 1.0), np.nan),
        np.where(enough, np.where(up, after - before, 0.0), np.nan),
    )


def _refine_onset(onset, xh, ok, before, after, daily_row) -> np.ndarray:
    """Move the onset a day earlier when the day before already ends at the new level.

    The least-squares split puts a day switched on in the afternoon into the
    'before' segment; its last two hours at or above the midpoint between
    the two levels show the rigs were already running.
    """
    has = np.isfinite(onset) & ~daily_row
    if not has.any():
        return onset
    rows = np.flatnonzero(has)
    prev = onset[rows].astype(np.int64) - 1
    x3 = xh.reshape(xh.shape[0], -1, 24)
    mid = (before[rows] + after[rows]) / 48.0  # midpoint of the two levels [kW]
    late = x3[rows, prev][:, 22:24]
    earlier = (late >= mid[:, None]).all(axis=1) & ok[rows, prev]
    out = onset.copy()
    out[rows[earlier]] -= 1
    return out
