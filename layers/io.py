"""Read, validate and check a layer file of one kind (any OGR format or GeoParquet).

OGR formats (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...) are read with
pyogrio, GeoParquet with pyarrow. PostGIS tables are read by
:func:`layers.postgis.read_postgis`, the meter registry by
:func:`layers.meters.read_meters`; all go through the same validation
(:mod:`layers.validate`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from layers.crs import WGS84
from layers.meters import read_meters
from layers.schemas import LayerError, schema_for
from layers.validate import LayerReport, inspect_layer, validate_layer

__all__ = ["PARQUET_SUFFIXES", "WGS84", "check_layer", "read_frame", "read_layer", "read_meters"]

PARQUET_SUFFIXES = (".parquet", ".geoparquet")
"""File suffixes read as GeoParquet; everything else goes to pyogrio."""

_DBF_NAME_LENGTH = 10  # a dBASE field name has at most 10 characters


def read_frame(path, *, layer: str | None = None, name: str = "layer") -> gpd.GeoDataFrame:
    """Read a layer file as it is, without validation.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf (any OGR format, via pyogrio)
        or GeoParquet (``.parquet``/``.geoparquet``).
    layer : str, optional
        Layer name inside a multi-layer file (GeoPackage).
    name : str
        How messages name the layer.

    Raises
    ------
    LayerError
        If the file does not exist or cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise LayerError(f"{name} {path}: file not found.")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return gpd.read_parquet(path)
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise LayerError(
            f"{name} {path}: cannot be read ({exc}). Check the format, or pass layer=NAME "
            f"for a file with several layers."
        ) from None


def read_layer(
    path,
    kind: str,
    *,
    layer: str | None = None,
    make_valid: bool = False,
    study_area=None,
    coord_system: str = "wgs84",
    swap_xy: bool = False,
) -> gpd.GeoDataFrame:
    """Read a layer file and check it against its kind's schema.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf (via pyogrio) or GeoParquet.
    kind : str
        One of :data:`layers.schemas.LAYER_SCHEMAS`, or ``"meters"`` for a
        point layer of meters.
    layer : str, optional
        Layer name inside a multi-layer file (GeoPackage).
    make_valid : bool, default False
        Repair invalid geometries with ``shapely.make_valid`` instead of raising.
    study_area : polygon, bounds, GeoSeries or GeoDataFrame, optional
        Raise if features lie outside it; see
        :func:`layers.validate.study_area_polygon`.
    coord_system : {"wgs84", "gcj02", "bd09"}, default "wgs84"
        The datum of the file's lon/lat (a layer geocoded on AMap is
        ``"gcj02"``); converted to WGS84. None means ``"wgs84"``.
    swap_xy : bool, default False
        The file stores (lat, lon): swap x and y of every coordinate.

    Returns
    -------
    geopandas.GeoDataFrame
        In WGS84 (EPSG:4326); ``attrs["source_crs"]`` holds the file's CRS,
        ``attrs["n_repaired"]`` the number of repaired geometries,
        ``attrs["kind"]`` and ``attrs["coord_system"]``.

    Raises
    ------
    LayerError
        For an unknown kind, a missing or unreadable file, and every problem of
        :data:`layers.validate.PROBLEMS` (no CRS, a missing column, a wrong
        geometry type, invalid or empty geometries, an empty layer, swapped or
        out-of-range coordinates, features outside the study area), all named
        in one message.
    """
    schema_for(kind)
    path = Path(path)
    name = f"{kind} layer {path.name}"
    gdf = _restore_dbf_names(read_frame(path, layer=layer, name=f"{kind} layer"), path, kind)
    return validate_layer(
        gdf,
        kind,
        name=name,
        make_valid=make_valid,
        study_area=study_area,
        coord_system=coord_system,
        swap_xy=swap_xy,
    )


def _restore_dbf_names(gdf: gpd.GeoDataFrame, path: Path, kind: str) -> gpd.GeoDataFrame:
    """Undo the Shapefile format's 10-character cut of the contract's column names.

    A .dbf stores ``floor_area_m2`` as ``floor_area``; without this the
    column would be reported missing or silently dropped.
    """
    if path.suffix.lower() not in (".shp", ".dbf", ".zip"):
        return gdf
    schema = schema_for(kind)
    names = {}
    for col in (*schema.required, *schema.optional):
        short = col[:_DBF_NAME_LENGTH]
        if short != col and short in gdf.columns and col not in gdf.columns:
            names[short] = col
    return gdf.rename(columns=names) if names else gdf


def check_layer(
    path,
    kind: str,
    *,
    layer: str | None = None,
    make_valid: bool = False,
    study_area=None,
    coord_system: str = "wgs84",
    swap_xy: bool = False,
) -> LayerReport:
    """Validate a layer file without raising; for ``geoenergy layers check``.

    Parameters are those of :func:`read_layer`.

    Returns
    -------
    LayerReport
        ``ok``, the problems (code, message with the fix, count, first rows),
        the feature count, the source CRS, the WGS84 bounds [deg] and the
        geometry types. A file that cannot be read gives one ``unreadable``
        problem.

    Raises
    ------
    LayerError
        Only for an unknown ``kind``.
    TypeError, ValueError
        For bad arguments.
    """
    schema_for(kind)
    path = Path(path)
    name = f"{kind} layer {path.name}"
    try:
        gdf = _restore_dbf_names(read_frame(path, layer=layer, name=f"{kind} layer"), path, kind)
    except LayerError as exc:
        report = LayerReport(name=name, kind=kind)
        report.add("unreadable", str(exc).split(": ", 1)[-1])
        return report
    _, report = inspect_layer(
        gdf,
        kind,
        name=name,
        make_valid=make_valid,
        study_area=study_area,
        coord_system=coord_system,
        swap_xy=swap_xy,
    )
    return report
