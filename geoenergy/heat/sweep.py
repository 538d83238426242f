"""The sensitivity sweep: the computation re-run over ranges of the main assumptions.

:func:`sensitivity` varies one :class:`~geoenergy.heat.config.HeatConfig`
field at a time over the values of :data:`SENSITIVITY_PARAMETERS` (or the
caller's ranges) and returns one tidy row per parameter, value and site. It
works on the same plain frames as :func:`geoenergy.heat.compute.analyse` and
reuses the base run's spatial matching unless the parameter changes which
network segment a site may connect to.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from geoenergy.errors import ConfigError
from geoenergy.heat.compute import OUTPUT_COLUMNS, HeatResult, analyse
from geoenergy.heat.config import HeatConfig

__all__ = ["SENSITIVITY_PARAMETERS", "sensitivity"]

SENSITIVITY_PARAMETERS: dict[str, tuple[list, str]] = {
    "capture_share_factor": ([0.8, 1.0, 1.2], "multiplier on the cooling table's capture shares"),
    "carnot_fraction": ([0.4, 0.5, 0.6], "heat-pump quality grade [-]"),
    "supply_temp_offset_k": ([-10.0, 0.0, 10.0], "shift of every network temperature [K]"),
    "pipe_cost_factor": ([0.5, 1.0, 1.5], "multiplier on the pipe cost"),
    "must_run_share": ([0.0, 0.2, 0.4], "share of each hour's demand kept by existing plants"),
    "dhw_share": ([0.0, 0.15, 0.3], "hot-water share of the networks' demand, all year"),
    "heating_season": (
        [("11-15", "03-15"), ("11-01", "03-31"), ("12-01", "02-28")],
        "(first day, last day) of the heating season",
    ),
}
"""Parameter -> (default values to try, meaning). ``heating_season`` sets both
``heating_season_start`` and ``heating_season_end``."""

_SENSITIVITY_METRICS = (
    "usable_heat_mwh_th_per_yr",
    "heat_pump_cop",
    "lcoh_cny_per_mwh",
    "score_mwh_per_kcny",
    "rank",
    "connected",
)
# Parameters that change which segment a site can connect to.
_MATCHING_PARAMETERS = {
    "supply_temp_offset_k",
    "max_sink_temp_c",
    "hx_approach_k",
    "cooling",
    "network_grouping",
}


def _config_change(param, value):
    if param == "heating_season":
        try:
            start, end = value
        except (TypeError, ValueError):
            raise ConfigError(
                f"heating_season values must be (start, end) pairs like ('11-15', '03-15'); "
                f"got {value!r}."
            ) from None
        return {"heating_season_start": start, "heating_season_end": end}
    return {param: value}


def sensitivity(
    data_centres,
    network,
    *,
    ranges: dict | None = None,
    heat_demand=None,
    buildings=None,
    streets=None,
    readings: Mapping | None = None,
    config: HeatConfig | None = None,
    metrics=_SENSITIVITY_METRICS,
) -> pd.DataFrame:
    """Re-run the analysis over ranges of the main assumptions.

    One parameter varies at a time; the others keep ``config``'s values.
    The spatial matching is computed once and reused unless the parameter
    changes temperature compatibility.

    Parameters
    ----------
    data_centres, network, heat_demand, buildings, streets, readings, config
        As for :func:`~geoenergy.heat.compute.analyse`. Without ``heat_demand``
        or ``buildings`` the networks' demand is unknown and used heat is only
        bounded by the season (see :mod:`geoenergy.heat.balance`).
    ranges : dict, optional
        ``{parameter: [values]}``; default :data:`SENSITIVITY_PARAMETERS`.
        Any :class:`HeatConfig` field may be given, plus ``heating_season``.
    metrics : sequence of str
        Output columns to report.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per parameter, value and site with columns
        ``parameter``, ``value`` (as text), ``is_base`` (the value equals the
        base configuration's), ``name`` and the ``metrics``.
    """
    cfg = config or HeatConfig()
    if ranges is None:
        ranges = {k: v[0] for k, v in SENSITIVITY_PARAMETERS.items()}
    if not isinstance(ranges, dict) or not ranges:
        raise TypeError("ranges must be a non-empty dict {parameter: [values]}.")
    allowed = {f for f in HeatConfig.__dataclass_fields__} | {"heating_season"}
    unknown = sorted(set(ranges) - allowed)
    if unknown:
        raise ConfigError(
            f"sensitivity: unknown parameter(s) {unknown}; use HeatConfig fields or "
            f"'heating_season' (e.g. {sorted(SENSITIVITY_PARAMETERS)})."
        )
    missing = [m for m in metrics if m not in OUTPUT_COLUMNS]
    if missing:
        raise ConfigError(f"sensitivity: unknown metric(s) {missing}; see OUTPUT_COLUMNS.")
    demand = {"heat_demand": heat_demand, "buildings": buildings}
    base = analyse(
        data_centres,
        network,
        streets=streets,
        readings=readings,
        config=cfg,
        density_grid=False,
        **demand,
    )
    base_con = _connections_from(base)
    base_values = {
        "heating_season": (cfg.heating_season_start, cfg.heating_season_end),
        **cfg.to_dict(),
    }
    frames = []
    for param, values in ranges.items():
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            raise TypeError(f"ranges[{param!r}] must be a list of values, got {values!r}.")
        for value in values:
            run_cfg = cfg.replace(**_config_change(param, value))
            reuse = None if param in _MATCHING_PARAMETERS else base_con
            res = analyse(
                data_centres,
                network,
                streets=streets,
                readings=readings,
                config=run_cfg,
                density_grid=False,
                _connections=reuse,
                **demand,
            )
            part = pd.DataFrame(res.sites[["name", *metrics]])
            v = tuple(value) if isinstance(value, list) else value
            part.insert(0, "is_base", v == base_values.get(param))
            part.insert(0, "value", str(v))
            part.insert(0, "parameter", param)
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def _connections_from(res: HeatResult):
    """Rebuild the matching frame from a result so sensitivity runs can reuse it."""
    s = res.sites
    geoms = pd.Series([None] * len(s), index=s.index, dtype=object)
    con_geom = dict(
        zip(s.index[s["connected"].to_numpy(dtype=bool)], res.connections.geometry, strict=True)
    )
    for k, g in con_geom.items():
        geoms[k] = g
    cols = {
        "connected": s["connected"].to_numpy(dtype=bool),
        "network_kind": s["network_kind"].to_numpy(dtype=object),
        "distance_m": s["distance_m"].to_numpy(dtype=float),
        "route_length_m": s["route_length_m"].to_numpy(dtype=float),
        "route_method": s["route_method"].to_numpy(dtype=object),
        "supply_temp_c": s["network_supply_temp_c"].to_numpy(dtype=float),
        "return_temp_c": s["network_return_temp_c"].to_numpy(dtype=float),
        "operator": s["network_operator"].to_numpy(dtype=object),
        "diameter_mm": s["network_diameter_mm"].to_numpy(dtype=float),
        "network_id": s["network_id"].to_numpy(dtype=object),
    }
    for k in res.config.network_kinds:
        cols[f"{k}_distance_m"] = s[f"{k}_distance_m"].to_numpy(dtype=float)
    return gpd.GeoDataFrame(cols, geometry=geoms.to_numpy(), crs="EPSG:4326", index=s.index)
