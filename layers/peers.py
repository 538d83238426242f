"""Peer groups for the detectors, and consumption intensity per floor area.

A meter's load is judged against meters like it: the same customer class in
the same district, or the same building use. When a meter's group is too
small to be a reference it falls back to the next coarser level of its
scheme, down to all meters. Works on the output of
:func:`layers.joins.join_meters` (columns ``district``, ``building_use``,
``building_floor_area_m2``) or any frame with the named columns; it needs
no geometry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ALL", "PEER_SCHEMES", "SEPARATOR", "consumption_intensity", "peer_groups"]

ALL = "all"
"""Label of the coarsest level: every meter."""

SEPARATOR = "|"
"""Joins the key values of a level into a label, e.g. ``"residential|西峰区"``."""

#: Scheme name -> levels from finest to coarsest; each level is the columns
#: whose values must be equal. ``()`` is the level of all meters.
PEER_SCHEMES: dict[str, tuple[tuple[str, ...], ...]] = {
    "class_district": (("customer_class", "district"), ("customer_class",), ()),
    "building_use": (("building_use", "district"), ("building_use",), ()),
}


def _check_peer_args(meters, scheme, levels, min_size):
    if not isinstance(meters, pd.DataFrame):
        raise TypeError(f"meters must be a (Geo)DataFrame; got {type(meters).__name__}.")
    if levels is None:
        if scheme not in PEER_SCHEMES:
            raise ValueError(
                f"scheme={scheme!r} is not one of {list(PEER_SCHEMES)}; or pass levels= "
                f"explicitly, e.g. [('customer_class', 'district'), ('customer_class',), ()]."
            )
        levels = PEER_SCHEMES[scheme]
    levels = tuple(tuple(level) for level in levels)
    if not levels:
        raise ValueError("levels is empty; pass at least one level, e.g. [()] for all meters.")
    missing = sorted({c for level in levels for c in level} - set(meters.columns))
    if missing:
        raise ValueError(
            f"meters lacks the column(s) {missing} of the peer levels {list(levels)}; join "
            f"the meters to districts/buildings first (layers.joins.join_meters) or choose "
            f"another scheme."
        )
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer) or min_size < 1:
        raise ValueError(f"min_size must be a positive integer; got {min_size!r}.")
    return levels


def peer_groups(
    meters: pd.DataFrame,
    *,
    scheme: str = "class_district",
    levels=None,
    min_size: int = 10,
) -> pd.DataFrame:
    """A peer-group label per meter, falling back to coarser groups when small.

    Parameters
    ----------
    meters : pandas.DataFrame or geopandas.GeoDataFrame
        One row per meter with the columns the levels name (e.g.
        ``customer_class`` and ``district`` from :func:`layers.joins.join_meters`).
    scheme : str, default "class_district"
        A key of :data:`PEER_SCHEMES`: ``"class_district"`` (customer class
        in the district, then customer class, then all) or ``"building_use"``
        (building use in the district, then building use, then all).
    levels : sequence of tuple of str, optional
        Custom levels, finest first, instead of ``scheme``.
    min_size : int, default 10
        A group with fewer meters than this is too small; its meters take
        the next coarser level.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``meters``, with ``peer_group`` (the key values joined by
        ``"|"``, e.g. ``"residential|西峰区"``, or ``"all"``), ``peer_level``
        (the level's columns joined by ``"|"``, or ``"all"``) and
        ``peer_size`` (meters in the group). A meter whose key values are
        missing at a level skips that level. If even the last level is
        smaller than ``min_size`` the meter still gets it: the detectors then
        see the small ``peer_size``.

    Raises
    ------
    TypeError, ValueError
        For bad arguments or missing columns.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"customer_class": ["residential"] * 3 + ["commercial"],
    ...                   "district": ["A", "A", "B", "A"]})
    >>> peer_groups(m, min_size=2)["peer_group"].tolist()
    ['residential|A', 'residential|A', 'residential', 'all']
    """
    levels = _check_peer_args(meters, scheme, levels, min_size)
    n = len(meters)
    group = np.full(n, None, dtype=object)
    level_name = np.full(n, None, dtype=object)
    size = np.zeros(n, dtype=np.int64)
    for k, level in enumerate(levels):
        todo = pd.isna(group)
        last = k == len(levels) - 1
        if not todo.any():
            break
        if level:
            keys = meters[list(level)].astype(object)
            complete = keys.notna().all(axis=1).to_numpy()
            labels = np.full(n, None, dtype=object)
            if complete.any():
                # Column by column (not a Python join per row): "residential|西峰区".
                parts = keys[complete].astype(str)
                joined = parts.iloc[:, 0]
                for i in range(1, parts.shape[1]):
                    joined = joined + SEPARATOR + parts.iloc[:, i]
                labels[complete] = joined.to_numpy(dtype=object)
            counts = pd.Series(labels[complete]).value_counts()
            sizes = np.zeros(n, dtype=np.int64)
            sizes[complete] = counts.reindex(labels[complete]).to_numpy()
            name = SEPARATOR.join(level)
        else:
            complete = np.ones(n, dtype=bool)
            labels = np.full(n, ALL, dtype=object)
            sizes = np.full(n, n, dtype=np.int64)
            name = ALL
        take = todo & complete & ((sizes >= min_size) | last)
        group[take] = labels[take]
        level_name[take] = name
        size[take] = sizes[take]
    return pd.DataFrame(
        {"peer_group": group, "peer_level": level_name, "peer_size": size}, index=meters.index
    )


def consumption_intensity(
    meters: pd.DataFrame,
    energy,
    *,
    floor_area_col: str = "floor_area_m2",
    building_floor_area_col: str = "building_floor_area_m2",
    id_col: str = "meter_id",
) -> pd.DataFrame:
    """Consumption per floor area [kWh/m2] where a floor area is known.

    Parameters
    ----------
    meters : pandas.DataFrame
        One row per meter; the meter's own floor area ``floor_area_col`` [m2]
        is used where present and positive, else the matched building's
        ``building_floor_area_col`` [m2] (from :func:`layers.joins.join_meters`).
    energy : str or pandas.Series
        Energy of each meter over the period [kWh]: a column of ``meters``,
        or a Series indexed by ``id_col`` values.
    floor_area_col, building_floor_area_col, id_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``meters``: ``floor_area_m2_used`` [m2],
        ``floor_area_source`` (``"meter"``, ``"building"`` or ``"none"``) and
        ``intensity_kwh_m2`` [kWh/m2], NaN where no floor area is known.

    Raises
    ------
    TypeError, ValueError
        For a bad ``energy`` or a missing column.
    """
    if not isinstance(meters, pd.DataFrame):
        raise TypeError(f"meters must be a (Geo)DataFrame; got {type(meters).__name__}.")
    if isinstance(energy, str):
        if energy not in meters.columns:
            raise ValueError(
                f"energy={energy!r} is not a column of meters ({list(meters.columns)}); pass "
                f"a column name or a Series indexed by {id_col}."
            )
        kwh = pd.to_numeric(meters[energy], errors="coerce").to_numpy(dtype=float)
    elif isinstance(energy, pd.Series):
        if id_col not in meters.columns:
            raise ValueError(f"meters has no {id_col!r} column to align energy with.")
        kwh = pd.to_numeric(energy, errors="coerce").reindex(meters[id_col]).to_numpy(float)
    else:
        raise TypeError(
            f"energy must be a column name or a pandas Series [kWh]; got {type(energy).__name__}."
        )

    def area(col):
        if col not in meters.columns:
            return np.full(len(meters), np.nan)
        a = pd.to_numeric(meters[col], errors="coerce").to_numpy(dtype=float)
        return np.where(a > 0, a, np.nan)

    own, building = area(floor_area_col), area(building_floor_area_col)
    use_own = np.isfinite(own)
    use_building = ~use_own & np.isfinite(building)
    used = np.where(use_own, own, building)
    source = np.where(use_own, "meter", np.where(use_building, "building", "none"))
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = kwh / used
    return pd.DataFrame(
        {
            "floor_area_m2_used": used,
            "floor_area_source": source.astype(object),
            "intensity_kwh_m2": intensity,
        },
        index=meters.index,
    )
