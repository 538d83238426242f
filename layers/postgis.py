"""Layers in PostGIS: read and validate a table, write one fast, join in SQL.

- :func:`read_postgis` reads a table with ``geopandas.read_postgis`` and
  checks it like a file (:mod:`layers.validate`).
- :func:`write_postgis` loads a GeoDataFrame with ``COPY`` (psycopg 3), adds
  a ``fid`` row-order key and a GiST index: the layout
  :func:`join_meters_postgis` expects.
- :func:`join_meters_postgis` is :func:`layers.joins.join_meters` in SQL, for
  data that already lives in PostGIS: ``ST_Intersects`` for point in
  polygon, ``ST_DWithin`` plus a KNN ``<->`` ordering for the nearest
  building, the same tie-breaks, the same output columns.

Connections are SQLAlchemy URLs (``postgresql+psycopg://...``) or engines.
"""

from __future__ import annotations

import io
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.crs import require_crs
from layers.joins import AREA_DECIMALS, TIE_DISTANCE_M
from layers.schemas import LayerError, schema_for
from layers.validate import validate_layer

__all__ = ["join_meters_postgis", "read_postgis", "write_postgis"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _engine(url_or_engine):
    import sqlalchemy as sa

    if isinstance(url_or_engine, str):
        return sa.create_engine(url_or_engine), True
    if isinstance(url_or_engine, sa.engine.Engine):
        return url_or_engine, False
    raise TypeError(
        f"url_or_engine must be a SQLAlchemy URL string (postgresql+psycopg://...) or an "
        f"Engine; got {type(url_or_engine).__name__}."
    )


def _ident(name: str, what: str) -> str:
    """A double-quoted identifier; only plain names, so nothing can be injected."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ValueError(
            f"{what}={name!r} must be a plain SQL identifier (letters, digits, underscore, "
            f"not starting with a digit)."
        )
    return f'"{name}"'


def _qualified(table: str, schema: str | None) -> str:
    t = _ident(table, "table")
    return f"{_ident(schema, 'schema')}.{t}" if schema else t


def _geometry_columns(conn, table, schema) -> list[tuple[str, int]]:
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text(
            "SELECT f_geometry_column, srid FROM geometry_columns "
            "WHERE f_table_name = :t AND f_table_schema = COALESCE(:s, current_schema()) "
            "ORDER BY f_geometry_column"
        ),
        {"t": table, "s": schema},
    ).all()
    return [(r[0], int(r[1])) for r in rows]


def read_postgis(
    url_or_engine,
    table: str,
    kind: str,
    *,
    schema: str | None = None,
    geom_col: str | None = None,
    make_valid: bool = False,
    study_area=None,
    coord_system: str = "wgs84",
    swap_xy: bool = False,
) -> gpd.GeoDataFrame:
    """Read a PostGIS table as a layer of one kind, validated like a file.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.engine.Engine
        ``postgresql+psycopg://user:password@host:port/database`` or an engine.
    table : str
        Table (or view) name; plain identifiers only.
    kind : str
        One of :data:`layers.schemas.LAYER_SCHEMAS`, or ``"meters"``.
    schema : str, optional
        Database schema (default: the connection's current schema).
    geom_col : str, optional
        Geometry column, needed only when the table has several.
    make_valid, study_area, coord_system, swap_xy
        As in :func:`layers.io.read_layer`.

    Returns
    -------
    geopandas.GeoDataFrame
        In WGS84 with ``attrs`` ``source_crs``, ``n_repaired``, ``kind``,
        ``coord_system``. A table with SRID 0 has no CRS and is refused.

    Raises
    ------
    LayerError
        If the table has no geometry column (or does not exist), and for every
        validation problem.
    """
    schema_for(kind)
    qualified = _qualified(table, schema)
    engine, own = _engine(url_or_engine)
    name = f"{kind} layer {qualified.replace(chr(34), '')} (PostGIS)"
    try:
        with engine.connect() as conn:
            columns = _geometry_columns(conn, table, schema)
            names = [c for c, _ in columns]
            if not columns:
                raise LayerError(
                    f"{name}: no such table with a geometry column. Check the table and "
                    f"schema names, and that the column is a PostGIS geometry."
                )
            if geom_col is None:
                if len(columns) > 1:
                    raise LayerError(f"{name}: several geometry columns {names}; pass geom_col=.")
                geom_col = names[0]
            elif geom_col not in names:
                raise LayerError(f"{name}: no geometry column {geom_col!r}; it has {names}.")
            sql = f"SELECT * FROM {qualified}"
            gdf = gpd.read_postgis(sql, conn, geom_col=geom_col)
    finally:
        if own:
            engine.dispose()
    return validate_layer(
        gdf,
        kind,
        name=name,
        make_valid=make_valid,
        study_area=study_area,
        coord_system=coord_system,
        swap_xy=swap_xy,
    )


# --------------------------------------------------------------------------
# writing with COPY
# --------------------------------------------------------------------------
def _sql_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamptz" if getattr(series.dtype, "tz", None) is not None else "timestamp"
    return "text"


def write_postgis(
    gdf: gpd.GeoDataFrame,
    url_or_engine,
    table: str,
    *,
    schema: str | None = None,
    srid: int | None = None,
    if_exists: str = "fail",
) -> int:
    """Load a GeoDataFrame into a new PostGIS table with COPY and a GiST index.

    The table gets a ``fid`` bigint primary key (the row's position in
    ``gdf``: the "layer order" of the tie-breaks), the columns of ``gdf``
    (bool, bigint, double precision, timestamp or text) and ``geom``
    (``geometry(<type>, srid)``) with a GiST index; then it is ANALYZEd.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        With a CRS that has an EPSG code.
    url_or_engine : str or sqlalchemy.engine.Engine
    table, schema : str
        Plain identifiers.
    srid : int, optional
        Reproject to this EPSG code first (e.g. 32650 so that distances in
        SQL are metres).
    if_exists : {"fail", "replace"}, default "fail"

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    LayerError
        If ``gdf`` has no CRS or its CRS has no EPSG code.
    ValueError
        If the table exists and ``if_exists="fail"``, or for bad names.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"gdf must be a geopandas GeoDataFrame; got {type(gdf).__name__}.")
    require_crs(gdf, "gdf")
    if if_exists not in ("fail", "replace"):
        raise ValueError(f"if_exists={if_exists!r} must be 'fail' or 'replace'.")
    if srid is not None:
        gdf = gdf.to_crs(epsg=int(srid))
    epsg = pyproj.CRS.from_user_input(gdf.crs).to_epsg()
    if epsg is None:
        raise LayerError(
            f"gdf: its CRS {gdf.crs.name!r} has no EPSG code, so PostGIS cannot label it; "
            f"pass srid= (e.g. 4326 or 32650)."
        )
    qualified = _qualified(table, schema)
    geom_name = gdf.geometry.name
    data = pd.DataFrame(gdf.drop(columns=geom_name))
    for col in data.columns:
        _ident(str(col), "column")
    if "fid" in data.columns or "geom" in data.columns:
        raise ValueError(
            "gdf must not have columns named 'fid' or 'geom' (write_postgis adds them)."
        )
    types = {t for t in gdf.geom_type.dropna().unique()}
    geom_type = types.pop().upper() if len(types) == 1 else "GEOMETRY"
    cols_sql = ", ".join(f'"{c}" {_sql_type(data[c])}' for c in data.columns)
    cols_sql = (cols_sql + ", ") if cols_sql else ""
    buf = io.StringIO()
    out = data.copy()
    out.insert(0, "fid", np.arange(len(gdf), dtype=np.int64))
    out["geom"] = shapely.to_wkb(
        np.asarray(gdf.geometry.values, dtype=object), hex=True, include_srid=False
    )
    for col in data.columns:
        if data[col].dtype.kind == "b":
            out[col] = data[col].map({True: "t", False: "f"})
    out.to_csv(buf, index=False, header=False, na_rep="\\N", lineterminator="\n")
    buf.seek(0)
    engine, own = _engine(url_or_engine)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if if_exists == "replace":
                cur.execute(f"DROP TABLE IF EXISTS {qualified}")
            cur.execute(
                f"CREATE TABLE {qualified} (fid bigint PRIMARY KEY, {cols_sql}"
                f"geom geometry({geom_type}, {epsg}))"
            )
            columns = ", ".join(["fid", *(f'"{c}"' for c in data.columns), "geom"])
            copy_sql = f"COPY {qualified} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            with cur.copy(copy_sql) as copy:
                while chunk := buf.read(1 << 20):
                    copy.write(chunk)
            index = _ident(f"{table}_geom_gist"[:63], "index")
            cur.execute(f"CREATE INDEX {index} ON {qualified} USING gist (geom)")
            cur.execute(f"ANALYZE {qualified}")
            raw.commit()
        except Exception as exc:
            raw.rollback()
            if "already exists" in str(exc):
                raise ValueError(
                    f"table {qualified} already exists; pass if_exists='replace' to overwrite it."
                ) from None
            raise
        finally:
            raw.close()
    finally:
        if own:
            engine.dispose()
    return len(gdf)


# --------------------------------------------------------------------------
# the join in SQL
# --------------------------------------------------------------------------
def _table_srid(conn, table, schema, what) -> int:
    cols = dict(_geometry_columns(conn, table, schema))
    if "geom" not in cols:
        raise LayerError(
            f"{what} table {table!r}: no 'geom' geometry column; load it with "
            f"layers.postgis.write_postgis."
        )
    return cols["geom"]


def join_meters_postgis(
    url_or_engine,
    *,
    meters: str = "meters",
    districts: str | None = "districts",
    buildings: str | None = "buildings",
    schema: str | None = None,
    tolerance_m: float = 20.0,
    name_col: str = "name",
    use_col: str = "use",
    id_col: str = "building_id",
    floor_area_col: str | None = "floor_area_m2",
    meter_id_col: str = "meter_id",
    into: str | None = None,
):
    """:func:`layers.joins.join_meters` in SQL, on tables written by :func:`write_postgis`.

    All tables need a ``geom`` column in the same projected SRID in metres
    (write them with ``srid=32650`` for Beijing) and a ``fid`` layer-order
    key; both are what :func:`write_postgis` makes.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.engine.Engine
    meters, districts, buildings, schema : str
        Table names; pass ``districts=None`` or ``buildings=None`` to skip a
        join.
    tolerance_m : float, default 20.0
        Nearest-building search radius. [m]
    name_col, use_col, id_col, floor_area_col, meter_id_col : str
        Column names (``floor_area_col=None`` if the buildings have none).
    into : str, optional
        Write the result into this new table (server-side, nothing comes
        back) and return its row count; default: return a DataFrame.

    Returns
    -------
    pandas.DataFrame or int
        ``meter_id`` and the columns of :data:`layers.joins.DISTRICT_COLUMNS`
        and :data:`layers.joins.BUILDING_COLUMNS` (no geometry), ordered by
        ``fid``; or the number of rows written to ``into``.

    Raises
    ------
    LayerError
        If a table lacks ``geom`` or the SRIDs differ or are not metric.
    """
    import sqlalchemy as sa

    if isinstance(tolerance_m, bool) or not isinstance(tolerance_m, int | float):
        raise TypeError(f"tolerance_m must be a number of metres; got {tolerance_m!r}.")
    if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise ValueError(f"tolerance_m must be finite and >= 0 [m]; got {tolerance_m!r}.")
    if districts is None and buildings is None:
        raise ValueError("join_meters_postgis needs districts=, buildings= or both.")
    m = _qualified(meters, schema)
    engine, own = _engine(url_or_engine)
    try:
        with engine.connect() as conn:
            srids = {"meters": _table_srid(conn, meters, schema, "meters")}
            if districts is not None:
                srids["districts"] = _table_srid(conn, districts, schema, "districts")
            if buildings is not None:
                srids["buildings"] = _table_srid(conn, buildings, schema, "buildings")
        if len(set(srids.values())) != 1:
            raise LayerError(
                f"the tables have different SRIDs {srids}; write them with the same srid= "
                f"(layers.postgis.write_postgis) so the join needs no reprojection."
            )
        srid = srids["meters"]
        crs = pyproj.CRS.from_epsg(srid) if srid else None
        if buildings is not None and (crs is None or not crs.is_projected):
            raise LayerError(
                f"the tables' SRID {srid} is not a projected CRS in metres, so tolerance_m "
                f"cannot be a distance; write them with write_postgis(..., srid=32650) (the "
                f"UTM zone of the city)."
            )
        select = [f"m.{_ident(meter_id_col, 'meter_id_col')} AS meter_id"]
        joins = []
        if districts is not None:
            d = _qualified(districts, schema)
            name = _ident(name_col, "name_col")
            select += [
                "dj.name AS district",
                "CASE WHEN dj.fid IS NULL THEN 'none' ELSE 'within' END AS district_match",
            ]
            joins.append(
                f"LEFT JOIN LATERAL (SELECT d.fid, d.{name}::text AS name FROM {d} d "
                f"WHERE ST_Intersects(d.geom, m.geom) ORDER BY d.fid LIMIT 1) dj ON true"
            )
        if buildings is not None:
            b = _qualified(buildings, schema)
            bid, use = _ident(id_col, "id_col"), _ident(use_col, "use_col")
            area = f"b.{_ident(floor_area_col, 'floor_area_col')}" if floor_area_col else "NULL"
            cols = f"b.fid, b.{bid}::text AS bid, b.{use}::text AS use, {area}::float8 AS floor"
            select += [
                "COALESCE(w.bid, n.bid) AS building_id",
                "COALESCE(w.use, n.use) AS building_use",
                "COALESCE(w.floor, n.floor) AS building_floor_area_m2",
                "CASE WHEN w.fid IS NOT NULL THEN 'within' WHEN n.fid IS NOT NULL "
                "THEN 'nearest' ELSE 'none' END AS building_match",
                "CASE WHEN w.fid IS NOT NULL THEN 0.0 ELSE n.dist END AS building_distance_m",
            ]
            # Same tie-breaks as layers.joins: areas compared at 0.1 m2, and every
            # building within 1 mm of the nearest distance ties (KNN finds that
            # distance, a second probe the tied candidates).
            area_key = f"round(ST_Area(b.geom)::numeric, {AREA_DECIMALS})"
            joins.append(
                f"LEFT JOIN LATERAL (SELECT {cols} FROM {b} b "
                f"WHERE ST_Intersects(b.geom, m.geom) "
                f"ORDER BY {area_key}, b.fid LIMIT 1) w ON true"
            )
            joins.append(
                f"LEFT JOIN LATERAL (SELECT b.geom <-> m.geom AS d FROM {b} b "
                f"WHERE w.fid IS NULL AND ST_DWithin(b.geom, m.geom, {float(tolerance_m)!r}) "
                f"ORDER BY b.geom <-> m.geom LIMIT 1) nd ON true"
            )
            joins.append(
                f"LEFT JOIN LATERAL (SELECT {cols}, ST_Distance(b.geom, m.geom) AS dist "
                f"FROM {b} b WHERE nd.d IS NOT NULL "
                f"AND ST_DWithin(b.geom, m.geom, nd.d + {TIE_DISTANCE_M!r}) "
                f"ORDER BY {area_key}, b.fid LIMIT 1) n ON true"
            )
        query = f"SELECT {', '.join(select)} FROM {m} m {' '.join(joins)} ORDER BY m.fid"
        with engine.begin() as conn:
            if into is not None:
                target = _qualified(into, schema)
                conn.execute(sa.text(f"CREATE TABLE {target} AS {query}"))
                return int(conn.execute(sa.text(f"SELECT count(*) FROM {target}")).scalar())
            return pd.read_sql_query(sa.text(query), conn)
    finally:
        if own:
            engine.dispose()
