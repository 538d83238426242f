"""Coordinate reference systems: WGS84 for maps, a metric CRS for distances.

Every layer leaves :mod:`layers` in WGS84 (EPSG:4326) so that maps can show
it. Distances, buffers and areas are computed in a projected CRS in metres:
the one the workspace configures, or the UTM zone of the study area (for
Beijing UTM 50N, EPSG:32650). Two layers in different CRSs are reprojected
explicitly, never joined as they are (geopandas only warns), and a frame
without a CRS is an error.

Chinese map datums (GCJ-02, BD-09) are not CRSs pyproj knows: their
conversion to WGS84 is in :mod:`layers.coords`; :func:`convert_coord_system`
applies it to whole geometries.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from layers import coords
from layers.schemas import LayerError

__all__ = [
    "WGS84",
    "align_crs",
    "convert_coord_system",
    "metric_crs",
    "require_crs",
    "to_metric",
    "to_wgs84",
    "utm_zone_epsg",
]

WGS84 = "EPSG:4326"
"""The CRS of every output (maps, the store)."""


def _is_dask(frame) -> bool:
    # dask-geopandas is optional: recognise its frames without importing it.
    return type(frame).__module__.startswith("dask")


def require_crs(frame, name: str = "layer") -> pyproj.CRS:
    """Return the CRS of a (dask-)GeoDataFrame or GeoSeries, or raise.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame, geopandas.GeoSeries or dask_geopandas.GeoDataFrame
    name : str
        What the frame is, for the message (``"meters"``, ``"buildings layer"``).

    Raises
    ------
    LayerError
        If the frame has no CRS.
    TypeError
        If ``frame`` is not a geopandas (or dask-geopandas) object.
    """
    if not hasattr(frame, "crs"):
        raise TypeError(
            f"{name} must be a geopandas GeoDataFrame or GeoSeries (or a dask-geopandas "
            f"GeoDataFrame); got {type(frame).__name__}."
        )
    if frame.crs is None:
        raise LayerError(
            f"{name}: no CRS, so it cannot be matched with other layers. Set it with "
            f"`gdf.set_crs('EPSG:4326')` if the coordinates are lon/lat degrees, or the "
            f"CRS the data was made in."
        )
    return pyproj.CRS.from_user_input(frame.crs)


def _utm_for_bounds(bounds_wgs84) -> pyproj.CRS:
    """The UTM zone (WGS84 datum) containing the centre of WGS84 bounds."""
    minx, miny, maxx, maxy = (float(v) for v in bounds_wgs84)
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise LayerError(
            "cannot choose a metric CRS: the layer has no finite coordinates. Pass crs= "
            "(e.g. 'EPSG:32650' for Beijing)."
        )
    # The same query geopandas' estimate_utm_crs makes, on the centre point so
    # the answer is one zone even when the bounds straddle two.
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    code = utm_zone_epsg(cx, cy)
    if code is not None:
        return pyproj.CRS.from_epsg(code)
    infos = pyproj.database.query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=pyproj.aoi.AreaOfInterest(cx, cy, cx, cy),
    )
    if not infos:
        raise LayerError(
            f"no UTM zone covers lon={cx:.4f}, lat={cy:.4f}; pass a projected crs= instead."
        )
    return pyproj.CRS.from_epsg(int(infos[0].code))


def utm_zone_epsg(lon: float, lat: float) -> int | None:
    """EPSG code of the WGS84 UTM zone holding a point, by arithmetic.

    The zones are 6 degrees of longitude wide from 180 W, north (EPSG:326zz)
    from the equator to 84 N and south (EPSG:327zz) from 80 S, which is what
    PROJ's database query answers (``pyproj.database.query_utm_crs_info``),
    without its tenth of a second. On a zone's edge, where two or four zones
    hold the point, or outside the zones, it returns None: ask PROJ.

    Parameters
    ----------
    lon, lat : float
        WGS84 longitude and latitude. [deg]
    """
    if not (-180.0 < lon < 180.0 and -80.0 < lat < 84.0) or lat == 0.0 or (lon + 180.0) % 6 == 0:
        return None
    return (32600 if lat > 0 else 32700) + int((lon + 180.0) // 6) + 1


def _check_metric(crs) -> pyproj.CRS:
    try:
        out = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(
            f"crs={crs!r} is not a CRS pyproj knows ({exc}); pass e.g. 'EPSG:32650'."
        ) from None
    units = {a.unit_name for a in out.axis_info}
    if not out.is_projected or not units <= {"metre", "meter"}:
        raise ValueError(
            f"crs={crs!r} must be a projected CRS in metres for distances and areas; got "
            f"{out.name!r} (units {sorted(units)}). Use the UTM zone of the study area, e.g. "
            f"'EPSG:32650' for Beijing, or leave crs=None to choose it."
        )
    return out


def metric_crs(gdf, crs=None) -> pyproj.CRS:
    """The projected CRS in metres for distance work on ``gdf``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame, geopandas.GeoSeries or dask_geopandas.GeoDataFrame
        The layer whose extent decides the UTM zone (needs a CRS).
    crs : str, int or pyproj.CRS, optional
        The configured CRS; it must be projected with metre units. When
        given it is returned as is and ``gdf`` is not looked at.

    Returns
    -------
    pyproj.CRS
        ``crs``, or the WGS84 UTM zone containing the centre of ``gdf``'s
        extent (for Beijing: UTM 50N, EPSG:32650).

    Raises
    ------
    ValueError
        If ``crs`` is not a projected CRS in metres.
    LayerError
        If ``gdf`` has no CRS or no finite coordinates.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> metric_crs(gpd.GeoSeries([Point(116.4, 39.9)], crs="EPSG:4326")).to_epsg()
    32650
    """
    if crs is not None:
        return _check_metric(crs)
    require_crs(gdf)
    bounds = gdf.to_crs(WGS84).total_bounds
    if _is_dask(gdf):
        bounds = bounds.compute()
    return _utm_for_bounds(bounds)


def to_metric(gdf, crs=None):
    """Reproject to :func:`metric_crs` (``crs`` or the UTM zone of ``gdf``)."""
    return gdf.to_crs(metric_crs(gdf, crs))


def to_wgs84(gdf, name: str = "layer"):
    """Reproject to WGS84 (EPSG:4326), raising :class:`LayerError` when there is no CRS."""
    crs = require_crs(gdf, name)
    if crs.to_epsg() == 4326:
        return gdf
    return gdf.to_crs(WGS84)


def align_crs(gdf, target, name: str = "layer", target_name: str = "the other layer"):
    """Reproject ``gdf`` to the CRS of ``target`` (a frame or a CRS).

    Joins call this instead of relying on geopandas, which only warns on a
    mismatch: a silently wrong join is the worst outcome for an enforcement
    team.

    Raises
    ------
    LayerError
        If ``gdf`` or ``target`` has no CRS.
    """
    crs = require_crs(gdf, name)
    target_crs = (
        require_crs(target, target_name)
        if hasattr(target, "crs")
        else pyproj.CRS.from_user_input(target)
    )
    if crs == target_crs:
        return gdf
    return gdf.to_crs(target_crs)


def convert_coord_system(geometry, coord_system: str):
    """Convert the lon/lat coordinates of geometries from a Chinese datum to WGS84.

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Geometries whose coordinates are lon/lat degrees in ``coord_system``
        (its CRS must be geographic; files geocoded in GCJ-02 usually, and
        wrongly, say EPSG:4326).
    coord_system : str
        One of :data:`layers.coords.COORD_SYSTEMS`.

    Returns
    -------
    geopandas.GeoSeries
        The same geometries with every vertex in WGS84, labelled EPSG:4326.

    Raises
    ------
    LayerError
        If the series has no CRS or a projected one.
    ValueError
        If ``coord_system`` is unknown.
    """
    name = coords._check_coord_system(coord_system)
    if not isinstance(name, str):
        raise TypeError(
            f"coord_system must be one name for a whole layer; got {type(coord_system)}."
        )
    crs = require_crs(geometry, "layer")
    if not crs.is_geographic:
        raise LayerError(
            f"coord_system={coord_system!r} needs lon/lat degrees, but the layer's CRS is "
            f"the projected {crs.name!r}. GCJ-02 and BD-09 coordinates are always degrees: "
            f"check the CRS or drop coord_system."
        )
    if name == "wgs84":
        return geometry.set_crs(WGS84, allow_override=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = coords.to_wgs84(xy[:, 0], xy[:, 1], name)
        return np.column_stack([lon, lat])

    out = shapely.transform(np.asarray(geometry.values), convert)
    return geometry.__class__(out, index=geometry.index, crs=WGS84)
