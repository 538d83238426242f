"""Aggregate meters to districts or grid cells for published maps, suppressing small cells.

Published maps show no personal data: only counts and sums per district or
per cell, and a cell where any published count is between 1 and
``min_count - 1`` has *all* its values suppressed (set to NaN, with
``suppressed=True``), so a small count never leaks, neither directly nor
through a sum. The suppression is per cell; differencing a suppressed cell
out of a published total (e.g. district minus its cells) is not prevented
here: publish one level per map.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.crs import WGS84, metric_crs, require_crs
from layers.grids import assign_cells, label_polygons, make_grid
from layers.schemas import LayerError

__all__ = ["COUNT_COLUMNS", "aggregate_to_districts", "aggregate_to_grid", "suppress_small"]

#: Count columns the aggregations produce, and what they count.
COUNT_COLUMNS: dict[str, str] = {
    "n_meters": "meters in the cell",
    "n_flagged": "meters with flagged_col true",
    "n_confirmed": "meters with confirmed_col true (inspections that found mining)",
}


def _check_aggregate_args(meters, flagged_col, confirmed_col, sum_cols, min_count):
    if not isinstance(meters, gpd.GeoDataFrame):
        raise TypeError(f"meters must be a geopandas GeoDataFrame; got {type(meters).__name__}.")
    require_crs(meters, "meters")
    for arg, col in (("flagged_col", flagged_col), ("confirmed_col", confirmed_col)):
        if col is not None and col not in meters.columns:
            raise ValueError(
                f"{arg}={col!r} is not a column of meters ({list(meters.columns)}); pass the "
                f"boolean column, or None to leave the count out."
            )
    sum_cols = [sum_cols] if isinstance(sum_cols, str) else list(sum_cols or ())
    missing = [c for c in sum_cols if c not in meters.columns]
    if missing:
        raise ValueError(f"sum_cols {missing} are not columns of meters ({list(meters.columns)}).")
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer):
        raise TypeError(f"min_count must be an integer; got {min_count!r}.")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1 (1: no suppression); got {min_count}.")
    return sum_cols


def _counts(meters, keys, flagged_col, confirmed_col, sum_cols) -> pd.DataFrame:
    frame = pd.DataFrame({"key": keys}, index=meters.index)
    frame["n_meters"] = 1
    if flagged_col is not None:
        frame["n_flagged"] = meters[flagged_col].fillna(False).astype(bool).astype(int)
    if confirmed_col is not None:
        frame["n_confirmed"] = meters[confirmed_col].fillna(False).astype(bool).astype(int)
    for col in sum_cols:
        frame[col] = pd.to_numeric(meters[col], errors="coerce")
    frame = frame[frame["key"].notna()]
    return frame.groupby("key", sort=True).sum(min_count=0)


def suppress_small(table: pd.DataFrame, min_count: int, count_cols=None) -> pd.DataFrame:
    """Blank every value of the rows where a count is between 1 and ``min_count - 1``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per cell with count columns (:data:`COUNT_COLUMNS`) and value
        columns.
    min_count : int
        Smallest count that may be published.
    count_cols : list of str, optional
        The counts that decide; default every :data:`COUNT_COLUMNS` column
        present. Zero is published (it reveals no one).

    Returns
    -------
    pandas.DataFrame
        A copy: counts and values NaN in suppressed rows, plus a boolean
        ``suppressed`` column.
    """
    out = table.copy()
    counts = list(count_cols) if count_cols is not None else [c for c in COUNT_COLUMNS if c in out]
    small = np.zeros(len(out), dtype=bool)
    for col in counts:
        c = out[col].to_numpy(dtype=float)
        small |= (c > 0) & (c < min_count)
    values = [c for c in out.columns if c not in ("geometry",) and out[c].dtype.kind in "biuf"]
    out[values] = out[values].astype(float)
    out.loc[small, values] = np.nan
    out["suppressed"] = small
    return out


def aggregate_to_districts(
    meters: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    *,
    name_col: str = "name",
    district_col: str | None = None,
    flagged_col: str | None = "flagged",
    confirmed_col: str | None = None,
    sum_cols=(),
    min_count: int = 5,
) -> gpd.GeoDataFrame:
    """Counts and sums of meters per district, small districts suppressed.

    Parameters
    ----------
    meters : geopandas.GeoDataFrame
        Meter points, any CRS.
    districts : geopandas.GeoDataFrame
        District polygons with ``name_col``.
    name_col : str, default "name"
    district_col : str, optional
        A column of ``meters`` already holding the district name (e.g.
        ``"district"`` from :func:`layers.joins.join_meters`); default: join
        point in polygon here.
    flagged_col, confirmed_col : str or None
        Boolean columns counted into ``n_flagged`` / ``n_confirmed``; None
        leaves the count out.
    sum_cols : str or sequence of str
        Numeric columns summed per district (e.g. flagged energy [kWh]).
    min_count : int, default 5
        See :func:`suppress_small`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per district in WGS84 (EPSG:4326): ``name``, the counts of
        :data:`COUNT_COLUMNS`, the sums, ``suppressed``. Districts without
        meters have zero counts.

    Raises
    ------
    TypeError, ValueError, LayerError
        For bad arguments, missing columns, or frames without CRS.
    """
    sum_cols = _check_aggregate_args(meters, flagged_col, confirmed_col, sum_cols, min_count)
    require_crs(districts, "districts")
    if name_col not in districts.columns:
        raise LayerError(f"districts: no {name_col!r} column; it has {list(districts.columns)}.")
    if district_col is not None:
        if district_col not in meters.columns:
            raise ValueError(f"district_col={district_col!r} is not a column of meters.")
        keys = meters[district_col].to_numpy(dtype=object)
    else:
        from layers.joins import join_meters

        keys = join_meters(meters, districts, name_col=name_col)["district"].to_numpy(object)
    stats = _counts(meters, keys, flagged_col, confirmed_col, sum_cols)
    names = districts[name_col].astype(object)
    table = stats.reindex(names.to_numpy()).fillna(0)
    table.index.name = name_col
    table = suppress_small(table.reset_index(), min_count)
    out = gpd.GeoDataFrame(
        table, geometry=districts.geometry.to_crs(WGS84).reset_index(drop=True), crs=WGS84
    )
    out.attrs.update({"min_count": int(min_count), "n_suppressed": int(out["suppressed"].sum())})
    return out


def aggregate_to_grid(
    meters: gpd.GeoDataFrame,
    *,
    grid: str = "h3",
    resolution: int = 8,
    cell_size_m: float = 500.0,
    flagged_col: str | None = "flagged",
    confirmed_col: str | None = None,
    sum_cols=(),
    min_count: int = 5,
    crs=None,
) -> gpd.GeoDataFrame:
    """Counts and sums of meters per grid cell, small cells suppressed.

    Parameters
    ----------
    meters : geopandas.GeoDataFrame
        Meter points, any CRS; missing geometries are left out.
    grid : {"h3", "hex", "square"}, default "h3"
        H3 cells (the ``h3`` package), or hexagons / squares of
        ``cell_size_m`` in the metric CRS (see :mod:`layers.grids`).
    resolution : int, default 8
        H3 resolution (8: cells of ~0.74 km2).
    cell_size_m : float, default 500.0
        Edge of hex/square cells. [m]
    flagged_col, confirmed_col, sum_cols, min_count
        As in :func:`aggregate_to_districts`.
    crs : optional
        Metric CRS of hex/square grids; default the UTM zone of the meters.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell holding at least one meter, in WGS84: ``cell``
        (H3 id or grid label), the counts, the sums, ``suppressed``.
        ``attrs``: ``grid``, ``cell_area_m2`` [m2], ``min_count``,
        ``n_suppressed``.
    """
    sum_cols = _check_aggregate_args(meters, flagged_col, confirmed_col, sum_cols, min_count)
    cells = make_grid(grid, cell_size_m=cell_size_m, resolution=resolution)
    metric = metric_crs(meters, crs) if cells.metric else None
    keys = assign_cells(meters.geometry.to_crs(WGS84), cells, metric)
    stats = _counts(meters, keys, flagged_col, confirmed_col, sum_cols)
    stats.index.name = "cell"
    table = suppress_small(stats.reset_index(), min_count)
    geometry = label_polygons(table["cell"], cells, metric).reset_index(drop=True)
    out = gpd.GeoDataFrame(table, geometry=geometry, crs=WGS84)
    out.attrs.update(
        {
            "grid": grid,
            "cell_area_m2": float(cells.cell_area),
            "min_count": int(min_count),
            "n_suppressed": int(out["suppressed"].sum()),
        }
    )
    return out
