"""Every detector is a scikit-learn outlier detector: the common checks, and batch independence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from detectors.features import FEATURES
from detectors.rules import Rule, RuleDetector
from detectors.supervised import NoPositiveLabelsWarning, SupervisedDetector
from detectors.unsupervised import UnsupervisedDetector

# On the checks' unnamed NumPy arrays: the rule detector needs a rule by column
# index (its default rules name features); the unsupervised detector counts every
# column upwards; the supervised one learns from y == 1, or falls back to its prior
# (with a warning) when a check fits without y.
ESTIMATORS = [
    RuleDetector(rules=[Rule(0, ">", 1.0, label="column 0 high")]),
    UnsupervisedDetector(),
    SupervisedDetector(n_bags=5, random_state=0),
]


@pytest.mark.filterwarnings("ignore::detectors.supervised.NoPositiveLabelsWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


def _features(n=60, seed=0):
    """Feature table with the registry's columns: ordinary meters plus 4 flat, high ones."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(1.0, 0.1, (n, len(FEATURES))), columns=list(FEATURES))
    # Weather response near 0 as for most loads (1 %/K would be electric heating,
    # which exonerates a meter).
    for col, sd in (("temperature_sensitivity", 0.1), ("temperature_sensitivity_rel", 0.003)):
        X[col] = rng.normal(0.0, sd, n)
    X["temperature_corr"] = rng.normal(0.0, 0.1, n)
    X["peer_group"] = np.arange(n) % 2
    X.loc[:3, ["level_vs_peer", "load_factor", "base_load_ratio", "plateau_share"]] = 5.0
    return X


def _fitted(name, X):
    if name == "rule":
        return RuleDetector().fit(X)
    if name == "unsupervised":
        return UnsupervisedDetector(
            group_column="peer_group", min_group_size=5, contamination=0.1
        ).fit(X)
    y = np.full(len(X), -1)
    y[[0, 1]] = 1
    y[[10, 11]] = 0
    return SupervisedDetector(group_column="peer_group", min_group_size=5, random_state=0).fit(
        X, y
    )


@pytest.mark.parametrize("name", ["rule", "unsupervised", "supervised"])
def test_a_meter_scores_the_same_alone_and_in_a_batch(name):
    X = _features()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoPositiveLabelsWarning)
        det = _fitted(name, X)
    batch = X.iloc[[0, 5, 7, 20, 33]]
    in_batch = det.score_samples(batch)
    alone = np.array([det.score_samples(batch.iloc[[i]])[0] for i in range(len(batch))])
    np.testing.assert_allclose(alone, in_batch, rtol=0, atol=1e-12)
    # ... and in any other company.
    other = pd.concat([batch.iloc[[3]], X.iloc[40:60], batch.iloc[[0]]])
    s = det.score_samples(other)
    np.testing.assert_allclose([s[0], s[-1]], in_batch[[3, 0]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["rule", "unsupervised", "supervised"])
def test_scoring_has_no_side_effects(name):
    X = _features()
    det = _fitted(name, X)
    before = {k: repr(v) for k, v in vars(det).items()}
    det.score_samples(X)
    det.predict(X)
    det.evidence(X)
    det.mining_score(X)
    assert {k: repr(v) for k, v in vars(det).items()} == before


@pytest.mark.parametrize("name", ["rule", "unsupervised", "supervised"])
def test_the_flat_high_meters_rank_first_with_scores_in_unit_interval(name):
    X = _features()
    det = _fitted(name, X)
    s = det.mining_score(X)
    assert ((s >= 0) & (s <= 1)).all()
    assert s[:4].min() > np.delete(s, range(4)).max()
    assert (det.predict(X)[:4] == -1).all()
