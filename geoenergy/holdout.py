"""Evaluating a detector as of a date: a time-based hold-out without time travel.

A detector is judged by how it would have ranked the next campaign's meters.
The latest inspections are held out (:func:`time_split`); the detector is
fitted on the earlier ones with only the readings and weather from before the
first held-out inspection, and the hold-out meters are scored from those same
readings (:func:`evaluate_holdout`). Scoring them with readings from after
their inspection, or with a model whose labels include their verdicts, makes
a detector look better than it will be.

The same evaluation fits a baseline (the registered model's settings,
refitted on the training part) so the two are compared on equal terms
(:func:`compare_holdout`): a new model is registered only if it beats the
baseline. :meth:`HoldoutEvaluation.card` is the one layout of the hold-out
figures in a model card (``card["evaluation"]["holdout"]``), used by
:func:`geoenergy.detection.train_model` and by the retraining notebook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoenergy.errors import GeoEnergyError

__all__ = [
    "CAMPAIGN_CAPACITY",
    "HoldoutComparison",
    "HoldoutEvaluation",
    "TimeSplit",
    "TrainingError",
    "capacities",
    "compare_holdout",
    "evaluate_holdout",
    "feature_matrix",
    "readings_before",
    "time_split",
]

CAMPAIGN_CAPACITY = 30
"""Inspections an enforcement team makes in one campaign: the ``k`` of precision@k
when a detector is evaluated and the length of a campaign list (notebooks 01 and
03 share it). Set it to your team's capacity."""


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


class TrainingError(GeoEnergyError):
    """Too few labels, or labels that match no meter."""


@dataclass(frozen=True)
class TimeSplit:
    """Inspection labels split in time, from :func:`time_split`.

    Attributes
    ----------
    train : pandas.DataFrame
        The earlier inspections (``meter_id, label, inspected_on``, one row
        per meter, its latest verdict).
    test : pandas.DataFrame
        The hold-out: every inspection on or after ``cutoff``.
    cutoff : pandas.Timestamp
        First day of the hold-out, naive local time (midnight). A model
        evaluated on this split sees only readings before it
        (:func:`readings_before`), as a model trained that day would have.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp

    def describe(self) -> str:
        """One line: sizes, verdicts and the cutoff."""

        def part(t):
            return f"{len(t)} inspections ({int(t['label'].eq('mining').sum())} mining)"

        return (
            f"train: {part(self.train)} before {self.cutoff:%Y-%m-%d}; "
            f"hold-out: {part(self.test)} from {self.cutoff:%Y-%m-%d}"
        )


def _check_time_split(labels, holdout) -> None:
    if not isinstance(labels, pd.DataFrame):
        raise TypeError(
            f"labels must be a DataFrame (meter_id, label, inspected_on), got "
            f"{type(labels).__name__}; load them with load_labels(ws)."
        )
    missing = [c for c in ("meter_id", "label", "inspected_on") if c not in labels.columns]
    if missing:
        raise ValueError(
            f"labels lacks the column(s) {missing}; the contract is meter_id, label "
            "(mining | not_mining), inspected_on."
        )
    if isinstance(holdout, bool) or not isinstance(holdout, float | int) or not 0 < holdout < 1:
        raise ValueError(f"holdout must be a share between 0 and 1 (e.g. 0.3), got {holdout!r}.")


def time_split(labels: pd.DataFrame, holdout: float = 0.3) -> TimeSplit:
    """Hold out the latest inspections, as the next campaign would meet the model.

    A meter inspected twice keeps its latest verdict. The hold-out is the
    latest ``holdout`` share of the inspected meters, extended to the whole
    first day it starts on, so no inspection of the cutoff day is in both
    parts. :func:`geoenergy.detection.train_model` and :func:`evaluate_holdout` use
    this split.

    Parameters
    ----------
    labels : pandas.DataFrame
        ``meter_id, label, inspected_on`` (:func:`load_labels`).
    holdout : float, default 0.3
        Share of the inspected meters held out. [-]

    Returns
    -------
    TimeSplit
    """
    _check_time_split(labels, holdout)
    lab = labels.assign(inspected_on=pd.to_datetime(labels["inspected_on"]).dt.normalize())
    lab = (
        lab.sort_values(["inspected_on", "meter_id"], kind="stable")
        .drop_duplicates("meter_id", keep="last")
        .reset_index(drop=True)
    )
    if lab.empty:
        raise TrainingError("there are no inspection labels to split.")
    n_test = max(1, round(holdout * len(lab)))
    cutoff = pd.Timestamp(lab["inspected_on"].iloc[-n_test])
    test = lab["inspected_on"] >= cutoff
    return TimeSplit(lab[~test].reset_index(drop=True), lab[test].reset_index(drop=True), cutoff)


def readings_before(ds, cutoff):
    """The readings (and nothing later) a model trained on ``cutoff`` could have seen.

    Parameters
    ----------
    ds : xarray.Dataset
        Readings with a ``local_time`` coordinate (naive local time), as from
        :func:`geoenergy.detection.detection_inputs`; else ``time`` is compared.
    cutoff : str or Timestamp
        Naive local time; steps starting before it are kept.

    Returns
    -------
    xarray.Dataset
    """
    times = ds["local_time"] if "local_time" in ds.coords else ds["time"]
    keep = np.flatnonzero(pd.DatetimeIndex(times.values) < pd.Timestamp(cutoff))
    return ds.isel(time=keep)


def capacities(n: int, capacity: int = CAMPAIGN_CAPACITY) -> tuple[int, ...]:
    """The ``k`` of precision@k for ``n`` ranked meters: 5, 10 and the capacity, at most n."""
    return tuple(sorted({k for k in (5, 10, capacity) if k <= n})) or (max(int(n), 1),)


def _same_settings(detector, seed):
    """An unfitted MiningModel with a given model's settings (its seed unless ``seed``)."""
    from detectors.model import MiningModel

    if not isinstance(detector, MiningModel):
        raise TypeError(
            "detector must be a detectors.model.MiningModel (fitted or not) whose settings are "
            f"refitted, got {type(detector).__name__}; e.g. MiningModel('supervised', "
            "peer_columns=PEER_COLUMNS)."
        )
    # A model saved before the false-discovery flagging has no fdr: the default applies.
    extra = {"fdr": detector.fdr} if hasattr(detector, "fdr") else {}
    return MiningModel(
        detector.detector,
        **extra,
        valley_hours=detector.valley_hours,
        peer_columns=detector.peer_columns,
        threshold=detector.threshold,
        min_days=detector.min_days,
        min_group_size=detector.min_group_size,
        top_reasons=detector.top_reasons,
        random_state=detector.random_state if seed is None else seed,
    )


@dataclass
class HoldoutEvaluation:
    """A detector fitted before a split's cutoff and scored on its hold-out.

    Attributes
    ----------
    split : TimeSplit
    model : detectors.model.MiningModel
        Fitted on the training inspections and the readings before the cutoff.
    scores : pandas.DataFrame
        The hold-out meters: ``meter_id, label, inspected_on, mining`` (bool)
        and ``score`` (NaN: not scorable from the readings before the cutoff).
    metrics : dict
        :func:`detectors.evaluate.evaluate` at ``k``, plus
        ``max_precision_at_<k>`` (the most any ranking can reach with this
        many mining meters) and ``<metric>_ci95``: the 95 % bootstrap
        interval ``[low, high]`` of the average precision and of every
        precision@k (:func:`detectors.evaluate.bootstrap_ci`).
    k : tuple of int
    """

    split: TimeSplit
    model: object
    scores: pd.DataFrame
    metrics: dict
    k: tuple

    @property
    def y(self) -> np.ndarray:
        return self.scores["mining"].to_numpy(dtype=bool)

    @property
    def s(self) -> np.ndarray:
        return self.scores["score"].to_numpy(dtype=float)

    def card(self) -> dict:
        """The hold-out figures as the model card keeps them (``card["evaluation"]["holdout"]``)."""
        return _jsonable(
            {
                "split": f"time-based: latest {len(self.split.test)} inspections",
                "cutoff": f"{self.split.cutoff:%Y-%m-%d}",
                "readings": f"before {self.split.cutoff:%Y-%m-%d} (local time)",
                "detector": str(self.model.detector),
                # what the refitted supervised detector's cross-validation chose to rank with
                "learner": (getattr(self.model, "card", None) or {})
                .get("detector", {})
                .get("learner"),
                "n_train": len(self.split.train),
                "n_train_mining": int(self.split.train["label"].eq("mining").sum()),
                "n_test": len(self.split.test),
                "n_test_mining": int(self.y.sum()),
                **self.metrics,
            }
        )


def evaluate_holdout(
    inputs,
    split: TimeSplit,
    detector,
    *,
    seed: int | None = None,
    k=None,
    n_boot: int = 1000,
) -> HoldoutEvaluation:
    """Fit a detector as of a split's cutoff and rank the hold-out: no time travel.

    The detector is fitted on the training inspections with only the readings
    (and weather) before the cutoff, and the hold-out meters are scored from
    those same readings: their features never include a day after the
    earliest hold-out inspection.

    Parameters
    ----------
    inputs : geoenergy.detection.DetectionInputs
        From :func:`geoenergy.detection.detection_inputs` (readings with a
        ``local_time`` coordinate, registry, weather).
    split : TimeSplit
        From :func:`time_split`.
    detector : detectors.model.MiningModel
        A model, fitted or not, whose settings are refitted on the training
        split: a new ``MiningModel("supervised", peer_columns=PEER_COLUMNS)``,
        or the registered model, which may have seen the hold-out's verdicts
        and must not be scored as it is.
    seed : int, optional
        Seed of the detector (default: the model's ``random_state``) and of
        the bootstrap (default 0).
    k : sequence of int, optional
        Inspection capacities; default :func:`capacities` of the hold-out.
    n_boot : int, default 1000
        Bootstrap resamples of the confidence intervals (0: none).

    Returns
    -------
    HoldoutEvaluation

    Raises
    ------
    TrainingError
        When the split leaves too few mining verdicts on either side, or too
        few days of readings before the cutoff.
    """
    from detectors.evaluate import bootstrap_ci, evaluate, max_precision_at_k
    from detectors.model import DETECTORS

    model = _same_settings(detector, seed)
    train, test = split.train, split.test
    needs_labels = isinstance(model.detector, str) and DETECTORS[model.detector].needs_labels
    if needs_labels and int(train["label"].eq("mining").sum()) < 2:
        raise TrainingError(
            f"the training part has {int(train['label'].eq('mining').sum())} mining verdict(s) "
            f"before {split.cutoff:%Y-%m-%d}; at least 2 are needed. Lower holdout or wait "
            "for more inspections."
        )
    if not test["label"].eq("mining").any():
        raise TrainingError(
            f"the hold-out ({len(test)} inspections) has no mining verdict, so nothing can be "
            "found in it; raise holdout."
        )
    ds = readings_before(inputs.readings, split.cutoff)
    weather = inputs.weather
    if weather is not None:
        weather = weather[pd.to_datetime(weather["date"]) < split.cutoff]
    try:
        model.fit(ds, inputs.registry, weather, labels=train if needs_labels else None)
    except ValueError as exc:
        raise TrainingError(
            f"cannot fit on the readings before {split.cutoff:%Y-%m-%d} "
            f"({ds.sizes['time']} steps): {exc}"
        ) from None
    ids = [m for m in test["meter_id"] if m in set(ds["meter"].values)]
    reg = inputs.registry[inputs.registry["meter_id"].isin(ids)]
    scored = model.score(ds.sel(meter=ids), reg, weather, reasons=False).set_index("meter_id")
    scores = test[["meter_id", "label", "inspected_on"]].assign(
        mining=test["label"].eq("mining").to_numpy(),
        score=scored["score"].reindex(test["meter_id"]).to_numpy(dtype=float),
    )
    y, s = scores["mining"].to_numpy(), scores["score"].to_numpy()
    ks = tuple(k) if k is not None else capacities(len(test))
    metrics = evaluate(y, s, k=ks)
    for kk in ks:
        metrics[f"max_precision_at_{kk}"] = max_precision_at_k(y, kk)
    if n_boot:
        boot_seed = 0 if seed is None else seed
        for name, kw in [("average_precision", {})] + [("precision_at_k", {"k": kk}) for kk in ks]:
            ci = bootstrap_ci(y, s, name, n_boot=n_boot, seed=boot_seed, **kw)
            key = f"precision_at_{kw['k']}" if kw else name
            metrics[f"{key}_ci95"] = [ci["low"], ci["high"]]
    return HoldoutEvaluation(split, model, scores.reset_index(drop=True), metrics, ks)


@dataclass(frozen=True)
class HoldoutComparison:
    """Whether a new detector beats a baseline on the same hold-out (:func:`compare_holdout`).

    Attributes
    ----------
    better : bool
    metric : str
    new, baseline, gain : float
        The metric of each and ``new - baseline``.
    text : str
        The decision in words.
    """

    better: bool
    metric: str
    new: float
    baseline: float
    gain: float
    text: str


def compare_holdout(
    new: HoldoutEvaluation,
    baseline: HoldoutEvaluation | None,
    *,
    metric: str = "average_precision",
    min_gain: float = 0.0,
) -> HoldoutComparison:
    """Decide whether ``new`` beats ``baseline``: register a new model only if it does.

    Parameters
    ----------
    new, baseline : HoldoutEvaluation
        Evaluations on the same split (the same hold-out meters); baseline
        None means there is nothing to beat.
    metric : str, default "average_precision"
        A key of the evaluations' metrics.
    min_gain : float, default 0.0
        ``new`` must exceed ``baseline`` by more than this (a tie is no gain).

    Returns
    -------
    HoldoutComparison
    """
    if metric not in new.metrics:
        raise ValueError(f"metric {metric!r} is not one of {sorted(new.metrics)}.")
    value = float(new.metrics[metric])
    if baseline is None:
        text = f"nothing to beat: the new model ({metric} {value:.3f}) is registered"
        return HoldoutComparison(True, metric, value, float("nan"), float("nan"), text)
    same = list(new.scores["meter_id"]) == list(baseline.scores["meter_id"])
    if not same or new.split.cutoff != baseline.split.cutoff:
        raise ValueError(
            "new and baseline were evaluated on different hold-outs; evaluate both with "
            "evaluate_holdout on the same time_split."
        )
    base = float(baseline.metrics[metric])
    gain = value - base
    better = bool(np.isfinite(gain) and gain > min_gain)
    verb = "beats" if better else "does not beat"
    text = (
        f"the new model {verb} the baseline on the same hold-out: {metric} {value:.3f} vs "
        f"{base:.3f} (gain {gain:+.3f}, required > {min_gain:+.3f})"
    )
    return HoldoutComparison(better, metric, value, base, gain, text)


def feature_matrix(model, ds, registry, weather=None) -> pd.DataFrame:
    """The feature matrix a fitted model scores, one row per scorable meter.

    What :meth:`detectors.model.MiningModel.mining_score` takes: the feature
    columns (plus the peer-group code of the built-in detectors), indexed by
    ``meter_id``. Use it to perturb features, e.g. for
    :func:`detectors.evaluate.permutation_importance`.

    Parameters
    ----------
    model : detectors.model.MiningModel
        Fitted.
    ds, registry, weather
        As in :meth:`~detectors.model.MiningModel.score`.

    Returns
    -------
    pandas.DataFrame
    """
    model._check_fitted()
    feats, groups = model._features(ds, registry, weather, model.peer_reference_)
    X, _ok = model._matrix(feats, groups, fit=False)
    return X
