"""The model card and the saved model file: what a model records about itself, and the checks.

:class:`detectors.model.MiningModel` writes its card here (:func:`build_card`:
detector, settings, features, training data, peer reference, flagging null,
labels and their figures), saves itself with the card beside the file
(:func:`save_model`, SHA-256 of the file in the card) and is read back only
after the card's format, the package's and scikit-learn's major.minor
versions and the file's hash are checked (:func:`load_model`). The saved
model is a joblib pickle: load only files you trust.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import numbers
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from detectors.evaluate import average_precision, roc_auc
from detectors.supervised import SupervisedDetector

__all__ = [
    "CARD_FORMAT",
    "IncompatibleModelError",
    "ModelIntegrityError",
    "build_card",
    "card_path",
    "data_summary",
    "jsonable",
    "load_model",
    "now",
    "save_model",
]

CARD_FORMAT = "geoenergy.mining-model/1"
"""Format of the model card (and of the pickled model it describes)."""


class IncompatibleModelError(ValueError):
    """A saved model was written in another format or by an incompatible version."""


class ModelIntegrityError(ValueError):
    """A saved model file does not match the hash in its model card."""


def card_path(path) -> Path:
    """The model card beside a model file: ``m.joblib`` -> ``m.card.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".card.json") if p.suffix else p.with_name(p.name + ".card.json")


def _package_version() -> str:
    try:
        return metadata.version("geoenergy")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split("+")[0].split(".")[:2])


def build_card(model, ds, feats, X, labels, y, *, spec=None) -> dict:
    """The model card of a model just fitted (see :meth:`MiningModel.fit`).

    ``spec`` is the built-in detector's :class:`detectors.model.DetectorSpec`
    (its version and summary), None for a custom detector; the caller passes
    it so that this module needs nothing from :mod:`detectors.model`.
    """
    import sklearn

    from detectors.features import FEATURES

    det = model.detector_
    name = model.detector if model._builtin() else "custom"
    version = spec.version if spec is not None else None
    labelled: dict = {}
    if labels is not None:
        labelled = {
            "rows": len(labels),
            "mining": int((labels["label"] == "mining").sum()),
            "not_mining": int((labels["label"] == "not_mining").sum()),
            "used_mining": int((y == 1).sum()),
            "used_not_mining": int((y == 0).sum()),
            "not_mining_use": _not_mining_use(det),
        }
    return {
        "format": CARD_FORMAT,
        "package": "geoenergy",
        "package_version": _package_version(),
        "sklearn_version": sklearn.__version__,
        "created": now(),
        "detector": {
            "name": name,
            "version": version,
            "class": f"{type(det).__module__}.{type(det).__qualname__}",
            "params": jsonable(det.get_params(deep=False)),
            "summary": spec.summary if spec is not None else "",
            # the supervised detector's cross-validated choice of what ranks
            "learner": getattr(det, "learner_", None),
            "selection": jsonable(getattr(det, "selection_", {})),
        },
        "settings": {
            "valley_hours": list(model.valley_hours),
            "peer_columns": list(model.peer_columns),
            "threshold": model.threshold,
            "fdr": model.fdr,
            "min_days": model.min_days,
            "min_group_size": model.min_group_size,
        },
        "features": [{"name": f, "unit": FEATURES[f].unit} for f in model.features_],
        "training_data": {
            **data_summary(ds),
            "n_scored": len(X),
            "status_counts": feats["status"].str.split(r"[:;]").str[0].value_counts().to_dict(),
            "customer_classes": _groups_summary(ds),
            "features_sha256": _frame_hash(feats),
        },
        "peer_reference": model.peer_reference_.to_dict(),
        "flagging": model.null_.to_dict(),
        "labels": labelled,
        "evaluation": {"training_labels": _label_metrics(model, X, y)} if labelled else {},
    }


def _not_mining_use(det) -> str:
    """Whether and how the inspected non-miners shaped the ranking, in words."""
    if not isinstance(det, SupervisedDetector):
        return "not used to fit: only to evaluate (this detector does not learn from labels)"
    if det.fallback_:
        return "not used: without a confirmed miner the detector ranks with its prior"
    learner = getattr(det, "learner_", "blend")
    used = {
        "prior": "not used to rank: the cross-validated selection kept the prior",
        "blend": "negatives of the bagged positive-unlabelled learners (in every bag)",
        "learners": "negatives of the bagged positive-unlabelled learners (in every bag)",
        "baseline": "negatives of the gradient-boosting classifier that ranks",
        "stack": "negatives of the gradient-boosting classifier, rank-averaged with the prior",
        "prior+benign": "benign look-alikes: the prior is demoted near them relative to "
        "confirmed miners",
        "stack+benign": "negatives of the gradient-boosting classifier and benign look-alikes "
        "that demote the stack near them",
        "prior-led+benign": "negatives of the bagged positive-unlabelled learners (two fifths "
        "of the ranking, beside three fifths the prior) and benign look-alikes that demote "
        "it near them",
    }.get(learner, learner)
    return f"{learner}: {used}"


def _groups_summary(ds) -> dict:
    if "customer_class" not in ds.coords:
        return {}
    return pd.Series(ds["customer_class"].values).astype(str).value_counts().to_dict()


def _label_metrics(model, X, y) -> dict:
    """AP and AUC on the inspected training meters (mining vs not_mining).

    For the supervised detector the scores of the training meters are its
    out-of-bag scores, so the figures are not in-sample for the trees.
    """
    inspected = y >= 0
    out = {"n_mining": int((y == 1).sum()), "n_not_mining": int((y == 0).sum())}
    if not inspected.any():
        return out
    det = model.detector_
    if isinstance(det, SupervisedDetector) and not det.fallback_:
        s = det._platt(det.oob_score_)  # the out-of-bag probability
        out["scores"] = "out-of-bag"
    else:
        s = model.mining_score(X)
        out["scores"] = "in-sample"
    yy = y[inspected] == 1
    out["average_precision"] = average_precision(yy, s[inspected])
    out["roc_auc"] = roc_auc(yy, s[inspected])
    return jsonable(out)


def save_model(model, path) -> Path:
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
    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    card = dict(model.card)
    card["model_file"] = path.name
    card["model_sha256"] = _file_hash(path)
    card["saved"] = now()
    cpath = card_path(path)
    cpath.write_text(json.dumps(jsonable(card), indent=1, ensure_ascii=False), "utf-8")
    model.card = card
    return cpath


def load_model(cls, path):
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
    import sklearn

    path = Path(path)
    cpath = card_path(path)
    for p in (path, cpath):
        if not p.exists():
            raise FileNotFoundError(
                f"{p} does not exist; a saved model is the file plus its card "
                f"{cpath.name}, written together by MiningModel.save."
            )
    try:
        card = json.loads(cpath.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise IncompatibleModelError(f"{cpath} is not a valid model card: {exc}.") from exc
    fmt = card.get("format")
    if fmt != CARD_FORMAT:
        raise IncompatibleModelError(
            f"{cpath}: model card format {fmt!r} is not supported (this version reads "
            f"{CARD_FORMAT!r}); retrain the model with this version of geoenergy."
        )
    here = _package_version()
    saved = str(card.get("package_version"))
    if _major_minor(saved) != _major_minor(here):
        raise IncompatibleModelError(
            f"{path} was saved by geoenergy package version {saved}, this is {here}; models "
            "are compatible within a major.minor version. Retrain, or install "
            f"geoenergy=={saved} to use it."
        )
    skl = str(card.get("sklearn_version"))
    if _major_minor(skl) != _major_minor(sklearn.__version__):
        raise IncompatibleModelError(
            f"{path} was saved with scikit-learn {skl}, this is {sklearn.__version__}; "
            "pickled estimators are not portable across scikit-learn versions. Retrain, "
            f"or install scikit-learn=={skl}."
        )
    digest = _file_hash(path)
    if digest != card.get("model_sha256"):
        raise ModelIntegrityError(
            f"{path} was changed after it was saved: its SHA-256 {digest[:12]}... differs "
            f"from {str(card.get('model_sha256'))[:12]}... in {cpath.name}. Do not load it; "
            "restore the file or retrain."
        )
    import joblib

    model = joblib.load(path)
    if not isinstance(model, cls):
        raise IncompatibleModelError(
            f"{path} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    model.card = card
    return model


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's values, index, columns and dtypes (stable across runs).

    The columns are hashed as they are typed (``pd.util.hash_pandas_object`` on
    each column's buffer; strings by their UTF-8 bytes), not through a string
    copy of every cell: equal frames give equal hashes, a changed value,
    label or dtype gives another.
    """
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(frame.index).to_numpy().tobytes())
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        h.update(f"{name}:{col.dtype};".encode())
        h.update(pd.util.hash_pandas_object(col, index=False).to_numpy().tobytes())
    return h.hexdigest()


def data_summary(ds) -> dict:
    t = ds["local_time"].values if "local_time" in ds.coords else ds["time"].values
    return {
        "n_meters": int(ds.sizes["meter"]),
        "n_steps": int(ds.sizes["time"]),
        "start": str(pd.Timestamp(t.min())) if len(t) else None,
        "end": str(pd.Timestamp(t.max())) if len(t) else None,
        "step_s": ds.attrs.get("step_s"),
        "timezone": ds.attrs.get("timezone"),
    }


def jsonable(obj):
    """Plain JSON types: numbers, str, lists and dicts (others by repr)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool | str) or obj is None:
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return None if not np.isfinite(obj) else float(obj)
    return repr(obj)
