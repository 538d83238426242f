"""The plain baseline every labelled model is held against: gradient boosting on the labels.

What an analyst would fit without this project's physics: scikit-learn's
``HistGradientBoostingClassifier`` with balanced class weights, on the same
feature table the detectors see (plus the peer-group code), trained on the
inspected meters only (confirmed miners against meters found not mining).
The supervised detector must rank at least as well; the model card reports
the baseline's cross-validated figures on the labels beside the model's own
(:meth:`detectors.model.MiningModel.fit`), and the quality benchmark scores
it on every population.

References
----------
.. [1] Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting
   decision tree. NeurIPS 30 (the histogram algorithm behind scikit-learn's
   HistGradientBoostingClassifier).
"""

from __future__ import annotations

import numpy as np

from detectors.evaluate import average_precision, roc_auc

__all__ = ["BASELINE", "baseline_cv", "fit_baseline", "make_baseline"]

BASELINE = "HistGradientBoostingClassifier(class_weight='balanced') on the labelled meters"
"""What the baseline is, in the words of the model card."""

CV_FOLDS = 5
"""Folds of the baseline's cross-validation on the labels (at most one per miner)."""


def make_baseline(random_state=0):
    """An unfitted baseline classifier (balanced class weights, fixed seed)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    # Columns without a single value in the training rows (e.g. contract_utilisation
    # without contracted power) are dropped: the binning cannot split them.
    keep = ColumnTransformer(
        [("keep", "passthrough", _has_values)], remainder="drop", verbose_feature_names_out=False
    )
    clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=random_state)
    return make_pipeline(keep, clf)


def _has_values(X):
    """Columns of ``X`` with at least one finite value (a column selector)."""
    a = np.asarray(X, dtype=float)
    return list(np.flatnonzero(np.isfinite(a).any(axis=0)))


def fit_baseline(X, y, random_state=0):
    """The baseline fitted on the labelled rows of ``X``, or None without both verdicts.

    Parameters
    ----------
    X : DataFrame or ndarray, shape (n_meters, n_features)
        Features (NaN allowed).
    y : ndarray of int, shape (n_meters,)
        1 mining, 0 not mining, anything else unlabelled (not used).
    """
    y = np.asarray(y)
    lab = (y == 0) | (y == 1)
    if not (y == 1).any() or not (y == 0).any():
        return None
    clf = make_baseline(random_state)
    return clf.fit(_rows(X, lab), y[lab].astype(int))


def baseline_cv(X, y, *, random_state=0) -> dict:
    """Cross-validated AP and ROC AUC of the baseline on the labelled meters.

    Stratified ``min(CV_FOLDS, miners, non-miners)`` folds; each fold's
    inspected meters are scored by a baseline fitted on the other folds.

    Returns
    -------
    dict
        ``learner``, ``folds``, ``average_precision``, ``roc_auc`` and
        ``scores`` (out-of-fold, in the order of the labelled rows); only
        ``learner`` and ``why`` when there are too few labels.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    lab = np.flatnonzero((y == 0) | (y == 1))
    yy = y[lab].astype(int)
    folds = int(min(CV_FOLDS, (yy == 1).sum(), (yy == 0).sum()))
    if folds < 2:
        return {"learner": BASELINE, "why": "fewer than 2 miners or 2 non-miners labelled"}
    oof = np.full(len(lab), np.nan)
    split = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    for tr, te in split.split(lab, yy):
        clf = make_baseline(random_state).fit(_rows(X, lab[tr]), yy[tr])
        oof[te] = clf.predict_proba(_rows(X, lab[te]))[:, 1]
    return {
        "learner": BASELINE,
        "folds": folds,
        "average_precision": average_precision(yy == 1, oof),
        "roc_auc": roc_auc(yy == 1, oof),
        "scores": oof,
    }


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
