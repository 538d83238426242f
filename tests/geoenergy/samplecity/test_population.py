"""The population: archetypes and classes, ground truth, labels and generate_population."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoenergy.samplecity import ARCHETYPES

START, END = "2023-11-05", "2023-11-26"  # the small city of conftest.py


def test_truth_has_every_archetype(truth, registry):
    assert list(truth.columns) == ["meter_id", "archetype", "is_mining", "onset_date"]
    assert truth["is_mining"].dtype == bool
    assert set(truth["archetype"]) == set(ARCHETYPES)
    assert truth["meter_id"].tolist() == registry["meter_id"].tolist()
    mining = truth["archetype"].str.startswith("mining_")
    assert (truth["is_mining"] == mining).all()
    assert 0.01 <= mining.mean() <= 0.04
    onset = truth["onset_date"] != ""
    assert not (onset & ~mining).any()
    assert truth.loc[truth["archetype"] == "mining_step_onset", "onset_date"].ne("").all()
    days = pd.to_datetime(truth.loc[onset, "onset_date"])
    assert days.between(pd.Timestamp(START), pd.Timestamp(END)).all()
    # Archetypes are registered under a plausible customer class.
    cls = registry.set_index("meter_id")["customer_class"]
    by_arch = truth.assign(cls=truth["meter_id"].map(cls)).groupby("archetype")["cls"]
    for name, (_role, classes, _share) in ARCHETYPES.items():
        assert set(by_arch.get_group(name)) <= set(classes), name


def test_labels(city, truth):
    labels = pd.read_csv(city.labels)
    assert list(labels.columns) == ["meter_id", "label", "inspected_on"]
    assert set(labels["label"]) == {"mining", "not_mining"}
    assert labels["meter_id"].is_unique
    day = pd.to_datetime(labels["inspected_on"], format="%Y-%m-%d")
    assert day.between(pd.Timestamp(START), pd.Timestamp(END), inclusive="left").all()
    t = truth.set_index("meter_id")
    assert (labels["label"].eq("mining") == labels["meter_id"].map(t["is_mining"])).all()
    onset = pd.to_datetime(labels["meter_id"].map(t["onset_date"]).replace("", None))
    assert (day[onset.notna()] > onset[onset.notna()]).all()
    # Inspectors visit confounders more often than ordinary customers.
    role = t["archetype"].map(lambda a: ARCHETYPES[a][0])
    visited = labels.loc[labels["label"] == "not_mining", "meter_id"].map(role)
    share_all = (role[role != "mining"] == "confounder").mean()
    assert (visited == "confounder").mean() > 2 * share_all


def test_generate_population_in_memory():
    from geoenergy.samplecity import ARCHETYPES, generate_population

    pop = generate_population(400, start="2023-11-01", end="2023-11-22", seed=3)
    ds = pop.readings
    assert ds.kwh.dims == ("meter", "time")
    assert ds.sizes == {"meter": 400, "time": 21 * 24}
    # UTC is local time minus 8 h (Asia/Shanghai has no DST).
    assert (ds.local_time.values[0] - ds.time.values[0]) == np.timedelta64(8, "h")
    assert list(pop.registry.meter_id) == list(ds.meter.values)
    assert (pop.registry.customer_class.to_numpy() == ds.customer_class.values).all()
    # 4 % mining, every confounder and disguise present.
    share = pop.truth.is_mining.mean()
    assert 0.03 <= share <= 0.055
    roles = {a for a, (r, _, _) in ARCHETYPES.items() if r != "normal"}
    assert roles <= set(pop.truth.archetype)
    # Labels: only mining labels for miners, a third of them on average.
    lab = pop.labels.merge(pop.truth, on="meter_id")
    assert (lab.is_mining == (lab.label == "mining")).all()
    assert 0 < (lab.label == "mining").sum() < pop.truth.is_mining.sum()
    # Deterministic for a seed.
    again = generate_population(400, start="2023-11-01", end="2023-11-22", seed=3)
    np.testing.assert_array_equal(again.readings.kwh.values, ds.kwh.values)


def test_generate_population_rejects_bad_share():
    from geoenergy.samplecity import generate_population

    with pytest.raises(ValueError, match=r"mining_share must be between 0 and 0\.5"):
        generate_population(200, mining_share=4)
