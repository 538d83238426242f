"""Hourly heat demand of a heating network over a weather year.

A district heating network takes heat when its buildings need it: space
heating in the cold hours of the heating season, domestic hot water (DHW)
around the year where the network supplies it. Waste heat beyond that
demand is dumped, however much a data centre could deliver, so the hourly
demand is what bounds the *used* heat.

The profile here is the simplest one that respects the weather and sums to
the annual demand (the approach of degree-day load profiles, hourly):

* space heating in hour ``t`` is proportional to the degree-hours below a
  base temperature, ``max(T_base - T_out(t), 0)``, inside the heating season
  and zero outside it;
* DHW is a configurable share of the annual demand, spread evenly over all
  8,760 hours (its daily shape is smoothed by the network's storage);
* the two parts are scaled so the year sums to the annual demand.

:data:`WEATHER_YEARS` holds the bundled weather year (Beijing, Dongsi
station, 2015, CC BY 4.0); :data:`DHW_SHARE_BY_LOCATION` documents the
default DHW shares.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from geoenergy.errors import ConfigError, InputFileError
from geoenergy.heat.season import heating_season_mask, reference_hours

__all__ = [
    "DHW_SHARE_BY_LOCATION",
    "WEATHER_YEARS",
    "hourly_demand",
    "load_weather_year",
    "supply_temperature",
]

WEATHER_YEARS: dict[str, str] = {
    "beijing": "beijing_dongsi_2015_temp.csv.gz",
}
"""Location -> bundled file (in ``geoenergy/heat/data``) of 8,760 hourly outdoor
temperatures [degC], local time. ``beijing``: Dongsi monitoring station, calendar
year 2015, from Zhang, S. et al. (2017), Cautionary tales on air-quality
improvement in Beijing, Proc. R. Soc. A 473: 20170457, data set "Beijing
Multi-Site Air-Quality Data" (UCI Machine Learning Repository), CC BY 4.0; see
``geoenergy/heat/data/README.md``. It is the default for Beijing and for the
sample city."""

DHW_SHARE_BY_LOCATION: dict[str, float] = {
    "beijing": 0.0,
    "nordic": 0.25,
}
"""Location -> share of a network's annual heat demand that is domestic hot water [-].

``beijing``: 0. Beijing's district heating supplies space heating in the
statutory season only (北京市供热采暖管理办法, 2010); hot water is made in
the buildings. ``nordic``: 0.25, year-round networks in Denmark, Sweden and
Finland, where hot water is roughly a fifth to a third of the heat sold
(assumption of that order: Frederiksen and Werner, District Heating and
Cooling, 2013, give hot water as about 20-30 % of residential heat use)."""


def _read_weather(path, source: str) -> np.ndarray:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(
            source, f"cannot read the weather file ({exc}).", "give a CSV with timestamp,temp_c"
        ) from None
    if "temp_c" not in frame.columns:
        raise InputFileError(
            source,
            f"no temp_c column (columns: {list(frame.columns)}).",
            "name the hourly outdoor temperature column temp_c [degC].",
        )
    t = pd.to_numeric(frame["temp_c"], errors="coerce").to_numpy(dtype=float)
    if len(t) not in (8760, 8784):
        raise InputFileError(
            source,
            f"{len(t)} rows; a weather year has 8,760 hourly rows (8,784 in a leap year).",
            "give one full calendar year of hourly temperatures.",
        )
    if len(t) == 8784:
        t = np.delete(t, np.s_[59 * 24 : 60 * 24])  # drop 29 February
    bad = ~np.isfinite(t)
    if bad.any():
        raise InputFileError(
            source,
            f"{int(bad.sum())} hour(s) have no temperature (first row {int(np.argmax(bad))}).",
            "fill the gaps (e.g. by interpolation) before using the file.",
        )
    if (t < -60).any() or (t > 60).any():
        raise InputFileError(
            source,
            f"temperatures from {t.min():g} to {t.max():g}: not outdoor air in degC.",
            "give temp_c in degrees Celsius (kelvin minus 273.15).",
        )
    return t


@lru_cache(maxsize=8)
def _bundled(name: str) -> np.ndarray:
    ref = resources.files("geoenergy.heat").joinpath("data", WEATHER_YEARS[name])
    with resources.as_file(ref) as path:
        return _read_weather(path, str(path))


def load_weather_year(weather: str | Path | None = None) -> np.ndarray:
    """8,760 hourly outdoor temperatures [degC] of a weather year, local time.

    Parameters
    ----------
    weather : str or Path, optional
        A key of :data:`WEATHER_YEARS` (default ``"beijing"``) or the path of
        a CSV with a ``temp_c`` column [degC] holding one calendar year of
        hourly values in local time (a leap year loses 29 February).

    Returns
    -------
    numpy.ndarray
        8,760 temperatures [degC], hour 0 = 1 January 00:00 local time; laid
        on any non-leap reference year hour by hour.
    """
    if weather is None:
        weather = "beijing"
    if isinstance(weather, str) and weather in WEATHER_YEARS:
        return _bundled(weather).copy()
    path = Path(weather)
    if not path.is_file():
        raise ConfigError(
            f"heat setting weather_file={str(weather)!r}: file not found; give a CSV with "
            f"timestamp,temp_c or one of the bundled years {sorted(WEATHER_YEARS)}."
        )
    return _read_weather(path, str(path))


def hourly_demand(
    annual_mwh,
    temp_c,
    *,
    year: int = 2023,
    season: tuple[str, str] = ("11-15", "03-15"),
    base_temp_c: float = 18.0,
    dhw_share: float = 0.0,
) -> np.ndarray:
    """Hourly heat demand [MW] of one or more networks, summing to their annual demand.

    Parameters
    ----------
    annual_mwh : float or array_like
        Annual heat demand per network [MWh/yr], >= 0.
    temp_c : array_like
        8,760 hourly outdoor temperatures [degC] (:func:`load_weather_year`).
    year : int
        Non-leap reference year on which the hours are laid (local time).
    season : (str, str)
        ``"MM-DD"`` first and last day of the heating season; ``("01-01",
        "12-31")`` for a year-round space-heating network.
    base_temp_c : float
        Base temperature of the degree-hours [degC].
    dhw_share : float
        Share of the annual demand that is domestic hot water, flat over the
        year [-].

    Returns
    -------
    numpy.ndarray
        ``(n_networks, 8760)`` [MW] (``(8760,)`` for a scalar input); each row
        sums to its annual demand [MWh]. A season without any hour below the
        base temperature spreads the space heating evenly over the season.

    References
    ----------
    Frederiksen, S. and Werner, S. (2013). District Heating and Cooling.
    Studentlitteratur, chapter 4 (heat demands and degree-days).
    """
    q = np.asarray(annual_mwh, dtype=float)
    t = np.asarray(temp_c, dtype=float)
    if t.shape != (8760,):
        raise ValueError(f"temp_c must hold 8,760 hourly values [degC], got shape {t.shape}.")
    if not np.isfinite(t).all():
        raise ValueError("temp_c has missing values; fill them before computing demand.")
    if np.any(~np.isfinite(q)) or np.any(q < 0):
        raise ValueError(f"annual_mwh must be finite and >= 0 [MWh/yr], got {q[~(q >= 0)][:5]}.")
    if not 0.0 <= dhw_share <= 1.0:
        raise ValueError(f"dhw_share must lie in [0, 1], got {dhw_share!r}.")
    mask = heating_season_mask(reference_hours(year), *season)
    dh = np.where(mask, np.maximum(base_temp_c - t, 0.0), 0.0)
    if dh.sum() <= 0:
        dh = mask.astype(float)
    if dh.sum() <= 0:
        raise ValueError(f"the heating season {season} holds no hour; check the dates.")
    shape = (1.0 - dhw_share) * dh / dh.sum() + dhw_share / 8760.0
    out = np.multiply.outer(q, shape)
    return out


def supply_temperature(nominal_c, temp_c, *, min_c=None, design_outdoor_c=-7.6, base_c=18.0):
    """Network supply temperature per hour, optionally following the outdoor temperature.

    Parameters
    ----------
    nominal_c : float or array_like
        Supply temperature at the design outdoor temperature [degC], one per site.
    temp_c : array_like
        8,760 hourly outdoor temperatures [degC].
    min_c : float, optional
        Supply temperature at and above ``base_c`` [degC]; None: constant.
    design_outdoor_c, base_c : float
        [degC]

    Returns
    -------
    numpy.ndarray
        ``(n, 8760)`` [degC]; never above ``nominal_c`` nor below ``min(min_c, nominal_c)``.
    """
    nom = np.atleast_1d(np.asarray(nominal_c, dtype=float))
    t = np.asarray(temp_c, dtype=float)
    if min_c is None:
        return np.repeat(nom[:, None], len(t), axis=1)
    frac = np.clip((base_c - t) / (base_c - design_outdoor_c), 0.0, 1.0)
    low = np.minimum(float(min_c), nom)
    return low[:, None] + (nom - low)[:, None] * frac[None, :]
