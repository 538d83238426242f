"""The hourly balance of waste heat on every heating network, and what its lines cost.

:func:`balance` is the middle of :func:`geoenergy.heat.compute.analyse`: it
takes each site's captured heat per hour and its connection to the nearest
compatible segment, and

1. groups the segments into networks (:func:`layers.heatnets.heating_networks`)
   and gives each its annual demand in its service area
   (:func:`layers.heatnets.network_demand`) laid on the hours of the weather
   year (:func:`geoenergy.heat.demand.hourly_demand`);
2. lifts each site's heat to its segment's supply temperature hour by hour
   (COP per hour; the supply temperature may follow the outdoor air);
3. builds the minimum-length tree of connection lines per network
   (:func:`geoenergy.heat.transmission.connection_tree`), subtracts each
   line's heat loss, and dispatches the heat into each hour's demand less
   the must-run share in merit order (:func:`geoenergy.heat.matching.dispatch`);
4. sizes every line on its 3-hour peak flow (parallel pipes beyond the
   largest DN), prices it, and drops the line whose cost per MWh used is
   highest above the threshold, then starts again at 3 until none is.

Without a heat-demand layer the demand is unknown: the heating season alone
bounds the use (the old upper bound), and the result says so in its notes.

Terms follow Hotmaps' excess-heat module: *available* heat is what a site
captures (recoverable); *connected* heat is the available heat of sites
with a viable line; *used* heat is what enters the network's demand, net of
line losses; heat a connected site could deliver but no demand takes is
*dumped*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoenergy.errors import ConfigError
from geoenergy.heat import economics, heatpump, matching, transmission
from geoenergy.heat.demand import hourly_demand, load_weather_year, supply_temperature
from geoenergy.heat.season import heating_season_mask, reference_hours

__all__ = ["Balance", "balance"]

MONTHS = tuple(range(1, 13))

PERSSON_WERNER_TO_2018 = 1.14
"""Price index ratio 2007 -> 2018 for the Persson and Werner pipe costs (2007 EUR) [-]:
the euro-area HICP (Eurostat prc_hicp_aind, 2015 = 100) rose from about 91 to about
103.6 (recalled, check); ``pipe_cost_escalation`` then takes 2018 to 2024."""


@dataclass
class Balance:
    """What :func:`balance` returns (arrays per site follow the data-centre rows)."""

    site_columns: dict
    networks: object
    hourly: object
    parent: np.ndarray
    notes: list


def _check_segments(network):
    sup = pd.to_numeric(network["supply_temp_c"], errors="coerce").to_numpy(dtype=float)
    ret = pd.to_numeric(network["return_temp_c"], errors="coerce").to_numpy(dtype=float)
    kelvin = np.isfinite(sup) & (sup >= 200)
    if kelvin.any():
        i = int(np.flatnonzero(kelvin)[0])
        raise ConfigError(
            f"heating_network segment {network.index[i]!r}: supply_temp_c={sup[i]:g} looks like "
            f"kelvin; give degC ({sup[i] - 273.15:.1f}). Fix the layer's supply_temp_c column."
        )
    bad = np.isfinite(sup) & ~(ret < sup)
    if bad.any():
        idx = list(network.index[bad][:5])
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(
            f"heating_network segment(s) {idx}: return_temp_c must be below supply_temp_c "
            f"(segment {network.index[i]!r}: return {ret[i]:g} degC, supply {sup[i]:g} degC). "
            f"Fix the layer's return_temp_c column (a network returns cooler water than it sends)."
        )


def _cop_hourly(names, t_src, t_sink_h, cfg):
    """COP per site and hour (inf for direct use); a lift no heat pump can make is an error."""
    src = t_src[:, None]
    direct = src - cfg.hx_approach_k >= t_sink_h
    with np.errstate(invalid="ignore"):
        cop = np.asarray(
            heatpump.cop_carnot_fraction(
                np.broadcast_to(src, t_sink_h.shape),
                t_sink_h,
                cfg.carnot_fraction,
                cop_max=cfg.cop_max,
            ),
            dtype=float,
        )
    cop = np.where(direct, np.inf, cop)
    bad = ~direct & np.isfinite(t_sink_h) & ~(cop > 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ConfigError(
            f"data centre {names[i]}: a heat pump cannot lift {t_src[i]:g} degC to "
            f"{np.nanmax(t_sink_h[i]):g} degC with carnot_fraction={cfg.carnot_fraction}: its "
            f"COP would be <= 1. Check the source and network temperatures or carnot_fraction."
        )
    return cop


def _subtree_sum(parent, values):
    """Sum of ``values`` over each node and all nodes behind it (parent -1/-2 = root)."""
    out = values.copy()
    depth = np.zeros(len(parent), dtype=int)
    for i in range(len(parent)):
        j, d = parent[i], 0
        while j >= 0:
            d += 1
            j = parent[j]
        depth[i] = d
    for i in np.argsort(-depth, kind="stable"):
        if parent[i] >= 0:
            out[parent[i]] += out[i]
    return out


def _line_cost(peak_mw, dn, count, cfg):
    if cfg.pipe_cost_cny_per_m:
        per = economics.pipe_cost_per_m(dn, table=cfg.pipe_cost_cny_per_m) * count
        return per * cfg.pipe_cost_factor
    if cfg.pipe_cost_model == "hotmaps":
        return transmission.line_cost_per_m(
            peak_mw,
            escalation=cfg.pipe_cost_escalation,
            cny_per_eur=cfg.cny_per_eur,
            factor=cfg.pipe_cost_factor,
        )[0]
    per = economics.pipe_cost_per_m(
        dn, area=cfg.pipe_area, cny_per_eur=cfg.cny_per_eur, factor=cfg.pipe_cost_factor
    )
    return per * count * PERSSON_WERNER_TO_2018 * cfg.pipe_cost_escalation


def balance(
    dc_xy, names, source_mw, t_src, con, network, cfg, *, heat_demand=None, buildings=None
):
    """Hourly supply, demand and dispatch per network; lines, their sizes and costs.

    Parameters
    ----------
    dc_xy : numpy.ndarray
        ``(n, 2)`` site coordinates in ``cfg.metric_crs`` [m].
    names : numpy.ndarray of str
    source_mw : numpy.ndarray
        ``(n, 8760)`` captured heat per hour [MW_th] (NaN rows: unknown).
    t_src : numpy.ndarray
        Source temperature per site [degC].
    con : pandas.DataFrame
        :func:`layers.network.connect_sites` output (``connected``,
        ``segment`` or ``network_id``, ``route_length_m``, ``supply_temp_c``,
        ``return_temp_c``).
    network : geopandas.GeoDataFrame
        The heating_network layer (temperatures already offset).
    cfg : HeatConfig
    heat_demand, buildings : geopandas.GeoDataFrame, optional

    Returns
    -------
    Balance
    """
    import xarray as xr

    from layers.heatnets import heating_networks, network_demand

    _check_segments(network)
    notes: list[str] = []
    n = len(names)
    hours = reference_hours(cfg.reference_year)
    nets, seg_net = heating_networks(network, by=cfg.network_grouping, crs=cfg.metric_crs)
    net_ids = list(nets.index)
    connected = con["connected"].to_numpy(dtype=bool)
    if "network_id" in con.columns:
        site_net_id = con["network_id"].to_numpy(dtype=object)
    else:
        site_net_id = np.array(
            [
                seg_net.get(s) if c else None
                for s, c in zip(con["segment"], connected, strict=True)
            ],
            dtype=object,
        )
    row_of = {k: i for i, k in enumerate(net_ids)}
    site_net = np.array(
        [row_of.get(k, -1) if c else -1 for k, c in zip(site_net_id, connected, strict=True)]
    )
    t_out = load_weather_year(cfg.weather_file)
    season = (cfg.heating_season_start, cfg.heating_season_end)
    known_demand = heat_demand is not None or buildings is not None
    if known_demand:
        try:
            annual, _service = network_demand(
                nets,
                heat_demand=heat_demand,
                buildings=None if heat_demand is not None else buildings,
                intensity_mwh_per_m2=cfg.building_intensity_mwh_per_m2,
                buffer_m=cfg.service_area_buffer_m,
                crs=cfg.metric_crs,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        demand_h = hourly_demand(
            annual.to_numpy(),
            t_out,
            year=cfg.reference_year,
            season=season,
            base_temp_c=cfg.space_heating_base_temp_c,
            dhw_share=cfg.dhw_share,
        ).reshape(len(nets), 8760)
        capacity = demand_h * (1.0 - cfg.must_run_share)
    else:
        annual = pd.Series(np.nan, index=nets.index)
        demand_h = np.full((len(nets), 8760), np.nan)
        capacity = np.full((len(nets), 8760), np.inf)
        notes.append(
            "no heat_demand or buildings layer: the networks' demand is unknown, so used heat "
            "is bounded only by the heating season (an upper bound); load a heat_demand layer."
        )
    in_season = heating_season_mask(hours, *season)

    t_sink = con["supply_temp_c"].to_numpy(dtype=float)
    t_ret = con["return_temp_c"].to_numpy(dtype=float)
    sink_h = supply_temperature(
        np.where(connected, t_sink, np.nan),
        t_out,
        min_c=cfg.supply_temp_min_c,
        design_outdoor_c=cfg.design_outdoor_temp_c,
        base_c=cfg.space_heating_base_temp_c,
    )
    known = np.isfinite(source_mw).all(axis=1)
    cop = np.full((n, 8760), np.nan)
    live = connected & known
    if live.any():
        cop[live] = _cop_hourly(names[live], t_src[live], sink_h[live], cfg)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isinf(cop), 1.0, cop / (cop - 1.0))
    deliverable = np.where(live[:, None], np.nan_to_num(source_mw) * ratio, np.nan)
    offer = np.nan_to_num(deliverable)
    if not known_demand and cfg.base_demand_fraction < 1:
        offer = offer * np.where(in_season, 1.0, cfg.base_demand_fraction)[None, :]
    route = con["route_length_m"].to_numpy(dtype=float)
    finite = np.isfinite(cop)
    mean_cop = np.where(
        finite.any(axis=1),
        np.where(finite, cop, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1),
        np.where(live, np.inf, np.nan),
    )
    marginal = matching.marginal_cost_cny_per_mwh(
        np.where(np.isnan(mean_cop), np.inf, mean_cop), cfg.electricity_price_cny_per_kwh
    )
    merit = np.lexsort((np.arange(n), np.nan_to_num(route, nan=np.inf), marginal))
    rank_of = np.empty(n, dtype=int)
    rank_of[merit] = np.arange(n)
    dt_k = t_sink - t_ret

    crf = economics.capital_recovery_factor(cfg.discount_rate, cfg.lifetime_years)
    active = live & (route <= cfg.max_connection_m)
    dropped = np.zeros(n, dtype=bool)
    # A dropped site keeps the figures of the line and plant it would have needed.
    kept = {k: np.full(n, np.nan) for k in ("length", "dn", "count", "cost_m", "capex", "plant")}
    for _ in range(n + 1):
        parent = np.full(n, -2, dtype=np.int64)
        length = np.full(n, np.nan)
        for k in range(len(nets)):
            members = np.flatnonzero(active & (site_net == k))
            if not len(members):
                continue
            p, ln = transmission.connection_tree(
                dc_xy[members],
                route[members],
                detour_factor=cfg.detour_factor,
                max_edge_m=cfg.max_connection_m,
            )
            parent[members] = np.where(p >= 0, members[np.maximum(p, 0)], p)
            length[members] = ln
        in_tree = parent >= -1
        # Loss of each line: sized first on its deliverable peak, then on its used flow.
        first = (
            transmission.peak_flow(
                _subtree_sum(parent, np.where(in_tree[:, None], offer, 0.0)),
                cfg.peak_average_hours,
            )
            if n
            else np.zeros(0)
        )
        dn, count = transmission.parallel_pipes(
            np.where(in_tree, first, 0.0),
            np.where(in_tree, dt_k, 1.0),
            max_dp_pa_per_m=cfg.max_pressure_drop_pa_per_m,
            roughness_mm=cfg.pipe_roughness_mm,
        )
        loss_w = economics.heat_loss_w_per_m(
            dn,
            np.nan_to_num(t_sink),
            np.nan_to_num(t_ret),
            ground_temp_c=cfg.ground_temp_c,
            soil_conductivity=cfg.soil_conductivity_w_per_mk,
            insulation_conductivity=cfg.insulation_conductivity_w_per_mk,
            depth_m=cfg.burial_depth_m,
        )
        loss_mw = np.where(in_tree, loss_w * count * np.nan_to_num(length) / 1e6, 0.0)
        net_offer = np.where(in_tree[:, None], np.maximum(offer - loss_mw[:, None], 0.0), 0.0)
        used, taken = matching.dispatch(
            net_offer, np.where(in_tree, site_net, -1), capacity, merit=rank_of
        )
        running = used > 0
        gross = used + np.where(running, loss_mw[:, None], 0.0)
        line_flow = _subtree_sum(parent, gross) if n else gross
        peak = transmission.peak_flow(line_flow, cfg.peak_average_hours) if n else np.zeros(0)
        dn, count = transmission.parallel_pipes(
            np.where(in_tree, peak, 0.0),
            np.where(in_tree, dt_k, 1.0),
            max_dp_pa_per_m=cfg.max_pressure_drop_pa_per_m,
            roughness_mm=cfg.pipe_roughness_mm,
        )
        cost_m = np.where(in_tree & (peak > 0), _line_cost(peak, dn, count, cfg), 0.0)
        pipe_capex = cost_m * np.nan_to_num(length)
        line_mwh = line_flow.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_mwh = np.where(
                line_mwh > 0,
                pipe_capex * (crf + cfg.om_fraction_per_yr) / np.where(line_mwh > 0, line_mwh, 1),
                np.where(in_tree, np.inf, 0.0),
            )
        over = in_tree & (per_mwh > cfg.max_line_cost_cny_per_mwh)
        if not over.any():
            break
        # Lines that carry nothing go at once; of the others, the worst, then recompute
        # (dropping one line can make another pay, as in Hotmaps' removal loop).
        finite = over & np.isfinite(per_mwh)
        drop = over & ~np.isfinite(per_mwh)
        if finite.any():
            drop[int(np.argmax(np.where(finite, per_mwh, -np.inf)))] = True
        active[drop] = False
        dropped[drop] = True
        for k, v in (
            ("length", length),
            ("dn", dn),
            ("count", count),
            ("cost_m", cost_m),
            ("capex", pipe_capex),
        ):
            kept[k][drop] = v[drop]
        kept["plant"][drop] = transmission.peak_flow(gross[drop], cfg.peak_average_hours)

    # Sites out of reach (route > max_connection_m) get the stand-alone line they would need.
    far = live & ~in_tree & ~dropped
    if far.any():
        pk = transmission.peak_flow(offer[far], cfg.peak_average_hours)
        fdn, fcount = transmission.parallel_pipes(
            pk,
            dt_k[far],
            max_dp_pa_per_m=cfg.max_pressure_drop_pa_per_m,
            roughness_mm=cfg.pipe_roughness_mm,
        )
        fcost = _line_cost(pk, fdn, fcount, cfg)
        kept["length"][far] = route[far]
        kept["dn"][far], kept["count"][far], kept["cost_m"][far] = fdn, fcount, fcost
        kept["capex"][far] = fcost * route[far]
        kept["plant"][far] = pk
    dropped = dropped | far
    used_mwh = used.sum(axis=1)
    gross_mwh = gross.sum(axis=1)
    loss_mwh = np.where(running, loss_mw[:, None], 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hp_el_h = np.where(
            np.isfinite(cop) & running, gross / np.where(np.isfinite(cop), cop, 1.0), 0.0
        )
    hp_el = hp_el_h.sum(axis=1)
    plant_peak = transmission.peak_flow(gross, cfg.peak_average_hours) if n else np.zeros(0)
    deliver_mwh = np.where(live, np.nan_to_num(deliverable).sum(axis=1), np.nan)
    available = np.where(known, np.nansum(np.nan_to_num(source_mw), axis=1), np.nan)
    seasonal_cop = np.where(hp_el > 0, gross_mwh / np.where(hp_el > 0, hp_el, 1.0), mean_cop)
    net_of_site = np.array([net_ids[k] if k >= 0 else None for k in site_net], dtype=object)
    demand_of_site = np.array([annual.iloc[k] if k >= 0 else np.nan for k in site_net])
    names_arr = np.asarray(names, dtype=object)
    line_to = np.array(
        [
            (net_of_site[i] if parent[i] == -1 else names_arr[parent[i]])
            if parent[i] >= -1
            else None
            for i in range(n)
        ],
        dtype=object,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        covered = np.where(demand_of_site > 0, used_mwh / demand_of_site, np.nan)
    site_columns = {
        "network_id": net_of_site,
        "in_tree": in_tree,
        "dropped": dropped & ~far,
        "direct_use": live & np.isinf(mean_cop),
        "cop": np.where(live & np.isfinite(seasonal_cop), seasonal_cop, np.nan),
        "delivered_mean": np.where(live, np.nan_to_num(deliverable).mean(axis=1), np.nan),
        "delivered_peak": np.where(live, plant_peak, np.nan),
        "theoretical": deliver_mwh,
        "available": available,
        "connected_heat": np.where(in_tree, available, 0.0),
        "used_gross": np.where(live, gross_mwh, np.nan),
        "used": np.where(live, used_mwh, np.nan),
        "used_hours": np.where(live, running.sum(axis=1), np.nan),
        "loss_mw": np.where(live, loss_mw, np.nan),
        "loss_mwh": np.where(live, loss_mwh, np.nan),
        "hp_el": np.where(live, hp_el, np.nan),
        "dumped": np.where(live, np.maximum(deliver_mwh - gross_mwh, 0.0), np.nan),
        "demand_covered_share": np.where(live, covered, np.nan),
        "line_to": line_to,
        "line_length": np.where(in_tree, length, kept["length"]),
        "dn": np.where(dropped, kept["dn"], np.where(live, dn, np.nan)),
        "pipe_count": np.where(dropped, kept["count"], np.where(live, count, np.nan)),
        "cost_m": np.where(dropped, kept["cost_m"], np.where(live, cost_m, np.nan)),
        "pipe_capex": np.where(dropped, kept["capex"], np.where(live, pipe_capex, np.nan)),
        "plant_peak": np.where(dropped, kept["plant"], np.where(live, plant_peak, np.nan)),
        "line_cost_per_mwh": np.where(in_tree, per_mwh, np.nan),
    }
    on = in_tree & (site_net >= 0)
    supply_h = matching.network_sum(
        np.where(on[:, None], np.nan_to_num(deliverable), 0.0), site_net, len(nets)
    )
    nets = nets.copy()
    nets["demand_mwh_per_yr"] = annual.to_numpy()
    nets["n_data_centres"] = np.bincount(site_net[on], minlength=len(nets))
    nets["supply_mwh_th_per_yr"] = supply_h.sum(axis=1)
    nets["used_heat_mwh_th_per_yr"] = taken.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        nets["demand_covered_share"] = np.where(
            nets["demand_mwh_per_yr"] > 0,
            nets["used_heat_mwh_th_per_yr"] / nets["demand_mwh_per_yr"],
            np.nan,
        )
    month = hours.month.to_numpy()
    for m in MONTHS:
        sel = month == m
        nets[f"demand_mwh_m{m:02d}"] = demand_h[:, sel].sum(axis=1)
        nets[f"supply_mwh_m{m:02d}"] = supply_h[:, sel].sum(axis=1)
        nets[f"used_mwh_m{m:02d}"] = taken[:, sel].sum(axis=1)
    if known_demand:
        nets["service_area_m"] = cfg.service_area_buffer_m
    f32 = np.float32
    hourly = xr.Dataset(
        {
            "available_mw": (("site", "time"), np.nan_to_num(source_mw).astype(f32)),
            "deliverable_mw": (("site", "time"), np.nan_to_num(deliverable).astype(f32)),
            "used_mw": (("site", "time"), used.astype(f32)),
            "dumped_mw": (
                ("site", "time"),
                np.where(
                    in_tree[:, None], np.maximum(np.nan_to_num(deliverable) - gross, 0), 0
                ).astype(f32),
            ),
            "cop": (("site", "time"), np.where(np.isinf(cop), np.nan, cop).astype(f32)),
            "network_demand_mw": (("network", "time"), demand_h.astype(f32)),
            "network_capacity_mw": (
                ("network", "time"),
                np.where(np.isinf(capacity), np.nan, capacity).astype(f32),
            ),
            "network_supply_mw": (("network", "time"), supply_h.astype(f32)),
            "network_used_mw": (("network", "time"), taken.astype(f32)),
            "outdoor_temp_c": (("time",), t_out.astype(f32)),
        },
        coords={
            "site": np.asarray(names, dtype=str),
            "network": np.asarray(net_ids, dtype=str),
            "time": hours,
            "site_network": ("site", np.array([k or "" for k in net_of_site], dtype=str)),
        },
        attrs={
            "timezone": cfg.timezone,
            "units": "MW (mean over the hour); temperatures degC",
            "reference_year": cfg.reference_year,
            "weather": cfg.weather_file or "beijing (Dongsi 2015, CC BY 4.0)",
            "must_run_share": cfg.must_run_share,
            "dhw_share": cfg.dhw_share,
        },
    )
    return Balance(site_columns, nets, hourly, parent, notes)
