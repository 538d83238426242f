"""Detection in the workspace: readings, registry and layers in; a stored, explained run out.

The pipeline wires the three libraries together:

1. the registry's meters are joined to the ``districts`` and ``buildings``
   layers (:func:`layers.joins.join_meters`) and get a spatial peer group
   (:func:`layers.peers.peer_groups`: customer class within the district,
   falling back to the class when the group is small);
2. a :class:`detectors.model.MiningModel` extracts the load-signature
   features from the hourly readings and scores every meter against its
   peers, with reasons in words;
3. flagged meters are clustered into hotspots
   (:func:`layers.hotspots.dbscan_hotspots`);
4. the run, every scored meter (flagged or not, so a case page can show a
   meter's score history) and the hotspots are written to the store in one
   transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geoenergy.errors import ConfigError
from geoenergy.featurecache import CACHE_FOLDER, FeatureCache, cached_features
from geoenergy.holdout import TrainingError, evaluate_holdout, time_split

__all__ = [
    "DETECTOR_NAMES",
    "PEER_COLUMNS",
    "DetectionInputs",
    "DetectionResult",
    "TrainingError",
    "active_model",
    "detection_inputs",
    "load_labels",
    "load_weather",
    "meter_context",
    "register_model",
    "resolve_model",
    "run_detection",
    "train_model",
]

DETECTOR_NAMES = ("rule", "unsupervised")
"""Built-in detectors that need no labels; ``detect`` fits them on the data it scores."""

#: Peer columns handed to the detectors, coarsest first: the class, then the class in the district.
PEER_COLUMNS = ("customer_class", "district")


@dataclass
class DetectionResult:
    """What :func:`run_detection` produced.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per meter, most suspicious first: ``meter_id, score, rank,
        flagged, status, reasons, onset_date`` plus ``customer_class,
        district, building_use, peer_group, hotspot``.
    hotspots : geopandas.GeoDataFrame
        Clusters of flagged meters (WGS84 polygons).
    model : detectors.model.MiningModel
    run_id : int or None
        The stored detection run (None when not saved).
    seconds : float
        Wall-clock time. [s]
    """

    scores: pd.DataFrame
    hotspots: object
    model: object
    run_id: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    flagging: dict = field(default_factory=dict)
    """How the flagged list was chosen and its ``expected_precision`` (share of the
    flagged meters expected to host mining), from :meth:`MiningModel.score`."""

    @property
    def n_flagged(self) -> int:
        return int(self.scores["flagged"].sum())


def _store(ws, store):
    return store or ws.store


# -- inputs from the store ---------------------------------------------------------------


def meter_context(ws, *, store=None, tolerance_m: float = 20.0, min_peer_size: int = 10):
    """Every registered meter with its district, building and peer group.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    store : geoenergy.store.Store, optional
    tolerance_m : float, default 20.0
        A meter in no building takes the nearest building within this distance. [m]
    min_peer_size : int, default 10
        Smaller class-in-district groups fall back to the class.

    Returns
    -------
    geopandas.GeoDataFrame
        WGS84 points with ``meter_id, address, customer_class, contracted_kw,
        floor_area_m2, district, district_match, building_id, building_use,
        building_floor_area_m2, building_match, building_distance_m,
        peer_group, peer_level, peer_size``. Without ``districts`` or
        ``buildings`` layers those columns are empty and the match says
        ``"none"``.
    """
    from geoenergy.layerstore import load_layer, load_meters
    from layers.joins import join_meters
    from layers.peers import peer_groups

    store = _store(ws, store)
    meters = load_meters(ws, store=store)
    if meters.empty:
        raise ConfigError(
            "the workspace has no meters. Ingest a registry first: "
            "`geoenergy ingest registry FILE`."
        )
    districts = load_layer(ws, "districts", store=store, required=False)
    buildings = load_layer(ws, "buildings", store=store, required=False)
    if districts is None and buildings is None:
        out = meters.copy()
        for col in ("district", "building_id", "building_use"):
            out[col] = None
        out["building_floor_area_m2"] = np.nan
        out["building_distance_m"] = np.nan
        out["district_match"] = out["building_match"] = "none"
    else:
        out = join_meters(meters, districts, buildings, tolerance_m=tolerance_m)
    peers = peer_groups(out, scheme="class_district", min_size=min_peer_size)
    return out.join(peers)


def load_weather(ws, *, store=None) -> pd.DataFrame | None:
    """The workspace's daily weather (``date, temp_c``), or None when there is none."""
    from geoenergy.store import Weather

    store = _store(ws, store)
    with store.session() as s:
        rows = s.execute(sa.select(Weather.date, Weather.temp_c).order_by(Weather.date)).all()
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=["date", "temp_c"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def load_labels(ws, *, store=None) -> pd.DataFrame:
    """Inspection labels of the workspace (files and review app): ``meter_id, label, inspected_on``."""
    from geoenergy.store import InspectionLabel

    store = _store(ws, store)
    with store.session() as s:
        rows = s.execute(
            sa.select(
                InspectionLabel.meter_id, InspectionLabel.label, InspectionLabel.inspected_on
            ).order_by(InspectionLabel.inspected_on, InspectionLabel.meter_id)
        ).all()
    df = pd.DataFrame(rows, columns=["meter_id", "label", "inspected_on"])
    df["inspected_on"] = pd.to_datetime(df["inspected_on"])
    return df


def _registry(context) -> pd.DataFrame:
    cols = ["meter_id", "customer_class", "peer_group", "district", "building_use"]
    reg = pd.DataFrame(context[[*cols, "contracted_kw"]]).copy()
    reg["peer_group"] = reg["peer_group"].astype(str)
    return reg


def _site_meters(ws, store, registry: pd.DataFrame) -> pd.DataFrame:
    """``registry`` with the data_centres layer's ``it_meter_id`` and ``cooling``.

    A site of the layer names its facility meter (``meter_id``) and may name
    its IT meter (``it_meter_id``) and its ``cooling``: both go to the
    facility meter's row, for the PUE evidence of :mod:`detectors.datacentre`
    (and so that an IT sub-meter registered as a data centre is listed once,
    under its site). Without the layer, or without those properties, the
    columns are empty (the evidence then says "not available").
    """
    from geoenergy.layerstore import load_layer

    out = registry.assign(it_meter_id=None, cooling=None)
    dc = load_layer(ws, "data_centres", store=store, required=False)
    if dc is None or dc.empty or "meter_id" not in dc.columns:
        return out
    sites = pd.DataFrame(
        {
            "meter_id": dc["meter_id"].map(_clean_id),
            "it_meter_id": dc.get("it_meter_id", pd.Series(None, index=dc.index)).map(_clean_id),
            "cooling": dc.get("cooling", pd.Series(None, index=dc.index)).map(_clean_id),
        }
    ).dropna(subset=["meter_id"])
    sites = sites.drop_duplicates("meter_id", keep="last").set_index("meter_id")
    ids = out["meter_id"].astype(str)
    for col in ("it_meter_id", "cooling"):
        out[col] = ids.map(sites[col]).astype(object).where(ids.isin(sites.index), None)
    return out


def _clean_id(v) -> str | None:
    """A layer property as text, None when empty."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(v).strip()
    return text or None


@dataclass
class DetectionInputs:
    """What a detector needs from a workspace, from :func:`detection_inputs`.

    Attributes
    ----------
    context : geopandas.GeoDataFrame
        Every registered meter with its district, building and peer group
        (:func:`meter_context`).
    readings : xarray.Dataset
        Hourly readings [kWh], in memory (or lazy with ``load=False``).
    registry : pandas.DataFrame
        The meters with readings: ``meter_id, customer_class, peer_group,
        district, building_use, contracted_kw`` (the table
        :class:`detectors.model.MiningModel` takes), and ``it_meter_id``,
        ``cooling`` of the data centres the data_centres layer names (else
        empty): their PUE evidence.
    weather : pandas.DataFrame or None
        Daily weather (``date, temp_c``).
    """

    context: object
    readings: object
    registry: pd.DataFrame
    weather: pd.DataFrame | None


def detection_inputs(
    ws, *, store=None, start=None, end=None, tolerance_m: float = 20.0, load: bool = True
) -> DetectionInputs:
    """Readings, registry with spatial context and weather of a workspace, for detection.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    store : geoenergy.store.Store, optional
    start, end : str or Timestamp, optional
        Readings window ``[start, end)``, local time.
    tolerance_m : float, default 20.0
        Meter-to-building snapping distance. [m]
    load : bool, default True
        Load the readings into memory (meters x hours, 8 bytes each). False
        keeps them lazy (one dask chunk per bucket of the store), for
        :class:`geoenergy.featurecache.FeatureCache`, which reads them a
        bucket at a time.
    """
    from geoenergy.readings import open_readings

    store = _store(ws, store)
    store.check()
    context = meter_context(ws, store=store, tolerance_m=tolerance_m)
    ds = open_readings(ws, resolution="hourly", start=start, end=end, store=store)
    if ds.sizes["meter"] == 0 or ds.sizes["time"] == 0:
        raise ConfigError(
            "the workspace has no readings in that window. Ingest some with "
            "`geoenergy ingest readings FILE`."
        )
    if load:
        ds = ds.load()  # one pass over the Parquet store; features then run in memory
    registry = _registry(context)
    registry = registry[registry["meter_id"].isin(ds["meter"].values)]
    registry = _site_meters(ws, store, registry)
    return DetectionInputs(context, ds, registry, load_weather(ws, store=store))


# -- models -----------------------------------------------------------------------------


def active_model(ws, *, store=None):
    """The registered detector model that scores new runs, or None."""
    from geoenergy.store import DetectorModel

    store = _store(ws, store)
    with store.session() as s:
        return (
            s.execute(
                sa.select(DetectorModel)
                .where(DetectorModel.active.is_(True))
                .order_by(DetectorModel.registered_at.desc(), DetectorModel.id.desc())
            )
            .scalars()
            .first()
        )


def resolve_model(ws, detector: str = "auto", *, store=None):
    """The model a run uses, and whether it still has to be fitted.

    ``"auto"``: the workspace's active registered model, else ``"unsupervised"``;
    ``"rule"`` / ``"unsupervised"``: a fresh built-in detector (fitted on the
    data it scores, as these need no labels); anything else: a saved model file.
    """
    from detectors.model import MiningModel

    if detector == "auto":
        reg = active_model(ws, store=store) if ws is not None else None
        if reg is None:
            detector = "unsupervised"
        else:
            return MiningModel.load(reg.path), False
    if detector in DETECTOR_NAMES:
        return MiningModel(detector, peer_columns=PEER_COLUMNS), True
    path = Path(detector)
    if not path.exists():
        raise ConfigError(
            f"--detector {detector!r} is neither {', '.join(DETECTOR_NAMES)} nor an existing "
            "model file. Train one with `geoenergy train ... --out MODEL.joblib`."
        )
    try:
        return MiningModel.load(path), False
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"cannot use model {path}: {exc}") from None


def register_model(ws, path, *, name: str | None = None, actor: str = "cli", store=None):
    """Register a saved model as the workspace's active detector (audit-logged)."""
    import hashlib

    from detectors.model import MiningModel
    from geoenergy.store import DetectorModel, record_audit

    store = _store(ws, store)
    path = Path(path).resolve()
    model = MiningModel.load(path)  # checks card, versions and hash
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    detector = str(model.card.get("detector", {}).get("name", model.detector))
    with store.session() as s:
        before = [
            m.id for m in s.execute(sa.select(DetectorModel).where(DetectorModel.active)).scalars()
        ]
        s.execute(sa.update(DetectorModel).values(active=False))
        rec = DetectorModel(
            name=name or path.stem,
            detector=detector,
            path=str(path),
            sha256=sha,
            card=_jsonable(model.card),
            registered_by=actor,
            active=True,
        )
        s.add(rec)
        s.flush()
        record_audit(
            s,
            actor=actor,
            action="register_model",
            entity="detector_model",
            entity_id=rec.id,
            before={"active": before},
            after={"active": [rec.id], "path": str(path), "sha256": sha},
        )
        return rec


def _jsonable(obj):
    import json

    return json.loads(json.dumps(obj, default=str))


# -- detection --------------------------------------------------------------------------


def check_fdr(fdr) -> float:
    """``fdr`` as a float in (0, 1), or a ConfigError naming ``--fdr`` (checked before any work)."""
    from detectors.flagging import check_fdr as valid_fdr

    try:
        return valid_fdr(fdr)
    except ValueError:
        raise ConfigError(
            f"--fdr {fdr!r}: the false-discovery rate of the flagged list must be between 0 "
            "and 1 (exclusive); e.g. 0.02 accepts about 1 false alarm in 50 flagged addresses."
        ) from None


def _checked_fdr(fdr, model) -> float:
    """``fdr`` for ``model``'s flagged list, or a ConfigError naming ``--fdr``."""
    fdr = check_fdr(fdr)
    if model.detector == "rule":
        raise ConfigError(
            "--fdr does not apply to the rule detector, which flags by its points (min_points); "
            "drop --fdr or use --detector unsupervised."
        )
    if getattr(model, "threshold", None) is not None:
        raise ConfigError(
            f"--fdr does not apply to this model: it was saved to flag at a score threshold "
            f"({model.threshold:g}); drop --fdr or train a model without a threshold."
        )
    return fdr


def run_detection(
    ws,
    *,
    detector: str = "auto",
    store=None,
    save: bool = True,
    start=None,
    end=None,
    eps_m: float = 300.0,
    min_samples: int = 3,
    tolerance_m: float = 20.0,
    actor: str = "cli",
    keep_cache: bool = True,
    fdr: float | None = None,
) -> DetectionResult:
    """Score every meter of the workspace, cluster the flagged ones, store the run.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    detector : str, default "auto"
        ``"auto"`` (the registered model, else unsupervised), ``"rule"``,
        ``"unsupervised"`` or the path of a saved model.
    store : geoenergy.store.Store, optional
    save : bool, default True
        Write the run, its scores and hotspots to the store.
    start, end : str or Timestamp, optional
        Readings window ``[start, end)``, local time.
    eps_m : float, default 300.0
        Hotspot radius. [m]
    min_samples : int, default 3
        Flagged meters within ``eps_m`` that make a hotspot core.
    tolerance_m : float, default 20.0
        Meter-to-building snapping distance. [m]
    actor : str
        Who started the run (audit log).
    keep_cache : bool, default True
        Write the feature cache (kernel rows and bucket layouts) for the next
        run. ``False`` for a throw-away workspace (``geoenergy detect`` from
        files), which no run reads again: nothing is written.
    fdr : float, optional
        False-discovery rate of the flagged list, in (0, 1): the team's
        tolerance for false alarms (0.05: about 1 flagged address in 20 without
        mining, as the simulated null sees it). None: the model's own
        (:data:`detectors.flagging.DEFAULT_FDR` for a new one). Not for the rule
        detector, which flags by its points, nor a model saved with a score
        ``threshold``.
    """
    from detectors.datacentre import evidence_meters, known_readings
    from layers.hotspots import dbscan_hotspots

    t0 = time.perf_counter()
    store = _store(ws, store)
    started = dt.datetime.now(dt.UTC)
    # The readings stay in the store: the feature cache reads them a bucket at a time.
    inputs = detection_inputs(
        ws, store=store, start=start, end=end, tolerance_m=tolerance_m, load=False
    )
    context, ds, registry, weather = (
        inputs.context,
        inputs.readings,
        inputs.registry,
        inputs.weather,
    )
    model, needs_fit = resolve_model(ws, detector, store=store)
    if fdr is not None:
        model.fdr = _checked_fdr(fdr, model)
    notes = []
    # Meters whose readings did not change since the last run are not run through the
    # kernel, and buckets whose files did not change are not read again.
    # The registered data centres' readings, read once by the feature pass, are handed
    # to their evidence (detectors.datacentre) instead of read from their buckets again.
    cache = FeatureCache(
        Path(ws.path) / CACHE_FOLDER,
        readings=ws.readings,
        layouts=keep_cache,
        persist=keep_cache,
        keep_rows=evidence_meters(registry),
    )
    with cached_features(model, cache), known_readings(cache.kept, ds):
        if needs_fit:
            model.fit(ds, registry, weather)
            notes.append(f"fitted the {model.detector} detector on {ds.sizes['meter']:,} meters")
        scores = model.score(ds, registry, weather)
    notes.append(cache.layout_summary())
    notes.append(cache.summary())
    flagging = dict(scores.attrs.get("flagging", {}))
    ctx = pd.DataFrame(context.drop(columns=context.geometry.name))
    scores = scores.merge(
        ctx[["meter_id", "customer_class", "district", "building_use", "peer_group"]],
        on="meter_id",
        how="left",
    )
    pts = context[["meter_id", context.geometry.name]].merge(
        scores[["meter_id", "flagged", "score"]], on="meter_id"
    )
    hotspots = dbscan_hotspots(
        pts, eps_m=eps_m, min_samples=min_samples, flagged_col="flagged", score_col="score"
    )
    member = {
        m: int(h)
        for h, ids in zip(hotspots["hotspot"], hotspots["meter_ids"], strict=True)
        for m in ids
    }
    scores["hotspot"] = scores["meter_id"].map(member).astype("Int64")
    result = DetectionResult(scores, hotspots, model, notes=notes, flagging=flagging)
    if save:
        result.run_id = _save_run(
            store,
            result,
            detector=detector,
            started=started,
            ds=ds,
            params={"eps_m": eps_m, "min_samples": min_samples, "tolerance_m": tolerance_m},
            actor=actor,
        )
    result.seconds = time.perf_counter() - t0
    return result


def _save_run(store, result, *, detector, started, ds, params, actor) -> int:
    from geoalchemy2 import WKTElement

    from geoenergy.store import SRID, DetectionRun, Flag, Hotspot, record_audit
    from geoenergy.store.bulk import insert_rows

    model, scores = result.model, result.scores
    card = _jsonable(model.card)
    # The run's flagged list and its expected precision, for the review app.
    card["flagged_list"] = _jsonable(result.flagging)
    # Meters without a score have no flag row (score and rank are required there):
    # the card keeps how many and why, by status.
    unscored = scores.loc[scores["score"].isna(), "status"].astype(str)
    card["flagged_list"]["not_scored"] = {k: int(v) for k, v in unscored.value_counts().items()}
    times = pd.DatetimeIndex(ds["time"].values).tz_localize("UTC")
    with store.session() as s:
        run = DetectionRun(
            detector=str(model.detector if isinstance(model.detector, str) else "custom"),
            version=str(card.get("package_version", "")),
            params={"detector": str(detector), **params},
            started_at=started,
            data_start=times[0].to_pydatetime() if len(times) else None,
            data_end=times[-1].to_pydatetime() if len(times) else None,
            n_meters=len(scores),
            n_flagged=int(scores["flagged"].sum()),
            model_sha256=card.get("model_sha256"),
            model_card=card,
        )
        s.add(run)
        s.flush()
        hid = {}
        for h in result.hotspots.itertuples():
            rec = Hotspot(
                run_id=run.id,
                label=f"hotspot {h.hotspot}",
                n_flagged=int(h.n_flagged),
                total_score=float(getattr(h, "score_total", np.nan)),
                members=list(h.meter_ids),
                geom=WKTElement(h.geometry.wkt, srid=SRID),
            )
            s.add(rec)
            s.flush()
            hid[int(h.hotspot)] = rec.id
        rows = []
        for r in scores.itertuples(index=False):
            if pd.isna(r.score):
                continue  # not scored: counted by status in model_card["flagged_list"]
            reasons = [p.strip() for p in str(r.reasons).split(";") if p.strip()]
            rows.append(
                {
                    "run_id": run.id,
                    "meter_id": r.meter_id,
                    "score": None if pd.isna(r.score) else float(r.score),
                    "rank": None if pd.isna(r.rank) else int(r.rank),
                    "reasons": reasons,
                    "flagged": bool(r.flagged),
                    "status": str(r.status)[:128],
                    "district": None if pd.isna(r.district) else str(r.district),
                    "building_use": None if pd.isna(r.building_use) else str(r.building_use),
                    "peer_group": None if pd.isna(r.peer_group) else str(r.peer_group),
                    "onset_date": None
                    if pd.isna(r.onset_date)
                    else pd.Timestamp(r.onset_date).date(),
                    "hotspot_id": None if pd.isna(r.hotspot) else hid[int(r.hotspot)],
                }
            )
        # One driver executemany on the session's connection (same transaction), without
        # SQLAlchemy's per-row parameter building: a city's 100,000 flags in seconds.
        insert_rows(s.connection(), Flag.__table__, rows)
        run.finished_at = dt.datetime.now(dt.UTC)
        record_audit(
            s,
            actor=actor,
            action="detect",
            entity="detection_run",
            entity_id=run.id,
            after={"n_meters": run.n_meters, "n_flagged": run.n_flagged, "detector": run.detector},
        )
        return run.id


# -- training ---------------------------------------------------------------------------


def train_model(
    ws, *, store=None, labels: pd.DataFrame | None = None, holdout: float = 0.3, seed: int = 0
):
    """Train the supervised detector on the workspace's inspection labels.

    The model is first evaluated on a time-based hold-out
    (:func:`geoenergy.holdout.time_split` and
    :func:`geoenergy.holdout.evaluate_holdout`: fitted on the earlier
    inspections with the readings before the cutoff) and then refitted on
    all labels and readings; the hold-out figures go into its model card
    under ``card["evaluation"]["holdout"]``
    (:meth:`geoenergy.holdout.HoldoutEvaluation.card`).

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    labels : DataFrame, optional
        ``meter_id, label, inspected_on``; default the workspace's labels.
    holdout : float, default 0.3
        Share of the inspections, latest first, held out for evaluation.

    Returns
    -------
    (detectors.model.MiningModel, dict)
        The model fitted on all labels, and the hold-out figures (empty
        when the labels cannot be split; the card then says why under
        ``skipped``).
    """
    from detectors.model import MiningModel

    store = _store(ws, store)
    store.check()
    labels = load_labels(ws, store=store) if labels is None else labels
    n_pos = int((labels["label"] == "mining").sum())
    n_neg = int((labels["label"] == "not_mining").sum())
    if n_pos < 3:
        raise TrainingError(
            f"training needs at least 3 confirmed mining labels, the workspace has {n_pos} "
            f"(and {n_neg} not_mining). Ingest more with `geoenergy ingest labels FILE`."
        )
    inputs = detection_inputs(ws, store=store)
    unknown = sorted(set(labels["meter_id"]) - set(inputs.registry["meter_id"]))
    if unknown:
        raise TrainingError(
            f"{len(unknown)} labelled meter(s) are not in the registry or have no readings, "
            f"e.g. {unknown[:5]}. Ingest their registry rows and readings, or drop the labels."
        )
    model = MiningModel("supervised", peer_columns=PEER_COLUMNS, random_state=seed)
    try:
        metrics = evaluate_holdout(inputs, time_split(labels, holdout), model).card()
        card = metrics
    except TrainingError as exc:  # too few inspections on one side of the split
        metrics, card = {}, {"skipped": str(exc)}
    model.fit(inputs.readings, inputs.registry, inputs.weather, labels=labels)
    model.card.setdefault("evaluation", {})["holdout"] = card
    return model, metrics
