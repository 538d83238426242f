"""Spatial clusters of flagged meters, for enforcement and for aggregated maps.

Two views of the same question, "where do flagged meters concentrate?":

- :func:`dbscan_hotspots`: groups of flagged meters close to one another
  ("five flagged meters within 300 m in one village"), by DBSCAN on
  projected coordinates, returned as WGS84 polygons with their members.
  For the enforcement team: it lists meter ids.
- :func:`getis_ord_gi_star`: the Getis-Ord Gi* z-score of every cell of a
  square or hexagonal grid: where the number (or energy, or share) of
  flagged meters is significantly higher than the study area's mean. Per
  cell counts, so apply :mod:`layers.aggregate`'s suppression before
  publishing.

Gi* tests every cell, so at a 5 % level about one cell in twenty is "hot" or
"cold" by chance alone; :func:`benjamini_hochberg` (``correction="fdr_bh"``)
controls the expected share of false discoveries among the cells called
significant instead.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import WGS84, metric_crs, require_crs
from layers.grids import make_grid
from layers.schemas import LayerError

__all__ = [
    "GI_CORRECTIONS",
    "GI_VALUES",
    "benjamini_hochberg",
    "dbscan_hotspots",
    "getis_ord_gi_star",
]


def _check_points(meters, name="meters") -> None:
    if not isinstance(meters, gpd.GeoDataFrame):
        raise TypeError(f"{name} must be a geopandas GeoDataFrame; got {type(meters).__name__}.")
    require_crs(meters, name)
    kinds = set(meters.geometry.dropna().geom_type)
    if not kinds <= {"Point"}:
        raise LayerError(f"{name}: geometries must be points; got {sorted(kinds)}.")


def _check_positive(name, value, *, integer=False, allow_zero=False):
    kinds = int | np.integer if integer else int | float | np.number
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {what}; got {value!r}.")
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}; got {value!r}.")


def _flag_mask(meters, flagged_col) -> np.ndarray:
    if flagged_col is None:
        return np.ones(len(meters), dtype=bool)
    if flagged_col not in meters.columns:
        raise ValueError(
            f"flagged_col={flagged_col!r} is not a column of meters ({list(meters.columns)}); "
            f"pass the boolean column marking flagged meters, or None if all are flagged."
        )
    return meters[flagged_col].fillna(False).astype(bool).to_numpy()


def _present(geoms: gpd.GeoSeries) -> np.ndarray:
    return ~(geoms.isna().to_numpy() | geoms.is_empty.to_numpy())


# --------------------------------------------------------------------------
# DBSCAN
# --------------------------------------------------------------------------
def _check_dbscan(meters, eps_m, min_samples, buffer_m, id_col, score_col, energy_col):
    _check_points(meters)
    _check_positive("eps_m", eps_m)
    _check_positive("min_samples", min_samples, integer=True)
    _check_positive("buffer_m", buffer_m, allow_zero=True)
    for arg, col in (("id_col", id_col), ("score_col", score_col), ("energy_col", energy_col)):
        if col is not None and col not in meters.columns:
            raise ValueError(f"{arg}={col!r} is not a column of meters ({list(meters.columns)}).")


def dbscan_hotspots(
    meters: gpd.GeoDataFrame,
    *,
    eps_m: float = 300.0,
    min_samples: int = 5,
    flagged_col: str | None = "flagged",
    id_col: str = "meter_id",
    score_col: str | None = None,
    energy_col: str | None = None,
    buffer_m: float = 50.0,
    crs=None,
) -> gpd.GeoDataFrame:
    """Clusters of flagged meters by DBSCAN on projected coordinates.

    A hotspot is a DBSCAN cluster [1]_: at least ``min_samples`` flagged
    meters each within ``eps_m`` of a core meter. Meters in no cluster
    (DBSCAN noise) belong to no hotspot.

    Parameters
    ----------
    meters : geopandas.GeoDataFrame
        Meter points, any CRS.
    eps_m : float, default 300.0
        Neighbourhood radius. [m]
    min_samples : int, default 5
        Flagged meters (including the meter itself) within ``eps_m`` that
        make a core meter.
    flagged_col : str or None, default "flagged"
        Boolean column selecting the flagged meters; None: all are flagged.
    id_col : str, default "meter_id"
        Meter id column listed in ``meter_ids``.
    score_col : str, optional
        Column summed into ``score_total`` (e.g. the detector score).
    energy_col : str, optional
        Column summed into ``energy_total_kwh``. [kWh]
    buffer_m : float, default 50.0
        Buffer around the convex hull of the members. [m]
    crs : optional
        Metric CRS; default the UTM zone of the meters
        (:func:`layers.crs.metric_crs`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hotspot in WGS84 (EPSG:4326), largest first:
        ``hotspot`` (1, 2, ...), ``n_flagged``, ``meter_ids`` (sorted list),
        ``score_total`` / ``energy_total_kwh`` [kWh] when asked,
        ``centroid_lon``, ``centroid_lat`` [deg] (mean of the members'
        projected positions), ``area_m2`` [m2] of the polygon, and the
        geometry (the buffered convex hull). ``attrs``: ``eps_m``,
        ``min_samples``, ``metric_crs``, ``n_flagged``, ``n_noise``.

    Raises
    ------
    TypeError, ValueError, LayerError
        For bad arguments, a frame without CRS, or non-point geometries.

    References
    ----------
    .. [1] M. Ester, H.-P. Kriegel, J. Sander and X. Xu, "A density-based
       algorithm for discovering clusters in large spatial databases with
       noise", Proc. KDD-96, pp. 226-231, 1996.
    """
    _check_dbscan(meters, eps_m, min_samples, buffer_m, id_col, score_col, energy_col)
    from sklearn.cluster import DBSCAN

    metric = metric_crs(meters, crs)
    use = _flag_mask(meters, flagged_col) & _present(meters.geometry)
    flagged = meters.loc[use]
    pts = flagged.geometry.to_crs(metric)
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    columns = ["hotspot", "n_flagged", "meter_ids"]
    columns += ["score_total"] if score_col else []
    columns += ["energy_total_kwh"] if energy_col else []
    columns += ["centroid_lon", "centroid_lat", "area_m2"]
    attrs = {
        "eps_m": float(eps_m),
        "min_samples": int(min_samples),
        "metric_crs": metric.to_string(),
        "n_flagged": len(flagged),
    }
    if len(flagged) == 0:
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WGS84)
        empty.attrs.update(attrs, n_noise=0)
        return empty
    labels = DBSCAN(eps=float(eps_m), min_samples=int(min_samples)).fit_predict(xy)
    ids = flagged[id_col].to_numpy(dtype=object) if id_col else flagged.index.to_numpy()
    rows, hulls = [], []
    for label in np.unique(labels[labels >= 0]):
        member = labels == label
        cx, cy = xy[member].mean(axis=0)
        hull = shapely.MultiPoint(xy[member]).convex_hull.buffer(float(buffer_m))
        row = {"n_flagged": int(member.sum()), "meter_ids": sorted(map(str, ids[member]))}
        if score_col:
            row["score_total"] = float(pd.to_numeric(flagged[score_col][member]).sum())
        if energy_col:
            row["energy_total_kwh"] = float(pd.to_numeric(flagged[energy_col][member]).sum())
        row.update({"cx": cx, "cy": cy, "area_m2": float(hull.area)})
        rows.append(row)
        hulls.append(hull)
    table = pd.DataFrame(rows)
    geoms = gpd.GeoSeries(hulls, crs=metric)
    if len(table):
        centre = gpd.GeoSeries(gpd.points_from_xy(table["cx"], table["cy"]), crs=metric)
        centre = centre.to_crs(WGS84)
        table["centroid_lon"], table["centroid_lat"] = centre.x.to_numpy(), centre.y.to_numpy()
        # Largest first; ties by position so the numbering is reproducible.
        order = np.lexsort((table["cx"].to_numpy(), -table["n_flagged"].to_numpy()))
        table, geoms = table.iloc[order].reset_index(drop=True), geoms.iloc[order]
        table["hotspot"] = np.arange(1, len(table) + 1)
    else:
        table = pd.DataFrame({c: [] for c in columns})
    out = gpd.GeoDataFrame(
        table[columns], geometry=geoms.to_crs(WGS84).reset_index(drop=True), crs=WGS84
    )
    out.attrs.update(attrs, n_noise=int((labels < 0).sum()))
    return out


# --------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------
#: What a cell's value x is in :func:`getis_ord_gi_star` (else: a column name, summed).
GI_VALUES: dict[str, str] = {
    "count": "number of flagged meters in the cell; every cell of the grid over the meters",
    "rate": "flagged meters / all meters in the cell; only cells with meters",
}


def gi_star(values: np.ndarray, neighbours) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values for binary weights.

    Parameters
    ----------
    values : numpy.ndarray
        x_j of the n cells.
    neighbours : scipy.sparse matrix
        n x n binary weights w_ij, including w_ii = 1 (the "star").

    Returns
    -------
    z, p : numpy.ndarray
        Gi* (a z-score) and 2 * (1 - Phi(|z|)); NaN when all x are equal.

    Notes
    -----
    With X = mean(x), S = sqrt(mean(x^2) - X^2), W_i = sum_j w_ij and
    S1_i = sum_j w_ij^2 (Ord & Getis 1995, eq. 14)::

        Gi*_i = (sum_j w_ij x_j - X W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1)))

    References
    ----------
    .. [1] A. Getis and J. K. Ord, "The analysis of spatial association by use
       of distance statistics", Geographical Analysis 24(3), 189-206, 1992.
    .. [2] J. K. Ord and A. Getis, "Local spatial autocorrelation statistics:
       distributional issues and an application", Geographical Analysis 27(4),
       286-306, 1995.
    """
    from scipy.stats import norm

    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = x.mean()
    s = math.sqrt(max((x**2).mean() - mean**2, 0.0))
    w_sum = np.asarray(neighbours.sum(axis=1)).ravel()
    w_sq = np.asarray(neighbours.multiply(neighbours).sum(axis=1)).ravel()
    lag = neighbours @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = s * np.sqrt((n * w_sq - w_sum**2) / (n - 1)) if n > 1 else np.zeros(n)
        z = np.where(denom > 0, (lag - mean * w_sum) / denom, np.nan)
    p = 2.0 * norm.sf(np.abs(z))
    return z, p


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of many tests [1]_.

    Calling the tests with ``q < alpha`` significant keeps the expected
    share of false discoveries among them at most ``alpha`` (for independent
    or positively dependent tests, as neighbouring Gi* cells are [2]_).

    Parameters
    ----------
    p_values : array-like of float
        One p-value per test; NaN (a test that could not be made) stays NaN
        and does not count as a test.

    Returns
    -------
    numpy.ndarray
        ``q_i = min_{j >= i} (m p_(j) / j)`` in the input order, capped at 1,
        where ``p_(j)`` is the j-th smallest of the ``m`` finite p-values.

    References
    ----------
    .. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery
       rate: a practical and powerful approach to multiple testing", Journal
       of the Royal Statistical Society B 57(1), 289-300, 1995.
    .. [2] Y. Benjamini and D. Yekutieli, "The control of the false discovery
       rate in multiple testing under dependency", Annals of Statistics
       29(4), 1165-1188, 2001.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}.")
    finite = np.isfinite(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise ValueError("p_values must lie in [0, 1] (or be NaN).")
    q = np.full(p.shape, np.nan)
    m = int(finite.sum())
    if m == 0:
        return q
    idx = np.flatnonzero(finite)
    order = idx[np.argsort(p[idx], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


GI_CORRECTIONS: dict[str | None, str] = {
    None: "none: a cell is significant when its own p-value is below alpha (exploratory)",
    "fdr_bh": "Benjamini-Hochberg: significant when its q-value is below alpha, so at most "
    "about alpha of the significant cells are false discoveries",
}
"""``{correction: meaning}`` of :func:`getis_ord_gi_star`'s ``correction`` argument."""


def _check_gi(meters, grid, values, flagged_col, alpha, distance_m, correction=None):
    _check_points(meters)
    if grid not in ("square", "hex"):
        raise ValueError(
            f"grid={grid!r}: Gi* is computed on 'square' or 'hex' cells in the metric CRS; "
            f"for H3 maps use layers.aggregate.aggregate_to_grid."
        )
    if not isinstance(values, str):
        raise TypeError(f"values must be {list(GI_VALUES)} or a column name; got {values!r}.")
    if values not in GI_VALUES and values not in meters.columns:
        raise ValueError(
            f"values={values!r} is neither one of {list(GI_VALUES)} nor a column of meters "
            f"({list(meters.columns)})."
        )
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1; got {alpha!r}.")
    if distance_m is not None:
        _check_positive("distance_m", distance_m)
    if correction not in GI_CORRECTIONS:
        raise ValueError(
            f"correction={correction!r}: choose one of {list(GI_CORRECTIONS)} "
            "('fdr_bh' corrects for the many cells tested)."
        )


def getis_ord_gi_star(
    meters: gpd.GeoDataFrame,
    *,
    cell_size_m: float = 500.0,
    grid: str = "square",
    values: str = "count",
    flagged_col: str | None = "flagged",
    distance_m: float | None = None,
    alpha: float = 0.05,
    correction: str | None = None,
    study_area=None,
    crs=None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of flagged meters on a grid.

    Parameters
    ----------
    meters : geopandas.GeoDataFrame
        All meters (points, any CRS) with the ``flagged_col`` column.
    cell_size_m : float, default 500.0
        Edge of the square or hexagonal cells. [m]
    grid : {"square", "hex"}, default "square"
    values : str, default "count"
        The cell value x, one of :data:`GI_VALUES` (``"count"`` of flagged
        meters; ``"rate"``, flagged / all meters, which does not simply
        follow meter density), or a column summed over the flagged meters
        (e.g. their energy [kWh]).
    flagged_col : str or None, default "flagged"
        Boolean column of flagged meters; None: all are flagged.
    distance_m : float, optional
        Cells whose centres are at most this far apart are neighbours
        (binary weights, the cell itself included). Default: the adjacent
        cells (8 for squares, 6 for hexagons). [m]
    alpha : float, default 0.05
        Significance level of the ``spot`` column (two-sided).
    correction : {None, "fdr_bh"}, default None
        Correction for the many cells tested (:data:`GI_CORRECTIONS`): None
        compares each cell's p-value with ``alpha`` (exploratory: about
        ``alpha`` of all cells are significant by chance); ``"fdr_bh"``
        compares the Benjamini-Hochberg q-value (:func:`benjamini_hochberg`).
    study_area : optional
        The grid covers the study area's bounds instead of the meters'
        (see :func:`layers.validate.study_area_polygon`).
    crs : optional
        Metric CRS; default the UTM zone of the meters.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell in WGS84: ``cell`` (label), ``n_meters``,
        ``n_flagged``, ``value`` (x), ``n_neighbours`` (W_i, self included),
        ``gi_z`` (Gi*, a z-score), ``gi_p`` (two-sided p-value), ``spot``
        (``"hot"``, ``"cold"`` or ``"ns"``) and ``gi_q`` (Benjamini-Hochberg
        q-value, whatever the correction). ``attrs``: ``metric_crs``,
        ``cell_size_m``, ``distance_m``, ``values``, ``alpha``,
        ``correction``, ``n_tests`` (cells with a z-score) and
        ``expected_by_chance`` (``alpha * n_tests``: significant cells
        expected with no pattern at all, uncorrected).

    Raises
    ------
    TypeError, ValueError, LayerError
        For bad arguments, a frame without CRS, or non-point geometries.

    Notes
    -----
    See :func:`gi_star` for the formula [1]_ [2]_.

    References
    ----------
    .. [1] A. Getis and J. K. Ord, "The analysis of spatial association by use
       of distance statistics", Geographical Analysis 24(3), 189-206, 1992.
    .. [2] J. K. Ord and A. Getis, "Local spatial autocorrelation statistics:
       distributional issues and an application", Geographical Analysis 27(4),
       286-306, 1995.
    """
    _check_gi(meters, grid, values, flagged_col, alpha, distance_m, correction)
    from scipy.spatial import cKDTree

    from layers.validate import study_area_polygon

    cells = make_grid(grid, cell_size_m=cell_size_m)
    metric = metric_crs(meters, crs)
    present = _present(meters.geometry)
    pts = meters.geometry[present].to_crs(metric)
    flag = _flag_mask(meters, flagged_col)[present]
    ci, cj = cells.index(pts.x.to_numpy(), pts.y.to_numpy())
    per_point = pd.DataFrame({"i": ci, "j": cj, "flag": flag})
    if values not in GI_VALUES:
        v = pd.to_numeric(meters[values][present], errors="coerce").fillna(0.0).to_numpy()
        per_point["v"] = np.where(flag, v, 0.0)
    stats = per_point.groupby(["i", "j"]).agg(
        n_meters=("flag", "size"),
        n_flagged=("flag", "sum"),
        **({"value": ("v", "sum")} if "v" in per_point else {}),
    )
    if values == "rate":
        table = stats.reset_index()
        table["value"] = table["n_flagged"] / table["n_meters"]
    else:
        area = study_area_polygon(study_area)
        if area is not None:
            bounds = gpd.GeoSeries([area], crs=WGS84).to_crs(metric).total_bounds
        else:
            bounds = pts.total_bounds
        gi, gj = cells.cover(*bounds)
        table = pd.DataFrame({"i": gi, "j": gj}).merge(
            stats.reset_index(), on=["i", "j"], how="left"
        )
        table[["n_meters", "n_flagged"]] = table[["n_meters", "n_flagged"]].fillna(0)
        if values == "count":
            table["value"] = table["n_flagged"].astype(float)
        else:
            table["value"] = table["value"].fillna(0.0)
    table = table.sort_values(["i", "j"]).reset_index(drop=True)
    d = float(distance_m) if distance_m is not None else cells.neighbour_distance
    cx, cy = cells.centres(table["i"].to_numpy(), table["j"].to_numpy())
    tree = cKDTree(np.column_stack([cx, cy]))
    weights = tree.sparse_distance_matrix(tree, d, output_type="coo_matrix").tocsr()
    weights.data[:] = 1.0
    weights.setdiag(1.0)  # the star: each cell is its own neighbour
    z, p = gi_star(table["value"].to_numpy(dtype=float), weights)
    q = benjamini_hochberg(p)
    tested = p if correction is None else q
    spot = np.where(tested < alpha, np.where(z > 0, "hot", "cold"), "ns")
    out = gpd.GeoDataFrame(
        {
            "cell": cells.labels(table["i"], table["j"]),
            "n_meters": table["n_meters"].astype(np.int64).to_numpy(),
            "n_flagged": table["n_flagged"].astype(np.int64).to_numpy(),
            "value": table["value"].to_numpy(dtype=float),
            "n_neighbours": np.asarray(weights.sum(axis=1)).ravel().astype(np.int64),
            "gi_z": z,
            "gi_p": p,
            "spot": spot.astype(object),
            "gi_q": q,
        },
        geometry=gpd.GeoSeries(
            cells.polygons(table["i"].to_numpy(), table["j"].to_numpy()), crs=metric
        ).to_crs(WGS84),
        crs=WGS84,
    )
    out.attrs.update(
        {
            "metric_crs": metric.to_string(),
            "cell_size_m": float(cell_size_m),
            "distance_m": d,
            "values": values,
            "alpha": float(alpha),
            "correction": correction,
            "n_tests": int(np.isfinite(p).sum()),
            "expected_by_chance": float(alpha) * int(np.isfinite(p).sum()),
        }
    )
    return out
