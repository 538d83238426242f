"""Rule detector: transparent thresholds on named load features.

For a team without inspection labels yet. Each :class:`Rule` is one
physically motivated test ("the load at night is as high as by day"); a
meter earns the rule's points when it fires, and is flagged when its points
reach ``min_points``. The rules that fired are the reasons, in the words an
inspector uses.
"""

from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from detectors.robust import _column_index

__all__ = ["DEFAULT_MIN_POINTS", "DEFAULT_RULES", "OPERATORS", "Rule", "RuleDetector"]

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
"""``{symbol: comparison}`` a :class:`Rule` may use."""


@dataclass(frozen=True)
class Rule:
    """One threshold test on one feature.

    Parameters
    ----------
    feature : str or int
        Column name (DataFrame input) or column index (NumPy input).
    op : {">", ">=", "<", "<="}
        The rule fires when ``value op threshold``; a NaN value never fires.
    threshold : float
        In the feature's unit.
    points : float, default 1.0
        Weight of the rule in the meter's total.
    label : str, default ""
        What the rule means, in an inspector's words ("flat load 24/7").
    why : str, default ""
        Why the threshold is where it is (physics, tariff, literature).
    """

    feature: str | int
    op: str
    threshold: float
    points: float = 1.0
    label: str = ""
    why: str = ""

    def fires(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: where the rule fires (NaN: never)."""
        with np.errstate(invalid="ignore"):
            return OPERATORS[self.op](values, self.threshold) & ~np.isnan(values)

    def describe(self) -> str:
        """``label (feature op threshold)``, e.g. "flat load 24/7 (night_day_ratio > 0.8)"."""
        test = f"{self.feature} {self.op} {self.threshold:g}"
        return f"{self.label} ({test})" if self.label else test


DEFAULT_RULES: dict[str, Rule] = {
    "far_above_peers": Rule(
        "level_vs_peer",
        ">=",
        3.0,
        label="far above its peers",
        why="One ASIC miner draws 3-3.5 kW around the clock, about 8x the mean load of "
        "an ordinary household (0.3-0.5 kW); 3x its peer group's median leaves room "
        "for large families and busy shops.",
    ),
    "never_switches_off": Rule(
        "base_load_ratio",
        ">=",
        0.5,
        label="never switches off",
        why="A rig sets a floor under the load close to its mean (ratio near 1); the "
        "nightly floor of a home or shop is its fridge and standby, a quarter of its "
        "mean or less.",
    ),
    "flat_load_24_7": Rule(
        "plateau_share",
        ">=",
        0.5,
        label="flat load 24/7",
        why="Constant-power rigs hold the load at its upper level most hours; ordinary "
        "loads reach it only at their daily peaks (10-30 % of hours).",
    ),
    "runs_through_the_night": Rule(
        "night_day_ratio",
        ">=",
        0.8,
        label="runs through the night",
        why="Rigs draw as much at 02:00 as at 14:00 (ratio about 1); homes, shops and "
        "offices use far less at night (0.2-0.5).",
    ),
    "steady_hour_to_hour": Rule(
        "hour_to_hour_variability",
        "<=",
        0.1,
        label="steady hour to hour",
        why="A rig's power varies by about 1 % between hours; cooking, lighting and "
        "opening hours make ordinary loads jump by tens of percent.",
    ),
    "new_load_appeared": Rule(
        "step_fit",
        ">=",
        0.5,
        label="new constant load appeared",
        why="Installing rigs is a lasting step up that explains most of the day-to-day "
        "variation of the daily energy (the onset is reported from step_fit >= 0.5).",
    ),
}
"""``{name: Rule}``: the default rule set on :data:`detectors.features.FEATURES` names.

One point each; :data:`DEFAULT_MIN_POINTS` of them flag a meter. Each
threshold sits between the physics of a constant-power rig and the range of
ordinary loads, with a margin; the ``why`` of each rule says where it comes
from. One registry drives the detector and its documentation.
"""

DEFAULT_MIN_POINTS = 4.0
"""Points that flag a meter under :data:`DEFAULT_RULES` (4 of the 6 rules)."""


class RuleDetector(OutlierMixin, BaseEstimator):
    """Flag meters whose features break enough physically motivated rules.

    ``score_samples = -points`` (points of the rules that fired; higher =
    more normal), ``offset_ = 0.5 - min_points`` rounded so that
    ``decision_function < 0`` exactly when ``points >= min_points``.

    Parameters
    ----------
    rules : None, dict of str to Rule, or sequence of Rule, default None
        None uses :data:`DEFAULT_RULES`, which name features of
        :data:`detectors.features.FEATURES` and therefore need a DataFrame.
        Rules on a NumPy array refer to columns by int index.
    min_points : float or None, default None
        Points that flag a meter. None: :data:`DEFAULT_MIN_POINTS` with the
        default rules, else the sum of all points (every rule must fire).

    Attributes
    ----------
    rules_ : tuple of Rule
    columns_ : ndarray of int
        Column of ``X`` each rule tests.
    min_points_ : float
    offset_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> det = RuleDetector(rules=[Rule(0, ">", 0.8, label="flat load")]).fit(np.zeros((2, 1)))
    >>> det.predict(np.array([[0.5], [0.9]])).tolist()
    [1, -1]
    """

    def __init__(self, rules=None, min_points=None):
        self.rules = rules
        self.min_points = min_points

    def fit(self, X, y=None):
        """Resolve the rules against the columns of ``X``; nothing is learned from the data.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        rules = _check_rules(self.rules)
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        self.columns_ = np.array(
            [
                _column_index(
                    r.feature,
                    names,
                    self.n_features_in_,
                    owner="RuleDetector",
                    what=f"rule {r.describe()!r}",
                )
                for r in rules
            ],
            dtype=np.int64,
        )
        self.rules_ = rules
        total = float(sum(r.points for r in rules))
        if self.min_points is None:
            mp = DEFAULT_MIN_POINTS if self.rules is None else total
        else:
            mp = self.min_points
        if isinstance(mp, bool) or not isinstance(mp, numbers.Real) or not 0 < mp <= total:
            raise ValueError(
                f"RuleDetector: min_points must be in (0, {total:g}] (the points of all rules), "
                f"got {mp!r}; lower it or add rules."
            )
        self.min_points_ = float(mp)
        # Just below -min_points: a meter with exactly min_points is flagged.
        self.offset_ = -self.min_points_ + 1e-9 * max(1.0, self.min_points_)
        return self

    def fired(self, X) -> np.ndarray:
        """Which rule fired for which meter.

        Returns
        -------
        ndarray of bool, shape (n_meters, n_rules)
            Column ``k`` belongs to ``rules_[k]``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        if not self.rules_:
            return np.zeros((len(X), 0), dtype=bool)
        return np.column_stack(
            [r.fires(X[:, c]) for r, c in zip(self.rules_, self.columns_, strict=True)]
        )

    def evidence(self, X) -> np.ndarray:
        """Points each column earned (the points of the rules on it that fired).

        Returns
        -------
        ndarray, shape (n_meters, n_features_in_)
            Non-negative; the row sum is ``-score_samples``.
        """
        fired = self.fired(X)
        out = np.zeros((len(fired), self.n_features_in_))
        for k, (r, c) in enumerate(zip(self.rules_, self.columns_, strict=True)):
            out[:, c] += r.points * fired[:, k]
        return out

    def score_samples(self, X) -> np.ndarray:
        """Minus the points of the rules that fired (higher = more normal)."""
        fired = self.fired(X)
        points = np.array([r.points for r in self.rules_], dtype=np.float64)
        return -(fired.astype(np.float64) @ points)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples - offset_``: below 0 when the points reach ``min_points``."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for a flagged meter (points >= min_points), +1 otherwise."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def mining_score(self, X) -> np.ndarray:
        """Points mapped to [0, 1): ``points / (points + min_points)``, 0.5 when flagged."""
        p = -self.score_samples(X)
        return p / (p + self.min_points_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _check_rules(rules) -> tuple[Rule, ...]:
    if rules is None:
        rules = DEFAULT_RULES
    if isinstance(rules, dict):
        rules = tuple(rules.values())
    if isinstance(rules, Rule) or not isinstance(rules, list | tuple):
        raise TypeError(
            f"RuleDetector: rules must be None, a dict {{name: Rule}} or a list of Rule, got "
            f"{type(rules).__name__}; wrap a single rule in a list: rules=[rule]."
        )
    if not rules:
        raise ValueError("RuleDetector: rules is empty; give at least one Rule.")
    allowed = ", ".join(repr(o) for o in OPERATORS)
    for r in rules:
        if not isinstance(r, Rule):
            raise TypeError(
                f"RuleDetector: every rule must be a detectors.rules.Rule, got "
                f"{type(r).__name__} {r!r}."
            )
        if r.op not in OPERATORS:
            raise ValueError(f"RuleDetector: rule {r.feature!r} has op {r.op!r}; use {allowed}.")
        if not isinstance(r.threshold, numbers.Real) or not np.isfinite(r.threshold):
            raise ValueError(
                f"RuleDetector: rule {r.feature!r} needs a finite threshold, got {r.threshold!r}."
            )
        if isinstance(r.points, bool) or not isinstance(r.points, numbers.Real) or r.points <= 0:
            raise ValueError(
                f"RuleDetector: rule {r.feature!r} needs points > 0, got {r.points!r}."
            )
    return tuple(rules)
