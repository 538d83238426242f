"""How well a ranked list of meters finds mining: metrics at an inspection capacity.

An enforcement team inspects the ``k`` most suspicious meters it can visit in
a campaign, so the headline figures are precision and recall *at k*; average
precision and ROC AUC summarise the whole ranking. Every function takes
``y_true`` (True or 1 = mining) and ``scores`` (higher = more suspicious, the
``score`` column of :meth:`detectors.model.MiningModel.score`).

A meter without a score (NaN: not enough data to score it) is never
inspected: it ranks below every scored meter, so a miner without a score
counts as missed. Ties in ``scores`` keep the input order (a stable sort),
which makes every figure reproducible.

References
----------
.. [1] Manning, C. D., Raghavan, P. and Schütze, H. (2008). Introduction to
   Information Retrieval, Cambridge University Press, section 8.4
   (precision at k, average precision).
.. [2] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
   Bootstrap, Chapman & Hall, chapter 13 (percentile intervals).
.. [3] Breiman, L. (2001). Random forests. Machine Learning 45(1), 5-32,
   section 10 (importance by permuting a variable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "average_precision",
    "bootstrap_ci",
    "breakdown",
    "evaluate",
    "max_precision_at_k",
    "permutation_importance",
    "plot_precision_recall",
    "precision_at_k",
    "recall_at_k",
    "roc_auc",
]


def _check_scores(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Validate and align ``y_true`` and ``scores``; NaN scores become -inf."""
    y = np.asarray(y_true)
    s = np.asarray(scores)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(
            f"y_true and scores must be 1-D (one value per meter), got shapes {y.shape} and "
            f"{s.shape}; pass a column such as result['score']."
        )
    if len(y) != len(s):
        raise ValueError(
            f"y_true and scores must have the same length, got {len(y)} and {len(s)}; "
            "align them on meter_id first (e.g. truth.set_index('meter_id').reindex(ids))."
        )
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        bad = pd.unique(y[~np.isin(y, (0, 1))])[:5] if y.dtype.kind in "biuf" else y.dtype
        raise ValueError(
            f"y_true must hold booleans or 0/1 (1 = mining), got {bad!r}; "
            "convert labels with y_true = (labels == 'mining')."
        )
    if s.dtype.kind not in "biuf":
        raise TypeError(f"scores must be numeric (higher = more suspicious), got dtype {s.dtype}.")
    s = s.astype(float)
    if np.isposinf(s).any():
        raise ValueError("scores must be finite or NaN (not scored), got +inf.")
    return y.astype(bool), np.where(np.isnan(s), -np.inf, s)


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an int (meters inspected), got {type(k).__name__} {k!r}.")
    if k < 1:
        raise ValueError(f"k must be at least 1 (meters inspected), got {k}.")
    return min(int(k), n)


def _order(scores: np.ndarray) -> np.ndarray:
    """Indices from most to least suspicious; ties keep the input order."""
    return np.argsort(-scores, kind="stable")


def precision_at_k(y_true, scores, k: int) -> float:
    """Share of mining meters among the ``k`` most suspicious.

    Parameters
    ----------
    y_true : array-like of bool or {0, 1}, shape (n_meters,)
        True (1) for a mining meter.
    scores : array-like of float, shape (n_meters,)
        Higher = more suspicious; NaN = not scored (ranked last).
    k : int
        Inspection capacity: how many meters the team can visit. When ``k``
        exceeds the number of meters, all meters are inspected.

    Returns
    -------
    float
        Mining meters in the top ``k`` divided by ``min(k, n_meters)``.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], k=3)
    0.6666666666666666
    """
    y, s = _check_scores(y_true, scores)
    k = _check_k(k, len(y))
    return float(y[_order(s)[:k]].mean())


def recall_at_k(y_true, scores, k: int) -> float:
    """Share of all mining meters found among the ``k`` most suspicious.

    Parameters
    ----------
    y_true, scores, k
        As in :func:`precision_at_k`.

    Returns
    -------
    float
        Mining meters in the top ``k`` divided by all mining meters (NaN
        when there is none).

    Examples
    --------
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], k=2)
    0.5
    """
    y, s = _check_scores(y_true, scores)
    k = _check_k(k, len(y))
    n_pos = int(y.sum())
    return float(y[_order(s)[:k]].sum() / n_pos) if n_pos else float("nan")


def average_precision(y_true, scores) -> float:
    """Average of the precision at the rank of every mining meter.

    The area under the precision-recall curve as a step function, computed
    like :func:`sklearn.metrics.average_precision_score`; meters without a
    score rank last.

    Returns
    -------
    float
        In [0, 1]; NaN when there is no mining meter.
    """
    from sklearn.metrics import average_precision_score

    y, s = _check_scores(y_true, scores)
    if not y.any():
        return float("nan")
    # sklearn rejects -inf; any value below every finite score ranks the same.
    floor = (s[np.isfinite(s)].min() - 1.0) if np.isfinite(s).any() else 0.0
    return float(average_precision_score(y, np.where(np.isfinite(s), s, floor)))


def roc_auc(y_true, scores) -> float:
    """Probability that a random mining meter outranks a random other meter.

    The Mann-Whitney rank formula (ties count half, as in scikit-learn's
    ``roc_auc_score``), which is also what the supervised detector's
    cross-validation judges candidates by, hundreds of times per fit
    (:func:`detectors._select.choose`): it costs a fifth of a millisecond on
    1,000 meters, where ``roc_auc_score`` with its input checks costs 8.

    Returns
    -------
    float
        In [0, 1] (0.5 = random ranking); NaN unless both classes occur.
    """
    from scipy.stats import rankdata

    y, s = _check_scores(y_true, scores)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    floor = (s[np.isfinite(s)].min() - 1.0) if np.isfinite(s).any() else 0.0
    r = rankdata(np.where(np.isfinite(s), s, floor))
    return float((r[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


METRICS = {
    "average_precision": average_precision,
    "roc_auc": roc_auc,
    "precision_at_k": precision_at_k,
    "recall_at_k": recall_at_k,
}
"""``{name: function}``: the metrics of :func:`evaluate`, one registry for dispatch and docs."""


def evaluate(y_true, scores, *, k: Sequence[int] | int = (20, 50, 100)) -> dict[str, float]:
    """All metrics of :data:`METRICS` at once, for a model card or a report.

    Parameters
    ----------
    y_true, scores
        As in :func:`precision_at_k`.
    k : int or sequence of int, default (20, 50, 100)
        Inspection capacities.

    Returns
    -------
    dict
        ``n_meters``, ``n_mining``, ``n_scored``, ``average_precision``,
        ``roc_auc`` and ``precision_at_<k>`` / ``recall_at_<k>`` for every
        ``k``; plain floats and ints, ready for JSON.
    """
    y, s = _check_scores(y_true, scores)
    ks = [k] if isinstance(k, int | np.integer) else list(k)
    if not ks:
        raise ValueError("k must name at least one inspection capacity, got an empty list.")
    out: dict[str, float] = {
        "n_meters": len(y),
        "n_mining": int(y.sum()),
        "n_scored": int(np.isfinite(s).sum()),
        "average_precision": average_precision(y, s),
        "roc_auc": roc_auc(y, s),
    }
    for kk in ks:
        out[f"precision_at_{kk}"] = precision_at_k(y, s, kk)
        out[f"recall_at_{kk}"] = recall_at_k(y, s, kk)
    return out


def max_precision_at_k(y_true, k: int) -> float:
    """The highest precision@k any ranking can reach: ``min(n_mining, k) / min(k, n)``.

    With 11 mining meters among 36, precision@20 cannot exceed 0.55; read a
    precision@k against this cap, not against 1.

    Examples
    --------
    >>> max_precision_at_k([1, 1, 0, 0, 0], k=4)
    0.5
    """
    y, _ = _check_scores(y_true, np.zeros(len(np.asarray(y_true))))
    k = _check_k(k, len(y))
    return float(min(int(y.sum()), k) / k)


def _check_bootstrap(metric, n_boot, level):
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(
                f"metric must be one of {sorted(METRICS)} or a callable, got {metric!r}."
            )
        metric = METRICS[metric]
    elif not callable(metric):
        raise TypeError(f"metric must be a name of METRICS or a callable, got {metric!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int (resamples), got {n_boot!r}.")
    if not isinstance(level, float | int) or not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}.")
    return metric


def bootstrap_ci(
    y_true,
    scores,
    metric="average_precision",
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    stratified: bool = True,
    **kwargs,
) -> dict[str, float]:
    """Percentile bootstrap confidence interval of a ranking metric [2]_.

    The meters are resampled with replacement ``n_boot`` times and the
    metric is recomputed on each resample. With ``stratified`` the mining
    and the other meters are resampled apart, so every resample holds as
    many mining meters as the data (the average precision stays defined and
    the precision@k cap does not move). A hold-out of a few dozen
    inspections gives wide intervals: that is the honest figure.

    Parameters
    ----------
    y_true, scores
        As in :func:`precision_at_k`.
    metric : str or callable, default "average_precision"
        A name of :data:`METRICS`, or ``f(y_true, scores, **kwargs) -> float``.
    n_boot : int, default 1000
        Resamples.
    level : float, default 0.95
        Coverage of the interval.
    seed : int, default 0
        Seed of the resampling (reproducible intervals).
    stratified : bool, default True
        Resample mining and other meters separately.
    **kwargs
        Passed to the metric, e.g. ``k=20`` for ``"precision_at_k"``.

    Returns
    -------
    dict
        ``estimate`` (the metric on the data), ``low``, ``high``, ``level``
        and ``n_boot`` (resamples with a finite value).

    Examples
    --------
    >>> ci = bootstrap_ci([1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], n_boot=200)
    >>> ci["low"] <= ci["estimate"] <= ci["high"]
    True
    """
    fn = _check_bootstrap(metric, n_boot, level)
    y, s = _check_scores(y_true, scores)
    rng = np.random.default_rng(seed)
    n = len(y)
    strata = [np.flatnonzero(y), np.flatnonzero(~y)] if stratified else [np.arange(n)]
    strata = [g for g in strata if len(g)]
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in strata])
        values[b] = fn(y[idx], s[idx], **kwargs)
    values = values[np.isfinite(values)]
    alpha = (1.0 - level) / 2.0
    low, high = (
        (float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha)))
        if len(values)
        else (float("nan"), float("nan"))
    )
    return {
        "estimate": float(fn(y, s, **kwargs)),
        "low": low,
        "high": high,
        "level": float(level),
        "n_boot": len(values),
    }


def permutation_importance(
    score,
    X: pd.DataFrame,
    y_true,
    *,
    metric="average_precision",
    columns=None,
    n_repeats: int = 10,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """How much a ranking loses when one feature is shuffled across meters [3]_.

    Each column is permuted ``n_repeats`` times among the rows of ``X``
    (breaking its link with the verdicts while keeping its distribution),
    the meters are re-scored and the metric's drop is recorded. A feature
    the model does not rely on loses nothing; on a small hold-out the drops
    are noisy, so read them with their spread.

    Parameters
    ----------
    score : callable
        ``score(X) -> array`` of scores (higher = more suspicious), e.g. a
        fitted model's ``mining_score``.
    X : pandas.DataFrame
        Feature matrix, one row per meter (aligned with ``y_true``).
    y_true : array-like of bool or {0, 1}
        True (1) for a mining meter.
    metric : str or callable, default "average_precision"
        As in :func:`bootstrap_ci`.
    columns : sequence of str, optional
        Columns to permute; default all.
    n_repeats : int, default 10
        Permutations per column.
    seed : int, default 0
    **kwargs
        Passed to the metric.

    Returns
    -------
    pandas.DataFrame
        Indexed by feature, largest drop first: ``importance`` (mean drop of
        the metric), ``std`` (over the repeats). ``attrs["baseline"]`` is
        the metric with nothing permuted.
    """
    fn = _check_bootstrap(metric, n_repeats, 0.5)
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a DataFrame of features, got {type(X).__name__}.")
    y = np.asarray(y_true)
    if len(y) != len(X):
        raise ValueError(
            f"y_true has {len(y)} values for {len(X)} rows of X; align them on meter_id first."
        )
    columns = list(X.columns) if columns is None else list(columns)
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in X ({list(X.columns)[:5]}...).")
    rng = np.random.default_rng(seed)
    base = float(fn(y, np.asarray(score(X), dtype=float), **kwargs))
    rows = []
    for col in columns:
        drops = []
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[col] = rng.permutation(X[col].to_numpy())
            drops.append(base - float(fn(y, np.asarray(score(Xp), dtype=float), **kwargs)))
        rows.append((col, float(np.mean(drops)), float(np.std(drops))))
    out = pd.DataFrame(rows, columns=["feature", "importance", "std"]).set_index("feature")
    out = out.sort_values("importance", ascending=False)
    out.attrs["baseline"] = base
    return out


def breakdown(y_true, scores, kind, *, k: int = 100) -> pd.DataFrame:
    """Per-kind view of a ranking: which classes or archetypes reach the top ``k``.

    For the confounders (kinds without mining) it counts how many of them a
    team would inspect in vain; for every mining disguise the recall at
    ``k`` says how many of them it would find.

    Parameters
    ----------
    y_true, scores
        As in :func:`precision_at_k`.
    kind : array-like of str, shape (n_meters,)
        The group of each meter: customer class, archetype of a synthetic
        population, district, ...
    k : int, default 100
        Inspection capacity.

    Returns
    -------
    DataFrame
        Indexed by kind, sorted by ``in_top_k`` descending: ``n`` meters,
        ``n_mining``, ``in_top_k`` (meters of the kind among the top ``k``),
        ``mining_in_top_k``, ``recall_at_k`` (of its mining meters; NaN when
        it has none), ``best_rank`` and ``median_rank`` (1 = most suspicious).
    """
    y, s = _check_scores(y_true, scores)
    kind = np.asarray(kind, dtype=object)
    if kind.shape != y.shape:
        raise ValueError(
            f"kind must give one group per meter, got shape {kind.shape} for {len(y)} meters."
        )
    k = _check_k(k, len(y))
    rank = np.empty(len(y), dtype=float)
    rank[_order(s)] = np.arange(1, len(y) + 1)
    df = pd.DataFrame({"kind": kind, "mining": y, "rank": rank, "top": rank <= k})
    g = df.groupby("kind", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "n_mining": g["mining"].sum().astype(int),
            "in_top_k": g["top"].sum().astype(int),
            "mining_in_top_k": g.apply(lambda d: int((d["top"] & d["mining"]).sum())),
            "best_rank": g["rank"].min().astype(int),
            "median_rank": g["rank"].median(),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(4, "recall_at_k", out["mining_in_top_k"] / out["n_mining"].replace(0, np.nan))
    out.attrs["k"] = k
    return out.sort_values(["in_top_k", "best_rank"], ascending=[False, True])


def plot_precision_recall(y_true, scores, *, ax=None, label: str | None = None, k=(20, 50, 100)):
    """Precision-recall curve of a ranking, with the inspection capacities marked.

    Parameters
    ----------
    y_true, scores
        As in :func:`precision_at_k`.
    ax : matplotlib Axes, optional
        Draw into this Axes (e.g. to compare detectors); default a new figure.
    label : str, optional
        Legend entry; the average precision is appended.
    k : sequence of int, default (20, 50, 100)
        Capacities marked on the curve (empty: none).

    Returns
    -------
    matplotlib.axes.Axes
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # an optional, notebook-only dependency
        raise ImportError(
            "plot_precision_recall needs matplotlib: pip install 'matplotlib>=3.8'."
        ) from exc
    y, s = _check_scores(y_true, scores)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    order = _order(s)
    hits = np.cumsum(y[order])
    n = np.arange(1, len(y) + 1)
    n_pos = max(int(y.sum()), 1)
    precision, recall = hits / n, hits / n_pos
    ap = average_precision(y, s)
    text = f"AP {ap:.2f}" if label is None else f"{label} (AP {ap:.2f})"
    (line,) = ax.step(recall, precision, where="post", label=text)
    for kk in k:
        i = _check_k(kk, len(y)) - 1
        ax.plot(recall[i], precision[i], "o", color=line.get_color())
        ax.annotate(
            f"k={kk}",
            (recall[i], precision[i]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    ax.set_xlabel("recall (share of mining meters found)")
    ax.set_ylabel("precision (share of inspections that find mining)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower left")
    return ax
