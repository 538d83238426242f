"""Reasons: the few features that drove a meter's score, in an inspector's words.

Every detector exposes ``evidence(X)``: a non-negative amount per feature of
how much it pushed the meter towards mining (rule points, capped robust
z-scores, or the what-if drop in probability when the feature is set to its
peer median). :func:`explain` turns the largest ones into one line per meter::

    flat load 24/7: night/day ratio 0.98; 6.3x the median of residential meters; started 2023-12-02

The words come from the feature registry (``Feature.phrase``, a
``str.format`` template that may use ``{value}`` and ``{peer}``); the
headline is the label of the default rule on the strongest feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["explain", "occlusion", "phrase"]


def phrase(name: str, value: float, *, peer: str | None = None, features=None) -> str:
    """Words for one feature value, e.g. ``"night/day ratio 0.98"``.

    Parameters
    ----------
    name : str
        Feature name; looked up in ``features``.
    value : float
        In the feature's unit.
    peer : str, optional
        Name of the meter's peer group ("residential"), for phrases that
        compare with it.
    features : dict of str to Feature, optional
        Default :data:`detectors.features.FEATURES`.

    Returns
    -------
    str
        ``Feature.phrase`` filled in; ``"<name> <value>"`` for a feature the
        registry does not know or whose phrase cannot be filled.
    """
    feats = _registry() if features is None else features
    f = feats.get(name)
    if f is None or not np.isfinite(value):
        return f"{name} {value:.3g}"
    try:
        text = f.phrase.format(value=value, peer=peer or "peer")
    except (KeyError, IndexError, ValueError):  # a template we cannot fill: say it plainly
        return f"{name} {value:.3g}"
    if peer and "{peer}" not in f.phrase and "peer group" in f.phrase:
        text += f" ({peer})"  # name the yardstick: "... of its peer group (residential)"
    return text


def explain(
    evidence: np.ndarray,
    X: pd.DataFrame,
    *,
    peers=None,
    onset_dates=None,
    headlines: dict[str, str] | None = None,
    top: int = 3,
    features=None,
) -> list[str]:
    """One line of reasons per meter from the evidence of each feature.

    Parameters
    ----------
    evidence : ndarray, shape (n_meters, n_columns)
        Non-negative evidence per column of ``X`` (``detector.evidence(X)``).
    X : DataFrame, shape (n_meters, n_columns)
        The feature values (its column names are feature names).
    peers : array-like of str, optional
        Peer-group name of each meter ("residential"), for ``{peer}``.
    onset_dates : array-like of datetime, optional
        Local date the load stepped up (NaT: none); appended as "started
        <date>" when a meter has reasons and an onset.
    headlines : dict of str to str, optional
        ``{feature: headline}``; the headline of the strongest feature opens
        the line ("flat load 24/7: ..."). Default: the labels of
        :data:`detectors.rules.DEFAULT_RULES`, each only where its rule's
        test passes on the meter's value.
    top : int, default 3
        Most features quoted per meter. A feature whose phrase reads as at
        its registry's ``neutral`` value ("base load stepped up to 1.0x its
        earlier level") is passed over for the next one.
    features : dict of str to Feature, optional
        Default :data:`detectors.features.FEATURES`.

    Returns
    -------
    list of str
        "" for a meter without any evidence.
    """
    _check_explain(evidence, X, top)
    n = len(X)
    names = [str(c) for c in X.columns]
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    peers = [None] * n if peers is None else list(peers)
    onsets = [pd.NaT] * n if onset_dates is None else list(pd.to_datetime(onset_dates))
    rules = None
    if headlines is None:  # the default rules' labels, where their test passes
        rules = _default_rules()
        headlines = {f: r.label for f, r in rules.items()}
    feats = _registry() if features is None else features
    # Strongest first; ties keep the column order, so the text is deterministic.
    order = np.argsort(-evidence, axis=1, kind="stable")
    neutral: dict = {}  # (column, peer) -> the phrase at the feature's neutral value
    lines = []
    for i in range(n):
        cols, parts = [], []
        for j in order[i]:
            if evidence[i, j] <= 0 or len(parts) == top:
                break
            text = phrase(names[j], values[i, j], peer=peers[i], features=feats)
            key = (j, peers[i])
            if key not in neutral:
                neutral[key] = _neutral_phrase(names[j], peers[i], feats)
            if text == neutral[key]:
                continue  # "stepped up to 1.0x": says nothing, quote the next one
            cols.append(j)
            parts.append(text)
        if not cols:
            lines.append("")
            continue
        if pd.notna(onsets[i]):
            parts.append(f"started {pd.Timestamp(onsets[i]):%Y-%m-%d}")
        head = headlines.get(names[cols[0]])
        rule = None if rules is None else rules.get(names[cols[0]])
        if rule is not None and not rule.fires(values[i, cols[0] : cols[0] + 1])[0]:
            head = None  # "new constant load appeared" over a step that explains 4 %
        text = "; ".join(parts)
        lines.append(f"{head}: {text}" if head else text)
    return lines


def occlusion(score, X: np.ndarray, reference: np.ndarray, columns=None) -> np.ndarray:
    """Model-agnostic evidence: how much the score drops when a feature is set to its reference.

    For meter ``i`` and column ``j``: ``max(score(X)_i - score(X with X_ij := reference_ij)_i, 0)``.
    With the peer-group median as reference this answers "how much less suspicious
    would this meter be if this feature were typical of its peers?". Each meter is
    scored on its own values only, so the result does not depend on the batch.

    Parameters
    ----------
    score : callable
        ``score(X) -> ndarray (n_meters,)``, higher = more suspicious.
    X : ndarray, shape (n_meters, n_columns)
    reference : ndarray, shape (n_meters, n_columns)
        Value each feature is set to (e.g. its peer-group median).
    columns : sequence of int, optional
        Columns to test (default all); the others get 0.

    Returns
    -------
    ndarray, shape (n_meters, n_columns)
        Non-negative.
    """
    X = np.asarray(X, dtype=np.float64)
    base = np.asarray(score(X), dtype=np.float64)
    out = np.zeros(X.shape)
    for j in range(X.shape[1]) if columns is None else columns:
        Xj = X.copy()
        Xj[:, j] = reference[:, j]
        out[:, j] = np.maximum(base - np.asarray(score(Xj), dtype=np.float64), 0.0)
    return out


def _neutral_phrase(name, peer, feats) -> str | None:
    """The phrase of ``name`` at its registry's ``neutral`` value (None if it has none)."""
    f = feats.get(name)
    neutral = getattr(f, "neutral", None)
    return None if neutral is None else phrase(name, neutral, peer=peer, features=feats)


def _check_explain(evidence, X, top):
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"X must be a DataFrame whose columns are feature names, got {type(X).__name__}."
        )
    ev = np.asarray(evidence)
    if ev.shape != X.shape:
        raise ValueError(
            f"evidence must have the shape of X {X.shape}, got {ev.shape}; pass "
            "detector.evidence(X) for the same X."
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an int >= 1 (features quoted per meter), got {top!r}.")


def _registry() -> dict:
    try:
        from detectors.features import FEATURES
    except ImportError:  # reasons still work on unnamed or custom features
        return {}
    return FEATURES


def _default_rules() -> dict:
    """``{feature: Rule}``: the first labelled default rule on each feature."""
    from detectors.rules import DEFAULT_RULES

    out: dict = {}
    for rule in DEFAULT_RULES.values():
        if rule.label and isinstance(rule.feature, str):
            out.setdefault(rule.feature, rule)
    return out
