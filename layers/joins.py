"""Place meters in districts and buildings, one deterministic row per meter.

:func:`join_meters` tells, for every meter, which district polygon holds
it and which building: the one that holds it, else the nearest within a
tolerance in metres, with the distance. It uses geopandas' STRtree-backed
``sjoin`` (point in polygon) and ``sjoin_nearest`` (nearest within
``max_distance``, in a metric CRS), accepts a dask-geopandas frame of
meters for partitioned data, and reprojects explicitly when the CRSs
differ (a frame without a CRS is an error).

Ties are broken the same way everywhere (including the SQL of
:func:`layers.postgis.join_meters_postgis`): a point on a boundary shared
by districts goes to the first district in the layer's order; a point in
overlapping buildings to the one with the smallest footprint (the more
specific polygon), then the first; the nearest building is the closest,
then the smallest, then the first. Distances within :data:`TIE_DISTANCE_M`
and areas equal to :data:`AREA_DECIMALS` decimals count as equal, so that
reprojection noise (~1e-9 m) cannot decide.
"""

from __future__ import annotations

import functools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.crs import WGS84, _is_dask, align_crs, metric_crs, require_crs
from layers.schemas import LayerError

__all__ = [
    "AREA_DECIMALS",
    "BUILDING_COLUMNS",
    "DISTRICT_COLUMNS",
    "MATCHES",
    "TIE_DISTANCE_M",
    "join_buildings",
    "join_districts",
    "join_meters",
]

TIE_DISTANCE_M = 1e-3
"""Nearest-building distances this close to the nearest one tie. [m]"""

AREA_DECIMALS = 1
"""Footprint areas [m2] are compared rounded to this many decimals."""

#: How a meter was matched; the values of ``district_match`` and ``building_match``.
MATCHES: dict[str, str] = {
    "within": "the meter lies inside (or on the boundary of) the polygon",
    "nearest": "no polygon holds the meter; the nearest one within tolerance_m [m]",
    "none": "no polygon holds the meter and none is within tolerance_m",
}

#: Columns :func:`join_meters` adds for the district join, with their meaning.
DISTRICT_COLUMNS: dict[str, str] = {
    "district": "name of the district holding the meter (None if none)",
    "district_match": "'within' or 'none'",
}

#: Columns :func:`join_meters` adds for the building join, with their meaning.
BUILDING_COLUMNS: dict[str, str] = {
    "building_id": "id of the matched building (None if none)",
    "building_use": "the building's use",
    "building_floor_area_m2": "the building's floor area [m2] (NaN if unknown)",
    "building_match": "'within', 'nearest' or 'none'",
    "building_distance_m": "distance to the building [m]: 0 within, NaN for none",
}


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def _check_frame(frame, name: str, columns=()):
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(
            f"{name} must be a geopandas GeoDataFrame; got {type(frame).__name__}. Read it "
            f"with layers.io.read_layer."
        )
    require_crs(frame, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LayerError(
            f"{name}: column(s) {missing} missing; it has {list(frame.columns)}. Rename them "
            f"or pass the column names (name_col=, use_col=, id_col=)."
        )


def _check_join_meters(meters, districts, buildings, tolerance_m, name_col, use_col, id_col):
    if districts is None and buildings is None:
        raise ValueError(
            "join_meters needs districts=, buildings= or both; got neither. Pass the layers "
            "read with layers.io.read_layer."
        )
    if _is_dask(meters):
        require_crs(meters, "meters")
    else:
        _check_frame(meters, "meters")
    if districts is not None:
        _check_frame(districts, "districts", [name_col])
    if buildings is not None:
        _check_frame(buildings, "buildings", [use_col] + ([id_col] if id_col else []))
        if (
            id_col is None
            and "building_id" not in buildings.columns
            and not buildings.index.is_unique
        ):
            raise LayerError(
                "buildings: no building_id column and the index is not unique, so "
                "matches could not be told apart. Add a building_id column or pass id_col=."
            )
    if isinstance(tolerance_m, bool) or not isinstance(tolerance_m, int | float | np.number):
        raise TypeError(f"tolerance_m must be a number of metres; got {tolerance_m!r}.")
    if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise ValueError(
            f"tolerance_m must be finite and >= 0 [m]; got {tolerance_m!r}. Use 0 to match "
            f"only meters inside a building."
        )


# --------------------------------------------------------------------------
# the joins on one in-memory frame
# --------------------------------------------------------------------------
def _points_frame(points: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """A frame of the placed points, indexed by their position in the meter frame."""
    values = np.asarray(points.values, dtype=object)
    pos = np.flatnonzero(~(points.isna().to_numpy() | points.is_empty.to_numpy()))
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(values[pos], index=pos, crs=points.crs))


def _polygons_frame(polygons: gpd.GeoSeries) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(np.asarray(polygons.values, dtype=object), crs=polygons.crs)
    )


def _first_per_point(left: np.ndarray, right: np.ndarray, *keys: np.ndarray) -> pd.DataFrame:
    """One candidate per point: the smallest by ``keys``, then by right position.

    ``pos`` is the chosen candidate's position in the input arrays.
    """
    pairs = pd.DataFrame({"left": left, "right": right, "pos": np.arange(len(left))})
    sort = ["left"]
    for i, key in enumerate(keys):
        pairs[f"k{i}"] = key
        sort.append(f"k{i}")
    sort.append("right")
    pairs = pairs.sort_values(sort, kind="stable")
    return pairs.drop_duplicates("left", keep="first").set_index("left")


def _within(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, area: np.ndarray | None):
    """Position of the holding polygon per point position.

    Among several, the smallest ``area`` wins, then the first; with
    ``area=None`` the first in the layer's order.
    """
    if len(points) == 0 or len(polygons) == 0:
        return pd.Series(dtype=np.int64)
    # "intersects" rather than "within": a point on a boundary is in no polygon's
    # interior, but must still land in one district.
    hits = gpd.sjoin(points, polygons, how="inner", predicate="intersects")
    right = hits["index_right"].to_numpy(dtype=np.int64)
    keys = () if area is None else (np.round(area[right], AREA_DECIMALS),)
    best = _first_per_point(hits.index.to_numpy(dtype=np.int64), right, *keys)
    return best["right"]


def _nearest(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, area, tolerance_m):
    """Position of and distance to the nearest polygon within tolerance, per point.

    Polygons within 1 mm of the nearest distance tie; among them the
    smallest wins, then the first.
    """
    if len(points) == 0 or len(polygons) == 0 or tolerance_m <= 0:
        return pd.DataFrame({"right": pd.Series(dtype=np.int64), "distance": []})
    hits = gpd.sjoin_nearest(
        points, polygons, how="inner", max_distance=tolerance_m, distance_col="distance"
    )
    if len(hits) == 0:
        return pd.DataFrame({"right": pd.Series(dtype=np.int64), "distance": []})
    # sjoin_nearest returns several polygons only for bit-identical distances;
    # gather every polygon within the tie margin so reprojection noise cannot
    # decide.
    nearest = hits.groupby(level=0)["distance"].min()
    geoms = np.asarray(points.geometry.loc[nearest.index].values, dtype=object)
    li, right = polygons.sindex.query(
        geoms, predicate="dwithin", distance=nearest.to_numpy() + TIE_DISTANCE_M
    )
    dist = shapely.distance(geoms[li], np.asarray(polygons.geometry.values, dtype=object)[right])
    left = nearest.index.to_numpy(dtype=np.int64)[li]
    best = _first_per_point(left, right, np.round(area[right], AREA_DECIMALS))
    best["distance"] = dist[best["pos"].to_numpy()]
    return best[["right", "distance"]]


def _join_districts(out, points_wgs, districts, name_col):
    # Districts tile the city, so a point on a shared boundary goes to the first
    # district in the layer's order (areas would only add projection noise).
    polys = align_crs(districts, points_wgs, "districts", "meters")
    best = _within(_points_frame(points_wgs), _polygons_frame(polys.geometry), None)
    names = np.full(len(out), None, dtype=object)
    names[best.index.to_numpy()] = districts[name_col].to_numpy(dtype=object)[best.to_numpy()]
    match = np.full(len(out), "none", dtype=object)
    match[best.index.to_numpy()] = "within"
    out["district"] = names
    out["district_match"] = match
    return out


def _building_ids(buildings, id_col):
    if id_col is not None:
        return buildings[id_col].to_numpy(dtype=object)
    if "building_id" in buildings.columns:
        return buildings["building_id"].to_numpy(dtype=object)
    return buildings.index.to_numpy(dtype=object)


def _join_buildings(out, points_wgs, buildings, tolerance_m, metric, use_col, id_col, area_col):
    pts = _points_frame(points_wgs.to_crs(metric))
    polys = _polygons_frame(buildings.geometry.to_crs(metric))
    area = polys.geometry.area.to_numpy()
    n = len(out)
    pos = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    match = np.full(n, "none", dtype=object)

    inside = _within(pts, polys, area)
    pos[inside.index.to_numpy()] = inside.to_numpy()
    dist[inside.index.to_numpy()] = 0.0
    match[inside.index.to_numpy()] = "within"

    misses = pts.loc[~pts.index.isin(inside.index)]
    near = _nearest(misses, polys, area, tolerance_m)
    pos[near.index.to_numpy()] = near["right"].to_numpy()
    dist[near.index.to_numpy()] = near["distance"].to_numpy()
    match[near.index.to_numpy()] = "nearest"

    found = pos >= 0
    ids = np.full(n, None, dtype=object)
    uses = np.full(n, None, dtype=object)
    floor = np.full(n, np.nan)
    ids[found] = _building_ids(buildings, id_col)[pos[found]]
    uses[found] = buildings[use_col].to_numpy(dtype=object)[pos[found]]
    if area_col in buildings.columns:
        floor[found] = pd.to_numeric(buildings[area_col], errors="coerce").to_numpy()[pos[found]]
    out["building_id"] = ids
    out["building_use"] = uses
    out["building_floor_area_m2"] = floor
    out["building_match"] = match
    out["building_distance_m"] = dist
    return out


def _join_frame(
    meters, districts, buildings, tolerance_m, metric, name_col, use_col, id_col, area_col
):
    out = meters.to_crs(WGS84) if pyproj.CRS(meters.crs) != pyproj.CRS(WGS84) else meters.copy()
    points = out.geometry
    if len(out) and not points.isna().all():
        kinds = set(points.dropna().geom_type)
        if not kinds <= {"Point"}:
            raise LayerError(
                f"meters: geometries must be points; got {sorted(kinds)}. Use "
                f"layers.meters.read_meters, or the centroids of the polygons."
            )
    if districts is not None:
        out = _join_districts(out, points, districts, name_col)
    if buildings is not None:
        out = _join_buildings(
            out, points, buildings, tolerance_m, metric, use_col, id_col, area_col
        )
    return out


def _unmatched(out, districts, buildings) -> dict[str, list]:
    ids = out["meter_id"] if "meter_id" in out.columns else pd.Series(out.index, index=out.index)
    found = {}
    if districts is not None:
        found["district"] = ids[out["district_match"] == "none"].tolist()
    if buildings is not None:
        found["building"] = ids[out["building_match"] == "none"].tolist()
    return found


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def join_meters(
    meters,
    districts=None,
    buildings=None,
    *,
    tolerance_m: float = 20.0,
    crs=None,
    name_col: str = "name",
    use_col: str = "use",
    id_col: str | None = None,
    floor_area_col: str = "floor_area_m2",
):
    """Match every meter to a district and to a building.

    Parameters
    ----------
    meters : geopandas.GeoDataFrame or dask_geopandas.GeoDataFrame
        Meter points (see :func:`layers.meters.read_meters`), any CRS.
        Missing geometries match nothing. A dask-geopandas frame is joined
        partition by partition against the in-memory layers (lazily).
    districts : geopandas.GeoDataFrame, optional
        District polygons with a ``name_col`` column, any CRS.
    buildings : geopandas.GeoDataFrame, optional
        Building polygons with ``use_col`` and optionally ``floor_area_col``
        [m2] and ``building_id`` (else ``id_col``, else the index gives ids).
    tolerance_m : float, default 20.0
        A meter in no building takes the nearest building within this
        distance. [m]
    crs : str, int or pyproj.CRS, optional
        The projected CRS in metres for distances and areas; default the UTM
        zone of the buildings (else of the districts), see
        :func:`layers.crs.metric_crs`.
    name_col, use_col : str
        District name and building use columns.
    id_col : str, optional
        Building id column (default ``building_id`` if present, else the index).
    floor_area_col : str, default "floor_area_m2"
        Building floor area column. [m2]

    Returns
    -------
    geopandas.GeoDataFrame or dask_geopandas.GeoDataFrame
        The meters in their input order and index, in WGS84 (EPSG:4326), with
        the columns of :data:`DISTRICT_COLUMNS` and/or :data:`BUILDING_COLUMNS`.
        ``attrs["unmatched"]`` maps ``"district"``/``"building"`` to the
        ``meter_id`` s (else index labels) matched to nothing;
        ``attrs["metric_crs"]`` and ``attrs["tolerance_m"]`` record the
        settings. A dask result has no ``attrs["unmatched"]``: select
        ``building_match == "none"`` after computing.

    Raises
    ------
    LayerError
        If a frame has no CRS, a column is missing, or a meter is not a point.
    TypeError, ValueError
        For bad arguments.

    Notes
    -----
    A point on a boundary shared by districts goes to the first district in
    the layer's order; a point in (or on the boundary of) several buildings
    to the smallest footprint, then the first; the nearest building is the
    closest (within :data:`TIE_DISTANCE_M`), then the smallest, then the first.
    Distances are planar in the metric CRS (UTM scale error < 0.1 %).
    """
    _check_join_meters(meters, districts, buildings, tolerance_m, name_col, use_col, id_col)
    reference = buildings if buildings is not None else districts
    metric = metric_crs(reference, crs)
    join = functools.partial(
        _join_frame,
        districts=districts,
        buildings=buildings,
        tolerance_m=float(tolerance_m),
        metric=metric,
        name_col=name_col,
        use_col=use_col,
        id_col=id_col,
        area_col=floor_area_col,
    )
    if _is_dask(meters):
        try:
            import dask_geopandas  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                f"joining a dask frame needs dask-geopandas ({exc}); pip install dask-geopandas"
            ) from None
        meta = join(meters._meta)
        out = meters.map_partitions(join, meta=meta)
        return out
    out = join(meters)
    out.attrs.update(
        {
            "unmatched": _unmatched(out, districts, buildings),
            "metric_crs": metric.to_string(),
            "tolerance_m": float(tolerance_m),
        }
    )
    return out


def join_districts(meters, districts, *, name_col: str = "name", crs=None):
    """Match every meter to the district holding it; :func:`join_meters` with districts only."""
    return join_meters(meters, districts, None, name_col=name_col, crs=crs)


def join_buildings(
    meters,
    buildings,
    *,
    tolerance_m: float = 20.0,
    crs=None,
    use_col: str = "use",
    id_col: str | None = None,
    floor_area_col: str = "floor_area_m2",
):
    """Match every meter to a building (within, else nearest within ``tolerance_m`` [m]).

    :func:`join_meters` with buildings only.
    """
    return join_meters(
        meters,
        None,
        buildings,
        tolerance_m=tolerance_m,
        crs=crs,
        use_col=use_col,
        id_col=id_col,
        floor_area_col=floor_area_col,
    )
