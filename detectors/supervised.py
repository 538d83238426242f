"""Supervised detector: positive-unlabelled learning from inspection verdicts.

Inspections confirm few miners, and every meter nobody inspected is
*unlabelled*, not innocent. The detector learns positive versus unlabelled
(PU) on the peer-normalised, direction-aware evidence of the unsupervised
detector (its ``prior``), plus the prior's anomaly, with two learners that
suit a few dozen positives:

- bagging [1]_: ``n_bags`` logistic regressions, each on a bootstrap of the
  confirmed miners against a random draw of the other meters (inspected
  "not mining" meters are in every draw), averaged;
- nearest labelled neighbours: the share of confirmed miners among the
  ``n_neighbors`` training meters closest in evidence space, which finds
  the other meters of each disguise a labelled miner stands for, and stays
  low near inspected non-miners (a coal-to-electricity home resembles other
  heated homes, not rigs).

Their mean ``f`` ranks the meters. It becomes a probability with the
Elkan-Noto correction [2]_: a logistic (Platt) fit of "labelled mining" on
the out-of-bag ``f`` estimates ``P(labelled | x)``, whose mean over the
labelled miners is ``c = P(labelled | mining)``; ``P(mining | x) =
sigmoid(a logit f + b)`` is then fitted so that ``c P(mining | x)`` best
explains which meters carry a mining label. With no confirmed miner at all
there is nothing to learn: the detector warns and scores with the prior.

With ``select="1se"`` (what :class:`detectors.model.MiningModel` uses) the
blend is only one candidate: the prior alone, the learners alone, the plain
gradient-boosting baseline, a rank average of the prior and the baseline,
the prior or that stack demoted near inspected non-miners (a benign
look-alike model), and a prior-led blend (three fifths the prior) so
demoted are judged on held-out labels by repeated stratified
cross-validation; the prior-led blend ranks unless another candidate beats
it by more than one corrected standard error (and, unless the prior leads
it, a minimum gain; :mod:`detectors._select`), and the prior alone when
the labels are too few or carry no signal. The winner is ``learner_``; the
figures behind it are ``selection_``.

References
----------
.. [1] Mordelet, F. and Vert, J.-P. (2014). A bagging SVM to learn from
   positive and unlabeled examples. Pattern Recognition Letters 37, 201-209.
.. [2] Elkan, C. and Noto, K. (2008). Learning classifiers from only positive
   and unlabeled data. Proceedings of the 14th ACM SIGKDD, 213-220.
.. [3] Menon, A., van Rooyen, B., Ong, C. S. and Williamson, B. (2015).
   Learning from corrupted binary labels via class-probability estimation.
   Proceedings of the 32nd ICML, 125-134.
.. [4] Breiman, L., Friedman, J. H., Olshen, R. A. and Stone, C. J. (1984).
   Classification and Regression Trees. Wadsworth, section 3.4.3 (the
   one-standard-error rule).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from detectors._select import (
    CANDIDATES,
    DEFAULT_CANDIDATE,
    MIN_GAIN,
    MIN_MINERS,
    NEEDS_BASELINE,
    NEEDS_BENIGN,
    NOT_MINING_USE,
    PRIOR_LED,
    PRIOR_LED_WEIGHT,
    REPEATS,
    WITHOUT_PRIOR,
    benign_share,
    benign_share_loo,
    choose,
    informative,
    kernel_bandwidth,
    percentile_of,
)
from detectors.baseline import make_baseline
from detectors.evaluate import roc_auc
from detectors.reasons import occlusion
from detectors.robust import RobustStats, _column_index, resolve_directions
from detectors.unsupervised import UnsupervisedDetector

__all__ = ["NoPositiveLabelsWarning", "SupervisedDetector"]

_EPS = 1e-4  # keeps logit(score) finite for scores of exactly 0 or 1
_CAP = 8.0  # [robust sd] clip of the evidence when there is no prior to provide it
_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Candidate shares of the prior in the blend for ``prior_weight="auto"``."""
_PLATT_BOUNDS = ((0.05, 2.0), (-10.0, 10.0))
"""Bounds of the calibration's slope and intercept: with ``|logit f| <= logit(1 - _EPS)``
(9.2) the argument of the sigmoid stays within +-28.4, where float64 still tells
neighbouring probabilities apart, so equal probabilities never tie distinct scores."""
_CV_TOLERANCE = 0.01  # [AUC] a weight this close to the best that trusts the prior more wins
_FALLBACK_WEIGHT = 0.5  # "auto" with fewer than two confirmed miners: nothing to validate on


class NoPositiveLabelsWarning(UserWarning):
    """Training labels hold no confirmed miner; the detector falls back to its prior."""


class SupervisedDetector(OutlierMixin, BaseEstimator):
    """Positive-unlabelled learner with calibrated mining probabilities.

    Parameters
    ----------
    prior : None, "drop" or estimator, default None
        The unsupervised detector whose evidence and anomaly are the inputs,
        and the fallback without confirmed miners. None: an
        :class:`~detectors.unsupervised.UnsupervisedDetector` with this
        detector's ``directions``, ``group_column`` and ``min_group_size``.
        A custom prior is fitted on the same ``X``; without a
        ``signed_evidence`` method its anomaly is added to this detector's
        own robust z-scores. "drop": robust z-scores only (fitting without
        a confirmed miner then fails).
    directions : None, dict or sequence, default None
        Suspicious direction of each feature ("high", "low", "none"), as in
        :func:`detectors.robust.resolve_directions`.
    group_column : str, int or None, default None
        Column holding integer peer-group codes (not an input: it selects the
        peer medians that normalise the features and explain scores).
    min_group_size : int, default 20
        Smallest peer group with its own medians.
    n_bags : int, default 50
        Number of bagged logistic regressions.
    unlabelled_ratio : float, default 5.0
        Meters drawn from the unlabelled pool per confirmed miner in each bag.
    C : float, default 100.0
        Inverse L2 regularisation of each logistic regression.
    n_neighbors : int, default 10
        Training meters consulted by the nearest-neighbour learner.
    context : bool, default True
        Also learn from the robust z-scores of the features without a
        suspicious direction (temperature sensitivity, night-length
        correlation, idle days, ...), which tell confounders apart.
    prior_weight : "auto" or float in [0, 1], default 0.5
        Share of the prior's own anomaly in the ranking score ``f`` (the rest
        is the mean of the two learners). A third of the miners labelled
        cannot stand for every disguise and population; the prior's physics
        keeps them ranked where the labels are silent. 0: learners only;
        1: the prior's ranking (the learners still calibrate it). "auto":
        chosen among 0, 0.25, 0.5, 0.75 and 1 by ``cv``-fold cross-validation
        on the labelled meters (ties go to the prior); 0.5 with fewer than two
        confirmed miners. Experimental: over 63 synthetic populations it ranks
        the unlabelled meters worse than the fixed 0.5 (mean AP 0.95-0.96 vs
        0.97-0.98): a dozen hidden miners per fold judge the weights too
        noisily, and ties go to the prior, so it is not the default.
    cv : int, default 5
        Folds of that cross-validation (at most one per confirmed miner).
    prior_saturation : float, default 1.0
        The prior's anomaly ``a`` (in units of its training 99th-percentile
        spread) enters as ``a / (a + prior_saturation)``, which keeps the order
        of the strongest anomalies instead of tying them near 1.
    threshold : float, default 0.5
        Flag a meter when ``P(mining) > threshold``.
    pos_label, neg_label : default 1, 0
        Values of ``y`` for a confirmed miner and for an inspected meter
        found not mining; any other value (e.g. -1 or NaN) is unlabelled.
    select : None or "1se", default None
        With a fixed ``prior_weight``: None keeps the blend; "1se" chooses
        among :data:`detectors._select.CANDIDATES` (prior, blend, learners,
        baseline, stack, prior+benign, stack+benign, prior-led+benign) by repeated stratified
        cross-validation on the labels with the corrected one-standard-error
        rule over the prior (:meth:`_select_learner`; what
        :class:`detectors.model.MiningModel` uses).
    random_state : int, RandomState or None, default None

    Attributes
    ----------
    prior_ : estimator or None
    stats_ : RobustStats
        Peer-group medians of the raw features (gap filling, explanations).
    models_ : list of LogisticRegression
        Empty when fitted without a confirmed miner (``fallback_`` True).
    train_inputs_ : ndarray
        Learner inputs of the training meters (the neighbour search space).
    train_positive_ : ndarray of bool
        Which training meters are confirmed miners.
    platt_ : tuple of float
        ``(a, b)`` of ``P(mining | x) = sigmoid(a logit(f) + b)``.
    label_frequency_ : float
        ``c = P(labelled | mining)`` of the Elkan-Noto correction.
    oob_score_ : ndarray
        Out-of-bag score ``f`` of every training meter.
    prior_weight_ : float
        The prior's share in ``f`` that was used (chosen when "auto").
    cv_scores_ : dict of float to float
        Cross-validated PU AUC of the hidden labelled miners per candidate weight
        (empty unless ``prior_weight="auto"`` or ``select="1se"`` had at least two
        confirmed miners).
    learner_ : str
        What ranks: a key of :data:`detectors._select.CANDIDATES` ("blend"
        without ``select``).
    selection_ : dict
        The cross-validated figures behind ``learner_`` and how the inspected
        non-miners were used (empty without ``select``).
    baseline_ : Pipeline or None
        The gradient-boosting classifier of the "baseline" and "stack"
        candidates, fitted on every inspected meter (None when not chosen).
    benign_ : tuple or None
        ``(inputs, is_benign, bandwidth)`` of the inspected meters for the
        benign look-alike model (None unless a "+benign" candidate won).
    n_positive_, n_negative_, n_unlabelled_ : int
    fallback_ : bool
        True when no confirmed miner was given: scores come from ``prior_``.
    offset_ : float
        ``1 - threshold`` (or the prior's offset in fallback mode).
    """

    def __init__(
        self,
        prior=None,
        directions=None,
        group_column=None,
        min_group_size=20,
        n_bags=50,
        unlabelled_ratio=5.0,
        C=100.0,
        n_neighbors=10,
        context=True,
        prior_weight=0.5,
        cv=5,
        prior_saturation=1.0,
        threshold=0.5,
        pos_label=1,
        neg_label=0,
        select=None,
        random_state=None,
    ):
        self.prior = prior
        self.directions = directions
        self.group_column = group_column
        self.min_group_size = min_group_size
        self.n_bags = n_bags
        self.unlabelled_ratio = unlabelled_ratio
        self.C = C
        self.n_neighbors = n_neighbors
        self.context = context
        self.prior_weight = prior_weight
        self.cv = cv
        self.prior_saturation = prior_saturation
        self.threshold = threshold
        self.pos_label = pos_label
        self.neg_label = neg_label
        self.select = select
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------

    def fit(self, X, y=None):
        """Learn mining from confirmed miners, inspected non-miners and unlabelled meters.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n_meters, n_features)
            Features of all meters, labelled or not (NaN allowed).
        y : array-like, shape (n_meters,), optional
            ``pos_label`` (confirmed mining), ``neg_label`` (inspected, not
            mining) or anything else (unlabelled). None: all unlabelled.

        Returns
        -------
        self
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        n = len(X)
        self._check_params(n)
        pos, neg = self._label_masks(y, n)
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else [str(v) for v in names]
        p = self.n_features_in_
        owner = type(self).__name__
        self.group_index_ = (
            None
            if self.group_column is None
            else _column_index(self.group_column, names, p, owner=owner, what="group_column")
        )
        feat = self._feature_mask()
        self.stats_ = RobustStats.fit(
            X[:, feat], self._codes(X), min_group_size=self.min_group_size
        )
        signs = resolve_directions(self.directions, names, p, owner=owner)
        signs[~feat] = 0
        self.signs_ = signs
        self.prior_ = self._make_prior()
        if self.prior_ is not None:
            self.prior_.fit(self._for_prior(X))
        self.n_positive_ = int(pos.sum())
        self.n_negative_ = int(neg.sum())
        self.n_unlabelled_ = int(n - pos.sum() - neg.sum())
        self.models_ = []
        self.fallback_ = not pos.any()
        if self.fallback_:
            if self.prior_ is None:
                raise ValueError(
                    f"{owner}: y holds no confirmed miner (pos_label={self.pos_label!r}) and "
                    "prior='drop', so there is nothing to learn from; label at least one "
                    "meter as mining or keep the default prior."
                )
            warnings.warn(
                f"{owner}: y holds no confirmed miner (pos_label={self.pos_label!r}); "
                "scoring with the unsupervised prior only, without calibrated probabilities.",
                NoPositiveLabelsWarning,
                stacklevel=2,
            )
            self.offset_ = float(self.prior_.offset_)
            self.learner_, self.selection_ = "prior", {}
            return self
        if pos.all():
            raise ValueError(
                f"{owner}: every meter in y is a confirmed miner; PU learning needs "
                "unlabelled or inspected non-mining meters as well."
            )
        self.anomaly_scale_ = 1.0
        Z = self._inputs(X, fit=True)
        rng = check_random_state(self.random_state)
        # Hundreds of tiny fits (a hundred rows each): BLAS threads only contend for the
        # cores (measured: 14 s single-threaded vs > 600 s with a thread per core on a
        # busy 2-core machine), so the learners run on one thread.
        with threadpool_limits(limits=1):
            self.prior_weight_, self.cv_scores_ = self._choose_prior_weight(Z, pos, neg, rng, X)
            self._fit_learners(Z, X, pos, neg, rng)
            self._calibrate(pos)
        self.offset_ = 1.0 - float(self.threshold)
        return self

    def _check_params(self, n: int):
        owner = type(self).__name__
        if n < 2:
            raise ValueError(f"{owner} needs at least 2 meters, got n_samples={n}.")
        for name in ("n_bags", "n_neighbors", "min_group_size", "cv"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{owner}: {name} must be an int >= 1, got {v!r}.")
        w = self.prior_weight
        if not (isinstance(w, str) and w == "auto") and (
            isinstance(w, bool) or not isinstance(w, numbers.Real) or not 0.0 <= w <= 1.0
        ):
            raise ValueError(
                f"{owner}: prior_weight must be 'auto' or a share in [0, 1], got {w!r}; 'auto' "
                "chooses it by cross-validation on the labels, 0 ranks by the learners alone."
            )
        for name in ("unlabelled_ratio", "C", "prior_saturation"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v <= 0:
                raise ValueError(f"{owner}: {name} must be a number > 0, got {v!r}.")
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0.0 < t < 1.0:
            raise ValueError(
                f"{owner}: threshold must be a probability in (0, 1), got {t!r}; "
                "0.5 flags meters more likely mining than not."
            )
        if self.select not in (None, "1se"):
            raise ValueError(
                f"{owner}: select must be None or '1se', got {self.select!r}; '1se' chooses "
                "among the blend, the prior and the learners by cross-validation."
            )
        if not (
            self.prior is None
            or (isinstance(self.prior, str) and self.prior == "drop")
            or hasattr(self.prior, "fit")
        ):
            raise TypeError(
                f"{owner}: prior must be None, 'drop' or an estimator with fit and "
                f"score_samples, got {self.prior!r}."
            )

    def _label_masks(self, y, n: int) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                f"{type(self).__name__}: y must be 1-D (one label per meter), got shape "
                f"{y.shape}; use y.ravel()."
            )
        check_consistent_length(np.empty((n, 0)), y)
        return y == self.pos_label, y == self.neg_label

    def _make_prior(self):
        if isinstance(self.prior, str):  # "drop"
            return None
        if self.prior is None:
            return UnsupervisedDetector(
                directions=self.directions,
                group_column=self.group_column,
                min_group_size=self.min_group_size,
            )
        return clone(self.prior)

    def _for_prior(self, X: np.ndarray):
        """``X`` as the prior saw it in fit: a DataFrame when this detector had names."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return X
        import pandas as pd

        return pd.DataFrame(X, columns=names)

    def _feature_mask(self) -> np.ndarray:
        mask = np.ones(self.n_features_in_, dtype=bool)
        if self.group_index_ is not None:
            mask[self.group_index_] = False
        return mask

    def _codes(self, X: np.ndarray) -> np.ndarray | None:
        if self.group_index_ is None:
            return None
        col = X[:, self.group_index_]
        if not np.isfinite(col).all() or not np.equal(np.round(col), col).all():
            raise ValueError(
                f"{type(self).__name__}: group_column {self.group_column!r} must hold integer "
                "peer-group codes; encode groups with e.g. pd.factorize(...)[0]."
            )
        return col.astype(np.int64)

    def _inputs(self, X: np.ndarray, *, fit: bool = False) -> np.ndarray:
        """Learner inputs: signed peer evidence of each feature, plus the prior's anomaly."""
        prior = self.prior_
        if prior is not None and hasattr(prior, "signed_evidence"):
            Xp = self._for_prior(X)
            E = prior.signed_evidence(Xp)
            if self.context and hasattr(prior, "context_z"):
                E = np.column_stack([E, prior.context_z(Xp)])
            cap = float(getattr(prior, "cap", _CAP))
        else:
            feat = self._feature_mask()
            z = self.stats_.z(X[:, feat], self._codes(X))
            E = np.clip(self.signs_[feat] * np.nan_to_num(z), -_CAP, _CAP)
            cap = _CAP
        E = E / cap
        if prior is None:
            return E
        a = -np.asarray(prior.score_samples(self._for_prior(X)), dtype=np.float64)
        if fit:
            hi = np.percentile(a, 99) - np.median(a)
            self.anomaly_scale_ = float(hi) if hi > 0 else 1.0
        return np.column_stack([E, a / self.anomaly_scale_])

    def _fit_learners(self, Z, X, pos, neg, rng) -> None:
        """Fit what ``learner_`` ranks with on all labels, and its out-of-sample score ``f``.

        The bagged learners are always fitted (the PU part of every "blend");
        the baseline classifier and the benign look-alike model only when the
        chosen candidate uses them. ``oob_score_`` holds each training meter's
        score from models that did not see its label (out-of-bag bags, its
        neighbours without itself, the baseline's out-of-fold probability, the
        benign kernel without its own), which the calibration needs.
        """
        self.models_, oob = _bagged(Z, pos, neg, rng, self._bag_params())
        self.train_inputs_ = Z
        self.train_positive_ = pos.copy()
        # A meter in every bag (an inspected non-miner) has no out-of-bag vote.
        bag = np.where(np.isnan(oob), self._bag_score(Z), oob)
        learned = 0.5 * (bag + self._neighbour_share(Z, exclude_self=True))
        name = self.learner_
        self.baseline_, self.benign_, self.reference_ = None, None, {}
        base = benign = None
        if name in NEEDS_BASELINE:
            self.baseline_, base = _fit_baseline_oof(X, pos, neg, self._cv_folds(pos, neg), rng)
            self.reference_ = {
                "prior": np.sort(self._prior_score(Z)),
                "baseline": np.sort(base),
            }
        if name in NEEDS_BENIGN:
            insp = np.flatnonzero(pos | neg)
            T, T_benign = Z[insp], neg[insp]
            h = kernel_bandwidth(T)
            self.benign_ = (T, T_benign, h)
            benign = benign_share(T, T_benign, Z, h)
            benign[insp] = benign_share_loo(T, T_benign, h)
        self.oob_score_ = self._combine(name, Z, learned, base, benign)

    def _prior_score(self, Z: np.ndarray) -> np.ndarray:
        """The prior's anomaly (last input column) mapped to [0, 1) by ``prior_saturation``."""
        a = np.maximum(Z[:, -1], 0.0)
        return a / (a + self.prior_saturation)

    def _combine(self, name, Z, learned, base, benign, reference=None) -> np.ndarray:
        """The ranking score ``f`` of candidate ``name`` from its parts (:data:`CANDIDATES`).

        ``reference``: sorted prior and baseline scores the stack's percentiles
        are taken against (default: those of the training meters, ``reference_``).
        """
        if self.prior_ is None:
            return learned
        prior = self._prior_score(Z)
        if name in ("prior", "prior+benign"):
            f = prior
        elif name == "learners":
            f = learned
        elif name == "blend":
            w = self.prior_weight
            w = self.prior_weight_ if isinstance(w, str) else float(w)  # "auto": chosen
            f = (1.0 - w) * learned + w * prior
        elif name == "baseline":
            f = base
        elif name == "prior-led+benign":
            f = PRIOR_LED_WEIGHT * prior + (1.0 - PRIOR_LED_WEIGHT) * learned
        else:  # stack, stack+benign
            ref = self.reference_ if reference is None else reference
            f = 0.5 * (percentile_of(ref["prior"], prior) + percentile_of(ref["baseline"], base))
        if name.endswith("+benign"):
            f = f * (1.0 - benign)
        return f

    def _cv_folds(self, pos, neg) -> int:
        return int(max(2, min(self.cv, pos.sum(), max(neg.sum(), 2))))

    def _bag_params(self) -> dict:
        return {"n_bags": self.n_bags, "ratio": self.unlabelled_ratio, "C": self.C}

    def _choose_prior_weight(self, Z, pos, neg, rng, X=None) -> tuple[float, dict]:
        """The prior's share in the blend: fixed, or chosen by cross-validation on the labels.

        With ``prior_weight="auto"`` the labelled meters are split into ``cv``
        folds stratified on the verdict. Each fold's miners are hidden among
        the unlabelled meters (as the real unlabelled miners are), the learners
        are fitted on the rest, and each weight of ``_WEIGHTS`` is scored by
        the ROC AUC of the hidden miners against the unlabelled and the fold's
        inspected non-miners. The weight with the best mean AUC wins;
        a weight within ``_CV_TOLERANCE`` of the best that trusts the prior more
        wins instead, because a dozen labelled miners make a noisy judge and the
        prior's physics does not depend on them.

        With a fixed weight and ``select="1se"``, repeated folds judge the
        candidates of :data:`detectors._select.CANDIDATES` (:meth:`_select_learner`).

        Returns
        -------
        weight : float
        scores : dict of float to float
            Mean cross-validated PU AUC per candidate weight (empty unless chosen).
        """
        self.learner_, self.selection_ = "blend", {}
        if self.prior_ is None:
            return 0.0, {}
        if not isinstance(self.prior_weight, str):
            if self.select == "1se":
                return self._select_learner(Z, X, pos, neg, rng)
            return float(self.prior_weight), {}
        auc = self._cv_auc(Z, pos, neg, rng, _WEIGHTS)
        if auc is None:
            return _FALLBACK_WEIGHT, {}
        scores = {w: float(np.mean(v)) for w, v in auc.items()}
        best = max(scores.values())
        weight = max(w for w, v in scores.items() if v >= best - _CV_TOLERANCE)
        return float(weight), scores

    def _select_learner(self, Z, X, pos, neg, rng) -> tuple[float, dict]:
        """What ranks, among :data:`detectors._select.CANDIDATES`, by cross-validation.

        Repeated stratified folds of the labelled meters (:func:`detectors._select.choose`):
        the reference ranks (:data:`detectors._select.DEFAULT_CANDIDATE` when there
        are inspected non-miners for every fold and the labels carry signal,
        :func:`detectors._select.informative`; else the prior), and another
        candidate replaces it only when its mean judging-AUC gain on the hidden
        labels exceeds one corrected standard error (and
        :data:`detectors._select.MIN_GAIN` unless the prior leads it,
        :data:`detectors._select.PRIOR_LED`); the best such candidate wins.
        Without :data:`detectors._select.MIN_MINERS` labelled miners the prior ranks.
        """
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        info = {
            "rule": f"{DEFAULT_CANDIDATE} ranks unless another candidate gains more than one "
            "corrected standard error over it (repeated stratified CV, mean of the PU AUC "
            "and the AUC against the hidden non-miners), and at least "
            f"{MIN_GAIN:g} unless the prior leads that candidate ({', '.join(sorted(PRIOR_LED))}"
            "); a candidate without the prior (learners, baseline) may not replace it; the "
            "prior is the reference instead without inspected non-miners in every fold, "
            "or when the learners alone do not rank the hidden miners above chance by more "
            "than one corrected standard error (labels without signal); "
            "means less than one reordered pair per fold apart (resolution) tie, and a tie "
            "goes to the first candidate in the list",
            "labelled_miners": n_pos,
            "labelled_not_mining": n_neg,
            "not_mining_use": NOT_MINING_USE,
        }
        names = ["prior", "blend", "learners"]
        folds = min(int(self.cv), n_pos)
        if n_neg >= folds and X is not None:
            names += ["baseline", "stack", "prior+benign", "stack+benign", "prior-led+benign"]
        auc = None
        if n_pos >= MIN_MINERS:
            auc = self._cv_candidates(Z, X, pos, neg, rng, names, folds)
        if auc is None:
            self.learner_ = "prior"
            self.selection_ = {
                **info,
                "winner": "prior",
                "why": f"{n_pos} labelled miners; {MIN_MINERS} needed to judge the candidates",
            }
            return 1.0, {}
        judged, parts = auc
        resolution = float(np.mean(parts["step"]))
        signal = informative(parts["pu"]["learners"], test_share=1.0 / folds)
        reference = DEFAULT_CANDIDATE if DEFAULT_CANDIDATE in judged and signal else "prior"
        eligible = None if reference == "prior" else set(judged) - WITHOUT_PRIOR
        winner, table = choose(
            judged,
            test_share=1.0 / folds,
            resolution=resolution,
            reference=reference,
            eligible=eligible,
        )
        for name in table:
            table[name]["cv_pu_auc"] = float(np.mean(parts["pu"][name]))
            table[name]["cv_inspected_auc"] = float(np.mean(parts["inspected"][name]))
        for name in table:
            table[name]["what"] = CANDIDATES[name]
        self.learner_ = winner
        self.selection_ = {
            **info,
            "reference": reference,
            "labels_informative": signal,
            "folds": folds,
            "repeats": REPEATS,
            "candidates": table,
            "winner": winner,
        }
        weight = {"prior": 1.0, "learners": 0.0, "prior-led+benign": PRIOR_LED_WEIGHT}.get(
            winner, float(self.prior_weight)
        )
        return weight, {}

    def _cv_candidates(self, Z, X, pos, neg, rng, names, folds) -> tuple | None:
        """Per-fold judging AUC of every candidate in ``names``, and its two halves.

        The judging AUC is the mean of the PU AUC (hidden miners against the
        unlabelled meters and the hidden non-miners) and the inspected AUC
        (hidden miners against the hidden non-miners only; the PU AUC when a
        fold has no hidden non-miner). Returns ``(auc, {"pu": ..., "inspected":
        ..., "step": ...})``: dicts of name to per-fold values, and per fold the
        smallest step of the judging AUC [AUC] (the ``resolution`` of
        :func:`detectors._select.choose`); None without a usable fold.
        """
        from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

        labelled = np.flatnonzero(pos | neg)
        strata = pos[labelled].astype(int)
        seed = rng.randint(2**31 - 1)
        if int(neg.sum()) >= folds:
            split = RepeatedStratifiedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
        else:
            split = RepeatedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
        unlabelled = ~pos & ~neg
        prior_sorted = np.sort(self._prior_score(Z))
        auc = {name: [] for name in names}
        parts = {"pu": {name: [] for name in names}, "inspected": {name: [] for name in names}}
        parts["step"] = []
        for _train, test in split.split(labelled, strata):
            held = np.zeros(len(Z), dtype=bool)
            held[labelled[test]] = True
            p_tr, n_tr = pos & ~held, neg & ~held
            judge = unlabelled | held
            hidden = labelled[test]
            mixed = bool(pos[hidden].any() and neg[hidden].any())
            truth = pos[judge]
            if not p_tr.any() or not truth.any() or truth.all():
                continue
            # Smallest step of this fold's judging AUC: one hidden miner passing one
            # more judged meter (the PU half; the whole AUC without hidden non-miners).
            step = 1.0 / (int(truth.sum()) * int((~truth).sum()))
            parts["step"].append(0.5 * step if mixed else step)
            models, _ = _bagged(Z, p_tr, n_tr, rng, self._bag_params(), oob=False)
            bag = np.mean([m.predict_proba(Z)[:, 1] for m in models], axis=0)
            learned = 0.5 * (bag + _neighbour_share(Z, p_tr, Z, self.n_neighbors))
            base = benign = ref = None
            if any(n in NEEDS_BASELINE for n in names):
                tr = np.flatnonzero(p_tr | n_tr)
                clf = make_baseline(rng.randint(2**31 - 1))
                base = clf.fit(X[tr], p_tr[tr].astype(int)).predict_proba(X)[:, 1]
                ref = {"prior": prior_sorted, "baseline": np.sort(base)}
            if any(n in NEEDS_BENIGN for n in names):
                insp = np.flatnonzero(p_tr | n_tr)
                T, T_benign = Z[insp], n_tr[insp]
                benign = benign_share(T, T_benign, Z, kernel_bandwidth(T))
            for name in names:
                f = self._combine(name, Z, learned, base, benign, reference=ref)
                pu = roc_auc(truth, f[judge])
                # The fold's hidden miners against its hidden non-miners: the benign
                # look-alikes that crowd the top of the list, which the unlabelled
                # meters (mostly ordinary) hardly weigh in the PU AUC.
                insp = roc_auc(pos[hidden], f[hidden]) if mixed else pu
                parts["pu"][name].append(pu)
                parts["inspected"][name].append(insp)
                auc[name].append(0.5 * (pu + insp))
        if not auc["prior"]:
            return None
        return auc, parts

    def _cv_auc(self, Z, pos, neg, rng, weights) -> dict | None:
        """PU AUC of the hidden labelled miners per fold and candidate weight (None: no folds)."""
        n_pos = int(pos.sum())
        folds = min(int(self.cv), n_pos)
        if folds < 2:
            return None
        from sklearn.model_selection import KFold, StratifiedKFold

        labelled = np.flatnonzero(pos | neg)
        strata = pos[labelled].astype(int)
        seed = rng.randint(2**31 - 1)
        if int((~pos[labelled]).sum()) < folds:
            strata = np.ones_like(strata)  # too few non-miners to stratify on
            split = KFold(folds, shuffle=True, random_state=seed)
        else:
            split = StratifiedKFold(folds, shuffle=True, random_state=seed)
        unlabelled = ~pos & ~neg
        a = np.maximum(Z[:, -1], 0.0)
        prior_score = a / (a + self.prior_saturation)
        auc = {w: [] for w in weights}
        for _train, test in split.split(labelled, strata):
            held = labelled[test]
            p_tr, n_tr = pos.copy(), neg.copy()
            p_tr[held], n_tr[held] = False, False
            if not p_tr.any() or not pos[held].any():
                continue
            models, _ = _bagged(Z, p_tr, n_tr, rng, self._bag_params(), oob=False)
            bag = np.mean([m.predict_proba(Z)[:, 1] for m in models], axis=0)
            near = _neighbour_share(Z, p_tr, Z, self.n_neighbors)
            learned = 0.5 * (bag + near)
            judge = unlabelled | np.isin(np.arange(len(Z)), held)
            truth = pos[judge]
            if truth.all():  # nothing to rank the hidden miners against
                continue
            for w in weights:
                f = (1.0 - w) * learned + w * prior_score
                auc[w].append(roc_auc(truth, f[judge]))
        if not auc[weights[0]]:
            return None
        return auc

    def _bag_score(self, Z: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_proba(Z)[:, 1] for m in self.models_], axis=0)

    def _neighbour_share(self, Z: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
        """Share of confirmed miners among the nearest training meters (Euclidean)."""
        return _neighbour_share(
            self.train_inputs_, self.train_positive_, Z, self.n_neighbors, exclude_self
        )

    def _raw_score(self, Z: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The ranking score ``f`` of the chosen candidate ``learner_``."""
        name = self.learner_
        learned = 0.5 * (self._bag_score(Z) + self._neighbour_share(Z))
        base = benign = None
        if getattr(self, "baseline_", None) is not None:  # (absent from older models)
            base = self.baseline_.predict_proba(X)[:, 1]
        if getattr(self, "benign_", None) is not None:
            T, T_benign, h = self.benign_
            benign = benign_share(T, T_benign, Z, h)
        return self._combine(name, Z, learned, base, benign)

    def _calibrate(self, pos: np.ndarray) -> None:
        """Elkan-Noto: ``c = P(labelled | mining)``, then ``P(mining | x)`` by PU likelihood.

        A Platt fit of "labelled" on the out-of-bag score gives ``g(x) = P(labelled
        | x)`` and ``c``, the mean of ``g`` over the labelled miners. Instead of
        ``g / c`` clipped at 1 (which ties every confident meter at 1 and loses the
        ranking), ``P(mining | x) = sigmoid(a logit(f) + b)`` is fitted so that
        ``c P(mining | x)`` maximises the likelihood of the labelled flags; it is
        monotone in the score ``f`` and stays below 1.

        When the out-of-bag score separates the labelled miners cleanly, that
        likelihood grows without bound as the slope ``a`` does: the fit becomes
        a step, every meter above it gets a probability of exactly 1.0 in
        floating point, and the ranking among them is lost (seen on the
        synthetic city: slopes of 500-3000 cut the unlabelled meters' average
        precision from 0.92 to 0.74). ``a`` and ``b`` are therefore bounded
        (:data:`_PLATT_BOUNDS`) so that ``|a logit(f) + b| <= 28.4`` and the
        probability stays strictly monotone in ``f``.
        """
        from scipy.optimize import minimize

        s = pos.astype(float)
        z = _logit(self.oob_score_)
        lr = LogisticRegression(C=1e4).fit(z[:, None], s)
        a0, b0 = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        c = float(np.clip(_sigmoid(a0 * z[pos] + b0).mean(), 1e-6, 1.0))

        def nll(ab):
            q = np.clip(c * _sigmoid(ab[0] * z + ab[1]), 1e-12, 1 - 1e-12)
            return -(s * np.log(q) + (1 - s) * np.log1p(-q)).sum()

        (a_lo, a_hi), (b_lo, b_hi) = _PLATT_BOUNDS
        start = np.array([np.clip(a0, a_lo, a_hi), np.clip(b0 - np.log(c), b_lo, b_hi)])
        res = minimize(nll, start, method="L-BFGS-B", bounds=_PLATT_BOUNDS)
        self.label_frequency_ = c
        self.platt_ = (float(res.x[0]), float(res.x[1]))

    def _platt(self, f: np.ndarray) -> np.ndarray:
        a, b = self.platt_
        return _sigmoid(a * _logit(f) + b)

    # -- scoring -------------------------------------------------------------------

    def _validate(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)

    def _probability(self, X: np.ndarray) -> np.ndarray:
        return self._platt(self._raw_score(self._inputs(X), X))

    def mining_probability(self, X) -> np.ndarray:
        """Calibrated probability that each meter hosts mining, ``P(mining | x)``.

        Raises
        ------
        ValueError
            When fitted without a confirmed miner (``fallback_``): there is no
            probability to give; use :meth:`mining_score`.
        """
        X = self._validate(X)
        if self.fallback_:
            raise ValueError(
                f"{type(self).__name__} was fitted without a confirmed miner, so it has no "
                "calibrated probability; use mining_score() or fit with mining labels."
            )
        return self._probability(X)

    def mining_score(self, X) -> np.ndarray:
        """Score in [0, 1]: the calibrated probability (the prior's score in fallback mode)."""
        return self._score_array(self._validate(X))

    def score_samples(self, X) -> np.ndarray:
        """``1 - P(mining)`` (higher = more normal); the prior's score in fallback mode."""
        X = self._validate(X)
        if self.fallback_:
            return self.prior_.score_samples(self._for_prior(X))
        return 1.0 - self._probability(X)

    def decision_function(self, X) -> np.ndarray:
        """``score_samples - offset_``: below 0 when ``P(mining) > threshold``."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for a meter flagged as likely mining, +1 otherwise."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def evidence(self, X) -> np.ndarray:
        """What-if contribution of each feature: the drop in score when it is set to the peer median.

        For feature ``j`` of a meter, ``max(s(x) - s(x with x_j := median of
        its peer group), 0)``, where ``s`` is :meth:`mining_score`; the prior's
        evidence is recomputed for the modified meter. Model-agnostic
        (occlusion) and independent of the batch.

        Returns
        -------
        ndarray, shape (n_meters, n_features_in_)
            Non-negative; 0 for the group column.
        """
        X = self._validate(X)
        rows = self.stats_.row_of(self._codes(X), len(X))
        feat = self._feature_mask()
        reference = X.copy()
        reference[:, feat] = self.stats_.center[rows]
        return occlusion(self._score_array, X, reference, columns=np.flatnonzero(feat))

    def _score_array(self, X: np.ndarray) -> np.ndarray:
        if self.fallback_:
            return self.prior_.mining_score(self._for_prior(X))
        return self._probability(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _bagged(Z, pos, neg, rng, params, *, oob: bool = True):
    """Bagged PU logistic regressions and (``oob``) the out-of-bag mean (NaN: always in bag)."""
    P = np.flatnonzero(pos)
    pool = np.flatnonzero(~pos & ~neg)  # unlabelled
    k = int(min(len(pool), max(1, round(params["ratio"] * len(P)))))
    n = len(Z)
    oob_sum, oob_n = np.zeros(n), np.zeros(n)
    models = []
    for _ in range(params["n_bags"]):
        bag_p = rng.choice(P, len(P), replace=True)
        # Inspected non-miners are certain negatives: every bag keeps them.
        bag_u = np.r_[rng.choice(pool, k, replace=False) if k else [], np.flatnonzero(neg)]
        bag_u = bag_u.astype(np.int64)
        idx = np.r_[bag_p, bag_u]
        target = np.r_[np.ones(len(bag_p)), np.zeros(len(bag_u))]
        model = LogisticRegression(C=params["C"], class_weight="balanced", max_iter=1000)
        model.fit(Z[idx], target)
        models.append(model)
        if oob:
            out = np.ones(n, dtype=bool)
            out[idx] = False
            oob_sum[out] += model.predict_proba(Z[out])[:, 1]
            oob_n[out] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return models, np.where(oob_n > 0, oob_sum / np.maximum(oob_n, 1), np.nan)


def _neighbour_share(T, T_pos, Z, n_neighbors: int, exclude_self: bool = False) -> np.ndarray:
    """Share of ``T_pos`` among the ``n_neighbors`` rows of ``T`` nearest each row of ``Z``."""
    k = min(n_neighbors, len(T) - int(exclude_self))
    if k < 1:
        return np.zeros(len(Z))
    out = np.empty(len(Z))
    step = max(1, 2_000_000 // max(len(T), 1))  # bounds the distance block [floats]
    tn = (T * T).sum(axis=1)
    for lo in range(0, len(Z), step):
        B = Z[lo : lo + step]
        d = (B * B).sum(axis=1)[:, None] - 2.0 * B @ T.T + tn[None, :]
        if exclude_self:
            d[np.arange(len(B)), np.arange(lo, lo + len(B))] = np.inf
        # Ties broken by training order (stable), so the result is reproducible.
        near = np.argsort(d, axis=1, kind="stable")[:, :k]
        out[lo : lo + step] = T_pos[near].mean(axis=1)
    return out


def _fit_baseline_oof(X, pos, neg, folds, rng):
    """The baseline classifier on all inspected meters, and its out-of-sample ``P(mining)``.

    Inspected meters get the probability of a classifier fitted on the other
    ``folds - 1`` folds (stratified); the others that of the classifier fitted
    on every inspected meter (it never saw them).
    """
    from sklearn.model_selection import StratifiedKFold

    insp = np.flatnonzero(pos | neg)
    yy = pos[insp].astype(int)
    clf = make_baseline(rng.randint(2**31 - 1)).fit(X[insp], yy)
    out = clf.predict_proba(X)[:, 1]
    split = StratifiedKFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1))
    for tr, te in split.split(insp, yy):
        part = make_baseline(rng.randint(2**31 - 1)).fit(X[insp[tr]], yy[tr])
        out[insp[te]] = part.predict_proba(X[insp[te]])[:, 1]
    return clf, out


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t, dtype=np.float64)))


def _logit(f: np.ndarray) -> np.ndarray:
    f = np.clip(f, _EPS, 1.0 - _EPS)
    return np.log(f / (1.0 - f))
