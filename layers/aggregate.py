"""Aggregate meters to districts or grid cells for published maps, suppressing small cells.

Published maps show no personal data: only counts and sums per district or
per cell, and a cell where any published count is between 1 and
``min_count - 1`` has *all* its values suppressed (set to NaN, with
``suppressed=True``), so a small count never leaks, neither directly nor
through a sum.

Suppressing small cells one by one is not enough when several tables are
published together: districts, the grid cells inside them and the city
total are sums of the same meters, so a suppressed cell can be worked out
by subtracting the published cells from their district (or a district from
the city total). :func:`aggregate_linked` builds every table published
together from one set of meters and applies *complementary* suppression
(:func:`suppress_linked`): it hides further cells until, for each count
that is small, an attacker who solves the published sums as a linear
system (with every count non-negative) can no longer bound it below
``min_count``. The check is the one an attacker would run: the largest
value the suppressed count can take subject to the published figures, by
linear programming (:func:`scipy.optimize.linprog`, HiGHS).

References
----------
.. [1] Hundepool, A. et al. (2012), *Statistical Disclosure Control*,
   Wiley, ch. 4.2-4.3 (primary and secondary cell suppression, the audit of
   a suppression pattern by linear programming).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.crs import WGS84, metric_crs, require_crs
from layers.grids import assign_cells, label_polygons, make_grid
from layers.schemas import LayerError

__all__ = [
    "COUNT_COLUMNS",
    "LinkedAggregates",
    "aggregate_linked",
    "aggregate_to_districts",
    "aggregate_to_grid",
    "suppress_linked",
    "suppress_small",
]

#: Count columns the aggregations produce, and what they count.
COUNT_COLUMNS: dict[str, str] = {
    "n_meters": "meters in the cell",
    "n_flagged": "meters with flagged_col true",
    "n_confirmed": "meters with confirmed_col true (inspections that found mining)",
}

TOTAL = "total"
"""Row label of the city total in :class:`LinkedAggregates`."""


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
    _check_min_count(min_count)
    return sum_cols


def _check_min_count(min_count) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer):
        raise TypeError(f"min_count must be an integer; got {min_count!r}.")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1 (1: no suppression); got {min_count}.")


def _per_meter(meters, flagged_col, confirmed_col, sum_cols) -> pd.DataFrame:
    """One row per meter: ``n_meters`` (1), the 0/1 counts and the summed columns."""
    frame = pd.DataFrame(index=meters.index)
    frame["n_meters"] = 1
    if flagged_col is not None:
        frame["n_flagged"] = meters[flagged_col].fillna(False).astype(bool).astype(int)
    if confirmed_col is not None:
        frame["n_confirmed"] = meters[confirmed_col].fillna(False).astype(bool).astype(int)
    for col in sum_cols:
        frame[col] = pd.to_numeric(meters[col], errors="coerce")
    return frame


def _counts(meters, keys, flagged_col, confirmed_col, sum_cols) -> pd.DataFrame:
    frame = _per_meter(meters, flagged_col, confirmed_col, sum_cols)
    frame.insert(0, "key", keys)
    frame = frame[frame["key"].notna()]
    return frame.groupby("key", sort=True).sum(min_count=0)


def _blank(table: pd.DataFrame, mask) -> pd.DataFrame:
    """A copy with every numeric value NaN where ``mask``, plus ``suppressed``."""
    out = table.copy()
    mask = np.asarray(mask, dtype=bool)
    values = [c for c in out.columns if c not in ("geometry",) and out[c].dtype.kind in "biuf"]
    out[values] = out[values].astype(float)
    out.loc[mask, values] = np.nan
    out["suppressed"] = mask
    return out


def _small(table: pd.DataFrame, min_count: int, count_cols=None) -> np.ndarray:
    counts = (
        list(count_cols) if count_cols is not None else [c for c in COUNT_COLUMNS if c in table]
    )
    small = np.zeros(len(table), dtype=bool)
    for col in counts:
        c = table[col].to_numpy(dtype=float)
        small |= (c > 0) & (c < min_count)
    return small


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

    Notes
    -----
    One table alone. Tables published together (districts, their cells, the
    total) need :func:`aggregate_linked`, or a suppressed row can be worked
    out by subtraction.
    """
    return _blank(table, _small(table, min_count, count_cols))


def _district_keys(meters, districts, name_col, district_col) -> np.ndarray:
    require_crs(districts, "districts")
    if name_col not in districts.columns:
        raise LayerError(f"districts: no {name_col!r} column; it has {list(districts.columns)}.")
    if district_col is not None:
        if district_col not in meters.columns:
            raise ValueError(f"district_col={district_col!r} is not a column of meters.")
        return meters[district_col].to_numpy(dtype=object)
    from layers.joins import join_meters

    return join_meters(meters, districts, name_col=name_col)["district"].to_numpy(object)


def _district_table(meters, districts, keys, name_col, flagged_col, confirmed_col, sum_cols):
    stats = _counts(meters, keys, flagged_col, confirmed_col, sum_cols)
    names = districts[name_col].astype(object)
    table = stats.reindex(names.to_numpy()).fillna(0)
    table.index.name = name_col
    return table.reset_index()


def _district_frame(table, districts, min_count) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(
        table, geometry=districts.geometry.to_crs(WGS84).reset_index(drop=True), crs=WGS84
    )
    out.attrs.update({"min_count": int(min_count), "n_suppressed": int(out["suppressed"].sum())})
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
    keys = _district_keys(meters, districts, name_col, district_col)
    table = _district_table(
        meters, districts, keys, name_col, flagged_col, confirmed_col, sum_cols
    )
    return _district_frame(suppress_small(table, min_count), districts, min_count)


def _grid_keys(meters, grid, resolution, cell_size_m, crs):
    cells = make_grid(grid, cell_size_m=cell_size_m, resolution=resolution)
    metric = metric_crs(meters, crs) if cells.metric else None
    return assign_cells(meters.geometry.to_crs(WGS84), cells, metric), cells, metric


def _grid_frame(table, cells, metric, grid, min_count) -> gpd.GeoDataFrame:
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
    keys, cells, metric = _grid_keys(meters, grid, resolution, cell_size_m, crs)
    stats = _counts(meters, keys, flagged_col, confirmed_col, sum_cols)
    stats.index.name = "cell"
    table = suppress_small(stats.reset_index(), min_count)
    return _grid_frame(table, cells, metric, grid, min_count)


# -- tables published together -----------------------------------------------------------


def _check_suppress_linked(counts, memberships, min_count) -> None:
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(
            f"counts must be a DataFrame (one row per piece); got {type(counts).__name__}."
        )
    bad = [c for c in counts.columns if counts[c].dtype.kind not in "biuf"]
    if bad:
        raise ValueError(f"counts must hold only numeric count columns; {bad} are not numeric.")
    if len(counts) and (counts.to_numpy(dtype=float) < 0).any():
        raise ValueError("counts must be >= 0 (they count meters).")
    if not isinstance(memberships, Mapping) or not memberships:
        raise ValueError("memberships must be a non-empty dict {table: one row label per piece}.")
    for name, labels in memberships.items():
        if len(labels) != len(counts):
            raise ValueError(
                f"memberships[{name!r}] has {len(labels)} labels for {len(counts)} pieces."
            )
    _check_min_count(min_count)


class _Linked:
    """Incidence of the published rows on the pieces, and the attacker's LP."""

    def __init__(self, counts: pd.DataFrame, memberships: Mapping[str, Sequence]):
        from scipy import sparse

        self.values = counts.to_numpy(dtype=float)
        self.columns = list(counts.columns)
        n = len(counts)
        self.tables: dict[str, tuple[pd.Index, object]] = {}
        for name, labels in memberships.items():
            codes, rows = pd.factorize(pd.Series(list(labels), dtype=object), sort=True)
            ok = codes >= 0
            m = sparse.csr_matrix(
                (np.ones(ok.sum()), (codes[ok], np.flatnonzero(ok))), shape=(len(rows), n)
            )
            self.tables[name] = (pd.Index(rows), m)
        self.sums = {name: m @ self.values for name, (_, m) in self.tables.items()}

    def upper(self, name: str, row: int, col: int, suppressed: Mapping[str, np.ndarray]) -> float:
        """Largest value row ``row`` of ``name`` can take given the published rows [count]."""
        from scipy import sparse
        from scipy.optimize import linprog

        rows, sums = [], []
        for t, (_, m) in self.tables.items():
            keep = ~suppressed[t]
            rows.append(m[keep])
            sums.append(self.sums[t][keep, col])
        a_eq = sparse.vstack(rows).tocsr()
        objective = -self.tables[name][1][row].toarray().ravel()
        res = linprog(
            objective, A_eq=a_eq, b_eq=np.concatenate(sums), bounds=(0, None), method="highs"
        )
        if res.status == 3:  # unbounded
            return np.inf
        if res.status != 0:
            raise RuntimeError(f"suppression audit failed: {res.message}")
        return float(-res.fun)


def suppress_linked(
    counts: pd.DataFrame, memberships: Mapping[str, Sequence], *, min_count: int = 5
) -> dict[str, pd.Series]:
    """Primary and complementary suppression over tables published together.

    Every table is a sum over the same pieces (e.g. the grid cell within a
    district; meters with the same district and cell). A row is *primarily*
    suppressed when one of its counts is between 1 and ``min_count - 1``.
    Then, for each such small count, the attacker's linear programme is
    solved: the largest value the row can take given every published row
    of every table (its sum over the pieces), with the pieces >= 0. While
    that bound is below ``min_count``, a further row is suppressed: a row of
    the same table sharing the smallest published row that pins it (e.g. a
    sibling cell of the same district), the smallest count that lifts the
    bound to ``min_count``, else the largest; with no such sibling, the
    pinning row itself (the district, then the total).

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per piece, only count columns (>= 0) [meters].
    memberships : dict of str to sequence
        Per table, one row label per piece: which row of that table the
        piece is summed into (None: none). A table whose label is the same
        for every piece is a total.
    min_count : int, default 5
        Smallest count that may be published.

    Returns
    -------
    dict of str to pandas.Series
        Per table, ``suppressed`` (bool) indexed by the table's row labels
        (sorted).

    Notes
    -----
    Suppressing a row removes one equation, so the attacker's bounds only
    widen: a count once protected stays protected, and the loop ends (at
    worst with every row suppressed). Zero counts are published (they
    reveal no one); a suppressed row hides all its counts, and sums over
    its meters (energy) share its pattern.
    """
    _check_suppress_linked(counts, memberships, min_count)
    linked = _Linked(counts, memberships)
    suppressed = {
        t: ((linked.sums[t] >= 1) & (linked.sums[t] < min_count)).any(axis=1)
        for t in linked.tables
    }
    # The small counts to protect, smallest table first (cells before districts).
    order = sorted(linked.tables, key=lambda t: -len(linked.tables[t][0]))
    todo = [
        (t, int(r), c)
        for t in order
        for c in range(len(linked.columns))
        for r in np.flatnonzero(suppressed[t])
        if 1 <= linked.sums[t][r, c] < min_count
    ]
    for t, r, c in todo:
        while linked.upper(t, r, c, suppressed) < min_count - 1e-6:
            if not _suppress_one_more(linked, suppressed, t, r, c, min_count):
                break  # pragma: no cover - everything that touches the row is suppressed
    return {
        t: pd.Series(suppressed[t], index=rows, name="suppressed")
        for t, (rows, _) in linked.tables.items()
    }


def _suppress_one_more(linked, suppressed, t, r, c, min_count) -> bool:
    """Suppress one more row that widens the bound of row ``r`` of ``t``; False if none."""
    row = linked.tables[t][1][r]
    pieces = row.indices
    # Published rows that share a piece with the row: what pins it, smallest first.
    pinning = []
    for u, (_, m) in linked.tables.items():
        for q in np.flatnonzero((m[:, pieces].sum(axis=1).A1 > 0) & ~suppressed[u]):
            pinning.append((m[q].nnz, u, int(q)))
    pinning.sort()
    need = min_count - linked.sums[t][r, c]
    m_t = linked.tables[t][1]
    for _, u, q in pinning:
        under = linked.tables[u][1][q].indices
        siblings = np.flatnonzero((m_t[:, under].sum(axis=1).A1 > 0) & ~suppressed[t])
        values = linked.sums[t][siblings, c]
        useful = values >= 1
        if not useful.any():
            continue
        siblings, values = siblings[useful], values[useful]
        enough = values >= need
        pick = (
            siblings[enough][np.argmin(values[enough])]
            if enough.any()
            else siblings[np.argmax(values)]
        )
        suppressed[t][pick] = True
        return True
    if pinning:
        _, u, q = pinning[0]
        suppressed[u][q] = True
        return True
    return False


@dataclass
class LinkedAggregates:
    """Districts, grid cells and the city total of one set of meters, suppressed together.

    Attributes
    ----------
    districts : geopandas.GeoDataFrame
        As :func:`aggregate_to_districts` returns.
    cells : geopandas.GeoDataFrame
        As :func:`aggregate_to_grid` returns.
    total : pandas.DataFrame
        One row (``area`` = ``"total"``): the counts and sums over all meters.
    """

    districts: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    total: pd.DataFrame


def aggregate_linked(
    meters: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    *,
    name_col: str = "name",
    district_col: str | None = None,
    grid: str = "h3",
    resolution: int = 8,
    cell_size_m: float = 500.0,
    crs=None,
    flagged_col: str | None = "flagged",
    confirmed_col: str | None = None,
    sum_cols=(),
    min_count: int = 5,
) -> LinkedAggregates:
    """Districts, grid cells and the total of the same meters, safe to publish together.

    The tables are those of :func:`aggregate_to_districts` and
    :func:`aggregate_to_grid`, but suppressed by :func:`suppress_linked`
    over all three at once: the pieces are the meters with the same district
    and cell (a cell may straddle two districts), so no small count of one
    table can be worked out from the others, whichever of them (map layers,
    CSV or GeoJSON downloads, the total) a reader combines.

    Parameters
    ----------
    meters, districts, name_col, district_col
        As in :func:`aggregate_to_districts`.
    grid, resolution, cell_size_m, crs
        As in :func:`aggregate_to_grid`.
    flagged_col, confirmed_col, sum_cols, min_count
        As in :func:`aggregate_to_districts`.

    Returns
    -------
    LinkedAggregates
        ``attrs["n_suppressed"]`` of each table counts its primary and
        complementary suppressions together (which is which is not
        published: it would tell a complementary row's count is not small).
    """
    sum_cols = _check_aggregate_args(meters, flagged_col, confirmed_col, sum_cols, min_count)
    dkeys = _district_keys(meters, districts, name_col, district_col)
    ckeys, cells, metric = _grid_keys(meters, grid, resolution, cell_size_m, crs)
    dtable = _district_table(
        meters, districts, dkeys, name_col, flagged_col, confirmed_col, sum_cols
    )
    ctable = _counts(meters, ckeys, flagged_col, confirmed_col, sum_cols)
    ctable.index.name = "cell"
    ctable = ctable.reset_index()
    per = _per_meter(meters, flagged_col, confirmed_col, sum_cols)
    counts_cols = [c for c in COUNT_COLUMNS if c in per]
    known = set(dtable[name_col])
    dk = pd.Series(dkeys, index=meters.index, dtype=object).where(lambda s: s.isin(known))
    pieces = (
        per[counts_cols]
        .groupby(
            [
                dk.fillna("\0none"),
                pd.Series(ckeys, index=meters.index, dtype=object).fillna("\0none"),
            ],
            sort=True,
        )
        .sum()
    )
    d_of, c_of = pieces.index.get_level_values(0), pieces.index.get_level_values(1)
    masks = suppress_linked(
        pieces.reset_index(drop=True),
        {
            "districts": [None if d == "\0none" else d for d in d_of],
            "cells": [None if c == "\0none" else c for c in c_of],
            TOTAL: [TOTAL] * len(pieces),
        },
        min_count=min_count,
    )
    dmask = dtable[name_col].map(masks["districts"]).fillna(False).astype(bool)
    cmask = ctable["cell"].map(masks["cells"]).fillna(False).astype(bool)
    total = per.sum(min_count=0).to_frame().T
    total.insert(0, "area", TOTAL)
    tmask = bool(masks[TOTAL].get(TOTAL, False))
    out = LinkedAggregates(
        districts=_district_frame(_blank(dtable, dmask), districts, min_count),
        cells=_grid_frame(_blank(ctable, cmask), cells, metric, grid, min_count),
        total=_blank(total.reset_index(drop=True), [tmask]),
    )
    return out
