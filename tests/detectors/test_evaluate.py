"""Metrics at an inspection capacity, checked by hand and against scikit-learn."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.evaluate import (
    METRICS,
    average_precision,
    bootstrap_ci,
    breakdown,
    evaluate,
    max_precision_at_k,
    permutation_importance,
    plot_precision_recall,
    precision_at_k,
    recall_at_k,
    roc_auc,
)

matplotlib.use("Agg")

# Ranked by score: m1 (mining), n1, m2 (mining), n2, n3; m3 (mining) is not scored.
Y = [1, 0, 1, 0, 0, 1]
S = [0.9, 0.8, 0.7, 0.2, 0.1, np.nan]


def test_precision_and_recall_at_k_by_hand():
    assert precision_at_k(Y, S, 1) == 1.0
    assert precision_at_k(Y, S, 2) == 0.5
    assert precision_at_k(Y, S, 3) == pytest.approx(2 / 3)
    assert recall_at_k(Y, S, 3) == pytest.approx(2 / 3)  # m3 is never inspected
    assert recall_at_k(Y, S, 6) == 1.0  # ... unless the team inspects every meter
    assert precision_at_k(Y, S, 100) == 0.5  # k larger than the meters: all of them


def test_ties_keep_the_input_order():
    assert precision_at_k([0, 1, 1], [0.5, 0.5, 0.5], 1) == 0.0
    assert precision_at_k([1, 0, 1], [0.5, 0.5, 0.5], 1) == 1.0


def test_average_precision_by_hand_and_against_sklearn():
    # Precision at the rank of each miner: 1/1, 2/3, and m3 last (rank 6): 3/6.
    assert average_precision(Y, S) == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.1
    s = rng.random(200) + y * 0.3
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1)), min_size=2, max_size=40))
def test_metrics_match_sklearn_on_any_ranking(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if y.any():
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    if y.any() and not y.all():
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_undefined_metrics_are_nan():
    assert np.isnan(average_precision([0, 0], [0.1, 0.2]))
    assert np.isnan(roc_auc([1, 1], [0.1, 0.2]))
    assert np.isnan(recall_at_k([0, 0], [0.1, 0.2], 1))


def test_evaluate_collects_every_metric_for_a_card():
    m = evaluate(Y, S, k=(1, 3))
    assert m["n_meters"] == 6 and m["n_mining"] == 3 and m["n_scored"] == 5
    assert m["precision_at_3"] == pytest.approx(2 / 3)
    assert m["recall_at_1"] == pytest.approx(1 / 3)
    assert set(METRICS) <= {k.rsplit("_at_", 1)[0] + ("_at_k" if "_at_" in k else "") for k in m}


def test_breakdown_counts_kinds_in_the_top_k():
    kind = ["rig", "heater", "rig", "home", "home", "rig"]
    b = breakdown(Y, S, kind, k=2)
    assert b.loc["heater", "in_top_k"] == 1
    assert b.loc["rig", "in_top_k"] == 1
    assert b.loc["rig", "recall_at_k"] == pytest.approx(1 / 3)
    assert b.loc["rig", "best_rank"] == 1
    assert np.isnan(b.loc["home", "recall_at_k"])
    assert list(b.index[:2]) == ["rig", "heater"]  # most in the top k first, then best rank


def test_plot_returns_axes():
    ax = plot_precision_recall(Y, S, label="unsupervised", k=(2,))
    assert ax.get_xlabel().startswith("recall")
    assert "AP" in ax.get_legend().get_texts()[0].get_text()


@pytest.mark.parametrize(
    ("y", "s", "k", "exc", "match"),
    [
        ([1, 0], [0.1], 1, ValueError, "same length"),
        ([1, 2], [0.1, 0.2], 1, ValueError, "booleans or 0/1"),
        (["mining", "x"], [0.1, 0.2], 1, ValueError, "booleans or 0/1"),
        ([1, 0], ["a", "b"], 1, TypeError, "numeric"),
        ([1, 0], [np.inf, 0.2], 1, ValueError, r"\+inf"),
        ([1, 0], [0.1, 0.2], 0, ValueError, "at least 1"),
        ([1, 0], [0.1, 0.2], True, TypeError, "must be an int"),
        ([[1, 0]], [[0.1, 0.2]], 1, ValueError, "1-D"),
    ],
)
def test_bad_input_is_named(y, s, k, exc, match):
    with pytest.raises(exc, match=match):
        precision_at_k(y, s, k)


def test_breakdown_needs_one_kind_per_meter():
    with pytest.raises(ValueError, match="one group per meter"):
        breakdown(Y, S, ["a"], k=2)


# -- uncertainty, caps and importance ------------------------------------------------


def test_max_precision_at_k_is_the_cap_of_few_positives():
    # 11 miners among 36 inspections: precision@20 cannot exceed 11/20.
    y = [1] * 11 + [0] * 25
    assert max_precision_at_k(y, 20) == pytest.approx(0.55)
    assert max_precision_at_k(y, 5) == 1.0
    assert max_precision_at_k(y, 100) == pytest.approx(11 / 36)  # all 36 are inspected


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(3)
    y = rng.random(60) < 0.3
    s = y * 0.4 + rng.random(60)
    ci = bootstrap_ci(y, s, n_boot=300, seed=1)
    assert ci["low"] <= ci["estimate"] <= ci["high"]
    assert ci["estimate"] == pytest.approx(average_precision(y, s))
    assert ci == bootstrap_ci(y, s, n_boot=300, seed=1)
    assert ci["n_boot"] == 300 and ci["level"] == 0.95
    narrow = bootstrap_ci(y, s, n_boot=300, seed=1, level=0.5)
    assert ci["low"] <= narrow["low"] <= narrow["high"] <= ci["high"]


def test_bootstrap_ci_of_a_perfect_ranking_is_a_point_when_stratified():
    # Every resample keeps 2 miners ranked above every other meter: AP is always 1.
    ci = bootstrap_ci([1, 1, 0, 0, 0], [0.9, 0.8, 0.3, 0.2, 0.1], n_boot=100)
    assert ci["low"] == ci["high"] == ci["estimate"] == 1.0
    p = bootstrap_ci([1, 1, 0, 0, 0], [0.9, 0.8, 0.3, 0.2, 0.1], "precision_at_k", k=2)
    assert p["estimate"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metric": "f1"}, ValueError, "metric must be one of"),
        ({"metric": 3}, TypeError, "metric must be"),
        ({"n_boot": 0}, ValueError, "n_boot"),
        ({"level": 1.5}, ValueError, "level"),
    ],
)
def test_bootstrap_ci_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        bootstrap_ci([1, 0], [0.5, 0.1], **kwargs)


def test_permutation_importance_finds_the_feature_the_score_uses():
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"used": rng.random(40), "ignored": rng.random(40)})
    y = (X["used"] > 0.6).to_numpy()
    imp = permutation_importance(lambda d: d["used"].to_numpy(), X, y, n_repeats=5)
    assert imp.attrs["baseline"] == 1.0
    assert list(imp.index) == ["used", "ignored"]
    assert imp.loc["used", "importance"] > 0.2
    assert imp.loc["ignored", "importance"] == 0.0 and imp.loc["ignored", "std"] == 0.0
    with pytest.raises(ValueError, match="align"):
        permutation_importance(lambda d: d["used"], X, y[:5])
    with pytest.raises(ValueError, match="not in X"):
        permutation_importance(lambda d: d["used"], X, y, columns=["nope"])
