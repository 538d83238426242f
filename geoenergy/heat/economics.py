"""What a connection costs: pipe size, pipe and heat-pump capital, heat loss, LCOH.

* The pipe is sized for the peak heat flow at the network's supply/return
  temperature difference: the smallest nominal diameter (DN) whose specific
  pressure drop stays below a design value (Darcy-Weisbach with the
  Swamee-Jain friction factor).
* Its construction cost per metre of trench (supply and return pipe) is the
  linear model of Persson and Werner, ``C = C1 + C2 x d`` by city area,
  converted to CNY; a ``{DN: CNY/m}`` table can replace it.
* Heat loss along the connection uses the insulation and ground thermal
  resistances of two pre-insulated single pipes.
* The levelised cost of heat (LCOH) spreads capital with the capital recovery
  factor over the lifetime and adds the yearly costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PIPE_COST_AREAS",
    "PIPE_SERIES",
    "PipeSize",
    "capital_recovery_factor",
    "heat_loss_w_per_m",
    "lcoh",
    "pipe_cost_per_m",
    "pipe_size",
]

CP_WATER = 4186.0
"""Specific heat of water [J/(kg K)]."""
RHO_WATER = 977.8
"""Density of water at about 70 degC [kg/m3]."""
MU_WATER = 4.04e-4
"""Dynamic viscosity of water at about 70 degC [Pa s]."""


@dataclass(frozen=True)
class PipeSize:
    """One nominal pipe size of a pre-insulated bonded pipe system.

    Attributes
    ----------
    dn : int
        Nominal diameter.
    inner_m : float
        Inner diameter of the steel pipe [m].
    outer_m : float
        Outer diameter of the steel pipe [m].
    casing_m : float
        Outer diameter of the casing [m].
    """

    dn: int
    inner_m: float
    outer_m: float
    casing_m: float


# Steel pipe outer diameter and wall (EN 10220 / EN 253 standard wall) and an
# insulation series-2 casing diameter typical of the large manufacturers'
# catalogues (approximate; override the loss inputs where a design is known).
PIPE_SERIES: dict[int, PipeSize] = {
    p.dn: p
    for p in (
        PipeSize(25, 0.0285, 0.0337, 0.110),
        PipeSize(32, 0.0372, 0.0424, 0.125),
        PipeSize(40, 0.0431, 0.0483, 0.125),
        PipeSize(50, 0.0545, 0.0603, 0.140),
        PipeSize(65, 0.0703, 0.0761, 0.160),
        PipeSize(80, 0.0825, 0.0889, 0.180),
        PipeSize(100, 0.1071, 0.1143, 0.225),
        PipeSize(125, 0.1325, 0.1397, 0.250),
        PipeSize(150, 0.1603, 0.1683, 0.280),
        PipeSize(200, 0.2101, 0.2191, 0.355),
        PipeSize(250, 0.2630, 0.2730, 0.450),
        PipeSize(300, 0.3127, 0.3239, 0.500),
        PipeSize(350, 0.3444, 0.3556, 0.560),
        PipeSize(400, 0.3938, 0.4064, 0.630),
        PipeSize(450, 0.4444, 0.4570, 0.710),
        PipeSize(500, 0.4954, 0.5080, 0.800),
        PipeSize(600, 0.5958, 0.6100, 0.900),
        PipeSize(700, 0.6950, 0.7110, 1.000),
        PipeSize(800, 0.7954, 0.8130, 1.100),
    )
}
"""DN -> pipe dimensions used for sizing, cost and heat loss."""

PIPE_COST_AREAS: dict[str, tuple[float, float]] = {
    "inner_city": (286.0, 2022.0),
    "outer_city": (214.0, 1725.0),
    "park": (151.0, 1378.0),
}
"""City area -> (C1 [EUR/m], C2 [EUR/m2]) of the construction cost of a district
heating pipe pair per metre of trench, ``C = C1 + C2 x d`` with ``d`` the inner
diameter [m], in 2007 euros.

References
----------
Persson, U. and Werner, S. (2011). Heat distribution and the future
competitiveness of district heating. Applied Energy 88(3), 568-576.
These are European construction costs; Chinese costs are usually lower, so
set ``pipe_cost_factor`` or a ``pipe_cost_cny_per_m`` table from local tender
prices.
"""


def _check_size(heat_mw, delta_t_k, max_dp_pa_per_m, roughness_mm):
    q = np.asarray(heat_mw, dtype=float)
    dt = np.asarray(delta_t_k, dtype=float)
    if np.any(q[np.isfinite(q)] < 0):
        raise ValueError("heat_mw must be >= 0 [MW_th].")
    if np.any(dt[np.isfinite(dt)] <= 0):
        raise ValueError(
            "delta_t_k (supply minus return temperature) must be > 0 [K]; check the "
            "network's supply_temp_c and return_temp_c."
        )
    if not max_dp_pa_per_m > 0 or not roughness_mm > 0:
        raise ValueError("max_dp_pa_per_m and roughness_mm must be positive.")
    return q, dt


def _pressure_drop(mass_flow, inner_m, roughness_m):
    """Specific pressure drop [Pa/m] (Darcy-Weisbach, Swamee-Jain friction factor)."""
    area = math.pi * inner_m**2 / 4.0
    v = mass_flow / (RHO_WATER * area)
    re = np.maximum(RHO_WATER * v * inner_m / MU_WATER, 1.0)
    f_turb = 0.25 / np.log10(roughness_m / (3.7 * inner_m) + 5.74 / re**0.9) ** 2
    f = np.where(re < 2300, 64.0 / re, f_turb)
    return f * RHO_WATER * v**2 / (2.0 * inner_m)


def pipe_size(heat_mw, delta_t_k, *, max_dp_pa_per_m: float = 100.0, roughness_mm: float = 0.05):
    """Smallest nominal diameter that carries a heat flow within a pressure-drop limit.

    Parameters
    ----------
    heat_mw : float or array_like
        Peak heat flow [MW_th].
    delta_t_k : float or array_like
        Supply minus return temperature [K].
    max_dp_pa_per_m : float
        Design specific pressure drop [Pa/m]; 100 Pa/m is a common design value
        for distribution pipes (Frederiksen and Werner, District Heating and
        Cooling, Studentlitteratur 2013).
    roughness_mm : float
        Absolute pipe roughness [mm].

    Returns
    -------
    numpy.ndarray of int
        DN per input; the largest DN in :data:`PIPE_SERIES` when even that one
        exceeds the limit (the flow then needs parallel pipes), 0 for no flow.

    References
    ----------
    Swamee, P. K. and Jain, A. K. (1976). Explicit equations for pipe-flow
    problems. Journal of the Hydraulics Division 102(5), 657-664.
    """
    q, dt = _check_size(heat_mw, delta_t_k, max_dp_pa_per_m, roughness_mm)
    q, dt = np.broadcast_arrays(np.atleast_1d(q), np.atleast_1d(dt))
    mass = q * 1e6 / (CP_WATER * dt)
    out = np.full(q.shape, max(PIPE_SERIES), dtype=np.int64)
    chosen = np.zeros(q.shape, dtype=bool)
    for dn, p in sorted(PIPE_SERIES.items()):
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = _pressure_drop(mass, p.inner_m, roughness_mm / 1000.0) <= max_dp_pa_per_m
        take = ok & ~chosen
        out[take] = dn
        chosen |= take
    out[~(q > 0)] = 0
    return out


def pipe_cost_per_m(
    dn,
    *,
    area: str = "outer_city",
    cny_per_eur: float = 7.8,
    factor: float = 1.0,
    table: dict | None = None,
):
    """Construction cost of a supply-and-return pipe pair per metre of trench.

    Parameters
    ----------
    dn : int or array_like of int
        Nominal diameter (0 means no pipe, cost 0).
    area : str
        Key of :data:`PIPE_COST_AREAS`.
    cny_per_eur : float
        Exchange rate [CNY/EUR].
    factor : float
        Multiplier for the local price level [-].
    table : dict, optional
        ``{DN: CNY per metre}`` used instead of the model; a DN between table
        entries takes the next larger entry's cost.

    Returns
    -------
    numpy.ndarray
        Cost [CNY/m].

    References
    ----------
    See :data:`PIPE_COST_AREAS`.
    """
    dns = np.atleast_1d(np.asarray(dn, dtype=np.int64))
    unknown = sorted(set(dns[(dns != 0) & ~np.isin(dns, list(PIPE_SERIES))].tolist()))
    if unknown:
        raise ValueError(f"dn must be one of {sorted(PIPE_SERIES)} (or 0); got {unknown}.")
    if table:
        keys = np.array(sorted(table), dtype=np.int64)
        vals = np.array([table[k] for k in sorted(table)], dtype=float)
        idx = np.minimum(np.searchsorted(keys, dns, side="left"), len(keys) - 1)
        cost = vals[idx]
    else:
        if area not in PIPE_COST_AREAS:
            raise ValueError(f"area must be one of {sorted(PIPE_COST_AREAS)}, got {area!r}.")
        c1, c2 = PIPE_COST_AREAS[area]
        d = np.array([PIPE_SERIES[int(x)].inner_m if x else 0.0 for x in dns])
        cost = (c1 + c2 * d) * cny_per_eur
    return np.where(dns == 0, 0.0, cost * factor)


def heat_loss_w_per_m(
    dn,
    supply_temp_c,
    return_temp_c,
    *,
    ground_temp_c: float = 10.0,
    soil_conductivity: float = 1.5,
    insulation_conductivity: float = 0.027,
    depth_m: float = 1.0,
):
    """Heat loss of a buried pre-insulated supply/return pipe pair per metre.

    Each pipe loses ``(T - T_ground) / (R_insulation + R_ground)`` with
    ``R_insulation = ln(D_casing / D_steel) / (2 pi lambda_i)`` and
    ``R_ground = ln(4 H / D_casing) / (2 pi lambda_s)``; the interaction of
    the two pipes is neglected, which slightly overstates the loss.

    Parameters
    ----------
    dn : int or array_like
        Nominal diameter (0: no pipe, no loss).
    supply_temp_c, return_temp_c : float or array_like
        [degC]
    ground_temp_c : float
        Undisturbed ground temperature [degC].
    soil_conductivity, insulation_conductivity : float
        [W/(m K)]
    depth_m : float
        Depth of the pipe axis [m].

    Returns
    -------
    numpy.ndarray
        Heat loss [W per metre of trench].

    References
    ----------
    Wallentén, P. (1991). Steady-state heat loss from insulated pipes. Lund
    Institute of Technology, Report TVBH-3017.
    """
    dns = np.atleast_1d(np.asarray(dn, dtype=np.int64))
    for v, name in (
        (soil_conductivity, "soil_conductivity"),
        (insulation_conductivity, "insulation_conductivity"),
        (depth_m, "depth_m"),
    ):
        if not v > 0:
            raise ValueError(f"{name} must be positive, got {v!r}.")
    ts, tr = np.broadcast_arrays(
        np.asarray(supply_temp_c, dtype=float), np.asarray(return_temp_c, dtype=float)
    )
    out = np.zeros(np.broadcast_shapes(dns.shape, np.atleast_1d(ts).shape))
    dns_b = np.broadcast_to(dns, out.shape)
    ts_b = np.broadcast_to(np.atleast_1d(ts), out.shape)
    tr_b = np.broadcast_to(np.atleast_1d(tr), out.shape)
    for i, d in np.ndenumerate(dns_b):
        if d == 0:
            continue
        p = PIPE_SERIES[int(d)]
        r_ins = math.log(p.casing_m / p.outer_m) / (2 * math.pi * insulation_conductivity)
        r_g = math.log(4 * depth_m / p.casing_m) / (2 * math.pi * soil_conductivity)
        out[i] = (max(ts_b[i] - ground_temp_c, 0.0) + max(tr_b[i] - ground_temp_c, 0.0)) / (
            r_ins + r_g
        )
    return out


def capital_recovery_factor(rate: float, years: int) -> float:
    """Capital recovery factor ``r (1+r)^n / ((1+r)^n - 1)`` [1/yr] (1/n for r = 0)."""
    if not 0 <= rate < 1:
        raise ValueError(f"rate must lie in [0, 1), got {rate!r}.")
    if not isinstance(years, int | np.integer) or years < 1:
        raise ValueError(f"years must be a whole number >= 1, got {years!r}.")
    if rate == 0:
        return 1.0 / years
    g = (1.0 + rate) ** years
    return rate * g / (g - 1.0)


def lcoh(capex_cny, annual_cost_cny, annual_heat_mwh, *, rate: float = 0.08, years: int = 25):
    """Levelised cost of heat.

    ``LCOH = (capex x CRF(rate, years) + annual cost) / annual heat``.

    Parameters
    ----------
    capex_cny : float or array_like
        Capital cost [CNY].
    annual_cost_cny : float or array_like
        Operation, maintenance and electricity per year [CNY/yr].
    annual_heat_mwh : float or array_like
        Heat sold per year [MWh_th/yr].
    rate : float
        Discount rate [-].
    years : int
        Lifetime [yr].

    Returns
    -------
    numpy.ndarray
        [CNY/MWh]; NaN where no heat is delivered.
    """
    crf = capital_recovery_factor(rate, years)
    cap = np.asarray(capex_cny, dtype=float)
    ann = np.asarray(annual_cost_cny, dtype=float)
    heat = np.asarray(annual_heat_mwh, dtype=float)
    total = cap * crf + ann
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(heat > 0, total / np.where(heat > 0, heat, 1.0), np.nan)
