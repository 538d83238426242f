"""The waste-heat computation on plain frames: one row per data centre.

:func:`analyse` takes the layers as GeoDataFrames and the readings as a
plain ``{meter_id: kWh Series}`` mapping (no workspace, no files) and chains
the plain functions of :mod:`geoenergy.heat` for every data centre:

1. IT load and PUE: from the facility meter (``meter_id``) and the IT meter
   (``it_meter_id``) when their readings are given, else declared
   (``it_load_mw``, ``pue``); compliance with the Beijing limits.
2. Recoverable heat from the cooling type (:mod:`~geoenergy.heat.recovery`),
   laid on the 8,760 hours of a reference year (the metered profile when
   metered).
3. The connection to the nearest temperature-compatible heating-network
   segment (:func:`layers.network.connect_sites`).
4. The hourly balance (:mod:`~geoenergy.heat.balance`): networks, their
   service areas and hourly demand on a real weather year, direct use or a
   heat pump (COP per hour), the minimum-length tree of connection lines,
   dispatch of the heat into each hour's demand less the must-run share in
   merit order, line sizes (3-hour peak, parallel pipes) and costs, lines
   too costly per MWh dropped.
5. Equivalents and economics of the *used* heat (capital, yearly costs,
   LCOH per site and per network).
6. The ranking, on used heat (never available heat).

Loading those inputs from a workspace or from files is
:mod:`geoenergy.heat.entry`'s job; re-running the computation over ranges of
the assumptions is :mod:`geoenergy.heat.sweep`'s. Every output column carries
its unit in its name; the meaning of each is in :data:`OUTPUT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoenergy.errors import ConfigError
from geoenergy.heat import economics, equivalents, pue, ranking, recovery, season
from geoenergy.heat.balance import balance
from geoenergy.heat.config import HeatConfig

__all__ = ["OUTPUT_COLUMNS", "HeatResult", "analyse"]

OUTPUT_COLUMNS: dict[str, str] = {
    "name": "data centre name",
    "operator": "data centre operator",
    "status": "existing or new (selects the PUE limit)",
    "cooling": "cooling type (air, water, liquid, immersion)",
    "it_load_source": "declared, metered_it (IT meter) or metered_facility (facility meter / PUE)",
    "it_load_mw": "mean IT load [MW]",
    "it_energy_mwh_per_yr": "IT electricity per year [MWh/yr]",
    "facility_energy_mwh_per_yr": "facility electricity per year [MWh/yr]",
    "pue": "PUE used [-]",
    "pue_source": "metered (facility and IT meter) or declared",
    "pue_declared": "PUE declared in the layer [-]",
    "pue_limit": "PUE limit for the site's status and size [-]",
    "pue_compliant": "PUE <= limit",
    "pue_excess": "PUE above the limit [-] (0 when compliant)",
    "pue_excess_energy_mwh_per_yr": "electricity the excess PUE costs per year [MWh/yr]",
    "pue_meets_reward_level": "PUE <= the incentive level",
    "source_temp_c": "temperature of the captured heat [degC]",
    "capture_share": "share of IT power captured as heat [-]",
    "recoverable_heat_mw_th": "mean recoverable heat [MW_th]",
    "recoverable_heat_mwh_th_per_yr": "recoverable heat per year [MWh_th/yr]",
    "connected": "a temperature-compatible segment was found within the search radius",
    "network_kind": "primary or secondary",
    "network_operator": "operator of the network segment",
    "network_supply_temp_c": "supply temperature of the segment [degC]",
    "network_return_temp_c": "return temperature of the segment [degC]",
    "network_diameter_mm": "diameter of the segment [mm]",
    "primary_distance_m": "straight-line distance to the nearest compatible primary pipe [m]",
    "secondary_distance_m": "straight-line distance to the nearest compatible secondary pipe [m]",
    "distance_m": "straight-line distance to the connection point [m]",
    "route_length_m": "estimated route length of the connection [m]",
    "route_method": "detour, streets or detour_disconnected",
    "direct_use": "source hot enough to feed the network without a heat pump",
    "heat_pump_cop": "seasonal heating COP of the heat pump [-] (empty for direct use)",
    "heat_delivered_mw_th": "mean heat delivered to the network [MW_th]",
    "heat_delivered_peak_mw_th": "peak heat delivered (sizes pipe and heat pump) [MW_th]",
    "theoretical_heat_mwh_th_per_yr": "heat deliverable over the whole year [MWh_th/yr]",
    "usable_heat_gross_mwh_th_per_yr": "heat fed into the line, before its losses [MWh_th/yr]",
    "heat_loss_mw_th": "heat lost along the connection while in use [MW_th]",
    "heat_loss_mwh_th_per_yr": "heat lost along the connection per year [MWh_th/yr]",
    "usable_heat_mwh_th_per_yr": "used heat delivered net of losses [MWh_th/yr] (as used_heat)",
    "usable_hours_per_yr": "hours per year the connection carries heat [h/yr]",
    "network_id": "heating network the site connects to (see HeatResult.networks)",
    "available_heat_mwh_th_per_yr": "heat the site captures (recoverable, Hotmaps' available) "
    "[MWh_th/yr]",
    "connected_heat_mwh_th_per_yr": "available heat of a site with a kept connection line "
    "[MWh_th/yr]",
    "used_heat_mwh_th_per_yr": "heat delivered into the network's demand, hour by hour, net of "
    "line losses [MWh_th/yr]",
    "used_waste_heat_mwh_th_per_yr": "waste heat behind the used heat (used + losses - heat-pump "
    "electricity) [MWh_th/yr]",
    "dumped_heat_mwh_th_per_yr": "heat the site could deliver that no demand takes [MWh_th/yr]",
    "demand_covered_share": "used heat / the network's annual demand [-]",
    "line_to": "what the site's line feeds: a network_id or another site's name",
    "line_length_m": "length of the site's own line in the connection tree [m]",
    "heat_pump_electricity_mwh_e_per_yr": "heat-pump electricity for the usable heat [MWh_e/yr]",
    "heated_floor_area_design_m2": "floor area at the design heat load [m2]",
    "heated_floor_area_annual_m2": "floor area at the annual heat intensity [m2]",
    "households": "households served (annual floor area / household area) [-]",
    "displaced_source": "heat source displaced (gas_boiler or coal_boiler)",
    "displaced_fuel_tce_per_yr": "standard coal of the displaced boiler fuel [tce/yr]",
    "heat_pump_electricity_tce_per_yr": "standard coal of the heat-pump electricity [tce/yr]",
    "net_tce_avoided_per_yr": "displaced fuel minus heat-pump electricity [tce/yr]",
    "displaced_co2_t_per_yr": "CO2 of the displaced boiler [t/yr]",
    "heat_pump_co2_t_per_yr": "CO2 of the heat-pump electricity [t/yr]",
    "net_co2_avoided_t_per_yr": "CO2 avoided, net of the heat pump [t/yr]",
    "pipe_dn": "nominal diameter of the site's line (0: none)",
    "pipe_count": "parallel pipe pairs of the line (flows beyond the largest DN)",
    "line_cost_cny_per_mwh": "annualised line cost per MWh the line carries [CNY/MWh]",
    "pipe_cost_cny_per_m": "line cost per metre, 2024 CNY [CNY/m]",
    "pipe_capex_cny": "connection pipe capital cost [CNY]",
    "plant_capex_cny": "heat pump or heat-exchanger station capital cost [CNY]",
    "capex_cny": "total capital cost [CNY]",
    "om_cost_cny_per_yr": "fixed operation and maintenance [CNY/yr]",
    "electricity_cost_cny_per_yr": "heat-pump electricity cost [CNY/yr]",
    "annual_cost_cny_per_yr": "capital x CRF + O&M + electricity [CNY/yr]",
    "lcoh_cny_per_mwh": "levelised cost of the used heat [CNY/MWh_th]",
    "eligible": "ranked (connected, within max_connection_m, used heat > 0)",
    "ineligible_reason": "why a site is not ranked",
    "score_mwh_per_kcny": "used heat per annualised cost [MWh per 1,000 CNY/yr]",
    "rank": "1 = best opportunity",
}
"""Output column -> meaning and unit (besides ``heat_demand_within_<r>m_mwh_per_yr``)."""


@dataclass
class HeatResult:
    """What :func:`analyse` returns.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        One row per data centre (geometry in WGS84), columns
        :data:`OUTPUT_COLUMNS` plus ``heat_demand_within_<r>m_mwh_per_yr``.
    connections : geopandas.GeoDataFrame
        One line per connected data centre (WGS84): ``name``,
        ``network_kind``, ``route_length_m``, ``route_method``, ``pipe_dn``,
        ``rank``.
    monthly_pue : pandas.DataFrame
        Metered PUE per site and local month (``name``, ``month``,
        ``facility_mwh``, ``it_mwh``, ``pue``, ``hours``); empty when no site
        has both meters.
    heat_density : xarray.DataArray or None
        Heat-demand density [MWh/ha/yr] (see
        :func:`layers.network.heat_density_grid`).
    config : HeatConfig
    notes : list of str
        Things the user should know (meters without readings, skipped rows).
    networks : geopandas.GeoDataFrame
        One row per heating network (index ``network_id``, WGS84 lines):
        ``kinds``, ``operator``, temperatures, ``demand_mwh_per_yr`` (in its
        service area), ``n_data_centres``, ``supply_mwh_th_per_yr`` (heat its
        connected sites could deliver), ``used_heat_mwh_th_per_yr``,
        ``demand_covered_share``, ``investment_cny``,
        ``annual_cost_cny_per_yr``, ``lcoh_cny_per_mwh`` (of the used heat)
        and monthly ``demand_mwh_mMM``, ``supply_mwh_mMM``, ``used_mwh_mMM``.
    hourly : xarray.Dataset
        The hourly balance on the reference year (local time): per ``site``
        ``available_mw``, ``deliverable_mw``, ``used_mw``, ``dumped_mw``,
        ``cop``; per ``network`` ``network_demand_mw``,
        ``network_capacity_mw`` (demand less must-run), ``network_supply_mw``,
        ``network_used_mw``; ``outdoor_temp_c``. See :meth:`network_balance`.
    """

    sites: gpd.GeoDataFrame
    connections: gpd.GeoDataFrame
    monthly_pue: pd.DataFrame
    heat_density: object
    config: HeatConfig
    notes: list = field(default_factory=list)
    networks: object = None
    hourly: object = None

    def summary(self) -> str:
        s = self.sites
        ranked = s[s["eligible"]]
        used = float(np.nansum(ranked["used_heat_mwh_th_per_yr"]))
        avail = float(np.nansum(s["available_heat_mwh_th_per_yr"]))
        demand = (
            float(np.nansum(self.networks["demand_mwh_per_yr"]))
            if self.networks is not None
            else float("nan")
        )
        demand_txt = f" of {demand:,.0f} MWh/yr network demand" if np.isfinite(demand) else ""
        return (
            f"{len(s)} data centres; {int(s['connected'].sum())} connectable, "
            f"{len(ranked)} ranked; used heat {used:,.0f} MWh_th/yr{demand_txt} "
            f"(available {avail:,.0f}); PUE non-compliant: "
            f"{int((s['pue_compliant'] == False).sum())}."  # noqa: E712
        )

    def network_balance(self, network, start=None, end=None) -> pd.DataFrame:
        """One network's hourly balance as a table (for a plot of a week).

        Parameters
        ----------
        network : str
            A ``network_id`` of :attr:`networks` (e.g. ``"N1"``).
        start, end : str or Timestamp, optional
            Local times (inclusive), e.g. ``"2023-01-09"``, ``"2023-01-15 23:00"``.

        Returns
        -------
        pandas.DataFrame
            Indexed by local hour: ``demand_mw``, ``capacity_mw`` (demand less
            must-run), ``supply_mw`` (what its connected data centres could
            deliver), ``used_mw``, ``dumped_mw`` [MW]; ``outdoor_temp_c``.
        """
        ds = self.hourly
        if ds is None or network not in ds["network"].values:
            known = [] if ds is None else list(ds["network"].values)
            raise ConfigError(f"network {network!r} is not in this result; use one of {known}.")
        part = ds.sel(network=network, time=slice(start, end))
        on = ds["site_network"].values == network
        used = part["network_used_mw"].to_numpy()
        out = pd.DataFrame(
            {
                "demand_mw": part["network_demand_mw"].to_numpy(),
                "capacity_mw": part["network_capacity_mw"].to_numpy(),
                "supply_mw": part["network_supply_mw"].to_numpy(),
                "used_mw": used,
                "dumped_mw": part["dumped_mw"].to_numpy()[on].sum(axis=0)
                if on.any()
                else np.zeros(len(used)),
                "outdoor_temp_c": part["outdoor_temp_c"].to_numpy(),
            },
            index=pd.DatetimeIndex(part["time"].to_numpy(), name="time"),
        )
        return out


# -- checks and column helpers ----------------------------------------------------------


def _check_analyse(data_centres, network, readings, config):
    for name, frame in (("data_centres", data_centres), ("network", network)):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise TypeError(f"{name} must be a GeoDataFrame, got {type(frame).__name__}.")
        if frame.crs is None:
            raise ConfigError(f"{name} has no CRS; set it (e.g. EPSG:4326) before the analysis.")
    if len(data_centres) == 0:
        raise ConfigError("data_centres is empty; load a data_centres layer with some sites.")
    missing = [c for c in ("name", "cooling") if c not in data_centres.columns]
    if missing:
        raise ConfigError(
            f"data_centres is missing column(s) {missing}; it needs name, cooling "
            f"(air|water|liquid|immersion), pue and it_load_mw or a meter_id."
        )
    if "it_load_mw" not in data_centres.columns and "meter_id" not in data_centres.columns:
        raise ConfigError(
            "data_centres needs it_load_mw [MW] or a meter_id of metered consumption."
        )
    if readings is not None and not isinstance(readings, Mapping):
        raise TypeError(
            "readings must be a mapping {meter_id: hourly kWh Series}; convert an "
            "open_readings Dataset with readings_from_dataset(ds)."
        )
    if config is not None and not isinstance(config, HeatConfig):
        raise TypeError(f"config must be a HeatConfig, got {type(config).__name__}.")


def _column(frame, name, default=None, dtype=object):
    if name in frame.columns:
        return frame[name].to_numpy(dtype=dtype)
    return np.full(len(frame), default, dtype=dtype)


def _float_column(frame, name):
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _clean_id(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    s = str(v).strip()
    return s or None


def _hourly_mw(series: pd.Series) -> pd.Series:
    """kWh per step -> mean MW per hour (the step is hourly after open_readings)."""
    s = series.astype(float)
    if len(s) > 1:
        step_h = pd.Series(s.index).diff().median() / pd.Timedelta(hours=1)
        if step_h and np.isfinite(step_h) and step_h != 1:
            s = s / step_h
    return s / 1000.0


# -- the analysis ----------------------------------------------------------------------------


def _loads(dc, readings, cfg, notes):
    """IT profile over the reference year, PUE and monthly PUE per site."""
    n = len(dc)
    names = dc["name"].astype(str).to_numpy()
    it_decl = _float_column(dc, "it_load_mw")
    pue_decl = _float_column(dc, "pue")
    bad = ~np.isnan(pue_decl) & ~((pue_decl >= 1.0) & (pue_decl < 5.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(
            f"data centre {names[i]}: pue={pue_decl[i]:g} is not allowed; a PUE is facility "
            f"over IT energy, a finite number from 1 to 5 (1.3, not 130 %). Fix the "
            f"data_centres layer's pue column (leave it empty if unknown)."
        )
    fac_ids = [_clean_id(v) for v in _column(dc, "meter_id")]
    it_ids = [_clean_id(v) for v in _column(dc, "it_meter_id")]
    readings = readings or {}
    profiles = np.full((n, 8760), np.nan)
    pue_used = pue_decl.copy()
    pue_src = np.full(n, "declared", dtype=object)
    it_src = np.full(n, "declared", dtype=object)
    monthly = []
    for i in range(n):
        f = readings.get(fac_ids[i]) if fac_ids[i] else None
        it = readings.get(it_ids[i]) if it_ids[i] else None
        for mid, s in ((fac_ids[i], f), (it_ids[i], it)):
            if mid and s is None and readings:
                notes.append(f"{names[i]}: meter {mid} has no readings; using declared values.")
        series = None
        if f is not None and it is not None:
            annual, m = pue.metered_pue(f, it, timezone=cfg.timezone)
            if np.isfinite(annual):
                pue_used[i], pue_src[i] = annual, "metered"
                monthly.append(m.assign(name=names[i]))
            series, it_src[i] = _hourly_mw(it), "metered_it"
        elif it is not None:
            series, it_src[i] = _hourly_mw(it), "metered_it"
        elif f is not None:
            if not pue_decl[i] >= 1:
                notes.append(
                    f"{names[i]}: facility meter {fac_ids[i]} without an IT meter needs a "
                    f"declared pue >= 1 to derive the IT load; using it_load_mw."
                )
            else:
                series, it_src[i] = _hourly_mw(f) / pue_decl[i], "metered_facility"
        if series is not None:
            profiles[i] = season.reference_profile(
                series, year=cfg.reference_year, timezone=cfg.timezone
            )
        if not np.isfinite(profiles[i]).any():
            profiles[i] = it_decl[i]
            it_src[i] = "declared"
    no_load = ~np.isfinite(profiles).all(axis=1) | (np.nan_to_num(profiles, nan=0.0) < 0).any(
        axis=1
    )
    if no_load.any():
        i = int(np.flatnonzero(no_load)[0])
        meters = [m for m in (fac_ids[i], it_ids[i]) if m]
        where = f" and meter(s) {meters} have no readings" if meters else ""
        raise ConfigError(
            f"data centre {names[i]}: IT load unknown: it_load_mw={it_decl[i]!r}{where}. "
            f"Give it_load_mw (mean IT load, a finite number >= 0 [MW]) in the data_centres "
            f"layer or load the meter's readings"
            + (
                f"; {int(no_load.sum()) - 1} more site(s) also lack it "
                f"({', '.join(map(str, names[no_load][1:6]))})."
                if no_load.sum() > 1
                else "."
            )
        )
    monthly_df = (
        pd.concat(monthly, ignore_index=True)[
            ["name", "month", "facility_mwh", "it_mwh", "pue", "hours"]
        ]
        if monthly
        else pd.DataFrame(columns=["name", "month", "facility_mwh", "it_mwh", "pue", "hours"])
    )
    return profiles, pue_used, pue_src, it_src, pue_decl, monthly_df


def _network_with_offset(network, cfg):
    if cfg.supply_temp_offset_k == 0:
        return network
    net = network.copy()
    for c in ("supply_temp_c", "return_temp_c"):
        net[c] = pd.to_numeric(net[c], errors="coerce") + cfg.supply_temp_offset_k
    return net


def _match(dc, network, t_src, cfg, streets):
    from layers.network import connect_sites

    # A segment is compatible when the source can feed it directly, or a heat
    # pump can reach its supply temperature.
    limit = np.maximum(t_src - cfg.hx_approach_k, cfg.max_sink_temp_c)
    return connect_sites(
        dc,
        _network_with_offset(network, cfg),
        kinds=tuple(cfg.network_kinds),
        max_supply_temp_c=limit,
        connect_to=cfg.connect_to,
        search_radius_m=cfg.search_radius_m,
        detour_factor=cfg.detour_factor,
        streets=streets,
        crs=cfg.metric_crs,
    )


def analyse(
    data_centres,
    network,
    *,
    heat_demand=None,
    buildings=None,
    streets=None,
    readings: Mapping | None = None,
    config: HeatConfig | None = None,
    density_grid: bool = True,
    _connections=None,
) -> HeatResult:
    """Waste heat, PUE, connection, economics and rank of every data centre.

    Parameters
    ----------
    data_centres : geopandas.GeoDataFrame
        The ``data_centres`` layer: ``name``, ``cooling`` (air | water |
        liquid | immersion), ``pue``, ``it_load_mw`` [MW] and/or ``meter_id``
        (facility meter); optional ``it_meter_id`` (IT meter), ``operator``,
        ``status`` (existing | new), ``source_temp_c`` [degC] and
        ``capture_share`` [-] (per-site overrides).
    network : geopandas.GeoDataFrame
        The ``heating_network`` layer (lines with ``kind``, ``supply_temp_c``,
        ``return_temp_c``; optional ``operator``, ``diameter_mm``).
    heat_demand : geopandas.GeoDataFrame, optional
        Polygons with ``demand_mwh`` [MWh/yr] for demand around sites and the
        density grid.
    buildings : geopandas.GeoDataFrame, optional
        Used for demand when ``heat_demand`` is not given (floor area x
        ``building_intensity_mwh_per_m2``).
    streets : geopandas.GeoDataFrame, optional
        Street centre lines for routing (else the detour factor).
    readings : mapping, optional
        ``{meter_id: pandas.Series of kWh per hour on a UTC index}``, e.g.
        :func:`~geoenergy.heat.entry.readings_from_dataset` of
        ``open_readings(ws, resolution="hourly")``.
    config : HeatConfig, optional
        Assumptions (default :class:`HeatConfig()`).
    density_grid : bool
        Also build the heat-density grid (when demand data is given).

    Returns
    -------
    HeatResult

    Examples
    --------
    >>> res = analyse(dc, network, heat_demand=demand)  # doctest: +SKIP
    >>> res.sites.sort_values("rank")[["name", "usable_heat_mwh_th_per_yr"]]  # doctest: +SKIP
    """
    _check_analyse(data_centres, network, readings, config)
    cfg = config or HeatConfig()
    notes: list[str] = []
    dc = data_centres.to_crs("EPSG:4326")
    if cfg.metric_crs is None:
        from layers.crs import metric_crs

        # Choose the UTM zone once (a pyproj database query) for every step below.
        cfg = cfg.replace(metric_crs=metric_crs(dc).to_string())
    names = dc["name"].astype(str).to_numpy()

    # 1. Loads and PUE.
    profiles, pue_used, pue_src, it_src, pue_decl, monthly = _loads(dc, readings, cfg, notes)
    it_energy = np.nansum(profiles, axis=1)
    it_energy[~np.isfinite(profiles).all(axis=1)] = np.nan
    it_mean = it_energy / 8760.0
    facility_energy = it_energy * pue_used
    status = np.array(
        [
            cfg.default_status if _clean_id(s) is None else str(s).strip().lower()
            for s in _column(dc, "status", None)
        ],
        dtype=object,
    )
    tce = (
        np.where(np.isfinite(facility_energy), facility_energy, 0.0) * cfg.electricity_tce_per_mwh
    )
    year = cfg.pue_assessment_year
    if year is None:  # the current year where the sites are
        year = pd.Timestamp.now(tz=cfg.timezone).year
    limit = pue.pue_limit(
        status,
        tce,
        existing=cfg.pue_limit_existing,
        year=int(year),
        existing_from_2026=cfg.pue_limit_existing_from_2026,
        new_bands=[tuple(b) for b in cfg.pue_limit_new_bands],
        new_above=cfg.pue_limit_new_above,
    )
    comp = pue.compliance(pue_used, limit, it_energy)

    # 2. Recoverable heat.
    try:
        t_src, share = recovery.heat_source(
            dc["cooling"].astype(str).str.strip().str.lower().to_numpy(),
            source_temp_c=_float_column(dc, "source_temp_c"),
            capture_share=_float_column(dc, "capture_share"),
            overrides=cfg.cooling,
            capture_share_factor=cfg.capture_share_factor,
            names=names,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    source_mw = profiles * share[:, None]
    recoverable_annual = np.where(
        np.isfinite(source_mw).all(axis=1), np.nansum(source_mw, axis=1), np.nan
    )

    # 3. Connection to the nearest compatible segment.
    con = _connections if _connections is not None else _match(dc, network, t_src, cfg, streets)
    connected = con["connected"].to_numpy(dtype=bool)
    t_sink = con["supply_temp_c"].to_numpy(dtype=float)
    t_ret = con["return_temp_c"].to_numpy(dtype=float)
    route = con["route_length_m"].to_numpy(dtype=float)

    # 4-5. Networks, hourly demand, heat pumps, line tree, dispatch, line sizes and costs.
    xy = dc.to_crs(cfg.metric_crs).geometry.representative_point()
    bal = balance(
        np.column_stack([xy.x.to_numpy(), xy.y.to_numpy()]),
        names,
        source_mw,
        t_src,
        con,
        _network_with_offset(network, cfg),
        cfg,
        heat_demand=heat_demand,
        buildings=buildings,
    )
    notes.extend(bal.notes)
    cols = bal.site_columns
    direct = cols["direct_use"]

    # 6. Equivalents of the used heat.
    usable = cols["used"]
    hours_used = np.where(cols["used_hours"] > 0, cols["used_hours"], np.nan)
    fuel = equivalents.displaced_fuel(
        np.nan_to_num(usable), cfg.displaced_source, boiler_efficiency=cfg.boiler_efficiency
    )
    displaced_tce = np.where(np.isfinite(usable), fuel["tce"], np.nan)
    displaced_co2 = np.where(np.isfinite(usable), fuel["co2_t"], np.nan)
    hp_tce = cols["hp_el"] * cfg.electricity_tce_per_mwh
    hp_co2 = cols["hp_el"] * cfg.grid_co2_t_per_mwh
    area_design = np.where(
        np.isfinite(usable),
        equivalents.floor_area_design(
            np.nan_to_num(usable / hours_used), cfg.design_heat_load_w_per_m2
        ),
        np.nan,
    )
    area_annual = np.where(
        np.isfinite(usable),
        equivalents.floor_area_annual(np.nan_to_num(usable), cfg.annual_heat_intensity_mwh_per_m2),
        np.nan,
    )

    # Economics of each site's own line and plant (sized on the used flow).
    cost_m = cols["cost_m"]
    pipe_capex = cols["pipe_capex"]
    plant_capex = cols["plant_peak"] * np.where(
        direct, cfg.hx_capex_cny_per_mw_th, cfg.hp_capex_cny_per_mw_th
    )
    capex = pipe_capex + plant_capex
    om = capex * cfg.om_fraction_per_yr
    el_cost = cols["hp_el"] * 1000.0 * cfg.electricity_price_cny_per_kwh
    crf = economics.capital_recovery_factor(cfg.discount_rate, cfg.lifetime_years)
    annual_cost = capex * crf + om + el_cost
    lcoh = economics.lcoh(
        capex, om + el_cost, usable, rate=cfg.discount_rate, years=cfg.lifetime_years
    )
    nets = _network_economics(
        bal.networks, cols["network_id"], cols["in_tree"], capex, annual_cost
    )

    # Ranking on used heat (never available heat); NaN is never ranked.
    eligible, reason = ranking.eligibility(
        connected, route, usable, max_connection_m=cfg.max_connection_m
    )
    reason = np.where(
        cols["dropped"] & (reason == "no usable heat after losses"),
        f"connection line costs more than max_line_cost_cny_per_mwh="
        f"{cfg.max_line_cost_cny_per_mwh:g} CNY per MWh used",
        reason,
    )
    no_demand = (
        (reason == "no usable heat after losses")
        & cols["in_tree"]
        & (np.nan_to_num(nets["demand_mwh_per_yr"].reindex(cols["network_id"]).to_numpy()) <= 0)
    )
    reason = np.where(
        no_demand, "no heat demand in the network's service area (service_area_buffer_m)", reason
    )
    reason = np.where(
        (reason == "no usable heat after losses") & cols["in_tree"],
        "no demand left for it: cheaper heat (merit order) and must-run plants take the "
        "network's demand",
        reason,
    )
    score = ranking.score_heat_per_cost(usable, annual_cost)
    eligible = eligible & np.isfinite(score)
    rank = ranking.rank(score, eligible, tiebreak=np.nan_to_num(route, nan=np.inf))

    out = pd.DataFrame(
        {
            "name": names,
            "operator": _column(dc, "operator", None),
            "status": status,
            "cooling": dc["cooling"].astype(str).to_numpy(),
            "it_load_source": it_src,
            "it_load_mw": it_mean,
            "it_energy_mwh_per_yr": it_energy,
            "facility_energy_mwh_per_yr": facility_energy,
            "pue": pue_used,
            "pue_source": pue_src,
            "pue_declared": pue_decl,
            "pue_limit": limit,
            "pue_compliant": comp["pue_compliant"].to_numpy(),
            "pue_excess": comp["pue_excess"].to_numpy(),
            "pue_excess_energy_mwh_per_yr": comp["pue_excess_energy_mwh_per_yr"].to_numpy(),
            "pue_meets_reward_level": np.where(
                np.isfinite(pue_used), pue_used <= cfg.pue_reward_level + 1e-12, False
            ),
            "source_temp_c": t_src,
            "capture_share": share,
            "recoverable_heat_mw_th": recoverable_annual / 8760.0,
            "recoverable_heat_mwh_th_per_yr": recoverable_annual,
            "connected": connected,
            "network_kind": con["network_kind"].to_numpy(dtype=object),
            "network_operator": con["operator"].to_numpy(dtype=object),
            "network_supply_temp_c": t_sink,
            "network_return_temp_c": t_ret,
            "network_diameter_mm": con["diameter_mm"].to_numpy(dtype=float),
            **{
                f"{k}_distance_m": con[f"{k}_distance_m"].to_numpy(dtype=float)
                for k in cfg.network_kinds
            },
            "distance_m": con["distance_m"].to_numpy(dtype=float),
            "route_length_m": route,
            "route_method": con["route_method"].to_numpy(dtype=object),
            "direct_use": direct,
            "heat_pump_cop": cols["cop"],
            "heat_delivered_mw_th": cols["delivered_mean"],
            "heat_delivered_peak_mw_th": cols["delivered_peak"],
            "theoretical_heat_mwh_th_per_yr": cols["theoretical"],
            "usable_heat_gross_mwh_th_per_yr": cols["used_gross"],
            "heat_loss_mw_th": cols["loss_mw"],
            "heat_loss_mwh_th_per_yr": cols["loss_mwh"],
            "usable_heat_mwh_th_per_yr": usable,
            "usable_hours_per_yr": cols["used_hours"],
            "network_id": cols["network_id"],
            "available_heat_mwh_th_per_yr": cols["available"],
            "connected_heat_mwh_th_per_yr": cols["connected_heat"],
            "used_heat_mwh_th_per_yr": usable,
            "used_waste_heat_mwh_th_per_yr": cols["used_gross"] - cols["hp_el"],
            "dumped_heat_mwh_th_per_yr": cols["dumped"],
            "demand_covered_share": cols["demand_covered_share"],
            "line_to": cols["line_to"],
            "line_length_m": cols["line_length"],
            "heat_pump_electricity_mwh_e_per_yr": cols["hp_el"],
            "heated_floor_area_design_m2": area_design,
            "heated_floor_area_annual_m2": area_annual,
            "households": area_annual / cfg.household_floor_area_m2,
            "displaced_source": cfg.displaced_source,
            "displaced_fuel_tce_per_yr": displaced_tce,
            "heat_pump_electricity_tce_per_yr": hp_tce,
            "net_tce_avoided_per_yr": displaced_tce - hp_tce,
            "displaced_co2_t_per_yr": displaced_co2,
            "heat_pump_co2_t_per_yr": hp_co2,
            "net_co2_avoided_t_per_yr": displaced_co2 - hp_co2,
            "pipe_dn": cols["dn"],
            "pipe_count": cols["pipe_count"],
            "pipe_cost_cny_per_m": cost_m,
            "line_cost_cny_per_mwh": cols["line_cost_per_mwh"],
            "pipe_capex_cny": pipe_capex,
            "plant_capex_cny": plant_capex,
            "capex_cny": capex,
            "om_cost_cny_per_yr": om,
            "electricity_cost_cny_per_yr": el_cost,
            "annual_cost_cny_per_yr": annual_cost,
            "lcoh_cny_per_mwh": lcoh,
            "eligible": eligible,
            "ineligible_reason": reason,
            "score_mwh_per_kcny": score,
            "rank": rank,
        },
        index=dc.index,
    )
    density = None
    if heat_demand is not None or buildings is not None:
        from layers.network import demand_within, heat_density_grid

        kw = {
            "heat_demand": heat_demand,
            "buildings": None if heat_demand is not None else buildings,
            "intensity_mwh_per_m2": cfg.building_intensity_mwh_per_m2,
        }
        near = demand_within(dc, cfg.demand_radii_m, crs=cfg.metric_crs, **kw)
        out = out.join(near)
        if density_grid:
            density = heat_density_grid(cell_m=cfg.grid_cell_m, crs=cfg.metric_crs, **kw)
    sites = gpd.GeoDataFrame(out, geometry=dc.geometry.to_numpy(), crs="EPSG:4326")
    connections = _connection_lines(con, names, cols, bal.parent, sites, rank)
    return HeatResult(
        sites, connections, monthly, density, cfg, notes, networks=nets, hourly=bal.hourly
    )


def _connection_lines(con, names, cols, parent, sites, rank):
    """One line per connected site: its own route to the network, or to the site it feeds."""
    from shapely.geometry import LineString

    connected = con["connected"].to_numpy(dtype=bool)
    geoms = con.geometry.to_numpy().copy()
    pts = sites.geometry.representative_point().to_numpy()
    for i in np.flatnonzero(connected & (parent >= 0)):
        geoms[i] = LineString([pts[i], pts[parent[i]]])
    return gpd.GeoDataFrame(
        {
            "name": names[connected],
            "network_kind": con["network_kind"].to_numpy(dtype=object)[connected],
            "network_id": cols["network_id"][connected],
            "line_to": cols["line_to"][connected],
            "route_length_m": con["route_length_m"].to_numpy(dtype=float)[connected],
            "line_length_m": cols["line_length"][connected],
            "route_method": con["route_method"].to_numpy(dtype=object)[connected],
            "pipe_dn": cols["dn"][connected],
            "pipe_count": cols["pipe_count"][connected],
            "rank": rank[connected],
        },
        geometry=geoms[connected],
        crs="EPSG:4326",
    )


def _network_economics(nets, site_net, in_tree, capex, annual_cost):
    """Investment, annual cost and LCOH of the used heat per network [CNY, CNY/yr, CNY/MWh]."""
    frame = pd.DataFrame(
        {
            "network_id": site_net,
            "capex": np.where(in_tree, np.nan_to_num(capex), 0.0),
            "annual": np.where(in_tree, np.nan_to_num(annual_cost), 0.0),
        }
    ).dropna(subset=["network_id"])
    per = frame.groupby("network_id")[["capex", "annual"]].sum()
    out = nets.copy()
    out["investment_cny"] = per["capex"].reindex(out.index).fillna(0.0).to_numpy()
    out["annual_cost_cny_per_yr"] = per["annual"].reindex(out.index).fillna(0.0).to_numpy()
    used = out["used_heat_mwh_th_per_yr"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["lcoh_cny_per_mwh"] = np.where(
            used > 0, out["annual_cost_cny_per_yr"] / np.where(used > 0, used, 1.0), np.nan
        )
    return out
