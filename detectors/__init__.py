"""Load-signature features and mining detectors on xarray/numpy.

A library with a scikit-learn API; it imports no spatial library and never
imports :mod:`geoenergy`.

- :mod:`detectors.features`: load-signature features of each meter.
- :mod:`detectors.rules`, :mod:`detectors.unsupervised`,
  :mod:`detectors.supervised`: the three mining detectors (scikit-learn
  outlier detectors; ``predict`` gives -1 for a suspected miner).
- :mod:`detectors.reasons`: the features behind a score, in words.
- :mod:`detectors.evaluate`: precision and recall at an inspection capacity.
- :mod:`detectors.model`: :class:`MiningModel`, features + detector +
  reasons, saved with a model card.
"""

from detectors.evaluate import (
    average_precision,
    breakdown,
    evaluate,
    plot_precision_recall,
    precision_at_k,
    recall_at_k,
    roc_auc,
)
from detectors.model import (
    DETECTORS,
    IncompatibleModelError,
    MiningModel,
    ModelIntegrityError,
)
from detectors.rules import DEFAULT_RULES, Rule, RuleDetector
from detectors.supervised import NoPositiveLabelsWarning, SupervisedDetector
from detectors.unsupervised import UnsupervisedDetector

__all__ = [
    "DEFAULT_RULES",
    "DETECTORS",
    "IncompatibleModelError",
    "MiningModel",
    "ModelIntegrityError",
    "NoPositiveLabelsWarning",
    "Rule",
    "RuleDetector",
    "SupervisedDetector",
    "UnsupervisedDetector",
    "average_precision",
    "breakdown",
    "evaluate",
    "plot_precision_recall",
    "precision_at_k",
    "recall_at_k",
    "roc_auc",
]
