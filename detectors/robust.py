"""Robust per-peer-group statistics and the direction in which a feature points to mining.

Shared by the detectors: the unsupervised detector scores robust z-scores
against them, the supervised one explains a probability by moving a feature
back to its peer-group median, and the reasons quote "x times the median of
residential meters".

A *peer group* is an integer code per meter (for example the customer class,
or class x district, encoded by :class:`detectors.model.MiningModel`). Groups
with fewer than ``min_group_size`` training meters fall back to the pooled
statistics, and so do codes never seen in training, so a meter's statistics
never depend on the other meters of the batch being scored.

References
----------
.. [1] Iglewicz, B. and Hoaglin, D. C. (1993). How to Detect and Handle
   Outliers. ASQC Quality Press. (Modified z-score 0.6745 (x - median) / MAD;
   1.4826 MAD estimates the standard deviation of a normal sample; 1.2533
   times the mean absolute deviation when the MAD is 0; the interquartile
   range / 1.349 when it is larger and a quarter of the values sit at a
   bound, :data:`BOUND_MASS`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DIRECTIONS", "RobustStats", "resolve_directions"]

DIRECTIONS = {"high": 1, "low": -1, "none": 0}
"""``{suspicious: sign}``: a high value (+1), a low value (-1) or neither (0) points to mining."""

BOUND_MASS = 0.25
"""Share of the peers exactly at a feature's smallest or largest value from which the
robust scale is at least the interquartile range / 1.349 (a normal sample's sigma).

Many features sit exactly at a bound when there is nothing to measure: step_ratio
is 1 and step_fit 0 without an upward split, off_day_share and intermittency 0 for
a one-level load. When about half the peers sit there, the MAD measures only the
few hundredths around that bound and a modest value of the other half reads as
many robust standard deviations. Real London households over January-April, whose
use falls into spring (half have no upward split): the MAD put step_ratio's scale
at 0.034 (IQR 0.140) and step_fit's at 0.004 (IQR 0.043), so a storage heater's
1.5x rise with the cold weeks read as 8 robust standard deviations, and it was
flagged in every seed. A quarter is where the bound reaches the lower or upper
quartile. Measured with ``python -m bench quality``, unsupervised: households
January-April (seeds 1-6) false flags 9 -> 2 of 318 untouched, AP 0.984 -> 0.988,
rigs of 1 kW or more flagged 56 -> 55 of 56; over 2013, the sample city and the
town (with and without farm rigs), seeds 1-3, the same AP and flagged lists. A
floor of 0.3 times the mean-absolute-deviation estimate instead (any column) also
cleared the households (9 -> 1) but cost the town 0.01 AP, as the rigs themselves
inflate a mean deviation; the interquartile range on every column cost the farm
rigs up to 0.05 AP (ties in the middle of plateau_share among synthetic farms)."""
_MAD_TO_SD = 1.4826  # normal consistency of the MAD, Iglewicz and Hoaglin (1993)
_MEANAD_TO_SD = 1.2533  # sqrt(pi / 2): normal consistency of the mean absolute deviation
_IQR_TO_SD = 1.349  # 2 x 0.6745: normal consistency of the interquartile range


def resolve_directions(directions, feature_names, n_features: int, *, owner: str) -> np.ndarray:
    """Signs (+1, -1, 0) of the features, in column order.

    Parameters
    ----------
    directions : None, dict or sequence
        None: the ``suspicious`` direction of every named feature listed in
        :data:`detectors.features.FEATURES`, "high" for any other column
        (including every column of a NumPy array, which has no names).
        A dict ``{column name or index: "high" | "low" | "none"}`` overrides
        those defaults for the columns it names. A sequence gives one
        direction per column.
    feature_names : array of str or None
        ``feature_names_in_`` of the estimator.
    n_features : int
    owner : str
        The estimator's name, for error messages.

    Returns
    -------
    ndarray of int, shape (n_features,)
    """
    names = None if feature_names is None else [str(n) for n in feature_names]
    signs = np.ones(n_features, dtype=int)
    if names is not None:
        known = _feature_registry()
        for j, name in enumerate(names):
            if name in known:
                signs[j] = DIRECTIONS[known[name].suspicious]
    if directions is None:
        return signs
    allowed = ", ".join(repr(d) for d in DIRECTIONS)
    if isinstance(directions, dict):
        items = directions.items()
    elif isinstance(directions, list | tuple | np.ndarray):
        if len(directions) != n_features:
            raise ValueError(
                f"{owner}: directions gives {len(directions)} directions for {n_features} "
                "features; give one per column or a dict {column: direction}."
            )
        items = enumerate(directions)
    else:
        raise TypeError(
            f"{owner}: directions must be None, a dict {{column: direction}} or a sequence, "
            f"got {type(directions).__name__}."
        )
    for key, value in items:
        if value not in DIRECTIONS:
            raise ValueError(
                f"{owner}: direction of column {key!r} must be one of {allowed}, got {value!r}."
            )
        signs[_column_index(key, names, n_features, owner=owner, what="directions")] = DIRECTIONS[
            value
        ]
    return signs


def _column_index(key, names, n_features: int, *, owner: str, what: str) -> int:
    """Position of a column given by name (DataFrame input) or by index."""
    if isinstance(key, bool):
        raise TypeError(f"{owner}: {what} names column {key!r}; use a name or an int index.")
    if isinstance(key, int | np.integer):
        if not -n_features <= key < n_features:
            raise ValueError(
                f"{owner}: {what} refers to column index {key}, but X has {n_features} "
                "columns; fit on a DataFrame to name columns, or fix the index."
            )
        return int(key) % n_features
    if names is None:
        raise ValueError(
            f"{owner}: {what} names column {key!r}, but X has no column names (a NumPy "
            "array); fit on a DataFrame with that column, or refer to it by int index."
        )
    if key not in names:
        near = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        raise ValueError(
            f"{owner}: {what} names column {key!r}, which X does not have; columns are {near}."
        )
    return names.index(key)


def _feature_registry() -> dict:
    """``detectors.features.FEATURES``, or {} while that module is unavailable."""
    try:
        from detectors.features import FEATURES
    except ImportError:  # the estimators also work on plain numeric matrices
        return {}
    return FEATURES


@dataclass(frozen=True)
class RobustStats:
    """Median and robust scale of every feature, per peer group and pooled.

    Attributes
    ----------
    groups : ndarray of int, shape (n_groups,)
        Peer-group codes with their own statistics (at least
        ``min_group_size`` training meters).
    center, scale : ndarray, shape (n_groups + 1, n_features)
        Row ``i`` belongs to ``groups[i]``; the last row holds the pooled
        statistics used for small and unseen groups. ``scale`` estimates a
        standard deviation and is > 0.
    count : ndarray of int, shape (n_groups + 1,)
        Training meters behind each row.
    """

    groups: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    count: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, codes: np.ndarray | None, *, min_group_size: int) -> RobustStats:
        """Statistics of ``X`` (NaN ignored) per code with at least ``min_group_size`` rows."""
        if codes is None:
            codes = np.zeros(len(X), dtype=np.int64)
        uniq, counts = np.unique(codes, return_counts=True)
        big = uniq[counts >= min_group_size]
        rows = [_center_scale(X[codes == g]) for g in big] + [_center_scale(X)]
        return cls(
            groups=big.astype(np.int64),
            center=np.vstack([r[0] for r in rows]),
            scale=np.vstack([r[1] for r in rows]),
            count=np.array([*(counts[counts >= min_group_size]), len(X)], dtype=np.int64),
        )

    def row_of(self, codes: np.ndarray | None, n: int) -> np.ndarray:
        """Row of :attr:`center` for each meter (pooled for small or unseen groups)."""
        pooled = len(self.groups)
        if codes is None or len(self.groups) == 0:
            return np.full(n, pooled, dtype=np.int64)
        pos = np.searchsorted(self.groups, codes)
        pos = np.minimum(pos, len(self.groups) - 1)
        return np.where(self.groups[pos] == codes, pos, pooled)

    def z(self, X: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
        """Robust z-scores ``(x - median) / scale`` of the meter's peer group (NaN stays NaN)."""
        r = self.row_of(codes, len(X))
        return (X - self.center[r]) / self.scale[r]


def _center_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column median and a robust standard deviation, ignoring NaN."""
    p = X.shape[1]
    if len(X) == 0:
        return np.zeros(p), np.ones(p)
    Xn = np.where(np.isfinite(X), X, np.nan)
    has = np.isfinite(Xn).any(axis=0)  # all-NaN columns keep median 0, scale 1
    med, mad, mean_ad = np.zeros(p), np.ones(p), np.ones(p)
    if has.any():
        sub = Xn[:, has]
        med[has] = np.nanmedian(sub, axis=0)
        dev = np.abs(sub - med[has])
        mad[has] = _MAD_TO_SD * np.nanmedian(dev, axis=0)
        mean_ad[has] = _MEANAD_TO_SD * np.nanmean(dev, axis=0)
        # a quarter of the peers or more exactly at a bound: at least the IQR's sigma
        q1, q3 = np.nanpercentile(sub, [25, 75], axis=0)
        n_ok = np.maximum(np.isfinite(sub).sum(axis=0), 1)
        at_bound = np.maximum(
            (sub == np.nanmin(sub, axis=0)).sum(axis=0),
            (sub == np.nanmax(sub, axis=0)).sum(axis=0),
        )
        iqr = np.where(at_bound / n_ok >= BOUND_MASS, (q3 - q1) / _IQR_TO_SD, 0.0)
        mad[has] = np.where(mad[has] > 0, np.maximum(mad[has], iqr), 0.0)
    # A feature that is constant for half the peers (e.g. no missing data) has MAD 0;
    # the mean absolute deviation still measures the spread of the rest. A feature
    # constant for all peers gets a scale relative to its level, so any departure
    # from it is highly unusual but finite.
    scale = np.where(mad > 0, mad, mean_ad)
    floor = 1e-6 * np.maximum(np.abs(med), 1.0)
    return med, np.maximum(scale, floor)
