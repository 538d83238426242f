"""A synthetic sample city: meters, loads, weather, labels and spatial layers.

:func:`generate_city` writes a complete, self-consistent and clearly
labelled **synthetic** data set in the project's input formats (see
"Data contracts" in the design notes): a meter registry with fictional
Chinese addresses, hourly readings with realistic gaps, a small CSV of
deliberately bad rows, inspection labels, daily weather, the ground truth
used for evaluation only, and GeoPackage layers of a fictional town north-west
of Beijing (districts, buildings, heating network, heat-demand grid and data
centres).

The loads are built from archetypes with realistic daily, weekly and
seasonal shapes. Besides ordinary customers the city contains the
*confounders* a mining detector must not flag (coal-to-electricity homes,
24-hour shops, telecom base stations, street lighting, continuous-process
industry, aquaculture, registered data centres, large households and vacant
homes) and about 1.5 % *mining* meters in eight disguises.

Everything is vectorised over meters and hours; the only Python loops run
over archetypes, days or a few dozen geometric features. The result is
deterministic for a seed.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from geoenergy.contracts import CUSTOMER_CLASSES
from layers.coords import wgs84_to_gcj02

__all__ = ["ARCHETYPES", "Population", "SampleCity", "generate_city", "generate_population"]

# Study area: a fictional town of about 12.8 km x 8.9 km north-west of Beijing.
_LON0, _LAT0 = 116.275, 39.99  # centre [deg]
_HALF_X, _HALF_Y = 6400.0, 4450.0  # half extents [m]
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_LAT0))
_M_PER_DEG_LAT = 110_574.0
_LOT = 100.0  # building lot spacing [m]

_SYNTHETIC_PREFIX = "[示例] "
_UNKNOWN_METER = "M999999"
_BAD_TIMESTAMP = "2023-13-45 25:00"
_BAD_KWH = "abc"
_N_EXTRA_ROWS = 200
_N_BAD_PER_KIND = 4

_CLASSES = CUSTOMER_CLASSES
# Share of meters per customer class; "other" takes the rest.
_CLASS_SHARE = {
    "residential": 0.75,
    "commercial": 0.12,
    "industrial": 0.04,
    "public": 0.03,
    "agricultural": 0.03,
    "data_centre": 0.01,
}

# name: (role, customer classes it is registered under, share of meters).
# Shares of the plain class archetypes are filled up to _CLASS_SHARE.
ARCHETYPES: dict[str, tuple[str, tuple[str, ...], float]] = {
    "residential": ("normal", ("residential",), 0.0),
    "commercial": ("normal", ("commercial",), 0.0),
    "industrial": ("normal", ("industrial",), 0.0),
    "public": ("normal", ("public",), 0.0),
    "agricultural": ("normal", ("agricultural",), 0.0),
    "other": ("normal", ("other",), 0.0),
    "coal_to_electricity": ("confounder", ("residential",), 0.020),
    "large_household": ("confounder", ("residential",), 0.015),
    "vacant_home": ("confounder", ("residential",), 0.012),
    "shop_24h": ("confounder", ("commercial",), 0.010),
    "telecom_base_station": ("confounder", ("other", "other", "public"), 0.008),
    "street_lighting": ("confounder", ("public",), 0.008),
    "continuous_process": ("confounder", ("industrial",), 0.005),
    "aquaculture": ("confounder", ("agricultural",), 0.006),
    "data_centre": ("confounder", ("data_centre",), 0.010),
    "mining_24x7": ("mining", ("residential", "residential", "commercial"), 0.0027),
    "mining_step_onset": ("mining", ("residential", "commercial"), 0.0023),
    "mining_valley_only": ("mining", ("residential",), 0.0020),
    "mining_price_driven": ("mining", ("residential", "commercial"), 0.0020),
    "mining_small_home": ("mining", ("residential",), 0.0020),
    "mining_converted_shop": ("mining", ("commercial",), 0.0013),
    "mining_hidden_industrial": ("mining", ("industrial",), 0.0013),
    "mining_rural_farm": ("mining", ("agricultural", "other"), 0.0013),
}
"""Load archetypes of the sample city: ``{name: (role, classes, share)}``.

``role`` is normal, confounder or mining; ``classes`` the customer classes a
meter of this archetype is registered under (cycled); ``share`` the fraction
of meters (0 for the plain archetypes that fill each class).
"""

_DISTRICTS = (  # (name, pinyin), left to right, top row then bottom row
    ("西峰区", "Xifeng"),
    ("北城区", "Beicheng"),
    ("东岭区", "Dongling"),
    ("南湖区", "Nanhu"),
    ("中和区", "Zhonghe"),
    ("新河区", "Xinhe"),
)
_ROADS = (
    "和平路",
    "建设路",
    "幸福街",
    "光明路",
    "育才路",
    "文化路",
    "胜利街",
    "康乐路",
    "永安路",
    "兴华街",
    "青年路",
    "长青路",
    "红星路",
    "团结路",
    "振兴路",
    "民主街",
)
_VILLAGES = (
    "王家村",
    "李庄",
    "张各庄",
    "刘家营",
    "马坊村",
    "杨树屯",
    "东沙河村",
    "西沙河村",
    "北辛庄",
    "南辛庄",
    "高家堡",
    "石门村",
    "柳林村",
    "桃园村",
    "前屯村",
    "后屯村",
)
_HEAT_OPERATORS = ("北城热力有限公司（示例）", "西峰能源供热有限公司（示例）")
_DC_NAMES = (
    "京西云谷数据中心",
    "北城智算中心",
    "东岭大数据产业园",
    "中和云计算基地",
    "新河边缘计算中心",
    "南湖灾备数据中心",
    "西峰算力枢纽",
    "星河信息港",
)
_DC_OPERATORS = (
    "云启数据科技有限公司（示例）",
    "北辰算力科技有限公司（示例）",
    "华峰信息服务有限公司（示例）",
)

# Chinese public holidays and weekend make-up workdays (调休) in the default span.
_HOLIDAYS = pd.to_datetime(
    [
        *pd.date_range("2023-09-29", "2023-10-06"),
        *pd.date_range("2023-12-30", "2024-01-01"),
        *pd.date_range("2024-02-10", "2024-02-17"),
    ]
)
_MAKEUP_WORKDAYS = pd.to_datetime(["2023-10-07", "2023-10-08", "2024-02-04", "2024-02-18"])

# Contract sizes: the R10 preferred numbers (ISO 3) from 4 kW to 100 MW [kW].
_R10 = np.array([1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0])
_CONTRACT_SIZES = (_R10[None, :] * 10.0 ** np.arange(5)[:, None]).ravel()[6:]


@dataclass
class SampleCity:
    """Paths of the files written by :func:`generate_city`.

    Attributes
    ----------
    root : Path
        The output directory (holds ``README.txt``).
    registry, readings, readings_csv_extra, labels, weather, truth : Path
        ``registry.csv``, ``readings.parquet``, ``readings_extra.csv`` (None
        when errors were not injected), ``labels.csv``, ``weather.csv`` and
        ``truth.csv`` (ground truth, for evaluation only, never ingested).
    layers : dict of str to Path
        ``{kind: path}`` of the GeoPackage layers (layer name = kind).
    n_meters : int
    start, end : pd.Timestamp
        The readings cover ``[start, end)``, naive local time (Asia/Shanghai).
    """

    root: Path
    registry: Path
    readings: Path
    readings_csv_extra: Path | None
    labels: Path
    weather: Path
    truth: Path
    layers: dict[str, Path] = field(default_factory=dict)
    n_meters: int = 0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


# --------------------------------------------------------------------------
# Checks


def _check_generate_city(out_dir, n_meters, start, end, seed):
    if not isinstance(out_dir, str | Path):
        raise TypeError(f"out_dir must be a str or Path, got {type(out_dir).__name__}.")
    if isinstance(n_meters, bool) or not isinstance(n_meters, int | np.integer):
        raise TypeError(f"n_meters must be an int, got {type(n_meters).__name__}.")
    if n_meters < 100:
        raise ValueError(
            f"n_meters must be at least 100 so that every archetype occurs, got {n_meters}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}.")
    try:
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"start and end must be dates like '2023-09-01', got {start!r} and {end!r}."
        ) from exc
    for name, t in (("start", t0), ("end", t1)):
        if t.tzinfo is not None:
            raise ValueError(
                f"{name} must be a naive local date (Asia/Shanghai), got {t}; "
                "drop the time zone, e.g. pd.Timestamp(x).tz_localize(None)."
            )
        if t != t.normalize():
            raise ValueError(f"{name} must be midnight (a whole day), got {t}.")
    if (t1 - t0) < pd.Timedelta(days=14):
        raise ValueError(
            f"end must be at least 14 days after start, got start={t0.date()} end={t1.date()}."
        )
    return Path(out_dir), int(n_meters), t0, t1, int(seed)


# --------------------------------------------------------------------------
# Time axis and weather


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


# --------------------------------------------------------------------------
# Load building blocks; every function returns (n, H) hourly energy [kWh]


def _noise(rng, n, H, sigma):
    """Multiplicative log-normal noise with mean 1."""
    z = rng.standard_normal((n, H), dtype=np.float32)
    return np.exp(sigma * z - 0.5 * sigma * sigma)


def _daily(rng, clock, n, sigma):
    f = np.exp(sigma * rng.standard_normal((n, clock.D)) - 0.5 * sigma * sigma)
    return f[:, clock.day]


def _u(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)[:, None]


_RES_WORK = np.concatenate(
    (
        [0.35, 0.25, 0.2, 0.2, 0.2, 0.25, 0.5, 0.9, 0.8, 0.5, 0.4, 0.45],
        [0.6, 0.5, 0.4, 0.4, 0.5, 0.8, 1.2, 1.5, 1.5, 1.3, 1.0, 0.6],
    )
)
_RES_OFF = np.concatenate(
    (
        [0.4, 0.3, 0.25, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 0.9, 0.9, 0.9],
        [1.0, 0.9, 0.8, 0.8, 0.8, 1.0, 1.3, 1.5, 1.5, 1.3, 1.1, 0.7],
    )
)
_SHOP_TRAFFIC = np.concatenate(
    (
        [0.15, 0.1, 0.08, 0.08, 0.08, 0.15, 0.4, 0.8, 0.9, 0.6, 0.5, 0.8],
        [1.0, 0.8, 0.5, 0.5, 0.6, 0.9, 1.0, 1.0, 0.9, 0.7, 0.4, 0.25],
    )
)


def _household(rng, clock, n, median_kwh_day=8.5, sigma_day=0.3):
    """Ordinary household: morning and evening peaks, weekends, AC, heaters."""
    H = clock.H
    daily = np.clip(rng.lognormal(math.log(median_kwh_day), sigma_day, n), 3.0, 60.0)[:, None]
    base = _u(rng, n, 0.03, 0.08)  # fridge and standby [kW]
    active = np.maximum(daily - 24 * base, 1.0)
    shift = rng.integers(-1, 2, n)[:, None]
    hh = (clock.hod[None, :] - shift) % 24
    shape = np.where(
        clock.off_h[None, :],
        1.1 * _RES_OFF[hh] / _RES_OFF.sum(),
        _RES_WORK[hh] / _RES_WORK.sum(),
    )
    load = base + active * shape * _daily(rng, clock, n, 0.2) * _noise(rng, n, H, 0.45)
    spikes = rng.random((n, H), dtype=np.float32) < 0.02
    load += spikes * rng.uniform(0.5, 2.0, (n, H)).astype(np.float32)
    # Split air conditioners in a warm September.
    has_ac = rng.random(n)[:, None] < 0.7
    occ = np.where((clock.hod >= 12) | (clock.hod <= 1), 1.0, 0.5)
    load += has_ac * _u(rng, n, 0.08, 0.2) * np.maximum(clock.temp_h - 25.0, 0.0) * occ
    # Portable electric heaters in cold evenings, mostly before district heating starts.
    heater = rng.random(n)[:, None] < 0.15
    evening = ((clock.hod >= 18) & (clock.hod <= 23)) | ((clock.hod >= 6) & (clock.hod <= 8))
    season = np.where(clock.heating_d[clock.day], 0.3, 1.0)
    load += (
        heater * _u(rng, n, 0.05, 0.15) * np.maximum(12.0 - clock.temp_h, 0.0) * evening * season
    )
    # Some households travel over the National Day golden week.
    away_d = np.asarray((clock.dates >= "2023-10-01") & (clock.dates <= "2023-10-06"), dtype=bool)
    away = (rng.random(n)[:, None] < 0.25) & away_d[clock.day][None, :]
    load = np.where(away, base * _noise(rng, n, H, 0.1), load)
    return load


def _commercial(rng, clock, n):
    """Shops and offices: opening hours, weekly pattern, AC."""
    H = clock.H
    peak = np.clip(rng.lognormal(math.log(12.0), 0.6, n), 3.0, 150.0)[:, None]
    base = peak * _u(rng, n, 0.1, 0.25)
    open_h = rng.integers(7, 11, n)[:, None]
    close_h = rng.integers(17, 23, n)[:, None]
    is_office = rng.random(n)[:, None] < 0.35
    hod = clock.hod[None, :]
    is_open = (hod >= open_h) & (hod < close_h)
    ramp = np.where((hod == open_h) | (hod == close_h - 1), 0.6, 1.0)
    week = np.where(clock.off_h[None, :], np.where(is_office, 0.15, 1.2), 1.0)
    act = (peak - base) * is_open * ramp * week * _daily(rng, clock, n, 0.1)
    ac = 0.02 * peak * np.maximum(clock.temp_h - 24.0, 0.0) * is_open
    return (base + act + ac) * _noise(rng, n, H, 0.15)


def _industrial(rng, clock, n):
    """Manufacturing on one or two shifts, weekends mostly off."""
    H = clock.H
    peak = np.clip(rng.lognormal(math.log(250.0), 0.6, n), 40.0, 1500.0)[:, None]
    base = peak * _u(rng, n, 0.08, 0.15)
    two = rng.random(n)[:, None] < 0.5
    hod = clock.hod[None, :]
    on = np.where(two, (hod >= 6) & (hod < 22), (hod >= 8) & (hod < 17))
    lunch = np.where(hod == 12, 0.75, 1.0)
    works_sat = rng.random(n)[:, None] < 0.4
    workday = ~clock.off_h[None, :] | (works_sat & clock.sat_h[None, :])
    act = (peak - base) * on * workday * lunch * _daily(rng, clock, n, 0.05)
    return (base + act) * _noise(rng, n, H, 0.07)


def _public(rng, clock, n):
    """Schools and government offices: weekday office hours."""
    peak = _u(rng, n, 10.0, 80.0)
    base = 0.15 * peak
    hod = clock.hod[None, :]
    on = (hod >= 8) & (hod < 18) & ~clock.off_h[None, :]
    ramp = np.where((hod == 8) | (hod == 17), 0.7, 1.0)
    act = (peak - base) * on * ramp * _daily(rng, clock, n, 0.08)
    return (base + act) * _noise(rng, n, clock.H, 0.1)


def _agricultural(rng, clock, n):
    """Farms: daytime pumps and machinery on some days, less in winter."""
    peak = _u(rng, n, 3.0, 30.0)
    hod = clock.hod[None, :]
    active_d = rng.random((n, clock.D)) < 0.6
    season = np.clip(clock.temp_d / 20.0, 0.1, 1.0)[clock.day]
    on = (hod >= 7) & (hod < 17) & active_d[:, clock.day]
    load = peak * (0.05 + 0.95 * on * season[None, :])
    return load * _noise(rng, n, clock.H, 0.2)


def _other(rng, clock, n):
    """Workshops, warehouses, car parks: small daytime loads over a base."""
    peak = _u(rng, n, 2.0, 20.0)
    hod = clock.hod[None, :]
    on = (hod >= 8) & (hod < 18) & ~clock.off_h[None, :]
    load = peak * (0.3 + 0.7 * on * _daily(rng, clock, n, 0.15))
    return load * _noise(rng, n, clock.H, 0.2)


_BASE = {
    "residential": _household,
    "commercial": _commercial,
    "industrial": _industrial,
    "public": _public,
    "agricultural": _agricultural,
    "other": _other,
}


def _base_by_class(rng, clock, classes):
    out = np.empty((len(classes), clock.H))
    for cls in np.unique(classes):
        rows = np.flatnonzero(classes == cls)
        out[rows] = _BASE[str(cls)](rng, clock, len(rows))
    return out


def _rig(rng, clock, kw):
    """Mining rigs: near-constant power, small noise, rare reboots [kWh]."""
    n, H = len(kw), clock.H
    load = kw[:, None] * (1.0 + 0.012 * rng.standard_normal((n, H), dtype=np.float32))
    load *= 1.0 + 0.004 * np.maximum(clock.temp_h - 20.0, 0.0)  # fans
    reboot = rng.random((n, H), dtype=np.float32) < 0.002
    return np.where(reboot, load * rng.uniform(0.0, 0.6, (n, H)), load)


def _asic_kw(rng, n, lo, hi):
    """Power of ``lo``..``hi`` ASIC miners of 3.0-3.5 kW each [kW]."""
    return rng.integers(lo, hi + 1, n) * rng.uniform(3.0, 3.5, n)


def _onset(rng, clock, n):
    """Onset hour index between 20 % and 70 % of the span, 08:00-22:00."""
    d = rng.integers(int(0.2 * clock.D), int(0.7 * clock.D) + 1, n)
    return d * 24 + rng.integers(8, 23, n)


def _after(clock, onset):
    return np.arange(clock.H)[None, :] >= onset[:, None]


# --------------------------------------------------------------------------
# Archetype generators: (rng, clock, classes) -> (load (n, H), onset hour or -1)


def _none(n):
    return np.full(n, -1)


def _gen_plain(rng, clock, classes):
    return _base_by_class(rng, clock, classes), _none(len(classes))


def _gen_coal(rng, clock, classes):
    """煤改电 storage heaters / heat pumps: valley-hour heating from 15 Nov."""
    n = len(classes)
    load = _household(rng, clock, n, median_kwh_day=9.0)
    rated = _u(rng, n, 6.0, 12.0)
    k = _u(rng, n, 0.5, 0.9)  # [kW/K]
    nidx = np.minimum(clock.night, clock.D - 1)
    t_night = clock.temp_d[nidx]
    on = clock.heating_d[clock.night]
    level = np.minimum(rated, k * np.maximum(16.0 - t_night, 0.0)[None, :])
    night_heat = level * (clock.valley & on)[None, :] * _noise(rng, n, clock.H, 0.05)
    day_share = _u(rng, n, 0.05, 0.3)
    day_on = (~clock.valley & clock.heating_d[clock.day])[None, :]
    day_heat = (
        day_share
        * k
        * np.maximum(16.0 - clock.temp_h, 0.0)
        * day_on
        * _noise(rng, n, clock.H, 0.2)
    )
    return load + night_heat + day_heat, _none(n)


def _gen_large_household(rng, clock, classes):
    """Large households, half with an electric car charged in the valley hours."""
    n = len(classes)
    load = _household(rng, clock, n, median_kwh_day=30.0, sigma_day=0.2)
    has_ev = rng.random(n)[:, None] < 0.5
    charge = rng.random((n, clock.D + 1)) < 0.4
    dur = rng.integers(2, 6, (n, clock.D + 1))
    ev = has_ev & charge[:, clock.night] & (clock.night_pos[None, :] < dur[:, clock.night])
    return load + ev * _u(rng, n, 6.6, 7.0), _none(n)


def _gen_vacant(rng, clock, classes):
    """Homes empty for weeks: only a fridge, or nothing at all."""
    n = len(classes)
    load = _household(rng, clock, n)
    length = rng.integers(min(14, clock.D // 2), max(min(60, int(0.6 * clock.D)), 15) + 1, n)
    length = np.minimum(length, clock.D - 1)
    first = (rng.random(n) * (clock.D - length)).astype(int)
    empty = (clock.day[None, :] >= first[:, None]) & (
        clock.day[None, :] < (first + length)[:, None]
    )
    standby = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.02, 0.06, n))[:, None]
    return np.where(empty, standby * _noise(rng, n, clock.H, 0.3), load), _none(n)


def _gen_shop24(rng, clock, classes):
    """24-hour convenience stores: refrigeration base plus customer peaks."""
    n = len(classes)
    fridge = _u(rng, n, 4.0, 15.0) * (1.0 + 0.006 * (clock.temp_h - 15.0))
    traffic = _SHOP_TRAFFIC[clock.hod] * np.where(clock.off_h, 1.15, 1.0)
    cust = fridge * _u(rng, n, 0.4, 0.8) * traffic * _daily(rng, clock, n, 0.1)
    return fridge * _noise(rng, n, clock.H, 0.08) + cust * _noise(rng, n, clock.H, 0.2), _none(n)


def _gen_telecom(rng, clock, classes):
    """Telecom base stations: near-constant 2-5 kW, slight traffic and AC."""
    n = len(classes)
    traffic = 1.0 + 0.04 * np.cos(2 * np.pi * (clock.hod - 20) / 24)
    ac = 1.0 + 0.01 * np.maximum(clock.temp_h - 20.0, 0.0)
    return _u(rng, n, 2.0, 5.0) * traffic * ac * _noise(rng, n, clock.H, 0.02), _none(n)


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


def _gen_street_lighting(rng, clock, classes):
    """Street lighting: on from dusk to dawn, some dimmed after midnight."""
    n = len(classes)
    sunrise, sunset = _sun_times(clock.dates)
    off_at = (sunrise - 1 / 6)[clock.day]  # lights go off 10 min before sunrise
    on_at = (sunset + 1 / 6)[clock.day]
    h = clock.hod.astype(float)
    lit = np.clip(np.minimum(h + 1, off_at) - h, 0, 1) + np.clip(
        h + 1 - np.maximum(h, on_at), 0, 1
    )
    dim = np.where(rng.random(n)[:, None] < 0.4, 0.5, 1.0)
    level = np.where((clock.hod >= 0) & (clock.hod < 5), dim, 1.0)
    return _u(rng, n, 2.0, 15.0) * lit * level * _noise(rng, n, clock.H, 0.01), _none(n)


def _gen_continuous(rng, clock, classes):
    """Continuous-process industry: flat high load, shifts, maintenance stops."""
    n = len(classes)
    p = _u(rng, n, 300.0, 2000.0)
    shift = np.where(np.isin(clock.hod, (0, 8, 16)), 0.95, 1.0)
    week = np.where(clock.off_h, 0.97, 1.0)
    load = p * shift * week * _daily(rng, clock, n, 0.02) * _noise(rng, n, clock.H, 0.02)
    stop = np.zeros((n, clock.H), dtype=bool)
    for _ in range(2):  # up to two stops of 2-5 days each
        length = rng.integers(2, 6, n) * 24
        first = (rng.random(n) * (clock.H - length)).astype(int)
        used = rng.random(n) < 0.8
        i = np.arange(clock.H)[None, :]
        stop |= used[:, None] & (i >= first[:, None]) & (i < (first + length)[:, None])
    return np.where(stop, load * _u(rng, n, 0.08, 0.15), load), _none(n)


def _gen_aquaculture(rng, clock, classes):
    """Fish-pond aerators and pumps: near-constant, more at night, less in winter."""
    n = len(classes)
    season = np.clip((clock.temp_d[clock.day] - 2.0) / 18.0, 0.25, 1.0)
    night = np.where((clock.hod >= 22) | (clock.hod < 6), 1.15, 1.0)
    load = _u(rng, n, 5.0, 40.0) * season * night * _noise(rng, n, clock.H, 0.03)
    return load, _none(n)


def _gen_data_centre(rng, clock, classes, mean_kw=None):
    """Registered data centres: very high flat load, cooling follows temperature."""
    n = len(classes)
    if mean_kw is None:
        mean_kw = np.exp(rng.uniform(math.log(200.0), math.log(3000.0), n))
    it = 1.0 + 0.03 * np.cos(2 * np.pi * (clock.hod - 21) / 24)
    cooling = 1.0 + 0.006 * (clock.temp_h - 10.0)
    load = mean_kw[:, None] * it * cooling * _noise(rng, n, clock.H, 0.01)
    return load, _none(n)


def _gen_mining_24x7(rng, clock, classes):
    n = len(classes)
    return _base_by_class(rng, clock, classes) + _rig(rng, clock, _asic_kw(rng, n, 1, 9)), _none(n)


def _gen_mining_step(rng, clock, classes):
    n = len(classes)
    onset = _onset(rng, clock, n)
    rig = _rig(rng, clock, _asic_kw(rng, n, 1, 9)) * _after(clock, onset)
    return _base_by_class(rng, clock, classes) + rig, onset


def _gen_mining_valley(rng, clock, classes):
    n = len(classes)
    rig = _rig(rng, clock, _asic_kw(rng, n, 2, 9)) * clock.valley[None, :]
    return _base_by_class(rng, clock, classes) + rig, _none(n)


def _gen_mining_price(rng, clock, classes):
    """Rigs switched off on unprofitable days (two-state Markov chain over days)."""
    n = len(classes)
    on = np.ones((n, clock.D), dtype=bool)
    u = rng.random((n, clock.D))
    for d in range(1, clock.D):  # over days, not hours
        on[:, d] = np.where(on[:, d - 1], u[:, d] >= 0.12, u[:, d] < 0.35)
    rig = _rig(rng, clock, _asic_kw(rng, n, 1, 9)) * on[:, clock.day]
    return _base_by_class(rng, clock, classes) + rig, _none(n)


def _gen_mining_small(rng, clock, classes):
    n = len(classes)
    rig = _rig(rng, clock, rng.uniform(0.8, 1.5, n))
    return _household(rng, clock, n) + rig, _none(n)


def _gen_mining_shop(rng, clock, classes):
    """A shop converted to mining: its pattern is replaced by a flat high load."""
    n = len(classes)
    onset = _onset(rng, clock, n)
    shop = _commercial(rng, clock, n)
    mined = 0.08 * shop.mean(axis=1, keepdims=True) + _rig(rng, clock, _asic_kw(rng, n, 3, 12))
    return np.where(_after(clock, onset), mined, shop), onset


def _gen_mining_industrial(rng, clock, classes):
    n = len(classes)
    onset = _onset(rng, clock, n)
    rig = _rig(rng, clock, _asic_kw(rng, n, 15, 90)) * _after(clock, onset)
    return _industrial(rng, clock, n) + rig, onset


def _gen_mining_farm(rng, clock, classes):
    """Mining in a rural farm building or warehouse, half of them from an onset."""
    n = len(classes)
    onset = np.where(rng.random(n) < 0.5, _onset(rng, clock, n), -1)
    rig = _rig(rng, clock, _asic_kw(rng, n, 20, 100)) * _after(clock, onset)
    return _base_by_class(rng, clock, classes) + rig, onset


_GENERATORS = {
    "coal_to_electricity": _gen_coal,
    "large_household": _gen_large_household,
    "vacant_home": _gen_vacant,
    "shop_24h": _gen_shop24,
    "telecom_base_station": _gen_telecom,
    "street_lighting": _gen_street_lighting,
    "continuous_process": _gen_continuous,
    "aquaculture": _gen_aquaculture,
    "data_centre": _gen_data_centre,
    "mining_24x7": _gen_mining_24x7,
    "mining_step_onset": _gen_mining_step,
    "mining_valley_only": _gen_mining_valley,
    "mining_price_driven": _gen_mining_price,
    "mining_small_home": _gen_mining_small,
    "mining_converted_shop": _gen_mining_shop,
    "mining_hidden_industrial": _gen_mining_industrial,
    "mining_rural_farm": _gen_mining_farm,
}


# --------------------------------------------------------------------------
# Population


def _allocate(rng, n, archetypes=ARCHETYPES) -> tuple[np.ndarray, np.ndarray]:
    """Archetype and customer class of each meter, in random order."""
    names, classes = [], []
    per_class = dict.fromkeys(_CLASSES, 0)
    for name, (role, cls, share) in archetypes.items():
        if role == "normal":
            continue
        k = max(1, round(share * n))
        cl = [cls[i % len(cls)] for i in range(k)]
        names += [name] * k
        classes += cl
        for c in cl:
            per_class[c] += 1
    fill = {c: max(1, round(s * n) - per_class[c]) for c, s in _CLASS_SHARE.items()}
    fill.pop("data_centre")  # every data_centre meter is a registered data centre
    fill["other"] = n - len(names) - sum(fill.values())
    if fill["other"] < 1:
        fill["residential"] -= 1 - fill["other"]
        fill["other"] = 1
    for c, k in fill.items():
        names += [c] * k
        classes += [c] * k
    order = rng.permutation(n)
    return np.array(names, dtype=object)[order], np.array(classes, dtype=object)[order]


def _placement_kind(rng, arch, cls):
    """Which kind of building each meter sits in."""
    n = len(arch)
    kind = np.empty(n, dtype=object)
    r = rng.random(n)
    res = cls == "residential"
    kind[res] = np.where(r[res] < 0.85, "apartment", "rural_home")
    kind[arch == "coal_to_electricity"] = "rural_home"
    kind[(arch == "large_household") & (r < 0.4)] = "rural_home"
    kind[cls == "commercial"] = "shop"
    kind[cls == "industrial"] = "factory"
    kind[cls == "public"] = "public"
    kind[cls == "agricultural"] = "farm"
    kind[cls == "other"] = "other"
    kind[cls == "data_centre"] = "server_room"
    kind[arch == "street_lighting"] = "cabinet"
    kind[arch == "telecom_base_station"] = "shelter"
    kind[(arch == "mining_rural_farm") & (cls == "other")] = "warehouse"
    return kind


# (use, footprint width range, depth range [m], floors range) per building kind
_BUILDING_KINDS = {
    "apartment": ("residential", (40, 80), (15, 20), (6, 18)),
    "rural_home": ("residential", (15, 22), (15, 18), (1, 2)),
    "shop": ("commercial", (15, 40), (15, 30), (1, 4)),
    "factory": ("industrial", (40, 80), (30, 70), (1, 2)),
    "public": ("public", (25, 70), (20, 50), (2, 5)),
    "farm": ("agricultural", (15, 60), (15, 40), (1, 1)),
    "warehouse": ("other", (30, 70), (20, 50), (1, 1)),
    "other": ("other", (15, 40), (15, 30), (1, 3)),
    "server_room": ("data_centre", (20, 50), (15, 40), (2, 4)),
    "data_centre": ("data_centre", (60, 80), (50, 80), (2, 4)),
    "cabinet": ("public", (15, 15), (15, 15), (1, 1)),
    "shelter": ("other", (15, 15), (15, 15), (1, 1)),
}


def _lots():
    xs = np.arange(-_HALF_X + _LOT / 2, _HALF_X, _LOT)
    ys = np.arange(-_HALF_Y + _LOT / 2, _HALF_Y, _LOT)
    X, Y = np.meshgrid(xs, ys)
    ix, iy = np.meshgrid(np.arange(len(xs)), np.arange(len(ys)))
    return X.ravel(), Y.ravel(), ix.ravel(), iy.ravel()


def _lot_weights(rng, lx, ly):
    """Suitability of every lot for each building kind, from the town's zoning."""
    rho = np.hypot(lx / _HALF_X, ly / _HALF_Y)
    core = rho < 0.35
    urban = (rho >= 0.35) & (rho < 0.65)
    outer = rho >= 0.65
    ang = np.arctan2(ly, lx)
    ind_zone = (ang < -0.3) & (ang > -1.4) & (rho > 0.4) & (rho < 0.85)  # south-east
    # Village clusters in the outer ring.
    va = rng.uniform(-np.pi, np.pi, len(_VILLAGES))
    vr = rng.uniform(0.75, 0.95, len(_VILLAGES))
    vx, vy = vr * np.cos(va) * _HALF_X, vr * np.sin(va) * _HALF_Y
    dv = np.hypot(lx[:, None] - vx[None, :], ly[:, None] - vy[None, :])
    village = np.exp(-0.5 * (dv.min(axis=1) / 350.0) ** 2) * outer
    w = {
        "apartment": 5 * core + 3 * urban + 0.02 * outer,
        "rural_home": 10 * village + 0.01 * outer,
        "shop": 6 * core + 2 * urban + 0.3 * village,
        "factory": 10 * ind_zone + 0.1 * urban,
        "public": 2 * core + 2 * urban + 0.5 * village,
        "farm": 3 * village + 1 * outer,
        "warehouse": 2 * ind_zone + 1 * outer,
        "other": 1.0 + 0 * rho,
        "server_room": 2 * core + 2 * urban + 2 * ind_zone,
        "data_centre": 5 * ind_zone + 1 * urban,
        "cabinet": 2 * core + 2 * urban,
        "shelter": 1.0 + 0 * rho,
    }
    return w, vx, vy


def _pick_lots(rng, weight, taken, k):
    """``k`` distinct free lots drawn with probability ~ weight (Gumbel top-k)."""
    with np.errstate(divide="ignore"):
        key = np.log(np.where(taken, 0.0, weight + 1e-9)) + rng.gumbel(size=len(weight))
    chosen = np.argpartition(-key, k - 1)[:k]
    taken[chosen] = True
    return chosen


def _to_deg(x, y):
    return _LON0 + np.asarray(x) / _M_PER_DEG_LON, _LAT0 + np.asarray(y) / _M_PER_DEG_LAT


def _geom_to_deg(geoms):
    return shapely.transform(
        geoms,
        lambda c: np.column_stack(
            [_LON0 + c[:, 0] / _M_PER_DEG_LON, _LAT0 + c[:, 1] / _M_PER_DEG_LAT]
        ),
    )


def _district_splits(rng):
    xs = np.array([-_HALF_X, -_HALF_X / 3, _HALF_X / 3, _HALF_X])
    xs[1:3] += rng.uniform(-400, 400, 2)
    ysplit = rng.uniform(-500, 500, 3)
    return xs, ysplit


def _district_of(x, y, xs, ysplit):
    col = np.clip(np.searchsorted(xs, x) - 1, 0, 2)
    return col + 3 * (y < ysplit[col])


def _districts_layer(xs, ysplit):
    geoms, names, pinyin = [], [], []
    for i, (name, py) in enumerate(_DISTRICTS):
        col, bottom = i % 3, i >= 3
        y0, y1 = (-_HALF_Y, ysplit[col]) if bottom else (ysplit[col], _HALF_Y)
        geoms.append(shapely.box(xs[col], y0, xs[col + 1], y1))
        names.append(name)
        pinyin.append(py)
    return gpd.GeoDataFrame(
        {"name": names, "name_pinyin": pinyin}, geometry=_geom_to_deg(np.array(geoms)), crs=4326
    )


# --------------------------------------------------------------------------
# The city


def _place_buildings(rng, kind, n_extra):
    """Lots and rectangles of every building; meters get a building index."""
    lx, ly, lix, liy = _lots()
    weights, vx, vy = _lot_weights(rng, lx, ly)
    taken = np.zeros(len(lx), dtype=bool)
    n = len(kind)
    # Apartment meters share buildings of about 18 flats each.
    apt = np.flatnonzero(kind == "apartment")
    n_apt_b = max(1, math.ceil(len(apt) / 18))
    counts = {k: int((kind == k).sum()) for k in _BUILDING_KINDS}
    counts["apartment"] = n_apt_b
    counts["data_centre"] = 8
    for k, extra in n_extra.items():
        counts[k] += extra
    b_kind, b_lot = [], []
    for k in _BUILDING_KINDS:  # fixed order keeps the result deterministic
        if counts[k] == 0:
            continue
        b_lot.append(_pick_lots(rng, weights[k], taken, counts[k]))
        b_kind += [k] * counts[k]
    b_lot = np.concatenate(b_lot)
    b_kind = np.array(b_kind, dtype=object)
    nb = len(b_kind)
    w = np.empty(nb)
    d = np.empty(nb)
    floors = np.empty(nb, dtype=int)
    for k, (_use, wr, dr, fr) in _BUILDING_KINDS.items():
        m = b_kind == k
        w[m] = rng.uniform(*wr, m.sum())
        d[m] = rng.uniform(*dr, m.sum())
        floors[m] = rng.integers(fr[0], fr[1] + 1, m.sum())
    swap = rng.random(nb) < 0.3  # some buildings run north-south
    w, d = np.where(swap, d, w), np.where(swap, w, d)
    cx = lx[b_lot] + rng.uniform(-1, 1, nb) * (_LOT - w) / 2 * 0.9
    cy = ly[b_lot] + rng.uniform(-1, 1, nb) * (_LOT - d) / 2 * 0.9
    use = np.array([_BUILDING_KINDS[k][0] for k in b_kind], dtype=object)
    # Meter -> building.
    first = {k: int(np.flatnonzero(b_kind == k)[0]) for k in set(b_kind)}
    meter_b = np.empty(n, dtype=int)
    for k in _BUILDING_KINDS:
        rows = np.flatnonzero(kind == k)
        if k == "apartment" or len(rows) == 0:
            continue
        meter_b[rows] = first[k] + np.arange(len(rows))
    meter_b[apt] = first["apartment"] + rng.integers(0, n_apt_b, len(apt))
    buildings = {
        "kind": b_kind,
        "use": use,
        "cx": cx,
        "cy": cy,
        "w": w,
        "d": d,
        "floors": floors,
        "lix": lix[b_lot],
        "liy": liy[b_lot],
    }
    return buildings, meter_b, (vx, vy)


def _addresses(kind, meter_b, b, district, villages):
    """Fictional Chinese street addresses, every one marked synthetic."""
    vx, vy = villages
    lix, liy = b["lix"][meter_b], b["liy"][meter_b]
    ew = (lix + liy) % 2 == 0
    road = np.where(ew, liy // 4, lix // 4 + 7) % len(_ROADS)
    num = np.where(ew, lix * 4 + liy % 4, liy * 4 + lix % 4) + 1
    x, y = b["cx"][meter_b], b["cy"][meter_b]
    vil = np.argmin(np.hypot(x[:, None] - vx[None, :], y[:, None] - vy[None, :]), axis=1)
    # House numbers in a village: rank of the building among the village's buildings.
    key = vil.astype(np.int64) * 1_000_000 + meter_b
    ukey, inv = np.unique(key, return_inverse=True)
    uvil = ukey // 1_000_000
    vstart = np.r_[0, np.flatnonzero(np.diff(uvil)) + 1]
    vrank = np.arange(len(ukey)) - np.repeat(vstart, np.diff(np.r_[vstart, len(ukey)]))
    vnum = (1 + 3 * vrank + ukey % 3)[inv]
    # Flat numbers: rank of the meter within its apartment building.
    order = np.lexsort((np.arange(len(kind)), meter_b))
    sb = meter_b[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sb)) + 1]
    rank = np.empty(len(kind), dtype=int)
    rank[order] = np.arange(len(kind)) - np.repeat(starts, np.diff(np.r_[starts, len(kind)]))
    nf = b["floors"][meter_b]
    unit = rank // (2 * nf) + 1
    floor = (rank // 2) % nf + 1
    flat = rank % 2 + 1
    rural = np.isin(kind, ["rural_home", "farm"]) | (
        (kind == "warehouse") & (np.hypot(x / _HALF_X, y / _HALF_Y) >= 0.65)
    )
    out = []
    for i in range(len(kind)):  # string formatting only, once per meter
        dname = _DISTRICTS[district[i]][0]
        if rural[i]:
            suffix = "号库房" if kind[i] == "warehouse" else "号"
            a = f"{dname}{_VILLAGES[vil[i]]}{vnum[i]}{suffix}"
        elif kind[i] == "apartment":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号{unit[i]}单元{floor[i]}{flat[i]:02d}"
        elif kind[i] == "cabinet":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号路灯箱变"
        elif kind[i] == "shelter":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号通信基站"
        else:
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号"
        out.append(_SYNTHETIC_PREFIX + a)
    return np.array(out, dtype=object)


def _contracted_kw(rng, peak, cls):
    want = peak * rng.uniform(1.2, 1.8, len(peak))
    want = np.where(cls == "residential", np.maximum(want, 8.0), np.maximum(want, 4.0))
    idx = np.minimum(np.searchsorted(_CONTRACT_SIZES, want), len(_CONTRACT_SIZES) - 1)
    return _CONTRACT_SIZES[idx]


def _heating_network(rng, b):
    """A primary trunk from a heat plant in the south-east, plus secondary branches."""
    jit = rng.uniform(-250, 250, (7, 2))
    legs = [
        np.array([[4800, -2900], [2500, -1300], [0, -300], [-2600, 300], [-4600, 1500]]),
        np.array([[0, -300], [300, 1800], [-300, 3300]]),
    ]
    legs[0] = legs[0] + np.r_[[[0, 0]], jit[:4]]
    legs[1] = np.r_[legs[0][2:3], legs[1][1:] + jit[4:6]]
    rows = []
    trunk_pts = []
    for li, leg in enumerate(legs):
        # Split each leg into pieces of about 800 m so diameter can fall away from the plant.
        seg_len = np.hypot(*np.diff(leg, axis=0).T)
        cum = np.r_[0, np.cumsum(seg_len)]
        npieces = max(1, round(cum[-1] / 800))
        s = np.linspace(0, cum[-1], npieces + 1)
        pts = np.column_stack([np.interp(s, cum, leg[:, 0]), np.interp(s, cum, leg[:, 1])])
        for j in range(npieces):
            a = np.searchsorted(cum, s[j], side="right")
            z = np.searchsorted(cum, s[j + 1], side="left")
            coords = np.r_[pts[j : j + 1], leg[a:z], pts[j + 1 : j + 2]]
            dist_km = (s[j] / 1000) + (3.0 if li == 1 else 0.0)
            dia = max(300, 1000 - 60 * dist_km)
            rows.append(("primary", coords, 120 - 0.6 * dist_km, 55 + rng.uniform(-3, 3), dia, 0))
        trunk_pts.append(pts[1:-1])
    # Secondary branches towards nearby apartment blocks, street-like (L-shaped).
    trunk_pts = np.concatenate(trunk_pts)
    apt = np.flatnonzero(b["kind"] == "apartment")
    for p in trunk_pts:
        dist = np.hypot(b["cx"][apt] - p[0], b["cy"][apt] - p[1])
        near = apt[(dist > 200) & (dist < 1500)]
        if len(near) == 0:
            continue
        for t in rng.choice(near, min(2, len(near)), replace=False):
            q = np.array([b["cx"][t], b["cy"][t] - b["d"][t] / 2 - 5])
            coords = np.array([p, [q[0], p[1]], q])
            supply = rng.uniform(60, 75)
            rows.append(
                (
                    "secondary",
                    coords,
                    supply,
                    supply - rng.uniform(15, 25),
                    rng.choice([100, 150, 200, 250, 300]),
                    1,
                )
            )
    geoms = _geom_to_deg(np.array([shapely.LineString(r[1]) for r in rows]))
    return gpd.GeoDataFrame(
        {
            "kind": [r[0] for r in rows],
            "supply_temp_c": np.round([r[2] for r in rows], 1),
            "return_temp_c": np.round([r[3] for r in rows], 1),
            "diameter_mm": np.array([r[4] for r in rows], dtype=np.int32),
            "operator": [_HEAT_OPERATORS[r[5]] for r in rows],
        },
        geometry=geoms,
        crs=4326,
    )


def _heat_demand(rng, b, floor_area):
    """Annual heat demand on a 500 m grid [MWh/yr]."""
    cell = 500.0
    nx, ny = math.ceil(2 * _HALF_X / cell), math.ceil(2 * _HALF_Y / cell)
    spec = {  # specific space-heating demand [MWh/m2/yr]
        "residential": 0.10,
        "commercial": 0.12,
        "public": 0.10,
        "industrial": 0.05,
        "other": 0.05,
        "agricultural": 0.03,
        "data_centre": 0.0,
    }
    q = floor_area * np.array([spec[u] for u in b["use"]]) * rng.uniform(0.8, 1.2, len(floor_area))
    ix = np.clip(((b["cx"] + _HALF_X) // cell).astype(int), 0, nx - 1)
    iy = np.clip(((b["cy"] + _HALF_Y) // cell).astype(int), 0, ny - 1)
    demand = np.bincount(iy * nx + ix, weights=q, minlength=nx * ny)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))
    x0 = -_HALF_X + gx.ravel() * cell
    y0 = -_HALF_Y + gy.ravel() * cell
    geoms = shapely.box(x0, y0, np.minimum(x0 + cell, _HALF_X), np.minimum(y0 + cell, _HALF_Y))
    return gpd.GeoDataFrame(
        {"cell_id": np.arange(nx * ny, dtype=np.int32), "demand_mwh": np.round(demand, 1)},
        geometry=_geom_to_deg(geoms),
        crs=4326,
    )


@contextlib.contextmanager
def _fixed_gdal_date():
    """Pin the GeoPackage ``last_change`` stamp so files are byte-reproducible."""
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2023-11-15T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_layer(gdf, path, kind):
    path.unlink(missing_ok=True)
    gdf.to_file(path, layer=kind, driver="GPKG", engine="pyogrio")


def _write_readings(path, meter_ids, load, keep, clock):
    H = load.shape[1]
    flat_keep = keep.ravel()
    idx = np.flatnonzero(flat_keep)
    meter_idx = (idx // H).astype(np.int32)
    hour = idx % H
    t0 = np.datetime64(clock.start.to_datetime64(), "us").astype(np.int64)
    ts = t0 + hour.astype(np.int64) * 3_600_000_000
    kwh = load.ravel()[idx]
    table = pa.table(
        {
            "meter_id": pc.take(pa.array(meter_ids, pa.string()), pa.array(meter_idx)),
            "timestamp": pa.array(ts, pa.timestamp("us")),
            "kwh": pa.array(kwh, pa.float64()),
        }
    )
    pq.write_table(
        table,
        path,
        row_group_size=1_000_000,
        compression="zstd",
        use_dictionary=["meter_id"],
        column_encoding={"timestamp": "DELTA_BINARY_PACKED", "kwh": "BYTE_STREAM_SPLIT"},
    )
    return idx


def _extra_rows(rng, meter_ids, load, kept_idx, clock):
    """Exact duplicates of parquet rows plus every kind of bad row."""
    H = clock.H
    n_bad = 6 * _N_BAD_PER_KIND
    pick = rng.choice(kept_idx, _N_EXTRA_ROWS, replace=False)
    m, h = pick // H, pick % H
    stamps = clock.start + pd.to_timedelta(h, unit="h")
    iso = stamps.strftime("%Y-%m-%dT%H:%M:%S").to_numpy().astype(object)
    with_tz = rng.random(_N_EXTRA_ROWS) < 0.35
    iso[with_tz] = iso[with_tz] + "+08:00"
    kwh = np.array([repr(float(v)) for v in load.ravel()[pick]], dtype=object)
    mid = np.asarray(meter_ids, dtype=object)[m].copy()
    kinds = np.array(["duplicate"] * (_N_EXTRA_ROWS - n_bad), dtype=object)
    bad = [
        "negative_kwh",
        "non_numeric_kwh",
        "bad_timestamp",
        "empty_meter_id",
        "unknown_meter",
        "conflicting_duplicate",
    ]
    kinds = np.r_[kinds, np.repeat(bad, _N_BAD_PER_KIND)]
    v = load.ravel()[pick]
    for i in np.flatnonzero(kinds != "duplicate"):
        k = kinds[i]
        if k == "negative_kwh":
            kwh[i] = repr(-round(float(rng.uniform(0.1, 5.0)), 3))
        elif k == "non_numeric_kwh":
            kwh[i] = _BAD_KWH
        elif k == "bad_timestamp":
            iso[i] = _BAD_TIMESTAMP
        elif k == "empty_meter_id":
            mid[i] = ""
        elif k == "unknown_meter":
            mid[i] = _UNKNOWN_METER
        else:
            kwh[i] = repr(round(float(v[i] + rng.uniform(0.5, 3.0)), 3))
    order = rng.permutation(_N_EXTRA_ROWS)
    return pd.DataFrame({"meter_id": mid[order], "timestamp": iso[order], "kwh": kwh[order]})


def _labels(rng, arch, is_mining, onset_day, clock, meter_ids, share=0.6):
    """Inspection outcomes: ``share`` of mining meters, and confounders inspectors visit."""
    n = len(arch)
    role = np.array([ARCHETYPES[a][0] for a in arch])
    mine = np.flatnonzero(is_mining)
    insp_m = mine[rng.random(len(mine)) < share]
    if len(insp_m) == 0:
        insp_m = mine[:1]
    weight = np.where(role == "confounder", 15.0, 1.0)
    weight[is_mining] = 0.0
    k = min(int((~is_mining).sum()), max(2 * len(insp_m), round(0.03 * n)))
    insp_n = rng.choice(n, k, replace=False, p=weight / weight.sum())
    rows = np.r_[insp_m, insp_n]
    first = np.where(onset_day[rows] >= 0, onset_day[rows], 0)
    lo = first + np.maximum(1, np.minimum(7, (clock.D - first) // 3))
    hi = np.full(len(rows), clock.D - 1)
    lo = np.minimum(lo, hi)
    day = lo + (rng.random(len(rows)) * (hi - lo + 1)).astype(int)
    df = pd.DataFrame(
        {
            "meter_id": np.asarray(meter_ids, dtype=object)[rows],
            "label": np.where(is_mining[rows], "mining", "not_mining"),
            "inspected_on": clock.dates[day].strftime("%Y-%m-%d"),
        }
    )
    return df.sort_values(["inspected_on", "meter_id"], ignore_index=True)


def _allocate_shares(mining_share):
    """Archetype shares, with the mining archetypes rescaled to ``mining_share``."""
    if mining_share is None:
        return ARCHETYPES
    total = sum(sh for role, _, sh in ARCHETYPES.values() if role == "mining")
    return {
        name: (role, cls, sh * mining_share / total if role == "mining" else sh)
        for name, (role, cls, sh) in ARCHETYPES.items()
    }


def _simulate(n, t0, t1, seed, mining_share=None):
    """Population, time axis, weather and hourly loads; shared by both generators."""
    ss = np.random.SeedSequence(seed)
    r_pop, r_time, r_load, r_geo, r_gap, r_out = (np.random.default_rng(s) for s in ss.spawn(6))

    # Population and time axis.
    arch, cls = _allocate(r_pop, n, _allocate_shares(mining_share))
    ids = np.sort(r_pop.choice(np.arange(1, 900_000), n, replace=False))
    meter_ids = np.array([f"M{i:06d}" for i in ids], dtype=object)
    clock, weather = _make_clock(r_time, t0, t1)

    # Loads, one archetype at a time.
    load = np.empty((n, clock.H))
    onset = np.full(n, -1)
    dc_rows = np.flatnonzero(arch == "data_centre")
    n_linked = min(4, len(dc_rows))
    dc_it = r_load.uniform(1.0, 40.0, 8)
    dc_pue = r_load.uniform(1.15, 1.6, 8)
    for name in ARCHETYPES:
        rows = np.flatnonzero(arch == name)
        if len(rows) == 0:
            continue
        rng = np.random.default_rng([seed, list(ARCHETYPES).index(name)])
        if name == "data_centre":
            mean_kw = np.exp(rng.uniform(math.log(200.0), math.log(3000.0), len(rows)))
            k = min(8, len(rows))
            mean_kw[:k] = dc_it[:k] * dc_pue[:k] * 1000.0
            load[rows], onset[rows] = _gen_data_centre(rng, clock, cls[rows], mean_kw)
        else:
            gen = _GENERATORS.get(name, _gen_plain)
            load[rows], onset[rows] = gen(rng, clock, cls[rows])
    np.maximum(load, 0.0, out=load)
    np.round(load, 3, out=load)
    load[load == 0.0] = 0.0  # no negative zeros
    return SimpleNamespace(
        arch=arch,
        cls=cls,
        meter_ids=meter_ids,
        clock=clock,
        weather=weather,
        load=load,
        onset=onset,
        dc_rows=dc_rows,
        n_linked=n_linked,
        dc_it=dc_it,
        dc_pue=dc_pue,
        r_geo=r_geo,
        r_gap=r_gap,
        r_out=r_out,
    )


def _gaps(rng, n, clock):
    """Which readings exist: ~1 % of meters lose 1-10 days, plus isolated missing hours."""
    keep = np.ones((n, clock.H), dtype=bool)
    n_gap = max(1, round(0.01 * n))
    gm = rng.choice(n, n_gap, replace=False)
    glen = rng.integers(24, min(240, clock.H // 3) + 1, n_gap)
    gfirst = (rng.random(n_gap) * (clock.H - glen)).astype(int)
    hours = np.arange(clock.H)[None, :]
    keep[gm] &= ~((hours >= gfirst[:, None]) & (hours < (gfirst + glen)[:, None]))
    n_iso = max(5, round(2e-5 * n * clock.H))
    keep[rng.integers(0, n, n_iso), rng.integers(0, clock.H, n_iso)] = False
    return keep


_README = """\
SYNTHETIC DATA -- NOT REAL
==========================

Every file in this directory was generated by GeoEnergy
(geoenergy.samplecity.generate_city, seed={seed}, n_meters={n},
readings {start} to {end} exclusive, errors injected: {errors}).

The town, its districts, streets, villages, buildings, meters, customers,
heating network, operators and data centres are fictional. It is placed
near 116.20-116.35 E, 39.95-40.03 N (north-west of Beijing) only so that
coordinates and the weather look plausible. Addresses start with "[示例]"
("example") and company names end with "（示例）".

Files
-----
registry.csv        meter registry: meter_id, address, customer_class, lon, lat,
                    coord_system (wgs84 | gcj02; about 10 % are GCJ-02 as from
                    AMap geocoding), contracted_kw [kW], floor_area_m2 [m2]
readings.parquet    hourly readings, long format: meter_id, timestamp (naive
                    local time Asia/Shanghai, start of the hour), kwh [kWh];
                    includes gaps (missing rows), never zeros for gaps
readings_extra.csv  (only with errors injected) exact duplicates of parquet
                    rows plus deliberately bad rows: negative kwh, non-numeric
                    kwh, unparseable timestamp, empty meter_id, unknown meter
                    {unknown}, duplicates with a different kwh
labels.csv          inspection outcomes: meter_id, label (mining|not_mining),
                    inspected_on
weather.csv         daily mean air temperature: date, temp_c [degC]
truth.csv           GROUND TRUTH for evaluation only, never to be ingested:
                    meter_id, archetype, is_mining, onset_date
districts.gpkg      6 fictional districts (name, name_pinyin)
buildings.gpkg      building footprints (use, floor_area_m2 [m2], floors)
heating_network.gpkg  district-heating pipes (kind primary|secondary,
                    supply_temp_c, return_temp_c [degC], diameter_mm, operator)
heat_demand.gpkg    500 m grid of annual heat demand (demand_mwh [MWh/yr])
data_centres.gpkg   data centres (name, it_load_mw [MW], meter_id, pue,
                    cooling, operator)
All layers are EPSG:4326, one layer per file named after the file.
"""


def generate_city(
    out_dir,
    *,
    n_meters: int = 3000,
    start="2023-09-01",
    end="2024-01-31",
    seed: int = 20231115,
    inject_errors: bool = True,
) -> SampleCity:
    """Write a synthetic sample city in GeoEnergy's input formats.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write to; created if missing, files in it overwritten.
    n_meters : int, default 3000
        Number of meters (at least 100, so that every archetype occurs).
    start, end : str or Timestamp
        Readings cover ``[start, end)``; whole days, naive local time
        (Asia/Shanghai), at least 14 days apart.
    seed : int
        Seed of the random generator; the output is deterministic for it.
    inject_errors : bool, default True
        Also write ``readings_extra.csv`` with duplicates and bad rows.

    Returns
    -------
    SampleCity
        Paths of the files written.

    Examples
    --------
    >>> city = generate_city("sample", n_meters=300, start="2023-11-01", end="2023-11-22")
    >>> city.readings.name
    'readings.parquet'
    """
    out, n, t0, t1, seed = _check_generate_city(out_dir, n_meters, start, end, seed)
    out.mkdir(parents=True, exist_ok=True)
    sim = _simulate(n, t0, t1, seed)
    arch, cls, meter_ids, clock, weather = sim.arch, sim.cls, sim.meter_ids, sim.clock, sim.weather
    load, onset, dc_rows, n_linked = sim.load, sim.onset, sim.dc_rows, sim.n_linked
    dc_it, dc_pue = sim.dc_it, sim.dc_pue
    r_geo, r_gap, r_out = sim.r_geo, sim.r_gap, sim.r_out

    # Geography.
    kind = _placement_kind(r_geo, arch, cls)
    kind[dc_rows[:8]] = "data_centre"  # the eight listed sites
    n_extra = {
        "apartment": max(1, n // 60),
        "shop": n // 30,
        "public": n // 60,
        "other": n // 60,
        "farm": n // 60,
        "rural_home": n // 30,
    }
    b, meter_b, villages = _place_buildings(r_geo, kind, n_extra)
    nb = len(b["kind"])
    xs, ysplit = _district_splits(r_geo)
    # Meters sit well inside their building.
    mx = b["cx"][meter_b] + r_geo.uniform(-0.35, 0.35, n) * b["w"][meter_b]
    my = b["cy"][meter_b] + r_geo.uniform(-0.35, 0.35, n) * b["d"][meter_b]
    district = _district_of(mx, my, xs, ysplit)
    lon, lat = _to_deg(mx, my)
    gcj = r_geo.random(n) < 0.1
    glon, glat = wgs84_to_gcj02(lon[gcj], lat[gcj])
    lon, lat = lon.copy(), lat.copy()
    lon[gcj], lat[gcj] = glon, glat
    address = _addresses(kind, meter_b, b, district, villages)
    flat_area = np.where(
        kind == "apartment",
        r_geo.uniform(50, 140, n),
        np.where(kind == "rural_home", r_geo.uniform(80, 200, n), 0.0),
    )
    b_floor_area = b["w"] * b["d"] * b["floors"]
    floor_area = np.where(
        flat_area > 0, flat_area, b_floor_area[meter_b] * r_geo.uniform(0.5, 1.0, n)
    )
    floor_area = np.round(floor_area, 1)
    missing_area = (r_geo.random(n) < 0.25) | np.isin(kind, ["cabinet", "shelter"])
    registry = pd.DataFrame(
        {
            "meter_id": meter_ids,
            "address": address,
            "customer_class": cls,
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "coord_system": np.where(gcj, "gcj02", "wgs84"),
            "contracted_kw": _contracted_kw(r_geo, load.max(axis=1), cls),
            "floor_area_m2": pd.array(np.where(missing_area, np.nan, floor_area), dtype="Float64"),
        }
    )

    keep = _gaps(r_gap, n, clock)

    # Tables.
    paths = {
        "registry": out / "registry.csv",
        "readings": out / "readings.parquet",
        "labels": out / "labels.csv",
        "weather": out / "weather.csv",
        "truth": out / "truth.csv",
    }
    registry.to_csv(paths["registry"], index=False)
    weather.to_csv(paths["weather"], index=False)
    kept_idx = _write_readings(paths["readings"], meter_ids, load, keep, clock)
    is_mining = np.array([ARCHETYPES[a][0] == "mining" for a in arch])
    onset_day = np.where(onset >= 0, onset // 24, -1)
    onset_date = np.where(
        onset_day >= 0,
        clock.dates[np.maximum(onset_day, 0)].strftime("%Y-%m-%d"),
        "",
    )
    pd.DataFrame(
        {
            "meter_id": meter_ids,
            "archetype": arch,
            "is_mining": is_mining,
            "onset_date": onset_date,
        }
    ).to_csv(paths["truth"], index=False)
    _labels(r_out, arch, is_mining, onset_day, clock, meter_ids).to_csv(
        paths["labels"], index=False
    )
    extra = None
    if inject_errors:
        extra = out / "readings_extra.csv"
        _extra_rows(r_out, meter_ids, load, kept_idx, clock).to_csv(extra, index=False)
    else:
        (out / "readings_extra.csv").unlink(missing_ok=True)

    # Layers.
    rect = shapely.box(
        b["cx"] - b["w"] / 2, b["cy"] - b["d"] / 2, b["cx"] + b["w"] / 2, b["cy"] + b["d"] / 2
    )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"B{i:05d}" for i in range(nb)],
            "use": b["use"],
            "floor_area_m2": np.round(b_floor_area, 1),
            "floors": b["floors"].astype(np.int32),
        },
        geometry=_geom_to_deg(rect),
        crs=4326,
    )
    dc_b = np.flatnonzero(b["kind"] == "data_centre")
    dc_meter = np.full(8, "", dtype=object)
    site_rows = dc_rows[:8]
    for j, r in enumerate(site_rows[:n_linked]):
        dc_b[j] = meter_b[r]  # linked sites are the buildings of their meters
        dc_meter[j] = meter_ids[r]
    for j, r in enumerate(site_rows[n_linked:], start=n_linked):
        dc_b[j] = meter_b[r]
    dlon, dlat = _to_deg(b["cx"][dc_b], b["cy"][dc_b])
    data_centres = gpd.GeoDataFrame(
        {
            "name": [f"{nm}（示例）" for nm in _DC_NAMES],
            "it_load_mw": np.round(dc_it, 2),
            "meter_id": dc_meter,
            "pue": np.round(dc_pue, 2),
            "cooling": r_out.choice(
                ["air", "water", "liquid", "immersion"], 8, p=[0.4, 0.35, 0.15, 0.1]
            ),
            "operator": [_DC_OPERATORS[i % len(_DC_OPERATORS)] for i in range(8)],
        },
        geometry=gpd.points_from_xy(dlon, dlat),
        crs=4326,
    )
    data_centres["meter_id"] = data_centres["meter_id"].replace("", None)
    layers = {
        "districts": _districts_layer(xs, ysplit),
        "buildings": buildings,
        "heating_network": _heating_network(r_out, b),
        "heat_demand": _heat_demand(r_out, b, b_floor_area),
        "data_centres": data_centres,
    }
    layer_paths = {}
    with _fixed_gdal_date():
        for k, gdf in layers.items():
            layer_paths[k] = out / f"{k}.gpkg"
            _write_layer(gdf, layer_paths[k], k)

    (out / "README.txt").write_text(
        _README.format(
            seed=seed,
            n=n,
            start=t0.date(),
            end=t1.date(),
            errors=inject_errors,
            unknown=_UNKNOWN_METER,
        ),
        encoding="utf-8",
    )
    return SampleCity(
        root=out,
        registry=paths["registry"],
        readings=paths["readings"],
        readings_csv_extra=extra,
        labels=paths["labels"],
        weather=paths["weather"],
        truth=paths["truth"],
        layers=layer_paths,
        n_meters=n,
        start=t0,
        end=t1,
    )


# --------------------------------------------------------------------------
# In-memory population for detector development and evaluation


@dataclass
class Population:
    """A synthetic meter population in memory, from :func:`generate_population`.

    Attributes
    ----------
    readings : xarray.Dataset
        ``kwh`` [kWh per hour] with dims ``("meter", "time")``, NaN where a
        reading is missing; laid out like
        :func:`geoenergy.readings.open_readings` (``time`` in UTC, a
        ``local_time`` coordinate in Asia/Shanghai, ``customer_class`` and
        ``interval_s`` per meter), numpy-backed.
    registry : pandas.DataFrame
        ``meter_id, customer_class, district, contracted_kw [kW],
        floor_area_m2 [m2]`` (floor area missing for about a quarter).
    weather : pandas.DataFrame
        ``date`` (local date) and ``temp_c`` (daily mean [degC]).
    truth : pandas.DataFrame
        ``meter_id, archetype, role (normal|confounder|mining), is_mining,
        onset_date`` -- for evaluation only.
    labels : pandas.DataFrame
        Inspection outcomes in the labels contract (``meter_id, label,
        inspected_on``): a share of the miners, and more non-miners (mostly
        confounders, which inspectors visit more often).
    """

    readings: object
    registry: pd.DataFrame
    weather: pd.DataFrame
    truth: pd.DataFrame
    labels: pd.DataFrame


def generate_population(
    n_meters: int = 1600,
    *,
    start="2023-10-01",
    end="2024-02-01",
    seed: int = 20231115,
    mining_share: float | None = 0.04,
    labelled_share: float = 1 / 3,
    gaps: bool = True,
) -> Population:
    """Simulate a meter population in memory, without geography or files.

    The loads come from the same archetypes as :func:`generate_city`: plain
    customers of every class, every confounder a mining detector must not
    flag and every mining disguise (see :data:`ARCHETYPES`).

    Parameters
    ----------
    n_meters : int, default 1600
        Number of meters (at least 100).
    start, end : str or Timestamp
        Readings cover ``[start, end)``; whole days, naive local time.
    seed : int
        Seed; the result is deterministic for it.
    mining_share : float or None, default 0.04
        Fraction of mining meters, spread over the disguises in the
        proportions of :data:`ARCHETYPES`; None keeps the sample city's
        (about 1.5 %).
    labelled_share : float, default 1/3
        Fraction of the miners that carry an inspection label ``mining``.
    gaps : bool, default True
        Knock out readings as :func:`generate_city` does (days-long gaps for
        about 1 % of meters, plus isolated hours).

    Returns
    -------
    Population

    Examples
    --------
    >>> pop = generate_population(300, start="2023-11-01", end="2023-11-22", seed=1)
    >>> pop.readings.kwh.dims
    ('meter', 'time')
    """
    import xarray as xr

    _, n, t0, t1, seed = _check_generate_city(".", n_meters, start, end, seed)
    if mining_share is not None and not 0.0 < float(mining_share) < 0.5:
        raise ValueError(
            f"mining_share must be between 0 and 0.5 (a fraction), got {mining_share!r}; "
            "use e.g. 0.04 for 4 %."
        )
    if not 0.0 <= float(labelled_share) <= 1.0:
        raise ValueError(f"labelled_share must be between 0 and 1, got {labelled_share!r}.")
    sim = _simulate(n, t0, t1, seed, mining_share)
    clock, load = sim.clock, sim.load
    keep = _gaps(sim.r_gap, n, clock) if gaps else np.ones(load.shape, dtype=bool)
    kwh = np.where(keep, load, np.nan)
    local = pd.date_range(t0, t1, freq="h", inclusive="left")
    utc = local.tz_localize("Asia/Shanghai").tz_convert("UTC").tz_localize(None)
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), kwh)},
        coords={
            "meter": sim.meter_ids.astype(str),
            "time": ("time", utc.to_numpy(), {"timezone": "UTC"}),
            "local_time": ("time", local.to_numpy(), {"timezone": "Asia/Shanghai"}),
            "customer_class": ("meter", sim.cls.astype(str)),
            "interval_s": ("meter", np.full(n, 3600, dtype=np.int64), {"units": "s"}),
        },
        attrs={
            "title": "GeoEnergy synthetic meter population",
            "resolution": "hourly",
            "step_s": 3600,
            "timezone": "Asia/Shanghai",
        },
    )
    ds["kwh"].attrs.update({"units": "kWh", "long_name": "energy consumed in the step"})

    rng = sim.r_geo
    area = np.select(
        [sim.cls == "residential", sim.cls == "commercial", sim.cls == "industrial"],
        [rng.uniform(50, 200, n), rng.uniform(60, 1500, n), rng.uniform(800, 20000, n)],
        rng.uniform(30, 3000, n),
    )
    registry = pd.DataFrame(
        {
            "meter_id": sim.meter_ids,
            "customer_class": sim.cls,
            "district": np.array([d for d, _ in _DISTRICTS], dtype=object)[
                rng.integers(0, len(_DISTRICTS), n)
            ],
            "contracted_kw": _contracted_kw(rng, np.nanmax(load, axis=1), sim.cls),
            "floor_area_m2": pd.array(
                np.where(rng.random(n) < 0.25, np.nan, np.round(area, 1)), dtype="Float64"
            ),
        }
    )
    role = np.array([ARCHETYPES[a][0] for a in sim.arch], dtype=object)
    is_mining = role == "mining"
    onset_day = np.where(sim.onset >= 0, sim.onset // 24, -1)
    truth = pd.DataFrame(
        {
            "meter_id": sim.meter_ids,
            "archetype": sim.arch,
            "role": role,
            "is_mining": is_mining,
            "onset_date": np.where(
                onset_day >= 0,
                clock.dates[np.maximum(onset_day, 0)].strftime("%Y-%m-%d"),
                "",
            ),
        }
    )
    labels = _labels(
        sim.r_out, sim.arch, is_mining, onset_day, clock, sim.meter_ids, float(labelled_share)
    )
    weather = sim.weather.assign(date=pd.to_datetime(sim.weather["date"]))
    return Population(ds, registry, weather, truth, labels)
