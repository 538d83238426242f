"""Read and validate a layer file of one kind (any OGR format or GeoParquet)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from layers.schemas import LAYER_SCHEMAS, LayerError

WGS84 = "EPSG:4326"


def read_layer(path, kind: str, *, layer: str | None = None, make_valid: bool = False):
    """Read a layer file and check it against its kind's schema.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf (via pyogrio) or GeoParquet.
    kind : str
        One of :data:`layers.schemas.LAYER_SCHEMAS`.
    layer : str, optional
        Layer name inside a multi-layer file (GeoPackage).
    make_valid : bool
        Repair invalid geometries with ``shapely.make_valid`` instead of raising.

    Returns
    -------
    geopandas.GeoDataFrame
        In WGS84 (EPSG:4326); ``attrs["source_crs"]`` holds the file's CRS and
        ``attrs["n_repaired"]`` the number of repaired geometries.

    Raises
    ------
    LayerError
        No CRS, a missing column, a wrong geometry type, invalid or empty geometries,
        or an empty layer.
    """
    if kind not in LAYER_SCHEMAS:
        raise LayerError(f"unknown layer kind {kind!r}; use one of {sorted(LAYER_SCHEMAS)}.")
    schema = LAYER_SCHEMAS[kind]
    path = Path(path)
    if not path.exists():
        raise LayerError(f"{kind} layer {path}: file not found.")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except LayerError:
        raise
    except Exception as exc:
        raise LayerError(
            f"{kind} layer {path}: cannot be read ({exc}). Check the format, or pass "
            f"layer=NAME for a file with several layers."
        ) from None
    name = f"{kind} layer {path.name}"
    if len(gdf) == 0:
        raise LayerError(f"{name}: the layer has no features.")
    if gdf.crs is None:
        raise LayerError(
            f"{name}: no CRS. Set the CRS in the file (e.g. EPSG:4326 for lon/lat degrees)."
        )
    missing = [c for c in schema.required if c not in gdf.columns]
    if missing:
        raise LayerError(
            f"{name}: required column(s) {missing} missing; it has {list(gdf.columns)}. "
            f"Rename the columns or add them."
        )
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        idx = list(gdf.index[empty][:5])
        raise LayerError(f"{name}: {int(empty.sum())} feature(s) without geometry (rows {idx}).")
    types = gdf.geom_type
    wrong = ~types.isin(schema.geometry_types)
    if wrong.any():
        raise LayerError(
            f"{name}: {int(wrong.sum())} feature(s) have geometry type "
            f"{sorted(set(types[wrong]))}; a {kind} layer needs {list(schema.geometry_types)}."
        )
    invalid = ~gdf.geometry.is_valid
    n_repaired = 0
    if invalid.any():
        if not make_valid:
            idx = list(gdf.index[invalid][:5])
            raise LayerError(
                f"{name}: {int(invalid.sum())} invalid geometries (rows {idx}); repair them "
                f"in a GIS or pass make_valid=True (--make-valid)."
            )
        gdf.loc[invalid, gdf.geometry.name] = gdf.geometry[invalid].make_valid()
        n_repaired = int(invalid.sum())
    source_crs = gdf.crs.to_string()
    out = gdf.to_crs(WGS84)
    b = out.total_bounds
    if not np.all(np.isfinite(b)):
        raise LayerError(f"{name}: coordinates could not be transformed to WGS84.")
    out.attrs.update({"source_crs": source_crs, "n_repaired": n_repaired, "kind": kind})
    return out
