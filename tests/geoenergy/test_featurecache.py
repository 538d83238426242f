"""The feature cache: the same features to the bit, the kernel run only for changed meters.

A warm run must equal a cold run to the bit. Against one plain
``extract_features`` call over all meters the features agree to rounding
only: BLAS rounds the last bit by how many rows a call sees, and the cache
computes in fixed chunks of meters (see ``geoenergy.featurecache``).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from detectors.features import extract_features
from geoenergy.config import Workspace
from geoenergy.detection import detection_inputs, run_detection
from geoenergy.featurecache import CACHE_FOLDER, FeatureCache, cached_features


def _close(got, want):
    """Equal but for the last bits of the floats (rtol 1e-12); everything else exactly."""
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)
    assert got.attrs == want.attrs


@pytest.fixture
def inputs(city_ws):
    return detection_inputs(city_ws)


def test_cold_and_warm_equal_the_plain_extraction(inputs, tmp_path):
    ds, weather = inputs.readings, inputs.weather
    plain = extract_features(ds, weather=weather, groups=inputs.registry[["meter_id", "district"]])
    cache = FeatureCache(tmp_path / "cache")
    kw = {"weather": weather, "groups": inputs.registry[["meter_id", "district"]]}
    cold = cache.extract_features(ds, **kw)
    assert cache.last == {"meters": 600, "computed": 600, "reused": 0}
    warm = FeatureCache(tmp_path / "cache").extract_features(ds, **kw)  # from the file
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    _close(cold, plain)


def test_only_a_changed_meter_is_computed_again(inputs, tmp_path):
    ds, weather = inputs.readings, inputs.weather
    cache = FeatureCache(tmp_path / "cache")
    cache.extract_features(ds, weather=weather)
    changed = ds.copy(deep=True)
    changed["kwh"].values[3, 100] += 5.0  # one reading of the fourth meter
    feats = cache.extract_features(changed, weather=weather)
    assert cache.last == {"meters": 600, "computed": 1, "reused": 599}
    assert (cache.computed, cache.reused) == (601, 599)
    cold = FeatureCache(tmp_path / "elsewhere").extract_features(changed, weather=weather)
    pd.testing.assert_frame_equal(feats, cold, check_exact=True)
    _close(feats, extract_features(changed, weather=weather))


def test_another_window_or_weather_is_another_key(inputs, tmp_path):
    ds, weather = inputs.readings, inputs.weather
    cache = FeatureCache(tmp_path / "cache", keep=2)
    cache.extract_features(ds, weather=weather)
    cache.extract_features(ds.isel(time=slice(24, None)), weather=weather)  # a day shorter
    assert cache.last["computed"] == 600
    warmer = weather.assign(temp_c=weather["temp_c"] + 1.0)
    feats = cache.extract_features(ds, weather=warmer)
    assert cache.last["computed"] == 600
    _close(feats, extract_features(ds, weather=warmer))
    assert len(list((tmp_path / "cache").glob("features-*.parquet"))) == 2  # the oldest went


def test_an_unwritable_cache_is_only_slower(inputs, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    cache = FeatureCache(blocker)
    feats = cache.extract_features(inputs.readings, weather=inputs.weather)
    _close(feats, extract_features(inputs.readings, weather=inputs.weather))


def test_cached_features_leaves_the_model_as_it_was(inputs, tmp_path):
    from detectors.model import MiningModel

    model = MiningModel("unsupervised", peer_columns=("customer_class", "district"))
    cache = FeatureCache(tmp_path / "cache")
    with cached_features(model, cache):
        model.fit(inputs.readings, inputs.registry, inputs.weather)
        cached = model.score(inputs.readings, inputs.registry, inputs.weather)
    assert (cache.computed, cache.reused) == (600, 600)  # score reused what fit computed
    assert "_features" not in vars(model)
    plain = model.score(inputs.readings, inputs.registry, inputs.weather)
    pd.testing.assert_frame_equal(cached, plain, check_exact=False, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="keep must be a positive number"):
        FeatureCache(tmp_path, keep=0)


def _workspace(root, city, readings, migrated):
    from geoenergy.ingest import ingest_layer, ingest_readings, ingest_registry, ingest_weather

    ws = Workspace.create(root, readings_buckets=4)
    shutil.copy(migrated, ws.path / "store.sqlite")
    ingest_registry(ws, city.registry)
    ingest_readings(ws, readings)
    ingest_weather(ws, city.weather)
    for kind in ("districts", "buildings"):
        ingest_layer(ws, kind, city.layers[kind])
    return ws


def test_a_rerun_after_a_late_day_computes_only_the_changed_meters(
    city, tmp_path, _migrated_sqlite
):
    """40 meters' readings of one day arrive late; the re-run computes those 40 only."""
    rows = pd.read_parquet(city.readings)
    late_meters = np.sort(rows["meter_id"].unique())[::15][:40]
    late = rows["meter_id"].isin(late_meters) & (
        rows["timestamp"].dt.date.astype(str) == "2023-11-20"
    )
    assert late.sum() == 40 * 24
    rows[~late].to_parquet(tmp_path / "first.parquet", index=False)
    rows[late].to_parquet(tmp_path / "late.parquet", index=False)
    ws = _workspace(tmp_path / "ws", city, tmp_path / "first.parquet", _migrated_sqlite)

    first = run_detection(ws, detector="unsupervised", save=False)
    assert first.notes[-1] == (
        "features: 600 meter series through the kernel, 600 read from the cache "
        "(readings unchanged)"
    )
    from geoenergy.ingest import ingest_readings

    assert ingest_readings(ws, tmp_path / "late.parquet").n_accepted == 40 * 24
    again = run_detection(ws, detector="unsupervised", save=False)
    assert again.notes[-1] == (
        "features: 40 meter series through the kernel, 1,160 read from the cache "
        "(readings unchanged)"
    )
    shutil.rmtree(ws.path / CACHE_FOLDER)
    cold = run_detection(ws, detector="unsupervised", save=False)
    assert cold.notes[-1].startswith("features: 600 meter series through the kernel")
    pd.testing.assert_frame_equal(again.scores, cold.scores, check_exact=True)
    assert not again.scores["score"].equals(first.scores["score"])  # the late day counted
