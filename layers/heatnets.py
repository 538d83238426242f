"""Heating networks as wholes: which segments form one network, its service area and demand.

A ``heating_network`` layer is a set of pipe segments. Heat fed in anywhere
on a network can reach every building that network serves, and only those,
so the hourly balance of waste heat is drawn per network:

* :func:`heating_networks` -- one network per connected set of touching
  segments (the default) or per ``operator``; each segment gets its
  network's id.
* :func:`network_demand` -- each network's service area (its pipes buffered
  by a distance) and the annual heat demand inside it, from the
  ``heat_demand`` layer (area-weighted) or buildings (floor area x
  intensity). A demand polygon or building within reach of several
  networks counts for the nearest one only, so no demand is counted twice
  and the networks' demands never add up to more than the layer's.

Pure geopandas/shapely/scipy (never :mod:`geoenergy`); distances in a metric
CRS (:func:`layers.crs.metric_crs`), geometries back in WGS84.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import WGS84, align_crs, metric_crs
from layers.network import _check_frame, _check_network, _demand_source, building_heat_demand

__all__ = ["GROUPINGS", "heating_networks", "network_demand"]

GROUPINGS = {
    "component": "segments that touch (within the snap tolerance) form one network",
    "operator": "all segments of one operator form one network",
}
"""Network grouping name -> meaning."""


def _components(geoms, tolerance_m: float) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(geoms)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def heating_networks(
    network, *, by: str = "component", tolerance_m: float = 1.0, crs=None
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Group the segments of a heating-network layer into networks.

    Parameters
    ----------
    network : geopandas.GeoDataFrame
        The ``heating_network`` layer (lines with ``kind``, ``supply_temp_c``,
        ``return_temp_c``; optional ``operator``).
    by : {"component", "operator"}
        See :data:`GROUPINGS`. Segments without an operator fall back to
        their connected component.
    tolerance_m : float
        Segments closer than this touch [m].
    crs : optional
        Metric CRS.

    Returns
    -------
    networks : geopandas.GeoDataFrame
        One row per network, indexed by ``network_id`` (``"N1"``, ``"N2"``,
        ... largest first): ``kinds`` (e.g. ``"primary+secondary"``),
        ``operator`` (the most common one), ``n_segments``, ``length_m`` [m],
        ``supply_temp_c`` (hottest segment) and ``return_temp_c`` (of that
        segment) [degC]; geometry the merged lines (a MultiLineString) in WGS84.
    segment_network : pandas.Series
        ``network_id`` per segment, indexed like ``network``.
    """
    _check_network(network)
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {list(GROUPINGS)}, got {by!r}.")
    if not tolerance_m >= 0:
        raise ValueError(f"tolerance_m must be >= 0 [m], got {tolerance_m!r}.")
    mcrs = metric_crs(network, crs)
    net = network.to_crs(mcrs)
    geoms = net.geometry.to_numpy()
    labels = _components(geoms, tolerance_m) if len(net) else np.zeros(0, dtype=int)
    keys = np.array([f"c{v}" for v in labels], dtype=object)
    if by == "operator" and "operator" in net.columns:
        op = net["operator"].astype("string").str.strip()
        has = op.notna() & (op != "")
        keys = np.where(has.to_numpy(), ("o:" + op.fillna("")).to_numpy(dtype=object), keys)
    length = shapely.length(geoms)
    order = (
        pd.DataFrame({"key": keys, "len": length})
        .groupby("key")["len"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    ids = {k: f"N{i + 1}" for i, k in enumerate(order.index)}
    seg_net = pd.Series([ids[k] for k in keys], index=network.index, name="network_id")
    supply = pd.to_numeric(net["supply_temp_c"], errors="coerce").to_numpy(dtype=float)
    ret = pd.to_numeric(net["return_temp_c"], errors="coerce").to_numpy(dtype=float)
    kind = net["kind"].astype(str).str.lower().to_numpy()
    oper = (
        net["operator"].astype("string").to_numpy(dtype=object)
        if "operator" in net.columns
        else np.full(len(net), None, dtype=object)
    )
    rows, lines = [], []
    for key in order.index:
        members = np.flatnonzero(keys == key)
        hot = members[np.argmax(np.where(np.isfinite(supply[members]), supply[members], -np.inf))]
        ops = pd.Series(oper[members]).dropna()
        rows.append(
            {
                "network_id": ids[key],
                "kinds": "+".join(sorted(set(kind[members]))),
                "operator": ops.mode().iloc[0] if len(ops) else None,
                "n_segments": len(members),
                "length_m": float(length[members].sum()),
                "supply_temp_c": float(supply[hot]),
                "return_temp_c": float(ret[hot]),
            }
        )
        merged = shapely.line_merge(shapely.union_all(geoms[members]))
        # Always MultiLineString, so a file layer of networks has one geometry type.
        lines.append(shapely.multilinestrings(shapely.get_parts(merged)))
    out = gpd.GeoDataFrame(
        pd.DataFrame(
            rows,
            columns=[
                "network_id",
                "kinds",
                "operator",
                "n_segments",
                "length_m",
                "supply_temp_c",
                "return_temp_c",
            ],
        ),
        geometry=gpd.GeoSeries(lines, crs=mcrs),
    ).set_index("network_id")
    return out.to_crs(WGS84), seg_net


def network_demand(
    networks,
    *,
    heat_demand=None,
    buildings=None,
    intensity_mwh_per_m2: dict | None = None,
    buffer_m: float = 500.0,
    crs=None,
) -> tuple[pd.Series, gpd.GeoSeries]:
    """Annual heat demand inside each network's service area.

    Parameters
    ----------
    networks : geopandas.GeoDataFrame
        From :func:`heating_networks` (lines, one row per network).
    heat_demand : geopandas.GeoDataFrame, optional
        Polygons with ``demand_mwh`` [MWh/yr]. A polygon belongs to the
        network nearest to its representative point (if within
        ``buffer_m``) and counts with the share of its area inside that
        network's service area.
    buildings : geopandas.GeoDataFrame, optional
        Used when ``heat_demand`` is None: a building counts for the nearest
        network within ``buffer_m`` of its centroid.
    intensity_mwh_per_m2 : dict, optional
        ``{use: MWh/m2/yr}``, needed with ``buildings``.
    buffer_m : float
        Service-area distance from the pipes [m].
    crs : optional
        Metric CRS.

    Returns
    -------
    demand : pandas.Series
        [MWh/yr] per ``network_id`` (0 where none is in reach);
        ``attrs["source"]`` names the layer used.
    service_area : geopandas.GeoSeries
        The buffers, WGS84, indexed by ``network_id``.
    """
    _check_frame(networks, "networks", ("LineString", "MultiLineString"))
    if not isinstance(buffer_m, int | float) or not (buffer_m > 0 and np.isfinite(buffer_m)):
        raise ValueError(f"buffer_m must be a positive distance [m], got {buffer_m!r}.")
    source = _demand_source(heat_demand, buildings, intensity_mwh_per_m2)
    mcrs = metric_crs(networks, crs)
    lines = networks.to_crs(mcrs).geometry.to_numpy()
    areas = shapely.buffer(lines, buffer_m, quad_segs=8)
    out = np.zeros(len(networks))
    tree = shapely.STRtree(lines)
    if source == "heat_demand":
        d_m = align_crs(heat_demand, mcrs, "heat_demand")
        polys = d_m.geometry.to_numpy()
        q = pd.to_numeric(d_m["demand_mwh"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(q) | (q < 0)
        if bad.any():
            raise ValueError(
                f"heat_demand: {int(bad.sum())} polygon(s) have no valid demand_mwh (rows "
                f"{list(d_m.index[bad][:5])}); give a number >= 0 [MWh/yr] or drop them."
            )
        pts = shapely.point_on_surface(polys)
        pi, nj = tree.query_nearest(pts, max_distance=buffer_m, all_matches=False)
        inside = shapely.area(shapely.intersection(polys[pi], areas[nj]))
        total = shapely.area(polys[pi])
        share = np.where(total > 0, inside / np.where(total > 0, total, 1.0), 1.0)
        out = np.bincount(nj, weights=share * q[pi], minlength=len(networks))
    else:
        b_m = align_crs(buildings, mcrs, "buildings")
        q = building_heat_demand(b_m, intensity_mwh_per_m2)
        cent = shapely.centroid(b_m.geometry.to_numpy())
        bi, nj = tree.query_nearest(cent, max_distance=buffer_m, all_matches=False)
        ok = np.isfinite(q[bi])
        out = np.bincount(nj[ok], weights=q[bi][ok], minlength=len(networks))
    demand = pd.Series(out, index=networks.index, name="demand_mwh_per_yr")
    demand.attrs["source"] = source
    service = gpd.GeoSeries(areas, index=networks.index, crs=mcrs).to_crs(WGS84)
    return demand, service
