"""What recovered heat means to planners and officials.

Heated floor area, households served, and the standard coal (tce) and CO2
the recovered heat avoids against the heat source it displaces. Chinese
official factors are used: GB/T 2589 for heating values and standard-coal
conversion, the NDRC provincial inventory guideline's carbon contents and
oxidation rates for CO2, and the Ministry of Ecology and Environment's grid
factor for the heat pump's electricity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DISPLACED_SOURCES",
    "GJ_PER_TCE",
    "KGCE_PER_KWH_ELECTRICITY",
    "KGCE_PER_MJ_HEAT",
    "DisplacedSource",
    "displaced_fuel",
    "floor_area_annual",
    "floor_area_design",
    "households",
    "tce_of_heat",
]

GJ_PER_TCE = 29.3076
"""Heating value of one tonne of standard coal [GJ/tce]: 1 kgce = 29,307.6 kJ
(7,000 kcal). GB/T 2589-2020, 综合能耗计算通则."""

KGCE_PER_MJ_HEAT = 0.03412
"""Standard coal of 1 MJ of heat [kgce/MJ], GB/T 2589-2020 appendix A."""

KGCE_PER_KWH_ELECTRICITY = 0.1229
"""Standard coal of 1 kWh of electricity at the calorific (当量) value [kgce/kWh],
GB/T 2589-2020 appendix A."""

_C_TO_CO2 = 44.0 / 12.0


@dataclass(frozen=True)
class DisplacedSource:
    """A heat source that recovered heat replaces.

    Attributes
    ----------
    fuel : str
    unit : str
        Unit of fuel quantity (``"m3"`` or ``"kg"``).
    lhv_kj_per_unit : float
        Lower heating value [kJ/unit] (GB/T 2589-2020 appendix A).
    kgce_per_unit : float
        Standard-coal coefficient [kgce/unit] (GB/T 2589-2020 appendix A).
    carbon_t_per_tj : float
        Carbon content per heating value [tC/TJ].
    oxidation : float
        Carbon oxidation rate [-].
    boiler_efficiency : float
        Seasonal efficiency of the boiler plant [-] (assumption, see below).
    reference : str
    """

    fuel: str
    unit: str
    lhv_kj_per_unit: float
    kgce_per_unit: float
    carbon_t_per_tj: float
    oxidation: float
    boiler_efficiency: float
    reference: str

    @property
    def co2_kg_per_unit(self) -> float:
        """CO2 per unit of fuel [kg/unit] = LHV x carbon content x oxidation x 44/12."""
        return (
            self.lhv_kj_per_unit * 1e-9 * self.carbon_t_per_tj * 1e3 * self.oxidation * _C_TO_CO2
        )

    @property
    def co2_t_per_tj(self) -> float:
        """CO2 per heating value of the fuel [t/TJ]."""
        return self.carbon_t_per_tj * self.oxidation * _C_TO_CO2


_FACTOR_REF = (
    "Heating value and standard-coal coefficient: GB/T 2589-2020 appendix A. Carbon "
    "content and oxidation rate: NDRC 省级温室气体清单编制指南（试行） (2011), as tabulated "
    "with the GB/T 2589 values in 各种能源折标准煤及碳排放参考系数. Boiler efficiency: "
    "assumption (typical seasonal efficiency of a district heating boiler plant; "
    "GB 24500-2020 sets product limits by type and size, not verified here)."
)

DISPLACED_SOURCES: dict[str, DisplacedSource] = {
    "gas_boiler": DisplacedSource(
        "natural gas", "m3", 38_931.0, 1.3300, 15.3, 0.99, 0.92, _FACTOR_REF
    ),
    "coal_boiler": DisplacedSource(
        "raw coal", "kg", 20_908.0, 0.7143, 26.37, 0.94, 0.80, _FACTOR_REF
    ),
}
"""Displaced heat sources -> fuel factors and boiler efficiency."""


def _arr(x, name):
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or array of numbers, got {x!r}.") from None
    if np.any(a[np.isfinite(a)] < 0):
        raise ValueError(f"{name} must be >= 0.")
    return a


def _out(a):
    return float(a) if np.ndim(a) == 0 else a


def _positive(x, name):
    if not isinstance(x, int | float) or not x > 0:
        raise ValueError(f"{name} must be a positive number, got {x!r}.")


def floor_area_design(heat_mw, design_load_w_per_m2: float = 40.0):
    """Floor area a continuous heat supply covers at the design heat load.

    Parameters
    ----------
    heat_mw : float or array_like
        Heat delivered [MW_th].
    design_load_w_per_m2 : float
        Design space-heating load [W/m2]; default 40 (residential buildings
        with energy-saving measures: 40-45 W/m2 in CJJ 34, 城镇供热管网设计规范).

    Returns
    -------
    float or numpy.ndarray
        Floor area [m2].
    """
    _positive(design_load_w_per_m2, "design_load_w_per_m2")
    return _out(_arr(heat_mw, "heat_mw") * 1e6 / design_load_w_per_m2)


def floor_area_annual(heat_mwh, intensity_mwh_per_m2: float = 0.10):
    """Floor area whose annual heat use the heat covers.

    Parameters
    ----------
    heat_mwh : float or array_like
        Usable heat per year [MWh_th/yr].
    intensity_mwh_per_m2 : float
        Annual heat use per floor area [MWh/m2/yr].

    Returns
    -------
    float or numpy.ndarray
        Floor area [m2].
    """
    _positive(intensity_mwh_per_m2, "intensity_mwh_per_m2")
    return _out(_arr(heat_mwh, "heat_mwh") / intensity_mwh_per_m2)


def households(floor_area_m2, household_floor_area_m2: float = 80.0):
    """Households served: floor area / floor area of one household [-]."""
    _positive(household_floor_area_m2, "household_floor_area_m2")
    return _out(_arr(floor_area_m2, "floor_area_m2") / household_floor_area_m2)


def tce_of_heat(heat_mwh):
    """Standard coal equivalent of heat [tce] (GB/T 2589: 0.03412 kgce/MJ).

    Parameters
    ----------
    heat_mwh : float or array_like
        Heat [MWh_th].

    Returns
    -------
    float or numpy.ndarray
        [tce]; 1 MWh = 3,600 MJ -> 0.1228 tce.
    """
    return _out(_arr(heat_mwh, "heat_mwh") * 3600.0 * KGCE_PER_MJ_HEAT / 1000.0)


def displaced_fuel(heat_mwh, source: str = "gas_boiler", *, boiler_efficiency=None) -> dict:
    """Fuel, standard coal and CO2 a displaced boiler would have used.

    Parameters
    ----------
    heat_mwh : float or array_like
        Heat that replaces the boiler's output [MWh_th/yr].
    source : str
        Key of :data:`DISPLACED_SOURCES`.
    boiler_efficiency : float, optional
        Override of the boiler's seasonal efficiency [-].

    Returns
    -------
    dict
        ``fuel_gj`` [GJ], ``fuel_quantity`` [m3 or kg, see ``unit``],
        ``unit``, ``tce`` [tce] (fuel quantity x GB/T 2589 coefficient) and
        ``co2_t`` [t].

    References
    ----------
    See :data:`DISPLACED_SOURCES`.
    """
    if source not in DISPLACED_SOURCES:
        raise ValueError(f"source must be one of {sorted(DISPLACED_SOURCES)}, got {source!r}.")
    s = DISPLACED_SOURCES[source]
    eff = s.boiler_efficiency if boiler_efficiency is None else boiler_efficiency
    _positive(eff, "boiler_efficiency")
    q = _arr(heat_mwh, "heat_mwh")
    fuel_gj = q * 3.6 / eff
    quantity = fuel_gj * 1e6 / s.lhv_kj_per_unit
    return {
        "fuel_gj": _out(fuel_gj),
        "fuel_quantity": _out(quantity),
        "unit": s.unit,
        "tce": _out(quantity * s.kgce_per_unit / 1000.0),
        "co2_t": _out(quantity * s.co2_kg_per_unit / 1000.0),
    }
