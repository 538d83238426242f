"""The mining model: features, peer reference, detector, reasons, save/load and model card.

:class:`MiningModel` is what the CLI, the pipeline and the notebooks use::

    model = MiningModel("unsupervised").fit(ds, registry, weather=weather)
    result = model.score(ds_new, registry, weather=weather_new)
    model.save("models/mining-2024-02.joblib")      # + mining-2024-02.card.json
    model = MiningModel.load("models/mining-2024-02.joblib")

It extracts the load features (:func:`detectors.features.extract_features`),
fixes the peer-group yardstick on the training meters
(:func:`detectors.features.peer_reference`) so a meter's score never depends
on the batch it is scored in, fits one of :data:`DETECTORS`, and returns a
ranked, explained table. Meters whose features could not be computed get no
score (NaN), never a silent one; their ``status`` says why.

The flagged list is chosen by a false-discovery rate and carries its
expected precision (:mod:`detectors.flagging`); a labelled model is held
against a plain gradient-boosting baseline (:mod:`detectors.baseline`).

The saved model is a joblib pickle: load only files you trust. The model
card beside it (:mod:`detectors._card`) records the SHA-256 of the file, and
:meth:`MiningModel.load` refuses a file that was changed or written by an
incompatible version.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from detectors._card import (
    CARD_FORMAT,
    IncompatibleModelError,
    ModelIntegrityError,
    build_card,
    card_path,
    data_summary,
    load_model,
    now,
    save_model,
)
from detectors.baseline import BASELINE, baseline_cv, fit_baseline
from detectors.evaluate import evaluate
from detectors.flagging import (
    DEFAULT_FDR,
    OWN_LIST_CLASSES,
    LabelCalibration,
    PeerNull,
    SimulatedNull,
    check_fdr,
    flag_lists,
)
from detectors.reasons import explain
from detectors.rules import RuleDetector
from detectors.supervised import SupervisedDetector
from detectors.unsupervised import UnsupervisedDetector

__all__ = [
    "CARD_FORMAT",
    "DETECTORS",
    "DetectorSpec",
    "IncompatibleModelError",
    "MiningModel",
    "ModelIntegrityError",
    "card_path",
    "split_status",
]

PEER_COLUMN = "peer_group"
"""Name of the integer peer-group column handed to the built-in detectors."""

RESULT_COLUMNS = (
    "meter_id",
    "score",
    "rank",
    "flagged",
    "status",
    "reasons",
    "onset_date",
    "notes",
    "p_value",
    "list",
)
"""Columns of :meth:`MiningModel.score`, in order."""


def split_status(text) -> tuple[str, str]:
    """A feature-table status text -> ``(status word, notes)``.

    The word is one of :data:`detectors.features.STATUSES` (``"ok"``,
    ``"insufficient_data"``, ...); the notes are the rest: the features that
    could not be computed and why (``"not computed: contract_utilisation
    (contracted power unknown for this meter)"``) or the detail of a status
    (``"9 complete days of data, need 14"``). Empty when there is none.

    Examples
    --------
    >>> split_status("ok; not computed: valley_night_cv (needs 7 nights)")
    ('ok', 'not computed: valley_night_cv (needs 7 nights)')
    >>> split_status("insufficient_data: 9 complete days of data, need 14")
    ('insufficient_data', '9 complete days of data, need 14')
    """
    text = str(text)
    cut = min((i for i in (text.find(":"), text.find(";")) if i >= 0), default=len(text))
    word = text[:cut].strip()
    rest = text[cut + 1 :].strip() if cut < len(text) else ""
    return word, rest


@dataclass(frozen=True)
class DetectorSpec:
    """One detector of the registry.

    Attributes
    ----------
    cls : type
        The estimator class.
    version : int
        Algorithm version; bumped when the same parameters would score differently.
    needs_labels : bool
        Whether :meth:`MiningModel.fit` requires inspection labels.
    summary : str
        One line for the docs and the model card.
    """

    cls: type
    version: int
    needs_labels: bool
    summary: str


DETECTORS: dict[str, DetectorSpec] = {
    "rule": DetectorSpec(
        RuleDetector,
        1,
        False,
        "transparent thresholds on named features; for a team without labels",
    ),
    "unsupervised": DetectorSpec(
        UnsupervisedDetector,
        8,
        False,
        "direction-aware robust z-scores within peer groups",
    ),
    "supervised": DetectorSpec(
        SupervisedDetector,
        6,
        True,
        "learning from inspection labels with calibrated probabilities: by default three "
        "fifths the unsupervised prior and two fifths positive-unlabelled learners (bagged "
        "logistic regressions and nearest labelled neighbours), demoted near inspected "
        "non-miners; replaced by the prior, the learners, a blend, the gradient-boosting "
        "baseline, a rank average of the prior and the baseline, or the prior or that stack "
        "demoted near inspected non-miners only when repeated cross-validation on the labels "
        "shows it better (one corrected standard error); the prior alone without enough "
        "labels or when the labels carry no signal",
    ),
}
"""``{name: DetectorSpec}``: the detectors :class:`MiningModel` can build by name."""


class MiningModel:
    """Rank meters by how likely they host crypto-mining, with reasons.

    Parameters
    ----------
    detector : {"unsupervised", "rule", "supervised"} or estimator, default "unsupervised"
        A name of :data:`DETECTORS`, or an unfitted scikit-learn outlier
        detector (cloned at fit) that takes the feature columns of
        :data:`detectors.features.FEATURES` as a DataFrame.
    valley_hours : (int, int), default (23, 7)
        Local valley-tariff hours ``[start, end)``.
    peer_columns : sequence of str, default ("customer_class",)
        Registry columns that form peer groups, coarsest first (add
        ``"district"`` or ``"building_use"`` for finer peers).
    threshold : float or None, default None
        Flag meters with ``score >= threshold`` (score in [0, 1]). None: by
        false-discovery rate (:mod:`detectors.flagging`): each meter's
        p-value under its peer group's null, Benjamini-Hochberg within the
        scored batch at ``fdr``; the "rule" detector keeps its own decision
        (``min_points``). Every list carries its expected precision
        (``attrs["flagging"]`` of the scores).
    fdr : float, default DEFAULT_FDR (0.02)
        False-discovery rate of the flagged list when ``threshold`` is None
        (:data:`detectors.flagging.DEFAULT_FDR`: why 0.02).
    min_days : int, default 14
        Complete days a meter needs to be scored.
    min_group_size : int, default 10
        Smallest peer group with its own median; smaller groups use the next
        coarser one (class only, then all meters).
    top_reasons : int, default 3
        Features quoted per meter.
    random_state : int or None, default 0
        Seed of the supervised detector (reproducible models).

    Attributes
    ----------
    detector_ : estimator
    peer_reference_ : detectors.features.PeerReference
    peer_codes_ : dict of str to int
        Peer-group label -> integer code handed to the detector.
    features_ : list of str
    card : dict
        The model card (also written beside the file by :meth:`save`).
    """

    def __init__(
        self,
        detector="unsupervised",
        *,
        valley_hours=(23, 7),
        peer_columns=("customer_class",),
        threshold=None,
        fdr=DEFAULT_FDR,
        min_days=14,
        min_group_size=10,
        top_reasons=3,
        random_state=0,
    ):
        self.detector = detector
        self.valley_hours = valley_hours
        self.peer_columns = peer_columns
        self.threshold = threshold
        self.fdr = fdr
        self.min_days = min_days
        self.min_group_size = min_group_size
        self.top_reasons = top_reasons
        self.random_state = random_state
        self.card: dict = {}

    # -- configuration -------------------------------------------------------------

    def _check_init(self):
        d = self.detector
        if isinstance(d, str):
            if d not in DETECTORS:
                raise ValueError(
                    f"detector must be one of {sorted(DETECTORS)} or an estimator, got {d!r}."
                )
        elif not (hasattr(d, "fit") and hasattr(d, "predict")):
            raise TypeError(
                "detector must be a name "
                f"{sorted(DETECTORS)} or an unfitted scikit-learn outlier detector with fit "
                f"and predict, got {type(d).__name__}."
            )
        cols = self.peer_columns
        if isinstance(cols, str) or not all(isinstance(c, str) for c in cols) or not cols:
            raise TypeError(
                f"peer_columns must be a non-empty sequence of column names, got {cols!r}; "
                "e.g. ('customer_class',) or ('customer_class', 'district')."
            )
        t = self.threshold
        if t is not None and (
            isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0.0 < t < 1.0
        ):
            raise ValueError(
                f"threshold must be None or a score in (0, 1), got {t!r}; 0.5 flags at the "
                "detector's own boundary."
            )
        check_fdr(self.fdr)
        for name in ("min_days", "min_group_size", "top_reasons"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}.")

    def _check_tables(self, ds, registry, labels=None, *, need_labels=False):
        import xarray as xr

        if not isinstance(ds, xr.Dataset):
            raise TypeError(
                f"ds must be an xarray.Dataset of readings (variable kwh), got "
                f"{type(ds).__name__}; open one with geoenergy.readings.open_readings."
            )
        if not isinstance(registry, pd.DataFrame):
            raise TypeError(
                f"registry must be a DataFrame with meter_id and {list(self.peer_columns)}, "
                f"got {type(registry).__name__}."
            )
        missing = [c for c in ("meter_id", *self.peer_columns) if c not in registry.columns]
        if missing:
            raise ValueError(
                f"registry lacks the column(s) {missing}; it needs meter_id and the "
                f"peer_columns {list(self.peer_columns)} (change peer_columns to use others)."
            )
        if registry["meter_id"].duplicated().any():
            dup = registry.loc[registry["meter_id"].duplicated(), "meter_id"].head(3).tolist()
            raise ValueError(
                f"registry lists meters more than once, e.g. {dup}; keep one row each."
            )
        if labels is None:
            if need_labels:
                raise ValueError(
                    "the supervised detector needs labels: a DataFrame with meter_id and "
                    "label ('mining' or 'not_mining'), e.g. the inspection results; or use "
                    "detector='unsupervised'."
                )
            return
        if not isinstance(labels, pd.DataFrame):
            raise TypeError(
                f"labels must be a DataFrame with meter_id and label, got {type(labels).__name__}."
            )
        missing = [c for c in ("meter_id", "label") if c not in labels.columns]
        if missing:
            raise ValueError(
                f"labels lacks the column(s) {missing}; the contract is meter_id, label "
                "(mining | not_mining), inspected_on."
            )
        bad = sorted(set(labels["label"].astype(str)) - {"mining", "not_mining"})
        if bad:
            raise ValueError(
                f"labels.label must be 'mining' or 'not_mining', got {bad[:5]}; map other "
                "verdicts before fitting."
            )

    # -- features ------------------------------------------------------------------

    def _groups(self, ds, registry) -> pd.DataFrame:
        reg = registry.assign(meter_id=registry["meter_id"].astype(str)).set_index("meter_id")
        meters = pd.Index(ds["meter"].values.astype(str), name="meter_id")
        return reg[list(self.peer_columns)].reindex(meters).astype(object)

    def _extract(self, ds, **kwargs):
        """The feature extraction of :meth:`_features` (a cache may stand in for it)."""
        from detectors.features import extract_features

        return extract_features(ds, **kwargs)

    def _features(self, ds, registry, weather, reference):
        groups = self._groups(ds, registry)
        contracted = None
        if "contracted_kw" in registry.columns:
            contracted = (
                registry.assign(meter_id=registry["meter_id"].astype(str))
                .set_index("meter_id")["contracted_kw"]
                .astype(float)
                .reindex(groups.index)
            )
        feats = self._extract(
            ds,
            weather=weather,
            groups=groups,
            peer_reference=reference,
            valley_hours=tuple(self.valley_hours),
            min_days=self.min_days,
            min_group_size=self.min_group_size,
            contracted_kw=contracted,
        )
        return feats, groups

    def _matrix(self, feats, groups, *, fit: bool) -> tuple[pd.DataFrame, np.ndarray]:
        """Feature matrix of the scorable meters (plus peer codes) and their mask."""
        ok = feats["status"].astype(str).str.startswith("ok").to_numpy()
        _, label = self.peer_reference_.lookup(groups)
        X = feats.loc[ok, self.features_].astype(float)
        if not self._builtin():
            return X, ok
        lab = label[ok].astype(str)
        if fit:
            self.peer_codes_ = {g: i for i, g in enumerate(sorted(lab.unique()))}
        codes = lab.map(self.peer_codes_).fillna(-1).astype(np.int64)  # -1: unseen, pooled
        return X.assign(**{PEER_COLUMN: codes.to_numpy()}), ok

    def _builtin(self) -> bool:
        return isinstance(self.detector, str)

    # -- fit -----------------------------------------------------------------------

    def fit(self, ds, registry, weather=None, labels=None):
        """Extract features, fix the peer reference and fit the detector.

        Parameters
        ----------
        ds : xarray.Dataset
            Readings, variable ``kwh`` [kWh] dims ``("meter", "time")``.
        registry : DataFrame
            ``meter_id``, ``customer_class`` and any other ``peer_columns``;
            ``contracted_kw`` [kW] is used when present.
        weather : DataFrame, optional
            ``date`` and ``temp_c`` (daily mean [degC]).
        labels : DataFrame, optional
            ``meter_id``, ``label`` (mining | not_mining), ``inspected_on``;
            required for "supervised". A meter inspected twice keeps its
            latest verdict.

        Returns
        -------
        self
        """
        from detectors.features import FEATURES, peer_reference

        self._check_init()
        need = self._builtin() and DETECTORS[self.detector].needs_labels
        self._check_tables(ds, registry, labels, need_labels=need)
        feats, groups = self._features(ds, registry, weather, None)
        self.peer_reference_ = peer_reference(feats, groups, min_group_size=self.min_group_size)
        self.features_ = list(FEATURES)
        X, _ok = self._matrix(feats, groups, fit=True)
        if len(X) < 2:
            raise ValueError(
                f"only {len(X)} meter(s) have enough data to train on (status 'ok'); "
                f"statuses: {feats['status'].str.split(':').str[0].value_counts().to_dict()}."
            )
        y = self._label_vector(labels, X.index)
        self.detector_ = self._make_detector(self._own_list_codes(ds, registry, X))
        if isinstance(self.detector_, SupervisedDetector):
            self.detector_.fit(X, y)
        else:
            self.detector_.fit(X)
        if not hasattr(self.detector_, "mining_score"):
            d = self.detector_.decision_function(X)
            mad = float(np.median(np.abs(d - np.median(d))))
            self.decision_scale_ = mad * 1.4826 if mad > 0 else float(np.std(d) or 1.0)
        self.null_ = self._fit_null(X, y)
        self.label_calibration_ = self._fit_label_calibration(ds, registry, X, y)
        self.baseline_ = None if y is None else fit_baseline(X, y, self.random_state)
        self.card = self._card(ds, feats, X, labels, y)
        cal = self.label_calibration_
        if isinstance(self.card.get("flagging"), dict):
            self.card["flagging"]["label_calibration"] = None if cal is None else cal.to_dict()
        self.card["baseline"] = self._baseline_card(X, y)
        return self

    def _baseline_card(self, X, y) -> dict:
        """The plain baseline's cross-validated figures on the labels, beside the model's."""
        if y is None or not ((y == 0) | (y == 1)).any():
            return {"learner": BASELINE, "fitted": False, "why": "fitted without labels"}
        cv = baseline_cv(X, y, random_state=self.random_state)
        cv.pop("scores", None)
        own = self.card.get("evaluation", {}).get("training_labels", {})
        return {
            **cv,
            "fitted": self.baseline_ is not None,
            "model_average_precision": own.get("average_precision"),
            "model_scores": own.get("scores"),
        }

    def baseline_scores(self, ds, registry, weather=None) -> pd.DataFrame:
        """The plain baseline's ``P(mining)`` of every meter (:mod:`detectors.baseline`).

        Returns
        -------
        DataFrame
            ``meter_id`` and ``score`` (NaN when the meter is not scored or the
            model was fitted without both verdicts among its labels).
        """
        self._check_fitted()
        feats, groups = self._features(ds, registry, weather, self.peer_reference_)
        X, ok = self._matrix(feats, groups, fit=False)
        score = np.full(len(feats), np.nan)
        if getattr(self, "baseline_", None) is not None and len(X):
            score[ok] = self.baseline_.predict_proba(X)[:, 1]
        return pd.DataFrame({"meter_id": feats.index.astype(str), "score": score})

    def _codes(self, X) -> np.ndarray | None:
        return X[PEER_COLUMN].to_numpy() if PEER_COLUMN in X.columns else None

    def _null_source(self):
        """The unsupervised detector whose simulated null gives the p-values, or None."""
        det = self.detector_
        if isinstance(det, UnsupervisedDetector):
            return det
        if isinstance(det, SupervisedDetector) and isinstance(det.prior_, UnsupervisedDetector):
            return det.prior_
        return None

    def _prior_view(self, X):
        det = self.detector_
        return det._for_prior(X.to_numpy(float)) if isinstance(det, SupervisedDetector) else X

    def _fit_null(self, X, y):
        """The null behind the p-values (:mod:`detectors.flagging`)."""
        src = self._null_source()
        if src is not None:
            return SimulatedNull.fit(
                src, self._prior_view(X), self._codes(X), random_state=self.random_state
            )
        return PeerNull.fit(
            self._statistic(X),
            self._codes(X),
            fdr=self.fdr,
            exclude=None if y is None else (y == 1),
        )

    def _fit_label_calibration(self, ds, registry, X, y) -> LabelCalibration | None:
        """The inspections' ``P(mining | p)`` on the main list (None without enough labels)."""
        if y is None:
            return None
        p = self._p_values(X)
        main = self._lists(ds, registry, X.index) == "main"
        return LabelCalibration.fit(np.where(main, p, np.nan), y)

    def _p_values(self, X) -> np.ndarray:
        """Each meter's p-value under its null; a meter the weather explains is judged
        (in proportion) among the weather-driven meters (:meth:`SimulatedNull.p_values`)."""
        src = self._null_source()
        if src is None or not isinstance(self.null_, SimulatedNull):
            return self.null_.p_values(self._statistic(X), self._codes(X))
        driven, evidence = src.weather_path(self._prior_view(X))
        return self.null_.p_values(self._statistic(X), self._codes(X), driven, evidence)

    def _statistic(self, X) -> np.ndarray:
        """What the p-values are computed from (higher = more suspicious).

        The unsupervised anomaly (the supervised detector's prior's), else
        minus the decision function.
        """
        src = self._null_source()
        if src is not None:
            return -np.asarray(src.score_samples(self._prior_view(X)), dtype=float)
        return -np.asarray(self.detector_.decision_function(X), dtype=float)

    def _flag(self, X, s, lists) -> tuple[np.ndarray, np.ndarray, dict]:
        """Flags, p-values and the flagging summary of the scored meters, list by list."""
        det = self.detector_
        if not hasattr(self, "null_"):  # a model saved before the flagging method
            p = np.full(len(X), np.nan)
            flagged = np.asarray(det.predict(X)) == -1
            return flagged, p, {"method": "detector", "expected_precision": None}
        p = self._p_values(X)
        given = None
        if self.threshold is not None:
            how, given = "given", s >= self.threshold
            method = f"score >= {self.threshold:g}"
        elif isinstance(det, RuleDetector):
            how, given = "given", np.asarray(det.predict(X)) == -1
            method = "rule points >= min_points"
        elif isinstance(det, SupervisedDetector) and not det.fallback_:
            how = "bh+posterior"
            method = (
                f"Benjamini-Hochberg at FDR {self.fdr:g} on the prior's peer-group null "
                f"p-values, plus meters whose mean 1 - P(mining) stays within {self.fdr:g}"
            )
        else:
            how = "bh"
            method = f"Benjamini-Hochberg at FDR {self.fdr:g} on peer-group null p-values"
        # A meter of an own-list class (a registered data centre) is judged among its
        # peers only: without enough of them for their own statistics, it is not flagged.
        # (A threshold or the rule detector's points apply as they are.)
        own = np.asarray(lists) != "main"
        judged = ~own | self._has_own_peers(X) | (how == "given")
        flagged, per_list = flag_lists(
            np.where(judged, p, np.nan),
            s,
            lists,
            fdr=self.fdr,
            how=how,
            given=given,
            calibration=getattr(self, "label_calibration_", None),
        )
        for name, li in per_list.items():
            if name != "main":
                li["n_without_peers"] = int((~judged & (np.asarray(lists) == name)).sum())
        main = per_list.get("main", {"n_scored": 0, "n_flagged": 0, "expected_precision": None})
        # the rate only where it chose the list (not a threshold's or the rules' points)
        fdr = None if how == "given" else self.fdr
        info = {"method": method, "fdr": fdr, **main, "lists": per_list}
        return flagged, p, info

    def _has_own_peers(self, X) -> np.ndarray:
        """Whether each meter's peer group had its own statistics at fit (not the pooled ones)."""
        src = self._null_source()
        codes = self._codes(X)
        if src is None or codes is None:
            return np.zeros(len(X), dtype=bool)
        return np.isin(codes, src.stats_.groups)

    def _lists(self, ds, registry, index) -> np.ndarray:
        """``"main"``, or the class of a meter registered in a class with its own list."""
        cls = None
        if "customer_class" in registry.columns:
            reg = registry.assign(meter_id=registry["meter_id"].astype(str))
            cls = reg.set_index("meter_id")["customer_class"].reindex(index.astype(str))
        elif "customer_class" in ds.coords:
            cls = pd.Series(ds["customer_class"].values, index=ds["meter"].values.astype(str))
            cls = cls.reindex(index.astype(str))
        if cls is None:
            return np.full(len(index), "main", dtype=object)
        cls = cls.astype(object).to_numpy()
        return np.where(np.isin(cls, OWN_LIST_CLASSES), cls, "main").astype(object)

    def _own_list_codes(self, ds, registry, X) -> list[int]:
        """Peer-group codes whose training meters all belong to an own list.

        Registered data centres (:data:`OWN_LIST_CLASSES`) are flagged in a list of
        their own, so they stay out of the yardstick of ordinary weather-driven
        meters (``UnsupervisedDetector.weather_exclude_groups``). A code shared with
        main-list meters (an own-list class too small for a peer group) is kept.
        """
        if PEER_COLUMN not in X.columns:
            return []
        own = self._lists(ds, registry, X.index) != "main"
        codes = X[PEER_COLUMN].to_numpy()
        return [int(g) for g in np.unique(codes[own]) if own[codes == g].all()]

    def _make_detector(self, own_list_codes=()):
        if not self._builtin():
            return clone(self.detector)
        spec = DETECTORS[self.detector]
        if spec.cls is RuleDetector:
            return RuleDetector()
        kw = {"group_column": PEER_COLUMN, "min_group_size": self.min_group_size}
        exclude = {"weather_exclude_groups": list(own_list_codes)}
        if spec.cls is SupervisedDetector:
            prior = UnsupervisedDetector(**kw, **exclude)
            return spec.cls(**kw, random_state=self.random_state, select="1se", prior=prior)
        return spec.cls(**kw, **exclude)

    def _label_vector(self, labels, index) -> np.ndarray | None:
        if labels is None:
            return None
        lab = labels.assign(meter_id=labels["meter_id"].astype(str))
        if "inspected_on" in lab.columns:
            lab = lab.assign(_t=pd.to_datetime(lab["inspected_on"], errors="coerce"))
            lab = lab.sort_values("_t", kind="stable")
        last = lab.drop_duplicates("meter_id", keep="last").set_index("meter_id")["label"]
        mapped = last.reindex(index.astype(str)).map({"mining": 1, "not_mining": 0})
        return mapped.fillna(-1).astype(int).to_numpy()

    # -- score ---------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "detector_"):
            raise ValueError(
                "this MiningModel is not fitted yet; call model.fit(ds, registry, ...) or "
                "MiningModel.load(path) first."
            )

    def mining_score(self, X: pd.DataFrame) -> np.ndarray:
        """Score in [0, 1] (higher = more likely mining) of a feature matrix."""
        if hasattr(self.detector_, "mining_score"):
            return np.asarray(self.detector_.mining_score(X), dtype=float)
        d = np.asarray(self.detector_.decision_function(X), dtype=float)
        # A generic detector: its decision function (< 0 = outlier) through a logistic,
        # 0.5 at its own boundary, scaled by the spread of the training decisions.
        return 1.0 / (1.0 + np.exp(np.clip(d / self.decision_scale_, -50, 50)))

    def score(self, ds, registry, weather=None, *, reasons: bool = True) -> pd.DataFrame:
        """Score, rank, flag and explain every meter of ``ds``.

        Parameters
        ----------
        ds, registry, weather
            As in :meth:`fit` (new readings; the same registry columns).
        reasons : bool, default True
            Explain the scores. False leaves ``reasons`` empty for scored
            meters and skips the cost of the explanations (the supervised
            detector re-scores each meter once per feature), e.g. to evaluate.

        Returns
        -------
        DataFrame
            One row per meter, most suspicious first: ``meter_id``, ``score``
            (float in [0, 1], higher = more likely mining; NaN when not
            scored), ``rank`` (1 = most suspicious among the scored meters;
            the main list first, then the registered data centres ranked among
            themselves; ``<NA>`` when not scored), ``flagged`` (bool), ``status`` (one word
            of :data:`detectors.features.STATUSES`: ``"ok"`` for a scored
            meter, else why it was not scored, e.g. ``"insufficient_data"``),
            ``reasons`` (str), ``onset_date`` (local date the load stepped
            up, NaT if none), ``notes`` (str: features that could not be
            computed for this meter and why, or the detail of its status;
            empty when there is none) and ``p_value`` (how often an ordinary
            meter of its peer group scores this high, :mod:`detectors.flagging`)
            and ``list`` (``"main"``, or ``"data_centre"`` for a registered data
            centre: scored, explained and flagged on data-centre evidence among
            data centres only, :mod:`detectors.datacentre`; its p_value is NaN). A meter is scored
            exactly when its status is ``"ok"``. ``attrs["flagging"]``: how the
            main list was chosen (``method``, ``fdr``: None unless a false-discovery
            rate chose it, ``n_scored``,
            ``n_flagged``), its ``expected_precision`` (share of the flagged
            meters expected to host mining; None when nothing is flagged: the
            lower of the peer-group null's estimate, ``expected_precision_null``,
            and, when fitted with enough inspection labels, the inspections',
            ``expected_precision_labels``, :class:`detectors.flagging.LabelCalibration`)
            and the same per list under ``lists``.
        """
        self._check_fitted()
        self._check_tables(ds, registry)
        feats, groups = self._features(ds, registry, weather, self.peer_reference_)
        X, ok = self._matrix(feats, groups, fit=False)
        n = len(feats)
        score = np.full(n, np.nan)
        flagged = np.zeros(n, dtype=bool)
        parts = [split_status(t) for t in feats["status"].astype(str)]
        status = np.array([w for w, _ in parts], dtype=object)
        notes = np.array([note for _, note in parts], dtype=object)
        text = np.array(
            ["not scored: " + t.split(";")[0] for t in feats["status"].astype(str)], dtype=object
        )
        pval = np.full(n, np.nan)
        info = {"method": "none scored", "n_scored": 0, "n_flagged": 0}
        info["expected_precision"] = None
        lists = self._lists(ds, registry, feats.index)
        if len(X):
            s = self.mining_score(X)
            score[ok] = s
            flagged[ok], pval[ok], info = self._flag(X, s, lists[ok])
            text[ok] = self._reasons(X, feats.loc[ok], groups.loc[ok]) if reasons else ""
        onset = feats["onset_date"].to_numpy().copy()
        cols = (score, flagged, pval, text, onset, status, notes)
        info = _data_centre_list(ds, registry, weather, feats.index, lists, cols, info)
        out = pd.DataFrame(
            {
                "meter_id": feats.index.astype(str),
                "score": score,
                "flagged": flagged,
                "status": status,
                "reasons": text,
                "onset_date": onset,
                "notes": notes,
                "p_value": pval,
                "list": lists,
            }
        )
        # Most suspicious first, the main list before each own list (registered data
        # centres, ranked among themselves); equal scores keep the meter order, so ranks
        # are reproducible.
        part = np.where(out["list"].to_numpy() != "main", 1, 0)
        part[out["score"].isna().to_numpy()] = 2  # not scored: last
        order = np.lexsort(
            (
                out["meter_id"].to_numpy(),
                -np.nan_to_num(out["score"].to_numpy(), nan=-np.inf),
                part,
            )
        )
        out = out.iloc[order].reset_index(drop=True)
        rank = pd.array(np.arange(1, n + 1), dtype="Int64")
        rank[out["score"].isna().to_numpy()] = pd.NA
        out.insert(2, "rank", rank)
        out = out[list(RESULT_COLUMNS)]
        out.attrs["flagging"] = info
        return out

    def _reasons(self, X, feats_ok, groups_ok) -> list[str]:
        if not hasattr(self.detector_, "evidence"):
            return [""] * len(X)
        ev = np.asarray(self.detector_.evidence(X), dtype=float)
        cols = [c for c in X.columns if c != PEER_COLUMN]
        ev = ev[:, [list(X.columns).index(c) for c in cols]]
        _, label = self.peer_reference_.lookup(groups_ok)
        peers = [_peer_words(v) for v in label.to_numpy()]
        headlines = None
        if isinstance(self.detector_, RuleDetector):
            headlines = {}
            for r in self.detector_.rules_:
                if r.label and isinstance(r.feature, str):
                    headlines.setdefault(r.feature, r.label)
        return explain(
            ev,
            X[cols],
            peers=peers,
            onset_dates=feats_ok["onset_date"].to_numpy(),
            headlines=headlines,
            top=self.top_reasons,
        )

    # -- evaluation ----------------------------------------------------------------

    def evaluate(self, ds, registry, truth, weather=None, *, k=(20, 50, 100), name=None) -> dict:
        """Score ``ds`` and compare with known outcomes; the figures go into the card.

        Parameters
        ----------
        ds, registry, weather
            As in :meth:`score`.
        truth : DataFrame
            ``meter_id`` and either ``is_mining`` (bool) or ``label``
            (mining | not_mining). Meters of ``ds`` missing from it count as
            not mining.
        k : sequence of int
            Inspection capacities.
        name : str, optional
            Key under ``card["evaluation"]`` (default ``"evaluation-<n>"``).

        Returns
        -------
        dict
            :func:`detectors.evaluate.evaluate` figures plus ``n_flagged``.
        """
        if not isinstance(truth, pd.DataFrame) or "meter_id" not in truth.columns:
            raise TypeError("truth must be a DataFrame with meter_id and is_mining or label.")
        if "is_mining" in truth.columns:
            flag = truth.set_index(truth["meter_id"].astype(str))["is_mining"].astype(bool)
        elif "label" in truth.columns:
            flag = truth.set_index(truth["meter_id"].astype(str))["label"].eq("mining")
        else:
            raise ValueError(
                "truth needs a column is_mining (bool) or label (mining | not_mining)."
            )
        result = self.score(ds, registry, weather, reasons=False)
        y = flag.reindex(result["meter_id"]).fillna(False).astype(bool).to_numpy()
        metrics = evaluate(y, result["score"].to_numpy(), k=k)
        metrics["n_flagged"] = int(result["flagged"].sum())
        ev = self.card.setdefault("evaluation", {})
        ev[name or f"evaluation-{len(ev) + 1}"] = {
            **metrics,
            "evaluated_at": now(),
            "data": data_summary(ds),
        }
        return metrics

    # -- card, save, load (detectors._card) ----------------------------------------

    def _card(self, ds, feats, X, labels, y) -> dict:
        spec = DETECTORS.get(self.detector) if self._builtin() else None
        return build_card(self, ds, feats, X, labels, y, spec=spec)

    def save(self, path) -> Path:
        """Write the model (joblib) and its card (``<stem>.card.json``) beside it.

        Parameters
        ----------
        path : str or Path
            The model file, e.g. ``models/mining-2024-02.joblib``.

        Returns
        -------
        Path
            The model card's path.
        """
        self._check_fitted()
        return save_model(self, path)

    @classmethod
    def load(cls, path) -> MiningModel:
        """Read a model saved by :meth:`save`, after checking its card.

        Raises
        ------
        FileNotFoundError
            When the model file or its card is missing.
        IncompatibleModelError
            When the card's format, the package's major.minor version or
            scikit-learn's major.minor version differ from this installation.
        ModelIntegrityError
            When the file's SHA-256 differs from the card (the file was changed).
        """
        return load_model(cls, path)

    def __repr__(self) -> str:
        det = self.detector if self._builtin() else type(self.detector).__name__
        state = "fitted" if hasattr(self, "detector_") else "unfitted"
        return f"MiningModel(detector={det!r}, peer_columns={tuple(self.peer_columns)}, {state})"


def _data_centre_list(ds, registry, weather, index, lists, cols, info) -> dict:
    """Score the registered data centres on data-centre evidence, in place, among themselves.

    A registered data centre's household score (excess, flatness, night load) says
    nothing about it: its score, flag, reasons and onset are replaced by those of
    :func:`detectors.datacentre.score_data_centres` (utilisation of the contract and
    its step-up, absence of a hosting rhythm, PUE behaviour), and its list's summary
    in ``info["lists"]["data_centre"]`` by that list's. Only meters already scored
    (status ``"ok"``) are assessed; one with too few days for the data-centre
    evidence becomes ``insufficient_data``.
    """
    from detectors.datacentre import FLAG_SCORE, score_data_centres

    score, flagged, pval, text, onset, status, notes = cols
    sel = np.flatnonzero((np.asarray(lists) == "data_centre") & np.isfinite(score))
    if not len(sel):
        return info
    dc = score_data_centres(ds, registry, weather, meters=index[sel].astype(str))
    dc = dc.set_index("meter_id").reindex(index[sel].astype(str))
    score[sel] = dc["score"].to_numpy(dtype=float)
    flagged[sel] = dc["flagged"].fillna(False).to_numpy(dtype=bool)
    pval[sel] = np.nan  # judged on evidence against physical scales, not a peer null
    text[sel] = dc["reasons"].to_numpy(dtype=object)
    onset[sel] = pd.to_datetime(dc["onset_date"]).to_numpy(dtype=onset.dtype)
    lost = sel[~np.isfinite(score[sel])]
    status[lost] = "insufficient_data"
    notes[lost] = text[lost]
    info = dict(info)
    lists_info = dict(info.get("lists") or {})
    lists_info["data_centre"] = {
        "n_scored": int(np.isfinite(score[sel]).sum()),
        "n_flagged": int(flagged[sel].sum()),
        "expected_precision": None,
        "method": f"data-centre evidence score >= {FLAG_SCORE:g}, ranked among data centres",
    }
    info["lists"] = lists_info
    return info


def _peer_words(label: str) -> str:
    """``"customer_class=residential, district=X"`` -> ``"residential, X"``."""
    if label == "all meters":
        return "all"
    return ", ".join(part.split("=", 1)[-1] for part in str(label).split(", "))
