"""Power usage effectiveness (PUE): from meters or as declared, and its limits.

PUE is the facility's total electricity over the electricity of its IT
equipment (ISO/IEC 30134-2). Where a site has both a facility meter and an
IT meter it is computed from metered energy, annually and per month;
otherwise the declared value is used.

The limits Beijing applies are collected in :data:`PUE_LIMITS`, one registry
that drives both the defaults of :class:`geoenergy.heat.config.HeatConfig`
and this documentation.

What could and could not be verified (searches of public pages, 2025):

* The local standard DB11/T 1139 (数据中心能源效率限额, 2019, revised 2023)
  sets the formal limit values, but no copy of its limit table could be
  retrieved; the defaults below are therefore taken from the municipal
  rules that quote limits, not from the standard itself.
* The PUE level tied to a reward in the 2023 energy-conservation plan could
  not be found either; the "reward" default (1.15) is the level Beijing's
  低效数据中心综合治理工作方案 attaches to its consolidation incentive. Set
  ``pue_reward_level`` when the plan's figure is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PUE_LIMITS",
    "PueLimit",
    "compliance",
    "metered_pue",
    "pue",
    "pue_limit",
]


@dataclass(frozen=True)
class PueLimit:
    """One PUE threshold with its source.

    Attributes
    ----------
    value : float
        The threshold [-]; compliant means PUE <= value.
    applies_to : str
        Which sites it concerns.
    reference : str
        Where the value comes from.
    verified : bool
        False when the value could not be confirmed from a retrieved copy
        of the source (see the module docstring).
    """

    value: float
    applies_to: str
    reference: str
    verified: bool = True


PUE_LIMITS: dict[str, PueLimit] = {
    "beijing_existing": PueLimit(
        1.40,
        "existing data centres (differential electricity price above this PUE)",
        "京发改规〔2021〕4号《关于进一步加强数据中心项目节能审查的若干规定》, Beijing "
        "Municipal Commission of Development and Reform, 27 July 2021 (reported by C114, "
        "30 July 2021).",
    ),
    "beijing_existing_2026": PueLimit(
        1.35,
        "existing data centres from 2026 (differential price; 2027 city-wide target)",
        "《北京市存量数据中心优化工作方案（2024—2027年）》, Beijing Municipal Bureau of "
        "Economy and Information Technology et al., 14 November 2024.",
    ),
    "beijing_new_below_10k_tce": PueLimit(
        1.30,
        "new and extended sites using < 10,000 tce/yr (electricity at equivalent value)",
        "京发改规〔2021〕4号, article 7.",
    ),
    "beijing_new_10k_20k_tce": PueLimit(
        1.25,
        "new and extended sites using 10,000-20,000 tce/yr",
        "京发改规〔2021〕4号, article 7.",
    ),
    "beijing_new_20k_30k_tce": PueLimit(
        1.20,
        "new and extended sites using 20,000-30,000 tce/yr",
        "京发改规〔2021〕4号, article 7 (the retrieved excerpt ended before this band).",
        verified=False,
    ),
    "beijing_new_above_30k_tce": PueLimit(
        1.15,
        "new and extended sites using >= 30,000 tce/yr",
        "京发改规〔2021〕4号, article 7 (the retrieved excerpt ended before this band).",
        verified=False,
    ),
    "beijing_reward": PueLimit(
        1.15,
        "incentive level (new sites that replace closed inefficient ones)",
        "《北京市低效数据中心综合治理工作方案》, clause (十三). Stand-in for the 2023 plan's "
        "reward level, which could not be found.",
        verified=False,
    ),
}
"""Beijing PUE thresholds by name; :class:`~geoenergy.heat.config.HeatConfig` takes its
defaults from here."""


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {type(value).__name__}."
        ) from None
    return arr


def _check_pue(facility, it):
    f = _as_float_array(facility, "facility_energy")
    i = _as_float_array(it, "it_energy")
    if np.any(f[np.isfinite(f)] < 0) or np.any(i[np.isfinite(i)] < 0):
        raise ValueError(
            "facility_energy and it_energy must be >= 0 (energy in the same unit, e.g. [kWh]); "
            "check the meters for negative readings."
        )
    return f, i


def pue(facility_energy, it_energy):
    """PUE = facility energy / IT energy.

    Parameters
    ----------
    facility_energy : float or array_like
        Total electricity of the site over a period [kWh] (any unit).
    it_energy : float or array_like
        Electricity of the IT equipment over the same period, same unit.

    Returns
    -------
    float or numpy.ndarray
        PUE [-]; NaN where the IT energy is zero or missing.

    References
    ----------
    ISO/IEC 30134-2:2016, Information technology - Data centres - Key performance
    indicators - Part 2: Power usage effectiveness (PUE).
    """
    f, i = _check_pue(facility_energy, it_energy)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(i > 0, f / np.where(i > 0, i, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _check_metered(facility_kwh, it_kwh, timezone):
    for name, s in (("facility_kwh", facility_kwh), ("it_kwh", it_kwh)):
        if not isinstance(s, pd.Series) or not isinstance(s.index, pd.DatetimeIndex):
            raise TypeError(
                f"{name} must be a pandas Series indexed by time (DatetimeIndex), got "
                f"{type(s).__name__}; build it from open_readings(...).kwh.sel(meter=ID)."
            )
        if s.index.tz is None:
            raise ValueError(
                f"{name} has a naive time index; localise it first, e.g. "
                f"s.tz_localize('UTC') for readings opened with open_readings."
            )
    if not isinstance(timezone, str):
        raise TypeError(f"timezone must be an IANA name string, got {timezone!r}.")


def metered_pue(facility_kwh: pd.Series, it_kwh: pd.Series, *, timezone: str = "Asia/Shanghai"):
    """Annual and monthly PUE from a facility meter and an IT meter.

    Only steps where both meters have a reading count, so a gap in one meter
    does not bias the ratio.

    Parameters
    ----------
    facility_kwh, it_kwh : pandas.Series
        Energy per step [kWh] on a timezone-aware DatetimeIndex (e.g. hourly
        UTC steps from :func:`geoenergy.readings.open_readings`).
    timezone : str
        Zone in which calendar months are counted.

    Returns
    -------
    annual : float
        PUE over all common steps [-] (NaN when there are none).
    monthly : pandas.DataFrame
        One row per local month: ``month`` ("YYYY-MM"), ``facility_mwh``,
        ``it_mwh`` [MWh], ``pue`` [-], ``hours`` (common steps).
    """
    _check_metered(facility_kwh, it_kwh, timezone)
    both = pd.concat({"f": facility_kwh, "i": it_kwh}, axis=1, join="inner").dropna()
    if both.empty:
        empty = pd.DataFrame(columns=["month", "facility_mwh", "it_mwh", "pue", "hours"])
        return float("nan"), empty
    _check_pue(both["f"].to_numpy(), both["i"].to_numpy())
    annual = pue(both["f"].sum(), both["i"].sum())
    local = both.index.tz_convert(timezone)
    month = local.tz_localize(None).to_period("M").astype(str)
    g = both.groupby(np.asarray(month))
    monthly = pd.DataFrame(
        {
            "month": list(g.groups),
            "facility_mwh": g["f"].sum().to_numpy() / 1000.0,
            "it_mwh": g["i"].sum().to_numpy() / 1000.0,
            "hours": g.size().to_numpy(),
        }
    )
    monthly["pue"] = pue(monthly["facility_mwh"].to_numpy(), monthly["it_mwh"].to_numpy())
    return float(annual), monthly[["month", "facility_mwh", "it_mwh", "pue", "hours"]]


def _check_limit(status, annual_energy_tce, existing, new_bands, new_above):
    st = np.asarray(status, dtype=object)
    bad = ~np.isin(st, ["existing", "new"])
    if bad.any():
        raise ValueError(
            f"status must be 'existing' or 'new'; got {sorted({str(s) for s in st[bad]})}. "
            f"Fix the data_centres layer's status column or set default_status."
        )
    e = _as_float_array(annual_energy_tce, "annual_energy_tce")
    if np.any(e[np.isfinite(e)] < 0):
        raise ValueError("annual_energy_tce must be >= 0 [tce/yr].")
    return st, e


def pue_limit(
    status,
    annual_energy_tce,
    *,
    existing: float = PUE_LIMITS["beijing_existing"].value,
    year: int | None = None,
    existing_from_2026: float = PUE_LIMITS["beijing_existing_2026"].value,
    new_bands=(
        (10_000.0, PUE_LIMITS["beijing_new_below_10k_tce"].value),
        (20_000.0, PUE_LIMITS["beijing_new_10k_20k_tce"].value),
        (30_000.0, PUE_LIMITS["beijing_new_20k_30k_tce"].value),
    ),
    new_above: float = PUE_LIMITS["beijing_new_above_30k_tce"].value,
):
    """PUE limit of each site by status and annual energy use.

    Parameters
    ----------
    status : str or array_like of str
        ``"existing"`` or ``"new"`` (new and extended sites).
    annual_energy_tce : float or array_like
        Annual facility energy use in standard coal at the equivalent value
        [tce/yr]; only used for new sites (Beijing bands limits by size).
    existing : float
        Limit of existing sites [-] (before 2026, or when ``year`` is None).
    year : int, optional
        Assessment year (calendar year of the PUE). From 2026 existing sites
        are held to ``existing_from_2026``; None keeps ``existing``.
    existing_from_2026 : float
        Limit of existing sites from 2026 on [-] (``beijing_existing_2026``).
    new_bands : sequence of (float, float)
        ``(upper bound [tce/yr], limit)`` ascending; a site falls in the first
        band whose upper bound exceeds its use.
    new_above : float
        Limit of new sites above the last band [-].

    Returns
    -------
    numpy.ndarray
        The limit [-] per site.

    References
    ----------
    See :data:`PUE_LIMITS`.
    """
    st, e = _check_limit(status, annual_energy_tce, existing, new_bands, new_above)
    st, e = np.broadcast_arrays(st, e)
    uppers = np.array([b[0] for b in new_bands], dtype=float)
    values = np.array([b[1] for b in new_bands] + [new_above], dtype=float)
    idx = np.searchsorted(uppers, np.where(np.isfinite(e), e, 0.0), side="right")
    new_limit = values[idx]
    if year is not None and int(year) >= 2026:
        existing = existing_from_2026
    return np.where(st == "new", new_limit, float(existing)).astype(float)


def compliance(pue_value, limit, it_energy_mwh_per_yr) -> pd.DataFrame:
    """Compliance with a PUE limit and the energy the excess costs.

    The excess energy is what the site would save per year at the limit
    with the same IT load: ``(PUE - limit) x IT energy`` when PUE > limit.

    Parameters
    ----------
    pue_value : float or array_like
        PUE per site [-].
    limit : float or array_like
        Limit per site [-].
    it_energy_mwh_per_yr : float or array_like
        Annual IT energy per site [MWh/yr].

    Returns
    -------
    pandas.DataFrame
        ``pue_compliant`` (bool; NA when PUE is unknown), ``pue_excess`` [-]
        (PUE - limit, 0 when compliant) and ``pue_excess_energy_mwh_per_yr``
        [MWh/yr].
    """
    p = _as_float_array(pue_value, "pue_value")
    lim = _as_float_array(limit, "limit")
    it = _as_float_array(it_energy_mwh_per_yr, "it_energy_mwh_per_yr")
    p, lim, it = np.broadcast_arrays(np.atleast_1d(p), np.atleast_1d(lim), np.atleast_1d(it))
    if np.any(p[np.isfinite(p)] < 1.0):
        raise ValueError(
            f"pue_value must be >= 1 (facility energy includes the IT energy); got "
            f"{sorted(set(np.round(p[p < 1.0], 3)))}. Check the meter assignment "
            f"(meter_id = facility, it_meter_id = IT)."
        )
    excess = np.where(np.isfinite(p), np.maximum(p - lim, 0.0), np.nan)
    compliant = pd.array(np.where(np.isfinite(p), p <= lim + 1e-12, False), dtype="boolean")
    compliant[~np.isfinite(p)] = pd.NA
    return pd.DataFrame(
        {
            "pue_compliant": compliant,
            "pue_excess": excess,
            "pue_excess_energy_mwh_per_yr": excess * it,
        }
    )
