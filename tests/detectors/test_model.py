"""MiningModel: fit, score, batch independence, save/load with a model card."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from detectors.model import (
    CARD_FORMAT,
    IncompatibleModelError,
    MiningModel,
    ModelIntegrityError,
    card_path,
)

geo = pytest.importorskip("geoenergy.samplecity")


@pytest.fixture(scope="module")
def pop():
    p = geo.generate_population(
        n_meters=150, start="2023-11-01", end="2023-12-11", seed=7, gaps=False
    )
    # One meter with only 5 days of data: it must not get a silent score.
    kwh = p.readings["kwh"].values.copy()
    kwh[3, 5 * 24 :] = np.nan
    p.readings["kwh"] = (("meter", "time"), kwh, p.readings["kwh"].attrs)
    return p


@pytest.fixture(scope="module")
def unsupervised(pop):
    return MiningModel("unsupervised").fit(pop.readings, pop.registry, weather=pop.weather)


def test_score_table(pop, unsupervised):
    r = unsupervised.score(pop.readings, pop.registry, weather=pop.weather)
    assert list(r.columns) == [
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
    ]
    assert len(r) == 150 and r["meter_id"].is_unique
    ok = r["status"].str.startswith("ok")
    assert r.loc[ok, "rank"].tolist() == list(range(1, ok.sum() + 1))
    # The main list first, then registered data centres ranked among themselves.
    for name in ("main", "data_centre"):
        assert r.loc[ok & (r["list"] == name), "score"].is_monotonic_decreasing
    dc = ok & (r["list"] == "data_centre")
    if dc.any():
        assert r.loc[ok & (r["list"] == "main"), "rank"].max() < r.loc[dc, "rank"].min()
    assert r.loc[ok, "score"].between(0, 1).all()
    assert r["flagged"].dtype == bool and r["flagged"].sum() >= 1
    assert r.loc[0, "reasons"] != ""
    truth = pop.truth.set_index("meter_id").loc[r["meter_id"], "is_mining"].to_numpy()
    # Rigs lead even on this small, short city (40 days, 26 of them heating season,
    # too few for a coal-to-electricity home's weather response to be sure).
    assert truth[:3].sum() >= 2 and truth[:8].sum() >= 6


def test_registered_data_centres_stay_out_of_the_weather_reference(pop, unsupervised):
    # Two registered data centres form their own peer group (the class needs only 2
    # meters); the detector leaves that group out of the weather-driven reference.
    assert (pop.registry["customer_class"] == "data_centre").sum() == 2
    dc = unsupervised.peer_codes_["customer_class=data_centre"]
    det = unsupervised.detector_
    assert det.weather_exclude_groups == [dc]
    assert det.weather_exclude_groups_.tolist() == [dc]


def test_a_meter_without_enough_data_is_not_scored(pop, unsupervised):
    r = unsupervised.score(pop.readings, pop.registry, weather=pop.weather).set_index("meter_id")
    short = r.loc[str(pop.readings.meter.values[3])]
    assert short["status"].startswith("insufficient_data")
    assert np.isnan(short["score"]) and pd.isna(short["rank"]) and not short["flagged"]
    assert short["reasons"].startswith("not scored: insufficient_data")


def test_scores_do_not_depend_on_the_batch(pop, unsupervised):
    full = unsupervised.score(pop.readings, pop.registry, weather=pop.weather).set_index(
        "meter_id"
    )
    few = pop.readings.isel(meter=[0, 10, 20, 30, 40])
    part = unsupervised.score(few, pop.registry, weather=pop.weather).set_index("meter_id")
    np.testing.assert_allclose(
        part["score"].to_numpy(), full.loc[part.index, "score"].to_numpy(), rtol=0, atol=1e-12
    )
    assert (part["reasons"] == full.loc[part.index, "reasons"]).all()


def test_save_load_round_trip_and_card(pop, unsupervised, tmp_path):
    path = tmp_path / "models" / "mining.joblib"
    cpath = unsupervised.save(path)
    assert cpath == card_path(path) == tmp_path / "models" / "mining.card.json"
    card = json.loads(cpath.read_text("utf-8"))
    assert card["format"] == CARD_FORMAT
    assert card["detector"]["name"] == "unsupervised" and card["detector"]["version"] == 8
    assert card["training_data"]["n_meters"] == 150
    assert card["training_data"]["n_scored"] == 149
    assert {f["name"] for f in card["features"]} >= {"level_vs_peer", "night_day_ratio"}
    assert len(card["model_sha256"]) == 64 and card["package_version"]
    loaded = MiningModel.load(path)
    a = unsupervised.score(pop.readings, pop.registry, weather=pop.weather)
    b = loaded.score(pop.readings, pop.registry, weather=pop.weather)
    pd.testing.assert_frame_equal(a, b)
    assert loaded.card["model_sha256"] == card["model_sha256"]


def _tamper(cpath, **changes):
    card = json.loads(cpath.read_text("utf-8"))
    card.update(changes)
    cpath.write_text(json.dumps(card), "utf-8")


def test_load_refuses_an_incompatible_or_changed_model(unsupervised, tmp_path):
    path = tmp_path / "m.joblib"
    cpath = unsupervised.save(path)
    _tamper(cpath, package_version="99.0.0")
    with pytest.raises(
        IncompatibleModelError, match=r"saved by geoenergy package version 99\.0\.0"
    ):
        MiningModel.load(path)
    unsupervised.save(path)
    _tamper(cpath, format="geoenergy.mining-model/0")
    with pytest.raises(IncompatibleModelError, match=r"model card format .* is not supported"):
        MiningModel.load(path)
    unsupervised.save(path)
    _tamper(cpath, sklearn_version="0.20.0")
    with pytest.raises(IncompatibleModelError, match=r"scikit-learn 0\.20\.0"):
        MiningModel.load(path)
    unsupervised.save(path)
    with open(path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="was changed after it was saved"):
        MiningModel.load(path)
    cpath.unlink()
    with pytest.raises(FileNotFoundError, match="card"):
        MiningModel.load(path)


def test_supervised_needs_and_uses_labels(pop):
    with pytest.raises(ValueError, match="needs labels"):
        MiningModel("supervised").fit(pop.readings, pop.registry, weather=pop.weather)
    m = MiningModel("supervised").fit(
        pop.readings, pop.registry, weather=pop.weather, labels=pop.labels
    )
    labels = m.card["labels"]
    assert labels["mining"] == (pop.labels["label"] == "mining").sum()
    assert m.card["evaluation"]["training_labels"]["scores"] == "out-of-bag"
    r = m.score(pop.readings, pop.registry, weather=pop.weather)
    assert r["score"].dropna().between(0, 1).all()
    # Its unsupervised prior leaves the registered data centres out of the weather reference.
    dc = m.peer_codes_["customer_class=data_centre"]
    assert m.detector_.prior_.weather_exclude_groups_.tolist() == [dc]
    # The card says what ranks, why, and whether and how the non-miner verdicts were used.
    from detectors._select import CANDIDATES

    det = m.card["detector"]
    assert det["learner"] in CANDIDATES and det["learner"] == m.detector_.learner_
    assert det["selection"]["winner"] == det["learner"]
    assert det["selection"]["labelled_not_mining"] == labels["used_not_mining"]
    assert "inspected non-miners" in det["selection"]["not_mining_use"]
    assert labels["not_mining_use"].startswith(det["learner"] + ": ")
    if "candidates" in det["selection"]:
        assert det["selection"]["candidates"][det["learner"]]["what"] == CANDIDATES[det["learner"]]
    else:  # too few confirmed miners to judge a candidate: the prior ranks, and the card says so
        assert det["learner"] == "prior" and "needed" in det["selection"]["why"]
        assert labels["not_mining_use"].startswith("prior: not used to rank")


def test_rule_model_gives_rules_as_reasons(pop):
    m = MiningModel("rule").fit(pop.readings, pop.registry, weather=pop.weather)
    r = m.score(pop.readings, pop.registry, weather=pop.weather)
    top = r.loc[0]
    assert top["flagged"] and top["score"] >= 0.5
    assert top["reasons"].split(":")[0] in {rule.label for rule in m.detector_.rules_}
    # its list is the rules' points, not a false-discovery rate: none is claimed
    assert r.attrs["flagging"]["fdr"] is None
    assert r.attrs["flagging"]["method"] == "rule points >= min_points"


def test_threshold_and_a_custom_estimator(pop):
    from sklearn.ensemble import IsolationForest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    est = make_pipeline(SimpleImputer(), IsolationForest(random_state=0))
    m = MiningModel(est, threshold=0.6).fit(pop.readings, pop.registry, weather=pop.weather)
    r = m.score(pop.readings, pop.registry, weather=pop.weather)
    ok = r["score"].notna()
    assert r.loc[ok, "score"].between(0, 1).all()
    assert (r.loc[ok, "flagged"] == (r.loc[ok, "score"] >= 0.6)).all()
    assert m.card["detector"]["name"] == "custom"


def test_evaluate_records_the_figures_in_the_card(pop, unsupervised):
    m = unsupervised.evaluate(
        pop.readings, pop.registry, pop.truth, weather=pop.weather, k=(5,), name="sample"
    )
    assert m["n_mining"] == pop.truth["is_mining"].sum()
    assert unsupervised.card["evaluation"]["sample"]["precision_at_5"] == m["precision_at_5"]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"detector": "magic"}, ValueError, "detector must be one of"),
        ({"detector": 3}, TypeError, "detector must be a name"),
        ({"peer_columns": "customer_class"}, TypeError, "peer_columns must be a non-empty"),
        ({"threshold": 1.5}, ValueError, r"threshold must be None or a score in \(0, 1\)"),
        ({"min_days": 0}, ValueError, "min_days must be a positive int"),
    ],
)
def test_bad_settings_are_named(pop, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MiningModel(**kwargs).fit(pop.readings, pop.registry)


def test_bad_tables_are_named(pop):
    m = MiningModel("unsupervised")
    with pytest.raises(TypeError, match=r"ds must be an xarray\.Dataset"):
        m.fit(pop.readings["kwh"], pop.registry)
    with pytest.raises(ValueError, match=r"registry lacks the column\(s\) \['district'\]"):
        MiningModel(peer_columns=("customer_class", "district")).fit(
            pop.readings, pop.registry.drop(columns="district")
        )
    bad = pop.labels.assign(label="maybe")
    with pytest.raises(ValueError, match="'mining' or 'not_mining'"):
        MiningModel("supervised").fit(pop.readings, pop.registry, labels=bad)
    with pytest.raises(ValueError, match="not fitted yet"):
        m.score(pop.readings, pop.registry)


@pytest.mark.parametrize("contracted", ["absent", "unknown"])
def test_status_is_one_word_and_notes_have_their_own_column(pop, contracted):
    # A registry without contracted_kw (or with none known) must not make the meters
    # "not scored": the status stays "ok" and the missing feature goes to notes.
    if contracted == "absent":
        reg = pop.registry.drop(columns="contracted_kw", errors="ignore")
    else:
        reg = pop.registry.assign(contracted_kw=np.nan)
    m = MiningModel("unsupervised").fit(pop.readings, reg, weather=pop.weather)
    r = m.score(pop.readings, reg, weather=pop.weather)
    from detectors.features import STATUSES

    assert set(r["status"]) <= set(STATUSES)
    assert (r["status"] == "ok").sum() == r["score"].notna().sum() == 149
    short = r.set_index("meter_id").loc[str(pop.readings.meter.values[3])]
    assert short["status"] == "insufficient_data"
    assert short["notes"] == "5 complete days of data, need 14"
    if contracted == "unknown":
        ok = r[r["status"] == "ok"]
        assert ok["notes"].str.contains("contract_utilisation").all()


def test_split_status():
    from detectors.model import split_status

    assert split_status("ok") == ("ok", "")
    assert split_status("ok; not computed: a (b), c (d: e)") == (
        "ok",
        "not computed: a (b), c (d: e)",
    )
    assert split_status("no_data: every reading is missing") == (
        "no_data",
        "every reading is missing",
    )


def test_frame_hash_is_stable_for_equal_frames_and_changes_with_a_value():
    """The card's feature hash: equal frames (rebuilt, copied) hash equal; a changed
    value, column label or dtype does not."""
    import numpy as np
    import pandas as pd

    from detectors._card import _frame_hash

    def frame():
        return pd.DataFrame(
            {"a": np.arange(5, dtype=float), "kind": ["x", "y", "x", "z", "y"]},
            index=pd.Index([f"m{i}" for i in range(5)], name="meter"),
        )

    f = frame()
    assert _frame_hash(f) == _frame_hash(frame()) == _frame_hash(f.copy())
    g = frame()
    g.iloc[2, 0] = 99.0
    assert _frame_hash(g) != _frame_hash(f)
    assert _frame_hash(f.rename(columns={"a": "b"})) != _frame_hash(f)
    assert _frame_hash(f.astype({"a": "float32"})) != _frame_hash(f)
    h = frame()
    h.loc["m0", "kind"] = "w"
    assert _frame_hash(h) != _frame_hash(f)
