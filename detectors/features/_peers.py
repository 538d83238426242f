"""Peer comparison: the median load of a meter's peer group, the yardstick of the level.

:class:`PeerReference` holds the median ``mean_kw`` [kW] of each peer group
(customer class, then district or building use, coarsest first) and falls
back to a coarser group when one is too small; :func:`peer_reference`
builds it from a feature table. ``level_vs_peer`` and ``base_step_vs_peer``
divide by these medians (:mod:`detectors.features._extract`). A saved model
carries its reference (:meth:`PeerReference.to_dict`), so a meter's score
never depends on which other meters are in the batch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class PeerReference:
    """Median mean load [kW] of peer groups, the yardstick of ``level_vs_peer``.

    Built by :func:`peer_reference`; JSON-serialisable through
    :meth:`to_dict` / :meth:`from_dict` so a saved model carries it and
    scores new meters against the same yardstick.

    Attributes
    ----------
    columns : tuple of str
        Grouping columns, coarsest first (``customer_class``, then extras
        such as ``district`` or ``building_use``).
    min_group_size : int
        A group's median is used only when it has this many meters; else
        the next coarser group (dropping the last column). Groups of the
        coarsest column (the customer class) need only :data:`CLASS_MIN_SIZE`
        meters; below that, all meters.
    overall : tuple of (float, int)
        ``(median mean_kw [kW], number of meters)`` over all meters.
    levels : dict
        ``{k: {key tuple: (median [kW], n)}}`` for the groups formed by the
        first ``k`` columns, ``k = 1 .. len(columns)``.
    """

    columns: tuple[str, ...]
    min_group_size: int
    overall: tuple[float, int]
    levels: dict[int, dict[tuple, tuple[float, int]]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain-JSON form (lists, str, float, int)."""
        return {
            "columns": list(self.columns),
            "min_group_size": int(self.min_group_size),
            "overall": {"median_kw": float(self.overall[0]), "n": int(self.overall[1])},
            "levels": [
                {
                    "columns": list(self.columns[:k]),
                    "groups": [
                        {"key": [str(v) for v in key], "median_kw": float(m), "n": int(n)}
                        for key, (m, n) in sorted(groups.items())
                    ],
                }
                for k, groups in sorted(self.levels.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PeerReference:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or not {"columns", "overall", "levels"} <= set(data):
            raise ValueError(
                "data must be a dict from PeerReference.to_dict() with keys 'columns', "
                f"'min_group_size', 'overall' and 'levels', got {type(data).__name__} "
                f"{sorted(data) if isinstance(data, dict) else ''}."
            )
        columns = tuple(data["columns"])
        levels = {}
        for lev in data["levels"]:
            k = len(lev["columns"])
            levels[k] = {
                tuple(g["key"]): (float(g["median_kw"]), int(g["n"])) for g in lev["groups"]
            }
        o = data["overall"]
        return cls(
            columns=columns,
            min_group_size=int(data.get("min_group_size", 20)),
            overall=(float(o["median_kw"]), int(o["n"])),
            levels=levels,
        )

    def lookup(self, groups: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """Peer median [kW] and peer-group label of each meter.

        Parameters
        ----------
        groups : DataFrame
            Indexed by meter id; its columns must be the first columns of
            :attr:`columns` (missing values fall back to coarser groups).

        Returns
        -------
        median : Series of float
            Peer median mean load [kW].
        label : Series of str
            The group used, e.g. ``"customer_class=residential, district=北城区"``,
            or ``"all meters"``.
        """
        k_max = _check_groups_match(self, groups)
        median = np.full(len(groups), self.overall[0], dtype=float)
        label = np.full(len(groups), "all meters", dtype=object)
        done = np.zeros(len(groups), dtype=bool)
        for k in range(k_max, 0, -1):  # finest first
            cols = list(self.columns[:k])
            # A customer class is a peer group in its own right: a registered data
            # centre compared with all meters would be thousands of times "too high".
            # So the coarsest level needs only CLASS_MIN_SIZE meters.
            need = self.min_group_size if k > 1 else min(self.min_group_size, CLASS_MIN_SIZE)
            table = {key: m for key, (m, n) in self.levels.get(k, {}).items() if n >= need}
            if not table:
                continue
            ref_keys = [_SEP.join(key) for key in table]
            ref_labels = np.array(
                [", ".join(f"{c}={v}" for c, v in zip(cols, key, strict=True)) for key in table],
                dtype=object,
            )
            keys, present = _joined_keys(groups, cols)
            idx = pd.Index(ref_keys).get_indexer(keys)
            hit = present & (idx >= 0) & ~done
            median[hit] = np.fromiter(table.values(), dtype=float, count=len(table))[idx[hit]]
            label[hit] = ref_labels[idx[hit]]
            done |= hit
        return (
            pd.Series(median, index=groups.index, dtype=float),
            pd.Series(label, index=groups.index, dtype=object),
        )


CLASS_MIN_SIZE = 2
"""Meters a group of the coarsest level (the customer class) needs to be used."""

_SEP = "\x1f"  # joins the values of a group key into one hashable string


def _joined_keys(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One string key per row from ``cols``, and whether every value is present."""
    present = frame[cols].notna().all(axis=1).to_numpy()
    key = np.full(len(frame), "", dtype=object)
    for i, c in enumerate(cols):
        text = frame[c].astype("string").fillna("").to_numpy(dtype=object)
        key = key + (_SEP if i else "") + text
    return key, present


def _check_groups_match(ref: PeerReference, groups: pd.DataFrame) -> int:
    cols = tuple(groups.columns)
    if cols != ref.columns[: len(cols)]:
        raise ValueError(
            f"groups has columns {list(cols)}, but the peer_reference was built on "
            f"{list(ref.columns)}; pass groups with the columns {list(ref.columns)} (or a "
            "leading part of them, coarsest first), or rebuild the reference with "
            "peer_reference(features, groups)."
        )
    return len(cols)


def peer_reference(features, groups, *, min_group_size: int = 20) -> PeerReference:
    """Medians of mean load per peer group, to score meters independently of the batch.

    Parameters
    ----------
    features : DataFrame
        Output of :func:`extract_features` (needs ``mean_kw`` and
        ``status``), indexed by meter id. Only meters whose status starts
        with ``"ok"`` or ``"daily_only"`` count.
    groups : DataFrame, Series or None
        Grouping columns, coarsest first (``customer_class``, then e.g.
        ``district`` or ``building_use``), indexed by meter id or with a
        ``meter_id`` column; None: one group of all meters.
    min_group_size : int, default 20
        Groups smaller than this fall back to a coarser group when looked up.

    Returns
    -------
    PeerReference
    """
    groups = _check_peer_reference(features, groups, min_group_size)
    usable = _usable(features["status"]) & np.isfinite(features["mean_kw"].to_numpy(float))
    level = features.loc[usable, "mean_kw"].astype(float)
    overall = (float(level.median()) if len(level) else math.nan, len(level))
    levels: dict[int, dict[tuple, tuple[float, int]]] = {}
    columns: tuple[str, ...] = ()
    if groups is not None:
        columns = tuple(groups.columns)
        g = groups.reindex(level.index)
        values = level.to_numpy()
        for k in range(1, len(columns) + 1):
            keys, present = _joined_keys(g, list(columns[:k]))
            codes, uniques = pd.factorize(keys[present])
            v = values[present]
            order = np.lexsort((v, codes))  # by group, then by level
            n = np.bincount(codes, minlength=len(uniques))
            start = np.r_[0, np.cumsum(n)[:-1]]
            srt = v[order]
            med = (srt[start + (n - 1) // 2] + srt[start + n // 2]) / 2 if len(n) else n
            levels[k] = {
                tuple(u.split(_SEP)): (float(m), int(c))
                for u, m, c in zip(uniques, med, n, strict=True)
            }
    return PeerReference(columns, int(min_group_size), overall, levels)


def _usable(status: pd.Series) -> np.ndarray:
    s = status.astype(str)
    return (s.str.startswith("ok") | s.str.startswith("daily_only")).to_numpy()


def _check_peer_reference(features, groups, min_group_size):
    if not isinstance(features, pd.DataFrame):
        raise TypeError(
            "features must be the DataFrame returned by extract_features, got "
            f"{type(features).__name__}."
        )
    missing = {"mean_kw", "status"} - set(features.columns)
    if missing:
        raise ValueError(
            f"features lacks the column(s) {sorted(missing)}; pass the DataFrame returned by "
            "extract_features(ds)."
        )
    if (
        isinstance(min_group_size, bool)
        or not isinstance(min_group_size, numbers.Integral)
        or min_group_size < 1
    ):
        raise ValueError(
            f"min_group_size must be a positive int, got {min_group_size!r}; the default is 20."
        )
    return _normalise_groups(groups, features.index)


def _normalise_groups(groups, index: pd.Index) -> pd.DataFrame | None:
    """``groups`` as a DataFrame indexed like ``index`` (meter ids), or None."""
    if groups is None:
        return None
    if isinstance(groups, pd.Series):
        groups = groups.to_frame(groups.name if groups.name is not None else "group")
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(
            "groups must be a DataFrame or Series indexed by meter id (or with a meter_id "
            f"column), got {type(groups).__name__}; e.g. registry[['meter_id', "
            "'customer_class', 'district']]."
        )
    if "meter_id" in groups.columns:
        groups = groups.set_index("meter_id")
    if groups.shape[1] == 0:
        raise ValueError(
            "groups has no grouping column; pass e.g. registry[['meter_id', 'customer_class']]."
        )
    groups.index = groups.index.astype(str)
    if groups.index.has_duplicates:
        dup = groups.index[groups.index.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"groups lists some meter ids more than once (e.g. {dup}); keep one row per meter, "
            "e.g. groups.drop_duplicates('meter_id')."
        )
    return groups.reindex(pd.Index(index).astype(str))
