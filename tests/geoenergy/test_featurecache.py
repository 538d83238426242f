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


def test_a_cache_that_does_not_persist_writes_nothing_but_serves_its_own_calls(inputs, tmp_path):
    """A throw-away workspace's cache (persist=False, no layouts): the second call
    (score after fit) reuses the rows in memory, no file is written, same features."""
    ds, weather = inputs.readings, inputs.weather
    folder = tmp_path / "cache"
    cache = FeatureCache(folder, layouts=False, persist=False)
    first = cache.extract_features(ds, weather=weather)
    again = cache.extract_features(ds, weather=weather)
    assert cache.last == {"meters": 600, "computed": 0, "reused": 600}
    assert not folder.exists() or not any(folder.rglob("*"))
    pd.testing.assert_frame_equal(again, first, check_exact=True)
    kept = FeatureCache(tmp_path / "kept").extract_features(ds, weather=weather)
    pd.testing.assert_frame_equal(first, kept, check_exact=True)


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


def _features(ws, folder, **kw):
    """Features of a workspace through a store-backed cache in ``folder``, and the cache."""
    lazy = detection_inputs(ws, load=False)
    cache = FeatureCache(folder, readings=ws.readings, **kw)
    feats = cache.extract_features(
        lazy.readings, weather=lazy.weather, groups=lazy.registry[["meter_id", "district"]]
    )
    return feats, cache


def test_bucket_batches_equal_one_batch_in_memory(city_ws, tmp_path):
    """The store read a bucket at a time (4 batches of about 150 meters) gives the same
    features and scores, to the bit, as all 600 meters in memory at once."""
    from detectors.model import MiningModel
    from geoenergy.detection import PEER_COLUMNS

    lazy = detection_inputs(city_ws, load=False)
    assert len(lazy.readings["kwh"].chunks[0]) == 4  # one chunk per bucket, nothing loaded
    batched, cache = _features(city_ws, tmp_path / "batched")
    assert cache.buckets["read"] == 4 and cache.rows_read > 0
    loaded = detection_inputs(city_ws)  # every reading in memory, one batch
    groups = loaded.registry[["meter_id", "district"]]
    whole = FeatureCache(tmp_path / "whole").extract_features(
        loaded.readings, weather=loaded.weather, groups=groups
    )
    pd.testing.assert_frame_equal(batched, whole, check_exact=True)
    _close(batched, extract_features(loaded.readings, weather=loaded.weather, groups=groups))

    res = run_detection(city_ws, detector="unsupervised", save=False)
    assert res.notes[-2].startswith("readings: 4 bucket(s) read whole")
    model = MiningModel("unsupervised", peer_columns=PEER_COLUMNS)
    with cached_features(model, FeatureCache(tmp_path / "memory")):
        model.fit(loaded.readings, loaded.registry, loaded.weather)
        want = model.score(loaded.readings, loaded.registry, loaded.weather)
    pd.testing.assert_frame_equal(res.scores[list(want.columns)], want, check_exact=True)

    # A throw-away workspace's run writes no cache (no rows, no layouts), same scores.
    shutil.rmtree(city_ws.path / CACHE_FOLDER, ignore_errors=True)
    light = run_detection(city_ws, detector="unsupervised", save=False, keep_cache=False)
    assert not (city_ws.path / CACHE_FOLDER).exists()
    pd.testing.assert_frame_equal(light.scores, res.scores, check_exact=True)


def _split_workspace(city, tmp_path, migrated, late):
    """A workspace holding the sample city's readings but those where ``late(rows)``."""
    rows = pd.read_parquet(city.readings)
    held = late(rows)
    rows[~held].to_parquet(tmp_path / "first.parquet", index=False)
    rows[held].to_parquet(tmp_path / "late.parquet", index=False)
    ws = _workspace(tmp_path / "ws", city, tmp_path / "first.parquet", migrated)
    return ws, rows, int(held.sum())


def test_a_rerun_after_appending_a_day_reads_only_that_day(city, tmp_path, _migrated_sqlite):
    from geoenergy.ingest import ingest_readings

    def last_day(rows):
        day = rows["timestamp"].dt.date
        return day == day.max()

    ws, _rows, n_day = _split_workspace(city, tmp_path, _migrated_sqlite, last_day)
    before, _ = _features(ws, ws.path / CACHE_FOLDER)
    run_detection(ws, detector="unsupervised", save=False)
    assert ingest_readings(ws, tmp_path / "late.parquet").n_accepted == n_day
    shutil.copytree(ws.path / CACHE_FOLDER, tmp_path / "kept")

    again = run_detection(ws, detector="unsupervised", save=False)
    assert again.notes[-2] == (
        "readings: 0 bucket(s) read whole, 4 from the kept layout plus the files added since, "
        f"0 from the kept layout, 4 not needed; {n_day:,} stored readings read"
    )
    warm, cache = _features(ws, tmp_path / "kept")
    assert cache.buckets == {"read": 0, "extended": 4, "kept": 0, "skipped": 0}
    assert cache.last["computed"] == 600  # a longer window: every kernel row again
    cold, cold_cache = _features(ws, tmp_path / "empty")
    assert cold_cache.buckets["read"] == 4
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    assert len(cold) == len(before) and not cold["mean_kw"].equals(before["mean_kw"])

    shutil.rmtree(ws.path / CACHE_FOLDER)
    fresh = run_detection(ws, detector="unsupervised", save=False)
    assert fresh.notes[-2].startswith("readings: 4 bucket(s) read whole")
    pd.testing.assert_frame_equal(again.scores, fresh.scores, check_exact=True)


def test_a_late_reading_of_one_old_day_of_one_meter_is_seen(city, tmp_path, _migrated_sqlite):
    """One meter's day 10 arrives late, together with a new day for everyone: the kept
    layout takes both, and equals a read of the whole store; the meter's gap is gone."""
    from geoenergy.ingest import ingest_readings
    from geoenergy.readings import compact_readings

    rows = pd.read_parquet(city.readings)
    meter = np.sort(rows["meter_id"].unique())[7]
    days = rows["timestamp"].dt.date
    old_day = np.sort(days.unique())[10]

    def late(r):
        d = r["timestamp"].dt.date
        return ((r["meter_id"] == meter) & (d == old_day)) | (d == d.max())

    ws, _rows, n_late = _split_workspace(city, tmp_path, _migrated_sqlite, late)
    before, _ = _features(ws, ws.path / CACHE_FOLDER)
    assert ingest_readings(ws, tmp_path / "late.parquet").n_accepted == n_late
    warm, cache = _features(ws, ws.path / CACHE_FOLDER)
    assert cache.buckets["extended"] == 4 and cache.rows_read == n_late
    cold, _ = _features(ws, tmp_path / "empty")
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    assert warm.loc[meter, "missing_share"] < before.loc[meter, "missing_share"]

    # the same window again: nothing is read, nothing computed
    same, cache = _features(ws, ws.path / CACHE_FOLDER)
    assert cache.buckets["skipped"] == 4 and cache.last["computed"] == 0
    pd.testing.assert_frame_equal(same, cold, check_exact=True)

    # compaction rewrites the files: the buckets are read whole again, with the same result
    compact_readings(ws)
    after, cache = _features(ws, ws.path / CACHE_FOLDER)
    assert cache.buckets["read"] == 4
    pd.testing.assert_frame_equal(after, cold, check_exact=True)


def test_a_kept_layout_follows_a_moved_window(city_ws, tmp_path):
    """A later start reuses the kept layout (no file read) and equals a fresh read; the
    full window after it still finds its wider layout kept (the moved one is not written)."""

    def feats(folder, start=None):
        lazy = detection_inputs(city_ws, load=False, start=start)
        cache = FeatureCache(folder, readings=city_ws.readings)
        return cache.extract_features(lazy.readings, weather=lazy.weather), cache

    full, _ = feats(tmp_path / "kept")
    later, cache = feats(tmp_path / "kept", start="2023-11-04")
    assert cache.buckets == {"read": 0, "extended": 0, "kept": 4, "skipped": 0}
    assert cache.rows_read == 0
    fresh, fresh_cache = feats(tmp_path / "fresh", start="2023-11-04")
    assert fresh_cache.buckets["read"] == 4
    pd.testing.assert_frame_equal(later, fresh, check_exact=True)
    again, cache = feats(tmp_path / "kept")
    assert cache.buckets["skipped"] == 4  # the full window's kernel rows are still kept
    pd.testing.assert_frame_equal(again, full, check_exact=True)
    for path in (tmp_path / "kept").glob("features-*.parquet"):
        path.unlink()
    again, cache = feats(tmp_path / "kept")
    assert cache.buckets["kept"] == 4  # the wider layout was kept, not the moved one
    pd.testing.assert_frame_equal(again, full, check_exact=True)
    shutil.rmtree(tmp_path / "kept")
    again, cache = feats(tmp_path / "kept")
    assert cache.buckets["read"] == 4
    pd.testing.assert_frame_equal(again, full, check_exact=True)


def test_two_appends_on_a_layout_kept_once(city, tmp_path, _migrated_sqlite):
    """The layout is not written again for a small append: the second re-run reads both
    new days onto the layout of the first run and still equals a read of the whole store."""
    from geoenergy.ingest import ingest_readings

    def last_two_days(rows):
        day = rows["timestamp"].dt.date
        return day >= np.sort(day.unique())[-2]

    ws, _rows, _n = _split_workspace(city, tmp_path, _migrated_sqlite, last_two_days)
    late = pd.read_parquet(tmp_path / "late.parquet")
    day = late["timestamp"].dt.date
    for i, d in enumerate(np.sort(day.unique())):
        late[day == d].to_parquet(tmp_path / f"day{i}.parquet", index=False)
    _features(ws, ws.path / CACHE_FOLDER)
    kept = sorted((ws.path / CACHE_FOLDER / "layout").glob("*.json"))
    stamp = [p.read_text() for p in kept]
    for i in range(2):
        ingest_readings(ws, tmp_path / f"day{i}.parquet")
        warm, cache = _features(ws, ws.path / CACHE_FOLDER)
        assert cache.buckets["extended"] == 4
        assert [p.read_text() for p in kept] == stamp  # one day is under 1/8: not rewritten
    assert cache.rows_read == len(late)  # both days read onto the first run's layout
    cold, _ = _features(ws, tmp_path / "empty")
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)


def test_kept_rows_are_the_readings_of_the_dataset(city_ws, tmp_path):
    """keep_rows: the feature pass keeps the data centres' rows as the dataset reads them,
    and the data-centre evidence built from them equals the evidence read from the store."""
    from detectors.datacentre import datacentre_evidence, known_readings

    inputs = detection_inputs(city_ws, load=False)
    ds, reg = inputs.readings, inputs.registry
    dc = sorted(reg.loc[reg["customer_class"] == "data_centre", "meter_id"])
    assert dc, "the sample city has registered data centres"
    cache = FeatureCache(
        tmp_path / "cache", readings=city_ws.readings, keep_rows=dc, persist=False
    )
    cache.extract_features(ds, weather=inputs.weather)
    assert sorted(cache.kept) == dc
    want = ds["kwh"].sel(meter=dc).values
    got = np.stack([cache.kept[m] for m in dc])
    np.testing.assert_array_equal(got, want)
    read = datacentre_evidence(ds, reg, inputs.weather)
    with known_readings(cache.kept, ds):
        handed = datacentre_evidence(ds, reg, inputs.weather)
    pd.testing.assert_frame_equal(handed, read, check_exact=True)
