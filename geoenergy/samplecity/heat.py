"""The city's heat layers: district-heating network, heat demand and data centres.

A primary trunk runs from a heat plant in the south-east with secondary
branches to apartment blocks (supply and return temperatures, diameters
falling away from the plant); annual space-heating demand is summed from
the buildings' floor area on a 500 m grid; the eight listed data centres
sit in the buildings of data-centre meters, four of them linked to their
metered consumption. These are the inputs of the waste-heat analysis.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from geoenergy.samplecity.geometry import _HALF_X, _HALF_Y, _geom_to_deg, _to_deg

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


def _data_centres_layer(rng, b, meter_b, meter_ids, dc_rows, n_linked, dc_it, dc_pue):
    """The ``data_centres`` layer: eight listed sites, the first ``n_linked`` metered.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the cooling technology of each site.
    b, meter_b
        Building arrays and the building of each meter (see
        :func:`~geoenergy.samplecity.geometry._place_meters`).
    meter_ids : ndarray of str
    dc_rows : ndarray of int
        Rows of the data-centre meters; the first eight are the sites.
    n_linked : int
        How many sites carry the ``meter_id`` of their metered consumption.
    dc_it, dc_pue : ndarray, shape (8,)
        IT load [MW] and PUE of each site.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326; ``meter_id`` is None for unmetered sites.
    """
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
            "cooling": rng.choice(
                ["air", "water", "liquid", "immersion"], 8, p=[0.4, 0.35, 0.15, 0.1]
            ),
            "operator": [_DC_OPERATORS[i % len(_DC_OPERATORS)] for i in range(8)],
        },
        geometry=gpd.points_from_xy(dlon, dlat),
        crs=4326,
    )
    data_centres["meter_id"] = data_centres["meter_id"].replace("", None)
    return data_centres
