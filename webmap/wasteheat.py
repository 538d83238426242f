"""The heating planners' map: data-centre waste heat and the heating network.

Data centres are circles sized by recoverable heat and coloured by source
temperature, on the same temperature scale as the network's supply
temperature, so a planner sees at a glance which heat needs a heat pump to
reach which pipe. Each site's popup sets the heat it could give (available)
beside the heat the network can actually use, hour by hour. Each heating
network (from the analysis) opens a popup with its demand, used heat,
coverage and cost, and a small monthly chart of demand against waste heat
(inline SVG, :func:`webmap.charts.monthly_balance_svg`). Heat-demand density
is a raster overlay, candidate connections carry their distance, cost and
heat, and distance rings around the data centres can be switched on. Layer
control, legend, scale bar, fullscreen and a measuring tool are on the map.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from folium.map import Layer
from folium.plugins import Fullscreen, MeasureControl
from folium.raster_layers import ImageOverlay
from folium.template import Template

from webmap.basemap import Basemap
from webmap.charts import monthly_balance_svg
from webmap.colors import Gradient
from webmap.features import FeatureLayer
from webmap.frame import LegendSection, WebMap, check_wgs84, finish, new_map, total_bounds
from webmap.markup import format_value, script_json
from webmap.raster import GridHover, grid_to_lonlat, grid_to_rgba

DATA_CENTRE_COLUMNS = (
    "name",
    "operator",
    "recoverable_heat_mw_th",
    "source_temp_c",
    "usable_heat_mwh_th",
    "lcoh_cny_per_mwh",
)
"""Columns of ``data_centres`` on this map."""

NETWORK_COLUMNS = ("kind", "supply_temp_c", "return_temp_c", "operator")
"""Columns of ``network``; ``kind`` is ``primary`` or ``secondary``."""

CONNECTION_COLUMNS = (
    "name",
    "distance_m",
    "route_m",
    "capex_cny",
    "lcoh_cny_per_mwh",
    "usable_heat_mwh_th",
)
"""Columns of ``connections``."""

NETWORKS_COLUMNS = (
    "demand_mwh_per_yr",
    "used_heat_mwh_th_per_yr",
    "demand_covered_share",
    "investment_cny",
    "lcoh_cny_per_mwh",
    *(f"{k}_mwh_m{m:02d}" for k in ("demand", "supply", "used") for m in range(1, 13)),
)
"""Columns of ``networks`` (``geoenergy.heat.HeatResult.networks``): annual demand,
used heat, coverage, investment and LCOH, and monthly demand, supply and used heat."""

NETWORK_WEIGHT = {"primary": 5.0, "secondary": 2.5}
"""Line width [px] by network kind."""

TEMP_RANGE = (20.0, 120.0)
"""Default colour range of source and supply temperatures [degC]."""


def _check_frame(gdf, label, columns, geom_kinds) -> None:
    if gdf is None:
        return
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"{label} must be a GeoDataFrame, got {type(gdf).__name__}.")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValueError(f"{label} lacks columns {missing}; it needs {list(columns)}.")
    check_wgs84(gdf, label)
    kinds = set(gdf.geom_type.dropna().unique())
    if not kinds <= set(geom_kinds):
        raise ValueError(
            f"{label} must hold {' or '.join(geom_kinds)} geometries, got {sorted(kinds)}."
        )
    if len(gdf) and (gdf.geometry.isna() | gdf.geometry.is_empty).any():
        raise ValueError(f"{label} has rows without geometry; drop them first.")


def _check_wasteheat_map(
    data_centres, network, demand_grid, connections, rings_km, temp_range, networks=None
):
    _check_frame(
        networks, "networks", NETWORKS_COLUMNS, ("LineString", "MultiLineString", "Polygon")
    )
    _check_frame(
        data_centres, "data_centres", DATA_CENTRE_COLUMNS, ("Point", "Polygon", "MultiPolygon")
    )
    _check_frame(network, "network", NETWORK_COLUMNS, ("LineString", "MultiLineString"))
    _check_frame(connections, "connections", CONNECTION_COLUMNS, ("LineString", "MultiLineString"))
    if network is not None and len(network):
        bad = sorted(set(network["kind"].dropna()) - set(NETWORK_WEIGHT))
        if bad:
            raise ValueError(f"network.kind must be one of {list(NETWORK_WEIGHT)}, got {bad}.")
    if demand_grid is not None and not isinstance(demand_grid, xr.DataArray):
        raise TypeError(
            f"demand_grid must be an xarray.DataArray, got {type(demand_grid).__name__}."
        )
    rings = list(rings_km or ())
    if any(not isinstance(r, int | float) or r <= 0 for r in rings):
        raise ValueError(f"rings_km must be positive distances [km], got {rings_km!r}.")
    lo, hi = temp_range
    if not lo < hi:
        raise ValueError(f"temp_range must be (low, high) with low < high, got {temp_range}.")


def wasteheat_map(
    data_centres: gpd.GeoDataFrame,
    *,
    network: gpd.GeoDataFrame | None = None,
    demand_grid: xr.DataArray | None = None,
    connections: gpd.GeoDataFrame | None = None,
    rings_km: Sequence[float] = (1, 2, 5),
    title: str = "Data-centre waste heat for district heating",
    data_date=None,
    attribution: str | None = None,
    basemap: Basemap | None = None,
    temp_range: tuple[float, float] = TEMP_RANGE,
    demand_max: float | None = None,
    networks: gpd.GeoDataFrame | None = None,
) -> WebMap:
    """The heating planners' map.

    Parameters
    ----------
    data_centres : GeoDataFrame
        Points (or building polygons) in EPSG:4326 with ``name``, ``operator``,
        ``recoverable_heat_mw_th`` (recoverable heat [MW_th]),
        ``source_temp_c`` (temperature of the waste heat [degC]),
        ``usable_heat_mwh_th`` (heat the network uses per year, hour by
        hour within its demand [MWh_th]) and ``lcoh_cny_per_mwh`` (levelised
        cost of heat [CNY/MWh]); with ``available_heat_mwh_th_per_yr`` the
        popup also shows the heat the site could give [MWh_th/yr].
    network : GeoDataFrame, optional
        Lines with ``kind`` (primary | secondary), ``supply_temp_c`` and
        ``return_temp_c`` [degC], ``operator``.
    demand_grid : xarray.DataArray, optional
        Heat-demand density [MWh/ha/yr], dims (y, x), see
        :mod:`webmap.raster` for the accepted coordinates.
    connections : GeoDataFrame, optional
        Candidate connection lines with ``name``, ``distance_m`` (straight
        line [m]), ``route_m`` (along streets [m]), ``capex_cny`` [CNY],
        ``lcoh_cny_per_mwh`` [CNY/MWh], ``usable_heat_mwh_th`` [MWh_th/yr].
    rings_km : sequence of float
        Radii of the distance rings around each data centre [km]; the ring
        layer is off when the map opens. Empty: no rings.
    title, data_date, attribution, basemap
        See :func:`webmap.frame.new_map`.
    temp_range : (float, float)
        Colour range of source and supply temperatures [degC].
    demand_max : float, optional
        Top of the demand colour scale [MWh/ha/yr]; default the 98th
        percentile of the positive cells.
    networks : GeoDataFrame, optional
        One row per heating network (``HeatResult.networks``, WGS84) with
        :data:`NETWORKS_COLUMNS`; a layer of clickable networks whose popup
        holds their balance and a monthly demand-vs-waste-heat chart.

    Returns
    -------
    WebMap
    """
    _check_wasteheat_map(
        data_centres, network, demand_grid, connections, rings_km, temp_range, networks
    )
    m = new_map(
        kind="wasteheat",
        title=title,
        data_date=data_date,
        attribution=attribution,
        basemap=basemap,
    )
    temp = Gradient("temperature", float(temp_range[0]), float(temp_range[1]), "°C")
    legend: list[LegendSection] = []
    bounds_frames: list = [data_centres, network, connections]
    if demand_grid is not None:
        overlay, section, grid_bounds = _demand_overlay(demand_grid, demand_max)
        m.add_child(overlay)
        values, _ = grid_to_lonlat(demand_grid)
        m.add_child(GridHover(overlay, values, grid_bounds, unit="MWh/ha/yr", label="Heat demand"))
        section.layer = overlay
        legend.append(section)
        (s, w), (n, e) = grid_bounds
        bounds_frames.append(
            gpd.GeoDataFrame(geometry=gpd.points_from_xy([w, e], [s, n]), crs=4326)
        )
    if network is not None and len(network):
        layer = _network_layer(network.reset_index(drop=True), temp)
        m.add_child(layer)
        legend.append(
            LegendSection(
                "Heating network: supply temperature",
                classes=temp,
                items=[
                    ("#555", "primary", f"line:{NETWORK_WEIGHT['primary']}"),
                    ("#555", "secondary", f"line:{NETWORK_WEIGHT['secondary']}"),
                ],
                layer=layer,
            )
        )
    if networks is not None and len(networks):
        layer = NetworkBalance(networks)
        m.add_child(layer)
        legend.append(
            LegendSection(
                "Heating networks: demand and waste heat",
                items=[("#7d3c98", "click a network for its balance", "line:8")],
                note="Used heat never exceeds the network's hourly demand.",
                layer=layer,
            )
        )
    if connections is not None and len(connections):
        layer = _connection_layer(connections.reset_index(drop=True))
        m.add_child(layer)
        legend.append(
            LegendSection(
                "Candidate connections",
                items=[("#222", "data centre to network", "dash:3")],
                layer=layer,
            )
        )
    dc = data_centres.reset_index(drop=True)
    # A data centre drawn as its building outline is shown at a point inside it.
    dc = dc.set_geometry(dc.geometry.where(dc.geom_type == "Point", dc.representative_point()))
    if rings_km and len(dc):
        ring = _ring_layer(dc, rings_km)
        m.add_child(ring)
        legend.append(
            LegendSection(
                "Distance rings",
                items=[("#555", f"{_km(rings_km)} from each data centre", "dash:1.5")],
                layer=ring,
            )
        )
    if len(dc):
        layer = _data_centre_layer(dc, temp)
        m.add_child(layer)
        legend.insert(
            0,
            LegendSection(
                "Data centres: source temperature",
                classes=temp,
                items=_size_key(dc),
                note="Circle area grows with recoverable heat [MW_th].",
                layer=layer,
            ),
        )
        if "available_heat_mwh_th_per_yr" in dc.columns:
            used = _used_layer(dc)
            m.add_child(used)
            legend.insert(
                1,
                LegendSection(
                    "Data centres: used heat",
                    items=[("#641e16", "heat the network uses (same scale)", "dot")],
                    note="The dark disc inside each circle: used against available heat.",
                    layer=used,
                ),
            )
    Fullscreen(position="topleft").add_to(m)
    MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="hectares",
    ).add_to(m)
    m.summary = _summary(dc, network, connections, networks)
    return finish(m, bounds=total_bounds(bounds_frames), legend=legend)


def _km(rings_km) -> str:
    return ", ".join(f"{r:g}" for r in rings_km) + " km"


def _demand_overlay(da: xr.DataArray, demand_max):
    values, bounds = grid_to_lonlat(da)
    positive = values[np.isfinite(values) & (values > 0)]
    if demand_max is None:
        demand_max = float(np.percentile(positive, 98)) if positive.size else 1.0
    top = float(f"{demand_max:.2g}") if demand_max > 0 else 1.0
    gradient = Gradient("heat", 0.0, top, "MWh/ha/yr")
    overlay = ImageOverlay(
        image=grid_to_rgba(values, gradient),
        bounds=bounds,
        origin="upper",
        mercator_project=True,
        opacity=0.65,
        name="Heat-demand density",
        interactive=False,
    )
    section = LegendSection(
        "Heat-demand density", classes=gradient, note="Empty cells: no demand."
    )
    return overlay, section, bounds


def _radius_px(mw) -> np.ndarray:
    """Circle radius [px] of a data centre recovering ``mw`` [MW_th] (area grows with heat)."""
    return np.clip(5 + 4 * np.sqrt(np.asarray(mw, dtype=float)), 5, 30)


def _size_key(dc: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """Legend rows: circles as large as on the map for round figures within the data's range."""
    mw = pd.to_numeric(dc["recoverable_heat_mw_th"], errors="coerce").fillna(0).clip(lower=0)
    top = float(mw.max()) if len(mw) else 0.0
    if top <= 0:
        return []
    steps = [v for v in (1, 5, 10, 20, 50, 100) if v <= max(top, 1)][-3:]
    return [("#222", f"{v:g} MW_th", f"circle:{float(_radius_px(v)):g}") for v in steps]


def _data_centre_layer(dc: gpd.GeoDataFrame, temp: Gradient) -> FeatureLayer:
    mw = pd.to_numeric(dc["recoverable_heat_mw_th"], errors="coerce").fillna(0).clip(lower=0)
    radius = _radius_px(mw.to_numpy())
    colors = temp.color(pd.to_numeric(dc["source_temp_c"], errors="coerce").to_numpy())
    palette = sorted(set(colors))
    styles = [
        {"color": "#222", "weight": 1.5, "fillColor": c, "fillOpacity": 0.85} for c in palette
    ]
    avail = (
        pd.to_numeric(dc["available_heat_mwh_th_per_yr"], errors="coerce").to_numpy()
        if "available_heat_mwh_th_per_yr" in dc.columns
        else np.full(len(dc), np.nan)
    )
    return FeatureLayer(
        dc.geometry,
        styles=styles,
        style_index=[palette.index(c) for c in colors],
        radius_px=radius,
        titles=dc["name"].tolist(),
        fields=[
            "Operator",
            "Recoverable heat",
            "Source temperature",
            "Available heat",
            "Used heat",
            "Cost of heat (LCOH)",
        ],
        values=[
            [
                r.operator,
                format_value(r.recoverable_heat_mw_th, 1, "MW_th"),
                format_value(r.source_temp_c, 0, "°C"),
                format_value(a, 0, "MWh_th/yr"),
                format_value(r.usable_heat_mwh_th, 0, "MWh_th/yr")
                + (f" ({r.usable_heat_mwh_th / a:.0%} of available)" if a and a > 0 else ""),
                format_value(r.lcoh_cny_per_mwh, 0, "CNY/MWh"),
            ]
            for r, a in zip(
                dc[list(DATA_CENTRE_COLUMNS)].itertuples(index=False), avail, strict=True
            )
        ],
        tooltip_fields=[1],
        name="Data centres: recoverable heat",
    )


def _used_layer(dc: gpd.GeoDataFrame) -> FeatureLayer:
    """Discs sized by the used heat on the recoverable-heat circles' scale (not clickable)."""
    used_mw = pd.to_numeric(dc["usable_heat_mwh_th"], errors="coerce").fillna(0) / 8760.0
    # 4 sqrt(MW) [px]: the recoverable-heat circles' scale without their 5 px floor.
    radius = np.clip(4 * np.sqrt(used_mw.clip(lower=0).to_numpy()), 0, 30)
    style = {"stroke": False, "fillColor": "#641e16", "fillOpacity": 0.85}
    return FeatureLayer(
        dc.geometry,
        styles=[style],
        style_index=[0] * len(dc),
        radius_px=radius,
        titles=dc["name"].tolist(),
        popup=False,
        tooltip_fields=None,
        interactive=False,
        name="Data centres: used heat",
    )


def _network_layer(net: gpd.GeoDataFrame, temp: Gradient) -> FeatureLayer:
    colors = temp.color(pd.to_numeric(net["supply_temp_c"], errors="coerce").to_numpy())
    keys = list(zip(net["kind"].fillna("secondary"), colors, strict=True))
    palette = sorted(set(keys))
    styles = [
        {"color": c, "weight": NETWORK_WEIGHT.get(k, 2.5), "opacity": 0.9} for k, c in palette
    ]
    return FeatureLayer(
        net.geometry,
        styles=styles,
        style_index=[palette.index(k) for k in keys],
        titles=["Heating network"] * len(net),
        fields=["Kind", "Operator", "Supply temperature", "Return temperature"],
        values=[
            [
                r.kind,
                r.operator,
                format_value(r.supply_temp_c, 0, "°C"),
                format_value(r.return_temp_c, 0, "°C"),
            ]
            for r in net[list(NETWORK_COLUMNS)].itertuples(index=False)
        ],
        tooltip_fields=None,
        name="Heating network",
    )


def _connection_layer(con: gpd.GeoDataFrame) -> FeatureLayer:
    style = {"color": "#222", "weight": 3, "dashArray": "6 5", "opacity": 0.9}
    return FeatureLayer(
        con.geometry,
        styles=[style],
        style_index=[0] * len(con),
        titles=con["name"].tolist(),
        fields=[
            "Straight-line distance",
            "Route length",
            "Investment",
            "Cost of heat (LCOH)",
            "Used heat",
        ],
        values=[
            [
                format_value(r.distance_m, 0, "m"),
                format_value(r.route_m, 0, "m"),
                format_value(r.capex_cny / 1e6, 1, "million CNY"),
                format_value(r.lcoh_cny_per_mwh, 0, "CNY/MWh"),
                format_value(r.usable_heat_mwh_th, 0, "MWh_th/yr"),
            ]
            for r in con[list(CONNECTION_COLUMNS)].itertuples(index=False)
        ],
        name="Candidate connections",
    )


def _ring_layer(dc: gpd.GeoDataFrame, rings_km) -> FeatureLayer:
    radii = sorted(float(r) for r in rings_km)
    geoms = gpd.GeoSeries(np.repeat(dc.geometry.to_numpy(), len(radii)), crs=4326)
    names = np.repeat(dc["name"].to_numpy(), len(radii))
    km = np.tile(radii, len(dc))
    style = {"color": "#555", "weight": 1.5, "dashArray": "4 4", "fill": False}
    return FeatureLayer(
        geoms,
        styles=[style],
        style_index=[0] * len(geoms),
        radius_m=km * 1000.0,
        titles=[f"{k:g} km from {n}" for n, k in zip(names, km, strict=True)],
        popup=False,
        name=f"Distance rings ({_km(rings_km)})",
        show=False,
    )


def _summary(dc, network, connections, networks=None) -> dict:
    out = {
        "Data centres": format_value(len(dc)),
        "Recoverable heat": format_value(
            pd.to_numeric(dc["recoverable_heat_mw_th"], errors="coerce").sum(), 1, "MW_th"
        ),
        "Used heat": format_value(
            pd.to_numeric(dc["usable_heat_mwh_th"], errors="coerce").sum() / 1000, 1, "GWh_th/yr"
        ),
    }
    if networks is not None and len(networks):
        demand = pd.to_numeric(networks["demand_mwh_per_yr"], errors="coerce").sum()
        out["Network demand in reach"] = format_value(demand / 1000, 1, "GWh/yr")
    if network is not None and len(network):
        utm = network.estimate_utm_crs()
        out["Heating network length"] = format_value(
            network.to_crs(utm).length.sum() / 1000, 1, "km"
        )
    if connections is not None and len(connections):
        out["Candidate connections"] = format_value(len(connections))
        out["Lowest cost of heat"] = format_value(
            pd.to_numeric(connections["lcoh_cny_per_mwh"], errors="coerce").min(), 0, "CNY/MWh"
        )
    return out


class NetworkBalance(Layer):
    """Heating networks as wide lines whose popup shows their heat balance and a monthly chart.

    The popup is DOM built with ``textContent`` (no data text is parsed as
    HTML); the chart is SVG built in Python from numbers only
    (:func:`webmap.charts.monthly_balance_svg`).

    Parameters
    ----------
    networks : GeoDataFrame
        WGS84 lines, one row per network, with :data:`NETWORKS_COLUMNS`; the
        index (``network_id``) is the popup title.
    name, show
        Layer control name; whether shown on opening.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var d = {{ this.data_json }};
            var el = webmap.el;
            return L.geoJSON(d.geo, {
                style: function () {
                    return {color: "#7d3c98", weight: 8, opacity: 0.25};
                },
                onEachFeature: function (f, layer) {
                    var i = f.properties.i;
                    layer.bindPopup(function () {
                        var root = webmap.table(d.title[i], d.fields, d.values[i],
                            d.fields.map(function (x, k) { return k; }), "\u2013");
                        // Built in Python (webmap.charts) from numbers only: no data text.
                        var chart = el("div", "wm-chart");
                        chart.innerHTML = d.svg[i];
                        root.appendChild(chart);
                        return root;
                    }, {maxWidth: 360});
                }
            });
        })();
        {% endmacro %}
        """
    )

    FIELDS = (
        "Heat demand in reach",
        "Waste heat used",
        "Demand covered",
        "Investment",
        "Cost of used heat (LCOH)",
    )

    def __init__(self, networks, *, name="Heating networks: balance", show=True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "NetworkBalance"
        nets = networks.reset_index()
        title_col = nets.columns[0]
        geo = {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"i": i}, "geometry": g.__geo_interface__}
                for i, g in enumerate(nets.geometry)
            ],
        }
        values = [
            [
                format_value(r["demand_mwh_per_yr"], 0, "MWh/yr"),
                format_value(r["used_heat_mwh_th_per_yr"], 0, "MWh_th/yr"),
                format_value(100 * r["demand_covered_share"], 0, "%"),
                format_value(r["investment_cny"] / 1e6, 1, "million CNY"),
                format_value(r["lcoh_cny_per_mwh"], 0, "CNY/MWh"),
            ]
            for _, r in nets.iterrows()
        ]
        svgs = [
            monthly_balance_svg(
                [r[f"demand_mwh_m{m:02d}"] for m in range(1, 13)],
                [r[f"supply_mwh_m{m:02d}"] for m in range(1, 13)],
                [r[f"used_mwh_m{m:02d}"] for m in range(1, 13)],
            )
            for _, r in nets.iterrows()
        ]
        self.n_features = len(nets)
        self.data_json = script_json(
            {
                "geo": geo,
                "title": [f"Heating network {v}" for v in nets[title_col].astype(str)],
                "fields": list(self.FIELDS),
                "values": values,
                "svg": svgs,
            }
        )
