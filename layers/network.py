"""Heating network and heat demand around sites: matching, routes, density grid.

Pure geopandas/shapely/networkx (never :mod:`geoenergy`):

* :func:`nearest_segments` -- the nearest heating-network segment of each
  kind (primary, secondary) per site, skipping segments that are hotter than
  the site can supply (temperature compatibility).
* :func:`route_lengths` -- straight line times a detour factor, or the
  shortest path along a street layer (networkx) when one is given.
* :func:`connect_sites` -- both of the above: one connection per site, with
  the segment's operator and temperatures and the connection line.
* :func:`demand_within` -- heat demand within radii of each site, from the
  ``heat_demand`` layer (area-weighted) or from buildings (floor area x
  intensity by use).
* :func:`heat_density_grid` -- a gridded heat density [MWh/ha/yr] as an
  ``xarray.DataArray`` a map can show.

Distances and areas are computed in a projected CRS in metres
(:func:`layers.crs.metric_crs`: the given one, else the UTM zone -- EPSG:32650
for Beijing); geometries come back in WGS84.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.crs import WGS84, align_crs, metric_crs, require_crs

__all__ = [
    "ROUTE_METHODS",
    "building_heat_demand",
    "connect_sites",
    "demand_within",
    "heat_density_grid",
    "nearest_segments",
    "route_lengths",
]

ROUTE_METHODS = {
    "detour": "straight line x detour factor (no street layer)",
    "streets": "shortest path along the street layer (networkx Dijkstra)",
    "detour_disconnected": "straight line x detour factor (site and pipe on unconnected streets)",
}
"""Route method name -> what it means (the ``route_method`` column)."""

_NETWORK_COLUMNS = ("kind", "supply_temp_c", "return_temp_c")


# -- checks ---------------------------------------------------------------------------


def _check_frame(frame, name, geom_types=None):
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"{name} must be a geopandas GeoDataFrame, got {type(frame).__name__}.")
    require_crs(frame, name)
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        raise ValueError(
            f"{name}: {int(empty.sum())} feature(s) have no geometry (rows "
            f"{list(frame.index[empty][:5])}); drop or fix them first."
        )
    if geom_types is not None and len(frame):
        wrong = ~frame.geom_type.isin(geom_types)
        if wrong.any():
            raise ValueError(
                f"{name} must hold {list(geom_types)} geometries; rows "
                f"{list(frame.index[wrong][:5])} are {sorted(set(frame.geom_type[wrong]))}."
            )


def _check_network(network):
    _check_frame(network, "network", ("LineString", "MultiLineString"))
    missing = [c for c in _NETWORK_COLUMNS if c not in network.columns]
    if missing:
        raise ValueError(
            f"network is missing column(s) {missing}; a heating_network layer needs kind "
            f"(primary|secondary), supply_temp_c and return_temp_c [degC]."
        )


def _per_site(value, n, name):
    if value is None:
        return np.full(n, np.inf)
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per site ({n}), got {arr.shape}.")
    return np.where(np.isnan(arr), np.inf, arr)


# -- nearest segments -------------------------------------------------------------------


def nearest_segments(
    sites,
    network,
    *,
    kinds=("primary", "secondary"),
    max_supply_temp_c=None,
    search_radius_m: float | None = None,
    crs=None,
) -> pd.DataFrame:
    """The nearest temperature-compatible network segment of each kind per site.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Points or polygons (data centres), any CRS.
    network : geopandas.GeoDataFrame
        Lines with ``kind`` (primary | secondary), ``supply_temp_c`` and
        ``return_temp_c`` [degC]; optional ``operator`` and ``diameter_mm``.
    kinds : sequence of str
        Network kinds to search.
    max_supply_temp_c : float or array_like, optional
        Hottest supply temperature each site can feed [degC] (one value, or one
        per site; NaN or None = no limit). Hotter segments, and segments whose
        supply temperature is unknown, are skipped.
    search_radius_m : float, optional
        Ignore segments farther than this [m].
    crs : optional
        Metric CRS for distances (default: the UTM zone of ``sites``).

    Returns
    -------
    pandas.DataFrame
        One row per site and kind: ``site`` (the site's index label), ``kind``,
        ``segment`` (the network's index label, NA when none), ``distance_m``
        [m], ``supply_temp_c``, ``return_temp_c`` [degC], ``operator``,
        ``diameter_mm``, and ``site_x``, ``site_y``, ``pipe_x``, ``pipe_y``
        (the closest points, in the metric CRS), plus ``attrs["crs"]``.
    """
    _check_frame(sites, "sites")
    _check_network(network)
    if search_radius_m is not None and not search_radius_m > 0:
        raise ValueError(f"search_radius_m must be positive [m], got {search_radius_m!r}.")
    mcrs = metric_crs(sites, crs)
    s_m = sites.to_crs(mcrs)
    n_m = align_crs(network, mcrs, "network").reset_index(names="__segment")
    limit = _per_site(max_supply_temp_c, len(sites), "max_supply_temp_c")
    supply = pd.to_numeric(n_m["supply_temp_c"], errors="coerce").to_numpy(dtype=float)
    rows = []
    site_geoms = s_m.geometry.to_numpy()
    for kind in kinds:
        of_kind = (n_m["kind"].astype(str).str.lower() == kind).to_numpy()
        seg_idx = np.full(len(sites), -1)
        dist = np.full(len(sites), np.nan)
        # Sites share a few temperature limits (one per cooling type): one tree per limit.
        for lim in np.unique(limit):
            members = np.flatnonzero(limit == lim)
            cand = np.flatnonzero(of_kind & np.isfinite(supply) & (supply <= lim))
            if len(cand) == 0:
                continue
            tree = shapely.STRtree(n_m.geometry.to_numpy()[cand])
            (qi, ti), d = tree.query_nearest(
                site_geoms[members], max_distance=search_radius_m, return_distance=True
            )
            # query_nearest may return ties; keep the first per site.
            first = np.unique(qi, return_index=True)[1]
            seg_idx[members[qi[first]]] = cand[ti[first]]
            dist[members[qi[first]]] = d[first]
        found = seg_idx >= 0
        seg_geoms = np.where(found, n_m.geometry.to_numpy()[np.maximum(seg_idx, 0)], None)
        lines = np.full(len(sites), None, dtype=object)
        if found.any():
            lines[found] = shapely.shortest_line(site_geoms[found], seg_geoms[found])
        p0 = np.full((len(sites), 2), np.nan)
        p1 = np.full((len(sites), 2), np.nan)
        if found.any():
            coords = [np.asarray(ln.coords) for ln in lines[found]]
            p0[found] = [c[0] for c in coords]
            p1[found] = [c[-1] for c in coords]
        take = np.maximum(seg_idx, 0)

        def col(name, take=take, found=found):
            if name not in n_m.columns:
                return pd.Series([pd.NA] * len(sites), dtype=object)
            vals = n_m[name].to_numpy(dtype=object)[take]
            return pd.Series(np.where(found, vals, None), dtype=object)

        rows.append(
            pd.DataFrame(
                {
                    "site": sites.index.to_numpy(),
                    "kind": kind,
                    "segment": pd.Series(
                        np.where(found, n_m["__segment"].to_numpy(dtype=object)[take], None),
                        dtype=object,
                    ),
                    "distance_m": dist,
                    "supply_temp_c": pd.to_numeric(col("supply_temp_c"), errors="coerce"),
                    "return_temp_c": pd.to_numeric(col("return_temp_c"), errors="coerce"),
                    "operator": col("operator"),
                    "diameter_mm": pd.to_numeric(col("diameter_mm"), errors="coerce"),
                    "site_x": p0[:, 0],
                    "site_y": p0[:, 1],
                    "pipe_x": p1[:, 0],
                    "pipe_y": p1[:, 1],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["crs"] = mcrs.to_string()
    return out


# -- routes -------------------------------------------------------------------------------


def _street_graph(streets_m):
    """Noded street graph: nodes are coordinates (rounded to mm), edges straight pieces."""
    import networkx as nx

    lines = shapely.get_parts(streets_m.geometry.to_numpy())
    lines = lines[shapely.get_type_id(lines) == 1]
    noded = shapely.get_parts(shapely.union_all(lines))
    g = nx.Graph()
    pieces = []
    for ln in noded:
        c = np.round(np.asarray(ln.coords)[:, :2], 3)
        for a, b in itertools.pairwise(c):
            ka, kb = tuple(a), tuple(b)
            if ka == kb:
                continue
            w = float(np.hypot(*(b - a)))
            if not g.has_edge(ka, kb) or g[ka][kb]["weight"] > w:
                g.add_edge(ka, kb, weight=w)
                pieces.append((ka, kb))
    return g, pieces


def _attach(g, pieces, tree, points):
    """Insert points into the graph on their nearest street piece; returns node keys and gaps."""
    near = tree.query_nearest(points, all_matches=False)[1]
    keys, gaps = [], []
    by_edge: dict[int, list] = {}
    for p, e in zip(points, near, strict=True):
        a, b = pieces[e]
        seg = shapely.LineString([a, b])
        t = seg.project(p)
        q = seg.interpolate(t)
        key = (round(q.x, 3), round(q.y, 3))
        keys.append(key)
        gaps.append(float(p.distance(q)))
        by_edge.setdefault(e, []).append((t, key))
    for e, items in by_edge.items():
        a, b = pieces[e]
        chain = [a, *[k for _, k in sorted(set(items))], b]
        for u, v in itertools.pairwise(chain):
            if u != v:
                g.add_edge(u, v, weight=float(math.dist(u, v)))
    return keys, gaps


def route_lengths(
    starts,
    ends,
    *,
    streets=None,
    detour_factor: float = 1.3,
    crs=None,
):
    """Route length from each start to its end point.

    Parameters
    ----------
    starts, ends : array_like of shapely.Point
        Pairs of points in the metric CRS ``crs`` (e.g. site and pipe point).
    streets : geopandas.GeoDataFrame, optional
        Street centre lines. When given, the route runs straight to the
        nearest street, along the shortest street path (networkx Dijkstra)
        and straight from the street to the end point; pairs on unconnected
        street pieces fall back to the detour factor.
    detour_factor : float
        Route length / straight-line length without streets [-] (>= 1).
    crs : required with ``streets``
        The metric CRS of the points; the streets are reprojected to it.

    Returns
    -------
    length_m : numpy.ndarray
        [m]
    geometry : numpy.ndarray of shapely.LineString
        The route (straight line for the detour method), in ``crs``.
    method : numpy.ndarray of str
        Keys of :data:`ROUTE_METHODS`.
    """
    starts = np.asarray(starts, dtype=object)
    ends = np.asarray(ends, dtype=object)
    if starts.shape != ends.shape:
        raise ValueError(f"starts and ends must pair up; got {starts.shape} and {ends.shape}.")
    if not isinstance(detour_factor, int | float) or not detour_factor >= 1:
        raise ValueError(f"detour_factor must be a number >= 1, got {detour_factor!r}.")
    straight = shapely.distance(starts, ends).astype(float) if len(starts) else np.zeros(0)
    lines = np.array(
        [shapely.LineString([a, b]) for a, b in zip(starts, ends, strict=True)], dtype=object
    )
    length = straight * detour_factor
    method = np.full(len(starts), "detour", dtype=object)
    if streets is None or len(starts) == 0:
        return length, lines, method
    _check_frame(streets, "streets", ("LineString", "MultiLineString"))
    if crs is None:
        raise ValueError("route_lengths(streets=...) needs crs=, the metric CRS of the points.")
    try:
        import networkx as nx
    except ImportError:
        raise ImportError(
            "routing along streets needs networkx; install it with `pip install networkx`."
        ) from None
    streets_m = align_crs(streets, crs, "streets")
    g, pieces = _street_graph(streets_m)
    if not pieces:
        raise ValueError("streets has no line with two distinct points; check the layer.")
    tree = shapely.STRtree([shapely.LineString([a, b]) for a, b in pieces])
    # Attach all points in one go so two points on the same street piece are
    # chained along it (separate passes would only link each to the piece's ends).
    keys, gaps = _attach(g, pieces, tree, np.concatenate([starts, ends]))
    n = len(starts)
    s_keys, e_keys, s_gaps, e_gaps = keys[:n], keys[n:], gaps[:n], gaps[n:]
    for i in range(len(starts)):
        try:
            dist, path = nx.single_source_dijkstra(g, s_keys[i], e_keys[i], weight="weight")
        except nx.NetworkXNoPath:
            method[i] = "detour_disconnected"
            continue
        pts = [starts[i], *[shapely.Point(p) for p in path], ends[i]]
        length[i] = s_gaps[i] + float(dist) + e_gaps[i]
        lines[i] = shapely.LineString(pts)
        method[i] = "streets"
    return length, lines, method


# -- connection per site ----------------------------------------------------------------


def connect_sites(
    sites,
    network,
    *,
    kinds=("primary", "secondary"),
    max_supply_temp_c=None,
    connect_to: str = "nearest",
    search_radius_m: float | None = None,
    detour_factor: float = 1.3,
    streets=None,
    crs=None,
) -> gpd.GeoDataFrame:
    """One connection per site: nearest compatible segment, its route and line.

    Parameters
    ----------
    sites, network, kinds, max_supply_temp_c, search_radius_m, crs
        See :func:`nearest_segments`.
    connect_to : {"nearest", "primary", "secondary"}
        ``"nearest"`` connects to the compatible segment with the shortest
        straight-line distance among ``kinds``; a kind name restricts the
        connection to that kind (the other kinds are still reported).
    detour_factor, streets
        See :func:`route_lengths`.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed like ``sites``: ``connected`` (bool), ``network_kind``,
        ``segment``, ``distance_m`` (straight line) and ``route_length_m`` [m],
        ``route_method``, ``supply_temp_c``, ``return_temp_c`` [degC],
        ``operator``, ``diameter_mm``, and per kind ``<kind>_distance_m`` and
        ``<kind>_segment``; geometry = the connection line in WGS84 (None when
        not connected).
    """
    if connect_to not in ("nearest", *kinds):
        raise ValueError(
            f"connect_to must be 'nearest' or one of kinds {list(kinds)}, got {connect_to!r}."
        )
    near = nearest_segments(
        sites,
        network,
        kinds=kinds,
        max_supply_temp_c=max_supply_temp_c,
        search_radius_m=search_radius_m,
        crs=crs,
    )
    mcrs = near.attrs["crs"]
    n = len(sites)
    wide = {}
    for kind in kinds:
        part = near[near["kind"] == kind].reset_index(drop=True)
        wide[f"{kind}_distance_m"] = part["distance_m"].to_numpy()
        wide[f"{kind}_segment"] = part["segment"].to_numpy()
    choose_from = list(kinds) if connect_to == "nearest" else [connect_to]
    dists = np.column_stack(
        [
            np.where(np.isnan(wide[f"{k}_distance_m"]), np.inf, wide[f"{k}_distance_m"])
            for k in choose_from
        ]
    )
    best = np.argmin(dists, axis=1)
    connected = np.isfinite(dists[np.arange(n), best])
    chosen_kind = np.array(choose_from, dtype=object)[best]
    pick = (
        pd.concat(
            [
                near[(near["kind"] == k)].reset_index(drop=True).iloc[[i]]
                for i, k in enumerate(chosen_kind)
            ],
            ignore_index=True,
        )
        if n
        else near.iloc[0:0]
    )
    starts = np.array(
        [shapely.Point(x, y) for x, y in zip(pick["site_x"], pick["site_y"], strict=True)],
        dtype=object,
    )
    ends = np.array(
        [shapely.Point(x, y) for x, y in zip(pick["pipe_x"], pick["pipe_y"], strict=True)],
        dtype=object,
    )
    length = np.full(n, np.nan)
    geoms = np.full(n, None, dtype=object)
    method = np.full(n, None, dtype=object)
    if connected.any():
        ln, g, m = route_lengths(
            starts[connected],
            ends[connected],
            streets=streets,
            detour_factor=detour_factor,
            crs=mcrs,
        )
        length[connected], method[connected] = ln, m
        geoms[connected] = g
    out = gpd.GeoDataFrame(
        {
            "connected": connected,
            "network_kind": np.where(connected, chosen_kind, None),
            "segment": np.where(connected, pick["segment"].to_numpy(dtype=object), None),
            "distance_m": np.where(connected, pick["distance_m"].to_numpy(), np.nan),
            "route_length_m": length,
            "route_method": method,
            "supply_temp_c": np.where(connected, pick["supply_temp_c"].to_numpy(), np.nan),
            "return_temp_c": np.where(connected, pick["return_temp_c"].to_numpy(), np.nan),
            "operator": np.where(connected, pick["operator"].to_numpy(dtype=object), None),
            "diameter_mm": np.where(connected, pick["diameter_mm"].to_numpy(), np.nan),
            **wide,
        },
        geometry=gpd.GeoSeries(geoms, crs=mcrs),
        index=sites.index,
    )
    return out.to_crs(WGS84)


# -- demand -------------------------------------------------------------------------------


def building_heat_demand(buildings, intensity_mwh_per_m2: dict, *, default: float = 0.0):
    """Annual heat demand of each building: floor area x intensity of its use.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Polygons with ``use`` and optional ``floor_area_m2`` [m2] (else the
        footprint area times ``floors`` when present, else the footprint).
    intensity_mwh_per_m2 : dict
        ``{use: annual heat demand [MWh/m2/yr]}``.
    default : float
        Intensity of uses missing from the dict [MWh/m2/yr].

    Returns
    -------
    numpy.ndarray
        [MWh/yr] per building.
    """
    _check_frame(buildings, "buildings")
    if "use" not in buildings.columns:
        raise ValueError("buildings needs a 'use' column to look up the heat intensity.")
    if not isinstance(intensity_mwh_per_m2, dict):
        raise TypeError("intensity_mwh_per_m2 must be a dict {use: MWh/m2/yr}.")
    if "floor_area_m2" in buildings.columns:
        area = pd.to_numeric(buildings["floor_area_m2"], errors="coerce").to_numpy(dtype=float)
    else:
        area = np.full(len(buildings), np.nan)
    missing = ~np.isfinite(area)
    if missing.any():
        foot = buildings.to_crs(metric_crs(buildings)).geometry.area.to_numpy()
        floors = (
            pd.to_numeric(buildings["floors"], errors="coerce").fillna(1).to_numpy(dtype=float)
            if "floors" in buildings.columns
            else np.ones(len(buildings))
        )
        area = np.where(missing, foot * floors, area)
    uses = buildings["use"].astype(str).to_numpy()
    inten = np.array([intensity_mwh_per_m2.get(u, default) for u in uses], dtype=float)
    return area * inten


def _demand_source(heat_demand, buildings, intensity):
    if heat_demand is None and buildings is None:
        raise ValueError(
            "give heat_demand (polygons with demand_mwh) or buildings (with use and "
            "floor_area_m2) to compute demand."
        )
    if heat_demand is not None:
        _check_frame(heat_demand, "heat_demand", ("Polygon", "MultiPolygon"))
        if "demand_mwh" not in heat_demand.columns:
            raise ValueError("heat_demand needs a demand_mwh column [MWh/yr].")
        return "heat_demand"
    if intensity is None:
        raise ValueError("buildings need intensity_mwh_per_m2 {use: MWh/m2/yr}.")
    return "buildings"


def demand_within(
    sites,
    radii_m,
    *,
    heat_demand=None,
    buildings=None,
    intensity_mwh_per_m2: dict | None = None,
    crs=None,
) -> pd.DataFrame:
    """Annual heat demand within radii around each site.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
    radii_m : sequence of float
        Radii [m].
    heat_demand : geopandas.GeoDataFrame, optional
        Polygons with ``demand_mwh`` [MWh/yr]; a polygon counts in proportion
        to its area inside the circle. Takes precedence over ``buildings``.
    buildings : geopandas.GeoDataFrame, optional
        Used when ``heat_demand`` is None: building demand
        (:func:`building_heat_demand`) counts when the building's centroid is
        inside the circle.
    intensity_mwh_per_m2 : dict, optional
        Needed with ``buildings``.
    crs : optional
        Metric CRS.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``sites``, one column per radius,
        ``heat_demand_within_<r>m_mwh_per_yr`` [MWh/yr]; ``attrs["source"]``
        says which layer was used.
    """
    _check_frame(sites, "sites")
    radii = [float(r) for r in radii_m]
    if any(not r > 0 for r in radii):
        raise ValueError(f"radii_m must be positive [m], got {radii_m!r}.")
    source = _demand_source(heat_demand, buildings, intensity_mwh_per_m2)
    mcrs = metric_crs(sites, crs)
    s_m = sites.to_crs(mcrs).geometry.to_numpy()
    out = pd.DataFrame(index=sites.index)
    if source == "heat_demand":
        d_m = align_crs(heat_demand, mcrs, "heat_demand")
        polys = d_m.geometry.to_numpy()
        demand = pd.to_numeric(d_m["demand_mwh"], errors="coerce").fillna(0).to_numpy(float)
        poly_area = shapely.area(polys)
        tree = shapely.STRtree(polys)
        for r in radii:
            circles = shapely.buffer(s_m, r, quad_segs=32)
            si, pj = tree.query(circles, predicate="intersects")
            share = shapely.area(shapely.intersection(circles[si], polys[pj])) / np.where(
                poly_area[pj] > 0, poly_area[pj], 1.0
            )
            out[f"heat_demand_within_{r:g}m_mwh_per_yr"] = np.bincount(
                si, weights=share * demand[pj], minlength=len(s_m)
            )
    else:
        b_m = align_crs(buildings, mcrs, "buildings")
        demand = building_heat_demand(b_m, intensity_mwh_per_m2)
        cent = shapely.centroid(b_m.geometry.to_numpy())
        tree = shapely.STRtree(cent)
        for r in radii:
            si, pj = tree.query(s_m, predicate="dwithin", distance=r)
            out[f"heat_demand_within_{r:g}m_mwh_per_yr"] = np.bincount(
                si, weights=demand[pj], minlength=len(s_m)
            )
    out.attrs["source"] = source
    return out


def heat_density_grid(
    *,
    heat_demand=None,
    buildings=None,
    intensity_mwh_per_m2: dict | None = None,
    cell_m: float = 100.0,
    crs=None,
):
    """Heat-demand density on a regular grid, for maps.

    Parameters
    ----------
    heat_demand : geopandas.GeoDataFrame, optional
        Polygons with ``demand_mwh`` [MWh/yr], spread over the grid in
        proportion to area. Takes precedence over ``buildings``.
    buildings : geopandas.GeoDataFrame, optional
        Building demand (:func:`building_heat_demand`) assigned to the cell
        holding the building's centroid.
    intensity_mwh_per_m2 : dict, optional
        Needed with ``buildings``.
    cell_m : float
        Cell size [m] (100 m = 1 ha cells).
    crs : optional
        Metric CRS of the grid (default: UTM zone of the layer).

    Returns
    -------
    xarray.DataArray
        ``heat_density`` [MWh/ha/yr], dims ``("y", "x")`` (y descending,
        north up), coordinates ``x``, ``y`` (cell centres in the metric CRS
        [m]) and 2-D ``lon``, ``lat`` [deg, WGS84]; ``attrs``: ``crs``,
        ``units``, ``cell_m``, ``source``.
    """
    import xarray as xr

    if not isinstance(cell_m, int | float) or not cell_m > 0:
        raise ValueError(f"cell_m must be a positive cell size [m], got {cell_m!r}.")
    source = _demand_source(heat_demand, buildings, intensity_mwh_per_m2)
    layer = heat_demand if source == "heat_demand" else buildings
    mcrs = metric_crs(layer, crs)
    lay_m = layer.to_crs(mcrs)
    x0, y0, x1, y1 = lay_m.total_bounds
    x0, y0 = math.floor(x0 / cell_m) * cell_m, math.floor(y0 / cell_m) * cell_m
    nx_ = max(1, math.ceil((x1 - x0) / cell_m))
    ny_ = max(1, math.ceil((y1 - y0) / cell_m))
    energy = np.zeros(ny_ * nx_)
    if source == "heat_demand":
        polys = lay_m.geometry.to_numpy()
        demand = pd.to_numeric(lay_m["demand_mwh"], errors="coerce").fillna(0).to_numpy(float)
        gx, gy = np.meshgrid(np.arange(nx_), np.arange(ny_))
        cells = shapely.box(
            x0 + gx.ravel() * cell_m,
            y0 + gy.ravel() * cell_m,
            x0 + (gx.ravel() + 1) * cell_m,
            y0 + (gy.ravel() + 1) * cell_m,
        )
        tree = shapely.STRtree(cells)
        pi, cj = tree.query(polys, predicate="intersects")
        area = shapely.area(polys)
        share = shapely.area(shapely.intersection(polys[pi], cells[cj])) / np.where(
            area[pi] > 0, area[pi], 1.0
        )
        energy = np.bincount(cj, weights=share * demand[pi], minlength=ny_ * nx_)
    else:
        demand = building_heat_demand(lay_m, intensity_mwh_per_m2)
        cent = shapely.centroid(lay_m.geometry.to_numpy())
        ix = np.clip(((shapely.get_x(cent) - x0) // cell_m).astype(int), 0, nx_ - 1)
        iy = np.clip(((shapely.get_y(cent) - y0) // cell_m).astype(int), 0, ny_ - 1)
        energy = np.bincount(iy * nx_ + ix, weights=demand, minlength=ny_ * nx_)
    hectares = cell_m * cell_m / 10_000.0
    grid = (energy / hectares).reshape(ny_, nx_)[::-1]
    xs = x0 + (np.arange(nx_) + 0.5) * cell_m
    ys = (y0 + (np.arange(ny_) + 0.5) * cell_m)[::-1]
    xx, yy = np.meshgrid(xs, ys)
    to_ll = pyproj.Transformer.from_crs(mcrs, WGS84, always_xy=True)
    lon, lat = to_ll.transform(xx, yy)
    return xr.DataArray(
        grid,
        dims=("y", "x"),
        coords={
            "x": ("x", xs, {"units": "m"}),
            "y": ("y", ys, {"units": "m"}),
            "lon": (("y", "x"), lon, {"units": "degrees_east"}),
            "lat": (("y", "x"), lat, {"units": "degrees_north"}),
        },
        name="heat_density",
        attrs={
            "units": "MWh/ha/yr",
            "long_name": "annual heat demand density",
            "crs": mcrs.to_string(),
            "cell_m": float(cell_m),
            "source": source,
        },
    )
