"""Reasons: the strongest features, in the registry's words, with peers and onset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.features import FEATURES, Feature
from detectors.reasons import explain, occlusion, phrase

FEATS = {
    "night_day_ratio": Feature(
        "night_day_ratio", "1", "d", "w", "high", "night/day ratio {value:.2f}"
    ),
    "level_vs_peer": Feature(
        "level_vs_peer", "1", "d", "w", "high", "{value:.1f}x the median of {peer} meters"
    ),
    "load_factor": Feature("load_factor", "1", "d", "w", "high", "load factor {value:.2f}"),
}


def test_phrase_fills_value_and_peer():
    assert phrase("night_day_ratio", 0.981, features=FEATS) == "night/day ratio 0.98"
    assert phrase("level_vs_peer", 6.3, peer="residential", features=FEATS) == (
        "6.3x the median of residential meters"
    )
    assert phrase("unknown", 1.2345, features=FEATS) == "unknown 1.23"


def test_phrase_names_the_peer_group():
    assert phrase("level_vs_peer", 6.3, peer="residential") == (
        "6.3x the median load of its residential peers"
    )


def test_phrase_names_the_peer_group_when_the_template_does_not():
    old = Feature("level_vs_peer", "1", "d", "w", "high", "{value:.1f}x its peer group")
    text = phrase("level_vs_peer", 6.3, peer="residential", features={"level_vs_peer": old})
    assert text == "6.3x its peer group (residential)"


def test_every_registry_phrase_formats():
    for name in FEATURES:
        assert phrase(name, 0.5, peer="residential")


def test_explain_quotes_the_strongest_features_in_order():
    X = pd.DataFrame(
        {"night_day_ratio": [0.98, 0.3], "level_vs_peer": [6.3, 1.0], "load_factor": [0.9, 0.2]}
    )
    ev = np.array([[5.0, 8.0, 1.0], [0.0, 0.0, 0.0]])
    lines = explain(
        ev,
        X,
        peers=["residential", "residential"],
        onset_dates=[pd.Timestamp("2025-12-02"), pd.NaT],
        headlines={"level_vs_peer": "far above its peers"},
        top=2,
        features=FEATS,
    )
    assert lines == [
        "far above its peers: 6.3x the median of residential meters; night/day ratio 0.98; "
        "started 2025-12-02",
        "",
    ]


def test_explain_passes_over_a_reason_that_reads_as_no_change():
    # A shop whose base load rose 2 % scores a little on base_step_ratio when its peers'
    # floors never move, but "stepped up to 1.0x" tells an inspector nothing: the next
    # feature is quoted instead. At 1.6x it is quoted.
    X = pd.DataFrame(
        {"base_step_ratio": [1.02, 1.6], "load_factor": [0.9, 0.9], "night_day_ratio": [0.5, 0.5]}
    )
    ev = np.array([[6.0, 2.0, 1.0], [6.0, 2.0, 1.0]])
    lines = explain(ev, X, top=2, headlines={})
    assert lines == [
        "load factor 0.90; night/day load ratio 0.50",
        "base load stepped up to 1.6x its earlier level; load factor 0.90",
    ]
    assert FEATURES["base_step_vs_peer"].neutral == 0.0


def test_explain_default_headlines_come_from_the_rules():
    X = pd.DataFrame({"night_day_ratio": [0.98]})
    (line,) = explain(np.array([[1.0]]), X)
    assert line.startswith("runs through the night: night/day load ratio 0.98")


def test_default_headline_only_where_its_rule_passes():
    # step_fit's rule (>= 0.5) is labelled "new constant load appeared": a step that
    # explains 4 % of the daily variation gets no such headline, one of 80 % does.
    X = pd.DataFrame({"step_fit": [0.04, 0.8]})
    lines = explain(np.array([[1.0], [1.0]]), X)
    assert lines == [
        "the step explains 4% of the daily variation",
        "new constant load appeared: the step explains 80% of the daily variation",
    ]


def test_explain_checks_its_input():
    X = pd.DataFrame({"a": [1.0]})
    with pytest.raises(TypeError, match="must be a DataFrame"):
        explain(np.ones((1, 1)), X.to_numpy())
    with pytest.raises(ValueError, match="shape of X"):
        explain(np.ones((1, 2)), X)
    with pytest.raises(ValueError, match="top must be an int >= 1"):
        explain(np.ones((1, 1)), X, top=0)


def test_occlusion_by_hand():
    # score = 2 x0 + x1 (higher = more suspicious); reference 0 -> evidence 2 x0, x1 (>= 0)
    X = np.array([[1.0, 3.0], [2.0, -1.0]])

    def score(a):
        return 2 * a[:, 0] + a[:, 1]

    ev = occlusion(score, X, np.zeros_like(X))
    np.testing.assert_allclose(ev, [[2.0, 3.0], [4.0, 0.0]])
    np.testing.assert_allclose(
        occlusion(score, X, np.zeros_like(X), columns=[1]), [[0, 3], [0, 0]]
    )
