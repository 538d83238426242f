"""The city's time axis: hours and days, holidays, weather and the sun.

One :class:`_Clock` holds every per-hour and per-day array the load
profiles need (hour of day, working days after the Chinese holiday and
make-up workday (调休) calendar, the valley-tariff night, the heating
season from 15 November and the air temperature), so each profile is a
vectorised expression over ``(meter, hour)``. The weather is a
Beijing-like daily mean temperature; sunrise and sunset at the study area
switch the street lights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoenergy.samplecity.geometry import _LAT0, _LON0

# Chinese public holidays and weekend make-up workdays (调休) in the default span.
_HOLIDAYS = pd.to_datetime(
    [
        *pd.date_range("2023-09-29", "2023-10-06"),
        *pd.date_range("2023-12-30", "2024-01-01"),
        *pd.date_range("2024-02-10", "2024-02-17"),
    ]
)
_MAKEUP_WORKDAYS = pd.to_datetime(["2023-10-07", "2023-10-08", "2024-02-04", "2024-02-18"])


@dataclass
class _Clock:
    start: pd.Timestamp
    H: int
    D: int
    hod: np.ndarray  # (H,) hour of day
    day: np.ndarray  # (H,) day index
    off_h: np.ndarray  # (H,) weekend or public holiday
    sat_h: np.ndarray  # (H,) Saturday that is not a holiday or make-up workday
    temp_d: np.ndarray  # (D,) daily mean [degC]
    temp_h: np.ndarray  # (H,) hourly air temperature [degC]
    night: np.ndarray  # (H,) index of the valley night (23:00-07:00) the hour belongs to
    night_pos: np.ndarray  # (H,) hours since 23:00
    valley: np.ndarray  # (H,) valley-tariff hour, 23:00-07:00
    heating_d: np.ndarray  # (D+1,) heating season (15 Nov - 15 Mar) for day/night index
    dates: pd.DatetimeIndex  # (D,)


def _weather(rng, dates: pd.DatetimeIndex) -> np.ndarray:
    """Daily mean air temperature of a Beijing-like climate [degC].

    A yearly cosine (mean 11.5 degC, amplitude 16.5 K, warmest about 24 July)
    plus AR(1) weather noise (lag-one correlation 0.7, sd 2.7 K).
    """
    doy = dates.day_of_year.to_numpy()
    clim = 11.5 + 16.5 * np.cos(2 * np.pi * (doy - 205) / 365.25)
    eps = rng.normal(0.0, 2.7 * math.sqrt(1 - 0.7**2), len(dates))
    noise = np.empty(len(dates))
    noise[0] = rng.normal(0.0, 2.7)
    for i in range(1, len(dates)):  # over days, not hours
        noise[i] = 0.7 * noise[i - 1] + eps[i]
    return np.round(clim + noise, 1)


def _make_clock(rng, start, end) -> tuple[_Clock, pd.DataFrame]:
    ts = pd.date_range(start, end, freq="h", inclusive="left")
    dates = pd.date_range(start, end, freq="D", inclusive="left")
    H, D = len(ts), len(dates)
    temp_d = _weather(rng, dates)
    i = np.arange(H)
    hod = i % 24
    day = i // 24
    dow = dates.day_of_week.to_numpy()
    holiday = dates.isin(_HOLIDAYS)
    makeup = dates.isin(_MAKEUP_WORKDAYS)
    off_d = ((dow >= 5) & ~makeup) | holiday
    sat_d = (dow == 5) & ~makeup & ~holiday
    # Diurnal cycle: warmest around 15:00, amplitude 4 K.
    temp_h = temp_d[day] + 4.0 * np.cos(2 * np.pi * (hod - 15) / 24)
    night = (i + 1) // 24  # 23:00 of day d starts night d+1
    night_pos = (i + 1) % 24
    all_days = pd.date_range(start, periods=D + 1, freq="D")
    md = all_days.month * 100 + all_days.day
    heating_d = np.asarray((md >= 1115) | (md <= 315))
    clock = _Clock(
        start=start,
        H=H,
        D=D,
        hod=hod,
        day=day,
        off_h=off_d[day],
        sat_h=sat_d[day],
        temp_d=temp_d,
        temp_h=temp_h,
        night=night,
        night_pos=night_pos,
        valley=night_pos < 8,
        heating_d=heating_d,
        dates=dates,
    )
    weather = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "temp_c": temp_d})
    return clock, weather


def _sun_times(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Sunrise and sunset at the study area, local time (UTC+8) [h].

    Cooper's declination, the standard equation of time and the sunrise
    hour angle for a geometric horizon.

    References
    ----------
    .. [1] Duffie, J. A. and Beckman, W. A. (2013). Solar Engineering of
       Thermal Processes, 4th ed., Wiley, sections 1.5-1.6.
    """
    doy = dates.day_of_year.to_numpy()
    decl = np.radians(23.45) * np.sin(2 * np.pi * (284 + doy) / 365)
    b = 2 * np.pi * (doy - 81) / 364
    eot = 9.87 * np.sin(2 * b) - 7.53 * np.cos(b) - 1.5 * np.sin(b)  # [min]
    noon = 12.0 + (120.0 - _LON0) / 15.0 - eot / 60.0
    half = np.degrees(np.arccos(-np.tan(np.radians(_LAT0)) * np.tan(decl))) / 15.0
    return noon - half, noon + half
