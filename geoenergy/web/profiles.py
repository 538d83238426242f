"""Load profiles of one meter for the case page: recent hours, average day, daily totals.

Read with :func:`geoenergy.readings.open_readings` and kept in a small
per-process cache keyed by the readings store's manifest version, so a page
reload does not re-read Parquet, and a new ingestion invalidates the entry.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RECENT_DAYS", "LoadProfiles", "case_charts", "clear_cache", "load_profiles"]

#: Days of hourly load shown on the case page. [d]
RECENT_DAYS = 14
#: Entries of the per-process cache (one meter's profiles are a few kB).
CACHE_SIZE = 256


@dataclass(frozen=True)
class LoadProfiles:
    """A meter's load for the charts; all times are local wall-clock times.

    Attributes
    ----------
    hourly_time : numpy.ndarray of datetime64
        Start of each hour of the last :data:`RECENT_DAYS` days (local, naive).
    hourly_kw : numpy.ndarray
        Mean load in each hour (kWh in one hour = mean kW); NaN where incomplete. [kW]
    avg_day : dict of str to numpy.ndarray
        Mean load by local hour of day (24 values) [kW]: ``{"whole period": ...}``,
        or ``{"before onset": ..., "since onset": ...}`` when an onset is known.
    daily_date : numpy.ndarray of datetime64
        Local days.
    daily_kwh : numpy.ndarray
        Energy of each local day; NaN unless the day is complete. [kWh]
    step_s : int
        Resolution the readings were opened at (3600 or 86400). [s]
    """

    hourly_time: np.ndarray
    hourly_kw: np.ndarray
    avg_day: dict
    daily_date: np.ndarray
    daily_kwh: np.ndarray
    step_s: int


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return True, self._d[key]
        return False, None

    def put(self, key, value):
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


_CACHE = _LRU(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every cached profile of this process (benchmarks measure the reads)."""
    with _CACHE._lock:
        _CACHE._d.clear()


def _manifest_version(ws) -> int:

    return int(ws.readings.manifest()["version"])


def load_profiles(
    ws, meter_id: str, *, interval_s: int | None, onset: dt.date | None = None, store=None
) -> LoadProfiles | None:
    """The load profiles of one meter, or None when it has no readings.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
        The workspace (its readings store and time zone).
    meter_id : str
        The meter.
    interval_s : int or None
        The meter's reading interval (``meters.interval_s``) [s]; None = no readings.
    onset : datetime.date, optional
        Local date on which suspicious load started; splits the average day.
    store : geoenergy.store.Store, optional
        The relational store (default: the workspace's).

    Returns
    -------
    LoadProfiles or None
    """
    if interval_s is None or ws is None:
        return None
    key = (str(ws.path), meter_id, _manifest_version(ws), onset)
    hit, value = _CACHE.get(key)
    if hit:
        return value
    value = _compute(ws, meter_id, interval_s, onset, store)
    _CACHE.put(key, value)
    return value


def _compute(ws, meter_id, interval_s, onset, store) -> LoadProfiles | None:
    from geoenergy.readings import open_readings

    resolution = "hourly" if interval_s <= 3600 else "daily"
    try:
        ds = open_readings(ws, resolution=resolution, meters=[meter_id], store=store)
    except ValueError:
        # No readings (yet) for this meter: the page says so instead of failing.
        return None
    import dask

    # One meter is one small block: the synchronous scheduler avoids handing it to
    # dask's thread pool from every web request thread at once.
    with dask.config.set(scheduler="synchronous"):
        kwh = ds["kwh"].isel(meter=0).values.astype(float)
    local = pd.DatetimeIndex(ds["local_time"].values)
    if resolution == "daily":
        return LoadProfiles(
            hourly_time=np.array([], dtype="datetime64[s]"),
            hourly_kw=np.array([]),
            avg_day={},
            daily_date=local.normalize().to_numpy(),
            daily_kwh=kwh,
            step_s=86400,
        )
    s = pd.Series(kwh, index=local)
    days = s.groupby(local.normalize())
    daily = days.sum(min_count=1).where(days.count() == days.size())
    last = local.max()
    recent = s[local > last - pd.Timedelta(days=RECENT_DAYS)]
    if onset is not None:
        cut = pd.Timestamp(onset)
        avg = {
            "before onset": _hour_of_day_mean(s[s.index < cut]),
            "since onset": _hour_of_day_mean(s[s.index >= cut]),
        }
    else:
        avg = {"whole period": _hour_of_day_mean(s)}
    return LoadProfiles(
        hourly_time=recent.index.to_numpy(),
        hourly_kw=recent.to_numpy(),
        avg_day=avg,
        daily_date=daily.index.to_numpy(),
        daily_kwh=daily.to_numpy(),
        step_s=3600,
    )


def _hour_of_day_mean(s: pd.Series) -> np.ndarray:
    """Mean kW by local hour of day (kWh per hour = kW), NaN where no hour is complete."""
    if s.empty:
        return np.full(24, np.nan)
    return s.groupby(s.index.hour).mean().reindex(range(24)).to_numpy(dtype=float)


_CHARTS: dict[int, tuple] = {}
#: Rendered chart sets kept per process (a case page reload re-uses its SVG).
MAX_CACHED_CHARTS = 256


def case_charts(profiles: LoadProfiles | None, onset, zone: str = "local time") -> list:
    """The three load-profile charts of a case (SVG), cached with the (cached) profiles.

    Parameters
    ----------
    profiles : LoadProfiles or None
        From :func:`load_profiles`; None gives no chart.
    onset : datetime.date or None
        Onset of suspicious load, marked on the charts.
    zone : str
        Label of the time zone the times are in (e.g. "Asia/Shanghai (UTC+8)").
    """
    if profiles is None:
        return []
    hit = _CHARTS.get(id(profiles))
    # The entry holds the profiles object itself, so its id cannot be reused.
    if hit is not None and hit[0] is profiles and hit[1] == (onset, zone):
        return hit[2]
    charts = _render_charts(profiles, onset, zone)
    if len(_CHARTS) >= MAX_CACHED_CHARTS:
        _CHARTS.pop(next(iter(_CHARTS)))
    _CHARTS[id(profiles)] = (profiles, (onset, zone), charts)
    return charts


def _render_charts(profiles: LoadProfiles, onset, zone: str) -> list:
    from geoenergy.web.charts import line_chart

    charts = []
    if len(profiles.hourly_time):
        charts.append(
            line_chart(
                profiles.hourly_time,
                [("hourly load", profiles.hourly_kw)],
                title=f"Hourly load, last {RECENT_DAYS} days ({zone})",
                y_label="load [kW]",
                marker=(onset, "onset") if onset else None,
            )
        )
    if profiles.avg_day:
        charts.append(
            line_chart(
                list(range(24)),
                list(profiles.avg_day.items()),
                title=f"Average day (hour in {zone})",
                y_label="load [kW]",
                x_ticks=[(h, f"{h:02d}:00") for h in range(0, 24, 3)],
            )
        )
    if len(profiles.daily_date):
        charts.append(
            line_chart(
                profiles.daily_date,
                [("daily energy", profiles.daily_kwh)],
                title="Daily energy over the whole period",
                y_label="energy [kWh/day]",
                marker=(onset, f"onset {onset.isoformat()}") if onset else None,
            )
        )
    return charts
