"""Validate a layer against its kind's schema and report every problem.

:func:`inspect_layer` never raises for bad data: it returns the cleaned
layer (or None) and a :class:`LayerReport` listing each problem with its
count, first rows and fix, for ``geoenergy layers check``.
:func:`validate_layer` raises one :class:`~layers.schemas.LayerError`
naming them all. The codes and what they mean are in :data:`PROBLEMS`.

Swapped coordinates are caught two ways: in a geographic CRS a |y| above
90 deg cannot be a latitude; and a feature whose given position is outside
the study area (or, without one, outside the rough box of China of
:func:`layers.coords.out_of_china`) while its swapped position is inside
looks like (lat, lon). Without a study area the China box is the reference,
so a genuine layer in the high Arctic (Svalbard at lon 15, lat 78) would be
reported as swapped: pass ``study_area=`` there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from layers import coords
from layers.crs import WGS84, convert_coord_system
from layers.schemas import LayerError, schema_for

__all__ = [
    "PROBLEMS",
    "LayerReport",
    "Problem",
    "inspect_layer",
    "study_area_polygon",
    "validate_layer",
]

#: Problem codes, in the order they are checked, and what each means. This
#: registry is the documentation of :func:`inspect_layer`.
PROBLEMS: dict[str, str] = {
    "unreadable": "the file cannot be read (format, path, or a multi-layer file without layer=)",
    "empty": "the layer has no features",
    "no_crs": "the layer has no CRS",
    "missing_columns": "columns required by the layer kind are missing",
    "duplicate_ids": "meter ids that appear more than once (meter registry)",
    "missing_geometry": "features without geometry (null or empty; meters without lon/lat)",
    "invalid": "invalid geometries (self-intersections, ...); make_valid=True repairs them",
    "geometry_type": "geometries of a type the layer kind does not allow",
    "out_of_range": "coordinates outside -180..180 / -90..90 in a geographic CRS",
    "swapped": "coordinates that look like (lat, lon) instead of (lon, lat)",
    "coord_system": "coord_system (GCJ-02/BD-09) cannot be applied to the layer's CRS",
    "transform": "coordinates that cannot be transformed to WGS84",
    "outside_study_area": "features that do not intersect the study area",
}

_N_ROWS = 5  # rows quoted in a message


@dataclass(frozen=True)
class Problem:
    """One problem of a layer.

    Attributes
    ----------
    code : str
        A key of :data:`PROBLEMS`.
    message : str
        What is wrong, where, and how to fix it (starts with the layer name).
    count : int
        Features (or columns) affected.
    rows : tuple
        The first affected row labels (at most five).
    """

    code: str
    message: str
    count: int
    rows: tuple = ()


@dataclass
class LayerReport:
    """What :func:`inspect_layer` found.

    Attributes
    ----------
    name : str
        The layer as quoted in messages, e.g. ``"buildings layer b.gpkg"``.
    kind : str
    n_features : int
    crs : str or None
        The source CRS as read.
    bounds : tuple of float or None
        ``(minx, miny, maxx, maxy)`` in WGS84 [deg] of the features that could
        be transformed, None if none could.
    geometry_types : dict
        Feature count per geometry type as read.
    columns : list of str
    problems : list of Problem
    n_repaired : int
        Geometries repaired by ``make_valid=True``.
    coord_system : str
        The datum the coordinates were converted from (``"wgs84"``: none).
    """

    name: str
    kind: str
    n_features: int = 0
    crs: str | None = None
    bounds: tuple[float, float, float, float] | None = None
    geometry_types: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    n_repaired: int = 0
    coord_system: str = "wgs84"

    @property
    def ok(self) -> bool:
        """True when the layer has no problem."""
        return not self.problems

    def add(self, code: str, message: str, count: int = 1, rows=()) -> None:
        if code not in PROBLEMS:  # pragma: no cover - a programming error
            raise KeyError(code)
        self.problems.append(Problem(code, f"{self.name}: {message}", int(count), tuple(rows)))

    def to_dict(self) -> dict:
        """Plain types, for JSON output (``features`` is the feature count)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "ok": self.ok,
            "features": self.n_features,
            "crs": self.crs,
            "bounds": list(self.bounds) if self.bounds is not None else None,
            "geometry_types": dict(self.geometry_types),
            "columns": list(self.columns),
            "n_repaired": self.n_repaired,
            "coord_system": self.coord_system,
            "problems": [
                {"code": p.code, "message": p.message, "count": p.count, "rows": list(p.rows)}
                for p in self.problems
            ],
        }

    # Read-only mapping access to :meth:`to_dict`, so ``report["crs"]`` and
    # ``report.get("problems")`` work as on the JSON form.
    def __getitem__(self, key: str):
        return self.to_dict()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def get(self, key: str, default=None):
        return self.to_dict().get(key, default)

    def error(self) -> LayerError:
        """One :class:`LayerError` naming every problem, one per line."""
        return LayerError("\n".join(p.message for p in self.problems), self.problems)

    def __str__(self) -> str:
        head = (
            f"{self.name}: {self.n_features} feature(s), CRS {self.crs or 'none'}, "
            f"bounds {self.bounds}"
        )
        if self.ok:
            return head + ", OK"
        return "\n".join([head, *(f"  [{p.code}] {p.message}" for p in self.problems)])


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------
def study_area_polygon(study_area) -> BaseGeometry | None:
    """Normalise a study area to one WGS84 geometry.

    Parameters
    ----------
    study_area : shapely geometry, tuple, GeoSeries, GeoDataFrame or None
        A polygon in lon/lat degrees (WGS84), bounds ``(minx, miny, maxx,
        maxy)`` in WGS84 [deg], or a GeoSeries/GeoDataFrame in any CRS
        (unioned).

    Returns
    -------
    shapely geometry or None

    Raises
    ------
    TypeError
        For any other type.
    ValueError
        For bounds that are not four finite numbers with min < max, or an
        empty geometry.
    LayerError
        For a GeoSeries/GeoDataFrame without a CRS.
    """
    if study_area is None:
        return None
    if isinstance(study_area, gpd.GeoDataFrame | gpd.GeoSeries):
        if study_area.crs is None:
            raise LayerError(
                "study_area: the GeoDataFrame/GeoSeries has no CRS; set it with "
                "`.set_crs('EPSG:4326')` or pass a shapely polygon in lon/lat degrees."
            )
        geom = study_area.to_crs(WGS84).geometry.union_all()
    elif isinstance(study_area, BaseGeometry):
        geom = study_area
    elif isinstance(study_area, tuple | list | np.ndarray) and len(study_area) == 4:
        try:
            minx, miny, maxx, maxy = (float(v) for v in study_area)
        except (TypeError, ValueError):
            raise ValueError(
                f"study_area bounds must be four numbers (minx, miny, maxx, maxy) in WGS84 "
                f"degrees; got {study_area!r}."
            ) from None
        if not (np.all(np.isfinite([minx, miny, maxx, maxy])) and minx < maxx and miny < maxy):
            raise ValueError(
                f"study_area bounds {study_area!r} must be finite with minx < maxx and "
                f"miny < maxy (lon/lat degrees, longitude first)."
            )
        geom = shapely.box(minx, miny, maxx, maxy)
    else:
        raise TypeError(
            f"study_area must be a shapely polygon (WGS84), bounds (minx, miny, maxx, maxy) "
            f"in WGS84 degrees, or a GeoSeries/GeoDataFrame; got {type(study_area).__name__}."
        )
    if geom.is_empty:
        raise ValueError("study_area is empty; pass the polygon of the study area.")
    return geom


def _check_inspect_args(gdf, kind, make_valid, coord_system, swap_xy):
    schema = schema_for(kind)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(
            f"gdf must be a geopandas GeoDataFrame; got {type(gdf).__name__}. Read files "
            f"with layers.io.read_layer."
        )
    for arg, value in (("make_valid", make_valid), ("swap_xy", swap_xy)):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{arg} must be True or False; got {value!r}.")
    if coord_system is None:  # the CLI's unset option
        coord_system = "wgs84"
    name = coord_system.strip().lower() if isinstance(coord_system, str) else coord_system
    if name not in coords.COORD_SYSTEMS:
        raise ValueError(
            f"coord_system={coord_system!r} is not one of {list(coords.COORD_SYSTEMS)}; "
            f"pass the datum the layer's lon/lat were made in (default 'wgs84')."
        )
    return schema, name


def rows_of(index, mask) -> list:
    return [v.item() if hasattr(v, "item") else v for v in index[np.asarray(mask)][:_N_ROWS]]


# --------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------
_FAMILY = {"Point": "Point", "LineString": "LineString", "Polygon": "Polygon"}


def _keep_allowed_parts(geom, allowed: tuple[str, ...]):
    """From a repaired GeometryCollection keep the parts of an allowed type.

    ``make_valid`` turns a polygon with a spike into polygon + line; a
    buildings layer wants the polygon only.
    """
    if geom is None or geom.geom_type in allowed or geom.geom_type != "GeometryCollection":
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in allowed]
    parts = [q for p in parts for q in shapely.get_parts(p)]  # flatten Multi* parts
    if not parts:
        return geom
    kinds = {p.geom_type for p in parts}
    if kinds == {"Polygon"} and "MultiPolygon" in allowed:
        return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
    if kinds == {"LineString"} and "MultiLineString" in allowed:
        return shapely.MultiLineString(parts) if len(parts) > 1 else parts[0]
    if kinds == {"Point"} and "MultiPoint" in allowed:
        return shapely.MultiPoint(parts) if len(parts) > 1 else parts[0]
    return parts[0] if len(parts) == 1 else geom


def _swap_xy(values: np.ndarray) -> np.ndarray:
    return shapely.transform(values, lambda xy: xy[:, ::-1].copy())


def _in_region(lon, lat, area) -> np.ndarray:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if area is None:
        return finite & ~coords.out_of_china(np.where(finite, lon, 0), np.where(finite, lat, 0))
    return finite & shapely.intersects_xy(area, np.where(finite, lon, 0), np.where(finite, lat, 0))


def swap_checks(report, index, bounds, crs, area) -> tuple[np.ndarray, np.ndarray]:
    """Report and return masks of features with out-of-range and swapped coordinates.

    Parameters
    ----------
    report : LayerReport
        Receives the ``out_of_range`` and ``swapped`` problems.
    index : pandas.Index
        Row labels for the messages.
    bounds : numpy.ndarray
        ``(n, 4)`` feature bounds ``minx, miny, maxx, maxy`` in ``crs``; NaN
        rows (no geometry) are skipped.
    crs : pyproj.CRS
    area : shapely geometry or None
        The study area in WGS84; None uses the China box.
    """
    bounds = np.asarray(bounds, dtype=float)
    n = len(bounds)
    has_geom = np.isfinite(bounds).all(axis=1)
    minx, miny, maxx, maxy = bounds.T
    with np.errstate(invalid="ignore"):
        if crs.is_geographic:
            lat_bad = (miny < -90) | (maxy > 90)
            lon_bad = (minx < -180) | (maxx > 180)
            # |y| > 90 cannot be a latitude; if x would be a valid one, it is swapped.
            swapped_range = lat_bad & ~lon_bad & (minx >= -90) & (maxx <= 90)
            out_of_range = (lat_bad | lon_bad) & ~swapped_range
        else:
            swapped_range = np.zeros(n, dtype=bool)
            out_of_range = np.zeros(n, dtype=bool)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    rest = has_geom & ~swapped_range & ~out_of_range
    to_wgs = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    with np.errstate(invalid="ignore", over="ignore"):
        given = _in_region(*to_wgs.transform(cx, cy, errcheck=False), area)
        swapped_pos = _in_region(*to_wgs.transform(cy, cx, errcheck=False), area)
    swapped = swapped_range | (rest & ~given & swapped_pos)
    where = "the study area" if area is not None else "China"
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        report.add(
            "out_of_range",
            f"{int(out_of_range.sum())} feature(s) have coordinates outside -180..180 / "
            f"-90..90 (rows {rows_of(index, out_of_range)}; e.g. x={cx[i]:.6g}, y={cy[i]:.6g}) "
            f"although the CRS {crs.name!r} is in degrees. Either the layer is projected (set "
            f"its real CRS) or these coordinates are wrong (fix them in the source).",
            out_of_range.sum(),
            rows_of(index, out_of_range),
        )
    if swapped.any():
        i = int(np.flatnonzero(swapped)[0])
        reason = (
            "|y| > 90 cannot be a latitude"
            if swapped_range[i]
            else f"the swapped position falls in {where} while the given one does not"
        )
        report.add(
            "swapped",
            f"{int(swapped.sum())} feature(s) look like (lat, lon) with x and y swapped "
            f"(rows {rows_of(index, swapped)}; e.g. x={cx[i]:.6g}, y={cy[i]:.6g}: {reason}). "
            f"Swap x/y in the source so x is the longitude (easting), or pass swap_xy=True "
            f"(--swap-xy) if the whole layer is in (lat, lon) order.",
            swapped.sum(),
            rows_of(index, swapped),
        )
    return out_of_range, swapped


# --------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------
def inspect_layer(
    gdf,
    kind: str,
    *,
    name: str | None = None,
    make_valid: bool = False,
    study_area=None,
    coord_system: str = "wgs84",
    swap_xy: bool = False,
):
    """Check a layer against its kind and return it in WGS84 with a report.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer as read, in its own CRS.
    kind : str
        A key of :data:`layers.schemas.LAYER_SCHEMAS`, or ``"meters"``.
    name : str, optional
        How messages name the layer (default ``"<kind> layer"``).
    make_valid : bool, default False
        Repair invalid geometries with ``shapely.make_valid`` (keeping the
        parts of the kind's geometry type) instead of reporting them.
    study_area : polygon, bounds, GeoSeries or GeoDataFrame, optional
        See :func:`study_area_polygon`. Features that do not intersect it
        are reported (``outside_study_area``), and it is the reference of the
        swapped-coordinates check (default: the China box).
    coord_system : {"wgs84", "gcj02", "bd09"} or None, default "wgs84"
        The datum of a layer in lon/lat degrees: ``"gcj02"`` for a layer
        geocoded on AMap/Tencent, ``"bd09"`` for Baidu. Converted to WGS84
        with :mod:`layers.coords`. None means ``"wgs84"``.
    swap_xy : bool, default False
        Swap x and y of every coordinate first (a layer stored as lat, lon).

    Returns
    -------
    out : geopandas.GeoDataFrame or None
        The layer in WGS84 (EPSG:4326) with ``attrs`` ``kind``,
        ``source_crs``, ``n_repaired`` and ``coord_system``; None when the
        report has problems.
    report : LayerReport

    Raises
    ------
    TypeError, ValueError
        For bad arguments (not for bad data).
    """
    schema, coord_name = _check_inspect_args(gdf, kind, make_valid, coord_system, swap_xy)
    area = study_area_polygon(study_area)
    report = LayerReport(name=name or f"{kind} layer", kind=kind, coord_system=coord_name)
    report.n_features = len(gdf)
    report.columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    report.crs = gdf.crs.to_string() if gdf.crs is not None else None
    if len(gdf) == 0:
        report.add("empty", "the layer has no features.", 0)
        return None, report
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    index = gdf.index
    has_geom = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    type_names = np.array([_type_name(t) for t in shapely.get_type_id(geoms)], dtype=object)
    report.geometry_types = dict(Counter(type_names[has_geom].tolist()))

    if gdf.crs is None:
        report.add(
            "no_crs",
            "no CRS. Set the CRS in the file (e.g. EPSG:4326 for lon/lat degrees), or with "
            "`gdf.set_crs(...)`.",
        )
    missing = [c for c in schema.required if c not in gdf.columns]
    if missing:
        report.add(
            "missing_columns",
            f"required column(s) {missing} missing; it has {report.columns}. Rename the "
            f"columns or add them.",
            len(missing),
        )
    if not has_geom.all():
        bad = ~has_geom
        report.add(
            "missing_geometry",
            f"{int(bad.sum())} feature(s) without geometry (rows {rows_of(index, bad)}). Delete "
            f"them or draw their geometry.",
            bad.sum(),
            rows_of(index, bad),
        )
    if swap_xy:
        geoms = geoms.copy()
        geoms[has_geom] = _swap_xy(geoms[has_geom])

    invalid = has_geom.copy()
    invalid[has_geom] = ~shapely.is_valid(geoms[has_geom])
    if invalid.any():
        if make_valid:
            geoms = geoms.copy()
            repaired = shapely.make_valid(geoms[invalid])
            geoms[invalid] = [_keep_allowed_parts(g, schema.geometry_types) for g in repaired]
            report.n_repaired = int(invalid.sum())
        else:
            first = shapely.is_valid_reason(geoms[np.flatnonzero(invalid)[0]])
            report.add(
                "invalid",
                f"{int(invalid.sum())} invalid geometries (rows {rows_of(index, invalid)}); "
                f"repair them in a GIS or pass make_valid=True (--make-valid). First: {first}.",
                invalid.sum(),
                rows_of(index, invalid),
            )
    type_names = np.array([_type_name(t) for t in shapely.get_type_id(geoms)], dtype=object)
    wrong = has_geom & ~np.isin(type_names, schema.geometry_types)
    if wrong.any():
        report.add(
            "geometry_type",
            f"{int(wrong.sum())} feature(s) have geometry type "
            f"{sorted(set(type_names[wrong]))}; a {kind} layer needs "
            f"{list(schema.geometry_types)} (rows {rows_of(index, wrong)}).",
            wrong.sum(),
            rows_of(index, wrong),
        )
    if gdf.crs is None:
        return None, report

    crs = pyproj.CRS.from_user_input(gdf.crs)
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[has_geom] = shapely.bounds(geoms[has_geom])
    out_of_range, swapped = swap_checks(report, index, bounds, crs, area)
    usable = has_geom & ~out_of_range & ~swapped
    series = gpd.GeoSeries(np.where(usable, geoms, None), index=index, crs=crs)
    if coord_name != "wgs84":
        try:
            series = convert_coord_system(series, coord_name)
        except LayerError as exc:
            report.add("coord_system", str(exc).removeprefix("layer: "))
            return None, report
    wgs = series.to_crs(WGS84)
    wgs_values = np.asarray(wgs.values, dtype=object)
    coords_ok = np.zeros(len(wgs_values), dtype=bool)
    if usable.any():
        b = shapely.bounds(wgs_values[usable])
        coords_ok[usable] = np.isfinite(b).all(axis=1)
    failed = usable & ~coords_ok
    if failed.any():
        report.add(
            "transform",
            f"{int(failed.sum())} feature(s) could not be transformed to WGS84 (rows "
            f"{rows_of(index, failed)}); check that the CRS {crs.name!r} is the one the "
            f"coordinates were made in.",
            failed.sum(),
            rows_of(index, failed),
        )
    if coords_ok.any():
        report.bounds = tuple(float(v) for v in shapely.total_bounds(wgs_values[coords_ok]))
    if area is not None:
        outside = coords_ok.copy()
        outside[coords_ok] = ~shapely.intersects(wgs_values[coords_ok], area)
        if outside.any():
            report.add(
                "outside_study_area",
                f"{int(outside.sum())} of {len(gdf)} feature(s) lie outside the study area "
                f"(rows {rows_of(index, outside)}). Check the layer's CRS (a projected layer "
                f"labelled EPSG:4326? GCJ-02 coordinates need coord_system='gcj02'), clip the "
                f"layer to the study area, or widen study_area.",
                outside.sum(),
                rows_of(index, outside),
            )
    if report.problems:
        return None, report
    geom_name = gdf.geometry.name
    out = gpd.GeoDataFrame(
        gdf.drop(columns=geom_name),
        geometry=gpd.GeoSeries(wgs_values, index=index, crs=WGS84, name=geom_name),
    )
    out.attrs.update(
        {
            "kind": kind,
            "source_crs": report.crs,
            "n_repaired": report.n_repaired,
            "coord_system": coord_name,
        }
    )
    return out, report


def _type_name(type_id) -> str:
    return {
        0: "Point",
        1: "LineString",
        2: "LinearRing",
        3: "Polygon",
        4: "MultiPoint",
        5: "MultiLineString",
        6: "MultiPolygon",
        7: "GeometryCollection",
    }.get(int(type_id), "None")


def validate_layer(gdf, kind: str, **kwargs):
    """Like :func:`inspect_layer`, but raise on any problem.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in WGS84 (EPSG:4326), with ``attrs`` ``kind``,
        ``source_crs``, ``n_repaired`` and ``coord_system``.

    Raises
    ------
    LayerError
        Naming every problem, one per line (its ``problems`` attribute holds
        the :class:`Problem` records).
    """
    out, report = inspect_layer(gdf, kind, **kwargs)
    if not report.ok:
        raise report.error()
    return out
