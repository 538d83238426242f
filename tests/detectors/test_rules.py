"""The rule detector: hand-checkable thresholds, points and the rules as reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.features import FEATURES
from detectors.rules import DEFAULT_MIN_POINTS, DEFAULT_RULES, OPERATORS, Rule, RuleDetector

RULES = [
    Rule("night_day_ratio", ">=", 0.8, label="runs through the night"),
    Rule("load_factor", ">", 0.7, points=2.0, label="flat load"),
    Rule("hour_to_hour_variability", "<", 0.05, label="steady"),
]


def _frame(rows):
    return pd.DataFrame(
        rows, columns=["night_day_ratio", "load_factor", "hour_to_hour_variability"]
    )


def test_a_row_breaking_exactly_the_thresholds_is_flagged_with_those_rules():
    X = _frame(
        [
            [0.8, 0.71, 0.049],  # every rule fires, at the threshold: 1 + 2 + 1 points
            [0.79, 0.71, 0.05],  # only "flat load": 2 points
            [0.2, 0.3, 0.5],  # none
            [np.nan, 0.9, 0.01],  # a missing value never fires: 3 points
        ]
    )
    det = RuleDetector(rules=RULES, min_points=3).fit(X)
    np.testing.assert_array_equal(det.fired(X), [[1, 1, 1], [0, 1, 0], [0, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(det.score_samples(X), [-4, -2, 0, -3])
    np.testing.assert_array_equal(det.predict(X), [-1, 1, 1, -1])
    np.testing.assert_allclose(det.mining_score(X), [4 / 7, 2 / 5, 0, 0.5])
    np.testing.assert_array_equal(det.evidence(X)[1], [0, 2, 0])


def test_default_min_points_is_all_rules_for_custom_rules():
    det = RuleDetector(rules=RULES).fit(_frame([[0, 0, 1]]))
    assert det.min_points_ == 4.0
    assert det.predict(_frame([[0.9, 0.9, 0.01], [0.9, 0.9, 0.2]])).tolist() == [-1, 1]


def test_rules_by_column_index_on_numpy():
    det = RuleDetector(rules=[Rule(1, "<=", 0.0)]).fit(np.zeros((3, 2)))
    assert det.predict(np.array([[5.0, -1.0], [5.0, 1.0]])).tolist() == [-1, 1]


def test_default_rules_name_registry_features_and_explain_themselves():
    assert set(DEFAULT_RULES)  # a registry, not an empty placeholder
    for name, rule in DEFAULT_RULES.items():
        assert rule.feature in FEATURES, name
        assert rule.op in OPERATORS
        assert rule.label and rule.why
    assert 0 < DEFAULT_MIN_POINTS <= sum(r.points for r in DEFAULT_RULES.values())


def test_default_rules_flag_a_rig_and_spare_a_household():
    names = list(FEATURES)
    rig = dict.fromkeys(names, np.nan) | {
        "level_vs_peer": 8.0,
        "base_load_ratio": 0.95,
        "plateau_share": 0.95,
        "night_day_ratio": 1.0,
        "hour_to_hour_variability": 0.02,
        "step_fit": 0.1,
    }
    home = rig | {
        "level_vs_peer": 1.0,
        "base_load_ratio": 0.25,
        "plateau_share": 0.15,
        "night_day_ratio": 0.4,
        "hour_to_hour_variability": 0.5,
    }
    X = pd.DataFrame([rig, home])[names]
    det = RuleDetector().fit(X)
    assert det.predict(X).tolist() == [-1, 1]
    assert det.score_samples(X).tolist() == [-5.0, 0.0]


def test_describe_reads_like_the_rule():
    assert RULES[0].describe() == "runs through the night (night_day_ratio >= 0.8)"
    assert Rule(2, "<", 1.5).describe() == "2 < 1.5"


@pytest.mark.parametrize(
    ("rules", "exc", "match"),
    [
        (Rule(0, ">", 1.0), TypeError, "wrap a single rule in a list"),
        ([], ValueError, "rules is empty"),
        (["night_day_ratio > 1"], TypeError, "detectors.rules.Rule"),
        ([Rule(0, "=>", 1.0)], ValueError, "has op '=>'"),
        ([Rule(0, ">", float("nan"))], ValueError, "finite threshold"),
        ([Rule(0, ">", 1.0, points=0)], ValueError, "points > 0"),
    ],
)
def test_bad_rules_are_named(rules, exc, match):
    with pytest.raises(exc, match=match):
        RuleDetector(rules=rules).fit(np.zeros((2, 1)))


def test_a_rule_on_a_missing_column_says_which():
    with pytest.raises(ValueError, match="names column 'nope', which X does not have"):
        RuleDetector(rules=[Rule("nope", ">", 1.0)]).fit(_frame([[0, 0, 0]]))
    with pytest.raises(ValueError, match="has no column names"):
        RuleDetector().fit(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="column index 5"):
        RuleDetector(rules=[Rule(5, ">", 1.0)]).fit(np.zeros((2, 3)))


def test_min_points_beyond_the_rules_is_refused():
    with pytest.raises(ValueError, match=r"min_points must be in \(0, 4\]"):
        RuleDetector(rules=RULES, min_points=5).fit(_frame([[0, 0, 0]]))
