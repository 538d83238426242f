"""The meter registry as WGS84 points, converting Chinese map datums per row.

A registry's ``lon``/``lat`` often come from several sources: a GPS survey
(WGS84), an AMap or Tencent geocoder (GCJ-02), Baidu (BD-09). The
``coord_system`` column says which, row by row; :func:`read_meters`
converts each row to WGS84 with :mod:`layers.coords` (vectorised, the
inverse accurate far below 0.5 m, applied only inside mainland China as the
published algorithm defines) and checks the coordinates as
:mod:`layers.validate` checks a layer.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from layers import coords
from layers.crs import WGS84
from layers.schemas import METERS_SCHEMA, LayerError
from layers.validate import LayerReport, rows_of, study_area_polygon, swap_checks

__all__ = ["ON_MISSING", "read_meters"]

_NA_MARKERS = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A"]

ON_MISSING = ("raise", "keep")
"""What :func:`read_meters` does with rows without coordinates."""


def _load(source, layer) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), "meter registry"
    if not isinstance(source, str | Path):
        raise TypeError(
            f"source must be a DataFrame, a GeoDataFrame or a path to a CSV, Parquet, "
            f"GeoParquet or OGR file; got {type(source).__name__}."
        )
    path = Path(source)
    name = f"meter registry {path.name}"
    if not path.exists():
        raise LayerError(f"{name}: file not found.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            # Ids are text, and "NA" is a valid id, not a missing value: the usual
            # missing-value markers apply to every other column only.
            header = pd.read_csv(path, nrows=0).columns
            df = pd.read_csv(
                path,
                dtype={"meter_id": str, "coord_system": str},
                keep_default_na=False,
                na_values={c: _NA_MARKERS for c in header if c != "meter_id"},
            )
        elif suffix in (".parquet", ".geoparquet"):
            import pyarrow.parquet as pq

            has_geo = b"geo" in (pq.read_schema(path).metadata or {})
            df = gpd.read_parquet(path) if has_geo else pd.read_parquet(path)
        else:
            df = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise LayerError(
            f"{name}: cannot be read ({exc}). Pass a CSV or Parquet table with meter_id, "
            f"lon, lat, or a point layer."
        ) from None
    return df, name


def _lonlat_from_geometry(df: gpd.GeoDataFrame, name: str, coord_system) -> tuple:
    """lon/lat of a point layer, in its geographic CRS (or WGS84 if projected)."""
    if df.crs is None:
        raise LayerError(
            f"{name}: no lon/lat columns and the geometry has no CRS. Set the CRS (e.g. "
            f"EPSG:4326) or provide lon and lat columns."
        )
    types = set(df.geom_type.dropna())
    if not types <= {"Point"}:
        raise LayerError(
            f"{name}: the geometry has type(s) {sorted(types)}; a meter registry needs "
            f"Point geometries (or lon and lat columns)."
        )
    geo = df.geometry
    if not pyproj.CRS.from_user_input(df.crs).is_geographic:
        if coord_system not in (None, "wgs84"):
            raise LayerError(
                f"{name}: coord_system={coord_system!r} needs lon/lat degrees, but the "
                f"layer is in the projected {df.crs.name!r}."
            )
        geo = geo.to_crs(WGS84)
    return geo.x.to_numpy(dtype=float), geo.y.to_numpy(dtype=float)


def _normalise_systems(values: pd.Series) -> pd.Series:
    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        text = str(v).strip().lower()
        return text or None

    return values.map(one)


def _check_args(coord_system, on_missing, lon_col, lat_col):
    if coord_system is not None:
        if not isinstance(coord_system, str):
            raise TypeError(
                f"coord_system must be None or one of {list(coords.COORD_SYSTEMS)}; got "
                f"{type(coord_system).__name__}."
            )
        coord_system = coord_system.strip().lower()
        if coord_system not in coords.COORD_SYSTEMS:
            raise ValueError(
                f"coord_system={coord_system!r} is not one of {list(coords.COORD_SYSTEMS)}; "
                f"pass the datum of the whole file, or None to use the coord_system column."
            )
    if on_missing not in ON_MISSING:
        raise ValueError(f"on_missing={on_missing!r} must be one of {list(ON_MISSING)}.")
    for arg, value in (("lon_col", lon_col), ("lat_col", lat_col)):
        if not isinstance(value, str):
            raise TypeError(f"{arg} must be a column name (str); got {value!r}.")
    return coord_system


def read_meters(
    source,
    *,
    coord_system: str | None = None,
    study_area=None,
    on_missing: str = "raise",
    layer: str | None = None,
    lon_col: str = "lon",
    lat_col: str = "lat",
) -> gpd.GeoDataFrame:
    """The meter registry as points in WGS84.

    Parameters
    ----------
    source : pandas.DataFrame, geopandas.GeoDataFrame, str or Path
        A registry table with ``meter_id``, ``lon``, ``lat`` and optionally
        ``coord_system`` (wgs84 | gcj02 | bd09 per row, case-insensitive;
        blank means the default), ``customer_class``, ``floor_area_m2`` [m2],
        ... : a DataFrame, a CSV or Parquet file; or a point layer (any OGR
        format, GeoParquet, a GeoDataFrame) whose points give lon/lat when
        there are no lon/lat columns.
    coord_system : {"wgs84", "gcj02", "bd09"}, optional
        The datum of the whole file. It overrides the ``coord_system``
        column (with a warning where the column says otherwise). Default: the
        column, and ``"wgs84"`` where it is blank or absent.
    study_area : polygon, bounds, GeoSeries or GeoDataFrame, optional
        Raise if meters lie outside it (after conversion to WGS84); also the
        reference of the swapped-coordinates check (default: the China box).
    on_missing : {"raise", "keep"}, default "raise"
        Rows without (parsable) lon/lat: raise, or keep them with a missing
        geometry (joins then match them to nothing).
    layer : str, optional
        Layer name inside a multi-layer file.
    lon_col, lat_col : str, default "lon", "lat"
        Names of the coordinate columns. [deg]

    Returns
    -------
    geopandas.GeoDataFrame
        Every input row and column, ``coord_system`` filled in (lower case,
        the datum the row was converted from), point geometries in WGS84
        (EPSG:4326). ``attrs``: ``kind="meters"``, ``source_crs``,
        ``coord_systems`` (rows per datum), ``n_missing_coords``,
        ``n_repaired=0``.

    Raises
    ------
    LayerError
        Naming every problem: missing columns, duplicated meter ids, rows
        without coordinates, unknown coord_system values, out-of-range or
        swapped (lat, lon) coordinates, meters outside the study area.
    TypeError, ValueError
        For bad arguments.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"meter_id": ["a"], "lon": [116.403373], "lat": [39.917927],
    ...                    "coord_system": ["gcj02"]})
    >>> g = read_meters(df)
    >>> round(float(g.geometry.x.iloc[0]), 4), round(float(g.geometry.y.iloc[0]), 4)
    (116.3971, 39.9165)
    """
    coord_system = _check_args(coord_system, on_missing, lon_col, lat_col)
    area = study_area_polygon(study_area)
    df, name = _load(source, layer)
    report = LayerReport(name=name, kind="meters", n_features=len(df))
    report.columns = [str(c) for c in df.columns]
    geometry_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    if len(df) == 0:
        report.add("empty", "the registry has no rows.", 0)
        raise report.error()
    have_lonlat = lon_col in df.columns and lat_col in df.columns
    required = [*METERS_SCHEMA.required, *([] if geometry_name else [lon_col, lat_col])]
    missing = [c for c in required if c not in df.columns]
    if missing:
        report.add(
            "missing_columns",
            f"required column(s) {missing} missing; it has {report.columns}. Rename the "
            f"columns (or pass lon_col=/lat_col=) or add them.",
            len(missing),
        )
        raise report.error()
    if have_lonlat:
        lon = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=float)
    else:
        lon, lat = _lonlat_from_geometry(df, name, coord_system)
    index = df.index

    ids = df["meter_id"]
    dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    if dup.any():
        report.add(
            "duplicate_ids",
            f"{int(dup.sum())} rows share a meter_id (rows {rows_of(index, dup)}, e.g. "
            f"{ids[dup].iloc[0]!r}); each meter must appear once. Remove the duplicates.",
            dup.sum(),
            rows_of(index, dup),
        )

    no_coords = ~(np.isfinite(lon) & np.isfinite(lat))
    if no_coords.any() and on_missing == "raise":
        report.add(
            "missing_geometry",
            f"{int(no_coords.sum())} meter(s) without numeric {lon_col}/{lat_col} (rows "
            f"{rows_of(index, no_coords)}). Geocode them, or pass on_missing='keep' to keep "
            f"them unplaced.",
            no_coords.sum(),
            rows_of(index, no_coords),
        )

    column = (
        _normalise_systems(df["coord_system"])
        if "coord_system" in df.columns
        else pd.Series(None, index=index, dtype=object)
    )
    if coord_system is not None:
        given = column.notna().to_numpy()
        clash = given & (column.to_numpy(dtype=object) != coord_system)
        if clash.any():
            warnings.warn(
                f"{name}: coord_system={coord_system!r} overrides the coord_system column "
                f"for {int(clash.sum())} row(s) that say otherwise (rows "
                f"{rows_of(index, clash)}).",
                UserWarning,
                stacklevel=2,
            )
        systems = pd.Series(coord_system, index=index, dtype=object)
    else:
        systems = column.fillna("wgs84")
    unknown = ~systems.isin(coords.COORD_SYSTEMS).to_numpy()
    if unknown.any():
        values = sorted({str(v) for v in systems[unknown]})
        report.add(
            "coord_system",
            f"{int(unknown.sum())} row(s) have an unknown coord_system {values} (rows "
            f"{rows_of(index, unknown)}); allowed: {list(coords.COORD_SYSTEMS)} "
            f"(case-insensitive; blank means {coord_system or 'wgs84'}).",
            unknown.sum(),
            rows_of(index, unknown),
        )

    placed = ~no_coords
    bounds = np.full((len(df), 4), np.nan)
    bounds[placed] = np.column_stack([lon, lat, lon, lat])[placed]
    out_of_range, swapped = swap_checks(report, index, bounds, pyproj.CRS.from_epsg(4326), area)
    usable = placed & ~out_of_range & ~swapped & ~unknown
    wgs_lon = np.full(len(df), np.nan)
    wgs_lat = np.full(len(df), np.nan)
    if usable.any():
        wgs_lon[usable], wgs_lat[usable] = coords.to_wgs84(
            lon[usable], lat[usable], systems.to_numpy(dtype=object)[usable]
        )
    if area is not None and usable.any():
        import shapely

        outside = usable.copy()
        outside[usable] = ~shapely.intersects_xy(area, wgs_lon[usable], wgs_lat[usable])
        if outside.any():
            report.add(
                "outside_study_area",
                f"{int(outside.sum())} of {len(df)} meter(s) lie outside the study area "
                f"(rows {rows_of(index, outside)}). Check their lon/lat and coord_system, or "
                f"widen study_area.",
                outside.sum(),
                rows_of(index, outside),
            )
    if report.problems:
        raise report.error()

    points = gpd.points_from_xy(wgs_lon, wgs_lat, crs=WGS84)
    points[~usable] = None
    data = pd.DataFrame(df.drop(columns=geometry_name) if geometry_name else df)
    data["coord_system"] = systems.to_numpy(dtype=object)
    out = gpd.GeoDataFrame(data, geometry=points, crs=WGS84)
    counts = Counter(systems[usable].tolist())
    out.attrs.update(
        {
            "kind": "meters",
            "source_crs": WGS84,
            "coord_systems": {k: int(counts.get(k, 0)) for k in coords.COORD_SYSTEMS},
            "n_missing_coords": int(no_coords.sum()),
            "n_repaired": 0,
        }
    )
    return out
