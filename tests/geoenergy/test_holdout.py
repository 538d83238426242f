"""Evaluation as of a date: the split, the readings cut, the comparison and the card layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from detectors.model import MiningModel
from geoenergy.detection import PEER_COLUMNS, detection_inputs, load_labels, train_model
from geoenergy.holdout import (
    HoldoutEvaluation,
    TimeSplit,
    TrainingError,
    capacities,
    compare_holdout,
    evaluate_holdout,
    feature_matrix,
    readings_before,
    time_split,
)

# Ten inspections on five days; m2 was inspected twice (its latest verdict counts).
LABELS = pd.DataFrame(
    [
        ("m1", "mining", "2023-11-01"),
        ("m2", "not_mining", "2023-11-01"),
        ("m3", "not_mining", "2023-11-03"),
        ("m4", "mining", "2023-11-03"),
        ("m5", "not_mining", "2023-11-05"),
        ("m2", "mining", "2023-11-07"),
        ("m6", "not_mining", "2023-11-07"),
        ("m7", "mining", "2023-11-07"),
        ("m8", "not_mining", "2023-11-09"),
        ("m9", "mining", "2023-11-09"),
    ],
    columns=["meter_id", "label", "inspected_on"],
).assign(inspected_on=lambda d: pd.to_datetime(d["inspected_on"]))


def test_time_split_holds_out_the_latest_days_whole():
    # 9 meters (m2 once, latest verdict); 30 % -> 3 latest: m9, m8 (11-09) and m7 (11-07);
    # the whole of 11-07 goes to the hold-out, so m2 and m6 join it.
    split = time_split(LABELS, 0.3)
    assert split.cutoff == pd.Timestamp("2023-11-07")
    assert sorted(split.test["meter_id"]) == ["m2", "m6", "m7", "m8", "m9"]
    assert sorted(split.train["meter_id"]) == ["m1", "m3", "m4", "m5"]
    assert split.test.set_index("meter_id").loc["m2", "label"] == "mining"
    assert (split.train["inspected_on"] < split.cutoff).all()
    assert "train: 4 inspections (2 mining) before 2023-11-07" in split.describe()


@pytest.mark.parametrize(
    ("labels", "holdout", "error", "match"),
    [
        ([1, 2], 0.3, TypeError, "DataFrame"),
        (LABELS.drop(columns="inspected_on"), 0.3, ValueError, "inspected_on"),
        (LABELS, 1.5, ValueError, "between 0 and 1"),
        (LABELS, True, ValueError, "between 0 and 1"),
    ],
)
def test_time_split_bad_arguments(labels, holdout, error, match):
    with pytest.raises(error, match=match):
        time_split(labels, holdout)


def test_readings_before_keeps_only_earlier_local_steps():
    utc = pd.date_range("2023-11-06 14:00", periods=24, freq="h")  # 22:00 local on 11-06
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), np.ones((2, 24)))},
        coords={
            "meter": ["a", "b"],
            "time": utc,
            "local_time": ("time", utc + pd.Timedelta("8h")),
        },
    )
    cut = readings_before(ds, "2023-11-07")
    assert cut.sizes["time"] == 2  # 22:00 and 23:00 local on 11-06
    assert pd.Timestamp(cut["local_time"].values[-1]) == pd.Timestamp("2023-11-06 23:00")


def test_capacities():
    assert capacities(36, 30) == (5, 10, 30)
    assert capacities(12, 30) == (5, 10)
    assert capacities(3, 30) == (3,)


def _evaluation(scores, cutoff="2023-11-07", ap=0.5):
    split = TimeSplit(LABELS.iloc[:0], LABELS.iloc[:0], pd.Timestamp(cutoff))
    table = pd.DataFrame({"meter_id": scores, "mining": True, "score": 0.5})
    return HoldoutEvaluation(split, None, table, {"average_precision": ap}, (5,))


def test_compare_holdout_registers_only_a_real_gain():
    base = _evaluation(["a", "b"], ap=0.8)
    assert compare_holdout(_evaluation(["a", "b"], ap=0.9), base).better
    tie = compare_holdout(_evaluation(["a", "b"], ap=0.8), base)
    assert not tie.better and "does not beat" in tie.text
    assert not compare_holdout(_evaluation(["a", "b"], ap=0.85), base, min_gain=0.1).better
    assert compare_holdout(_evaluation(["a", "b"], ap=0.1), None).better
    with pytest.raises(ValueError, match="different hold-outs"):
        compare_holdout(_evaluation(["a", "c"], ap=0.9), base)
    with pytest.raises(ValueError, match="metric"):
        compare_holdout(base, base, metric="f1")


def test_evaluate_holdout_sees_no_reading_after_the_cutoff(city_ws, monkeypatch):
    inputs = detection_inputs(city_ws)
    split = time_split(load_labels(city_ws), 0.3)
    seen = []
    fit = MiningModel.fit

    def spy(self, ds, *args, **kwargs):
        seen.append(pd.DatetimeIndex(ds["local_time"].values).max())
        return fit(self, ds, *args, **kwargs)

    monkeypatch.setattr(MiningModel, "fit", spy)
    template = MiningModel("supervised", peer_columns=PEER_COLUMNS)
    ev = evaluate_holdout(inputs, split, template, n_boot=50)
    assert seen and max(seen) < split.cutoff
    assert list(ev.scores["meter_id"]) == list(split.test["meter_id"])
    card = ev.card()
    assert card["cutoff"] == f"{split.cutoff:%Y-%m-%d}"
    assert card["n_test"] == len(split.test) and card["n_train"] == len(split.train)
    low, high = card["average_precision_ci95"]
    assert low <= card["average_precision"] <= high
    k = ev.k[-1]
    assert card[f"precision_at_{k}"] <= card[f"max_precision_at_{k}"] + 1e-12
    assert not hasattr(template, "detector_")  # the template itself is never fitted


def test_evaluate_holdout_needs_miners_on_both_sides(city_ws):
    inputs = detection_inputs(city_ws)
    labels = load_labels(city_ws)
    split = time_split(labels, 0.3)
    no_miners = TimeSplit(split.train, split.test.assign(label="not_mining"), split.cutoff)
    with pytest.raises(TrainingError, match="no mining verdict"):
        evaluate_holdout(inputs, no_miners, MiningModel("supervised", peer_columns=PEER_COLUMNS))
    with pytest.raises(TypeError, match="MiningModel"):
        evaluate_holdout(inputs, split, "supervised")


def test_train_model_card_has_the_holdout_layout(city_ws):
    _model, metrics = train_model(city_ws)
    for key in ("split", "cutoff", "readings", "n_test", "n_test_mining", "average_precision"):
        assert key in metrics
    assert "average_precision_ci95" in metrics


def test_feature_matrix_is_what_the_model_scores(city_ws):
    inputs = detection_inputs(city_ws)
    ids = list(inputs.registry["meter_id"][:40])
    ds = inputs.readings.sel(meter=ids)
    reg = inputs.registry[inputs.registry["meter_id"].isin(ids)]
    model = MiningModel("unsupervised", peer_columns=PEER_COLUMNS).fit(
        inputs.readings, inputs.registry, inputs.weather
    )
    X = feature_matrix(model, ds, reg, inputs.weather)
    scored = model.score(ds, reg, inputs.weather, reasons=False).set_index("meter_id")
    assert set(X.index) == set(scored.index[scored["score"].notna()])
    assert np.allclose(model.mining_score(X), scored.loc[X.index, "score"])


def test_the_refitted_baseline_keeps_every_setting_including_the_fdr():
    from detectors.model import MiningModel
    from geoenergy.holdout import _same_settings

    model = MiningModel("unsupervised", fdr=0.2, min_days=10, random_state=3)
    again = _same_settings(model, None)
    assert (again.fdr, again.min_days, again.random_state) == (0.2, 10, 3)
    assert _same_settings(model, 7).random_state == 7
