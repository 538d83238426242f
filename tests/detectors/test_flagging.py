"""The flagged list: Benjamini-Hochberg, posterior lists, expected precision, the nulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.flagging import (
    LabelCalibration,
    PeerNull,
    SimulatedNull,
    benjamini_hochberg,
    expected_precision,
    flag_lists,
    posterior_flags,
)
from detectors.unsupervised import UnsupervisedDetector


def test_benjamini_hochberg_by_hand():
    # m = 5, fdr 0.1: thresholds 0.02, 0.04, 0.06, 0.08, 0.10. Sorted p: 0.001, 0.03,
    # 0.05, 0.2, 0.9 -> the third (0.05 <= 0.06) is the last under its line.
    p = [0.2, 0.001, 0.05, 0.9, 0.03]
    assert benjamini_hochberg(p, 0.1).tolist() == [False, True, True, False, True]
    # A NaN is not tested and never flagged; it does not count in m.
    assert benjamini_hochberg([0.01, np.nan], 0.05).tolist() == [True, False]
    assert not benjamini_hochberg([0.5, 0.6], 0.05).any()
    with pytest.raises(ValueError, match=r"fdr must be a false-discovery rate in \(0, 1\)"):
        benjamini_hochberg(p, 1.5)


def test_posterior_flags_keep_the_mean_false_share_within_the_rate():
    # Sorted: 0.99, 0.95, 0.9, 0.5, 0.2: mean 1 - P = 0.01, 0.03, 0.053, 0.165, ...
    prob = [0.99, 0.2, 0.95, 0.9, 0.5]
    assert posterior_flags(prob, 0.1).tolist() == [True, False, True, True, False]
    assert posterior_flags(prob, 0.02).tolist() == [True, False, False, False, False]
    assert not posterior_flags([0.3, np.nan], 0.1).any()


def test_expected_precision_is_storeys_estimate():
    # m = 4 scored, pi0 = #{p > 0.5} / 2 = 1, two flagged with p_max 0.01:
    # FDR = 1 * 4 * 0.01 / 2 = 0.02.
    p = np.array([0.001, 0.01, 0.7, 0.9])
    assert expected_precision(p, [True, True, False, False]) == pytest.approx(0.98)
    assert np.isnan(expected_precision(p, [False] * 4))


def test_label_calibration_checks_the_null_against_the_inspections():
    # Inspections at p = 1e-8 (3 rigs), 1e-4 (1 rig, 2 ordinary) and 0.2 (3 ordinary):
    # P(mining | p) is isotonic in -log10 p: 1 at 1e-8, 1/3 at 1e-4, 0 at 0.2.
    p = np.array([1e-8, 1e-8, 1e-8, 1e-4, 1e-4, 1e-4, 0.2, 0.2, 0.2, 0.5])
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, -1])
    cal = LabelCalibration.fit(p, y)
    assert (cal.n_mining, cal.n_not_mining) == (4, 5)
    np.testing.assert_allclose(cal.probability([1e-8, 1e-4, 0.2, 1e-12]), [1, 1 / 3, 0, 1])
    assert np.isnan(cal.probability([np.nan])[0])
    # A list of two sure rigs and one meter at 1e-4: (1 + 1 + 1/3) / 3.
    assert cal.precision([1e-9, 1e-8, 1e-4]) == pytest.approx(7 / 9)
    # Fewer than MIN_CALIBRATION_LABELS of a verdict: no calibration.
    assert LabelCalibration.fit(p[:5], np.array([1, 1, 1, 1, 0])) is None
    # The announced precision is the lower of the null's (Storey) and the inspections'.
    pv = np.r_[[1e-9, 1e-8, 1e-4], np.linspace(0.05, 1.0, 97)]
    flagged, summary = flag_lists(pv, pv, np.full(100, "main"), fdr=0.05, calibration=cal)
    main = summary["main"]
    assert flagged[:3].all() and main["n_flagged"] == 3
    assert main["expected_precision_null"] == pytest.approx(
        expected_precision(pv, flagged), abs=1e-4
    )
    assert main["expected_precision_labels"] == pytest.approx(7 / 9, abs=1e-4)
    assert main["expected_precision"] == min(
        main["expected_precision_null"], main["expected_precision_labels"]
    )
    assert main["n_labels"] == 9
    # The supervised detector's list: the Benjamini-Hochberg part is checked against the
    # inspections, the meter its calibrated probability adds (0.99) counts as it says.
    prob = np.r_[[0.9, 0.9, 0.9, 0.99], np.full(96, 0.01)]
    flagged, summary = flag_lists(
        pv, prob, np.full(100, "main"), fdr=0.05, how="bh+posterior", calibration=cal
    )
    main = summary["main"]
    assert flagged[:4].all() and main["n_flagged"] == 4
    assert main["expected_precision_labels"] == pytest.approx((7 / 9 * 3 + 0.99) / 4, abs=1e-4)
    assert main["expected_precision"] <= main["expected_precision_null"]
    assert LabelCalibration.to_dict(cal)["n_mining"] == 4


def test_simulated_null_flags_rigs_among_a_fifth_of_them():
    # 200 ordinary meters (standard normal features) and 40 rigs (+6 sd on every
    # feature): a null fitted on the training scores would learn the rigs as normal;
    # the simulated one keeps them rare.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6))
    X[200:] += 6.0
    det = UnsupervisedDetector(min_group_size=10).fit(X)
    null = SimulatedNull.fit(det, X, random_state=0)
    t = -det.score_samples(X)
    p = null.p_values(t)
    flagged = benjamini_hochberg(p, 0.05)
    assert flagged[200:].mean() >= 0.9
    assert flagged[:200].mean() <= 0.02
    # p-values are monotone in the anomaly and never depend on the batch.
    order = np.argsort(t)
    assert (np.diff(p[order]) <= 1e-12).all()
    np.testing.assert_array_equal(null.p_values(t[:10]), p[:10])
    assert null.p_values(np.array([t.min() - 100.0]))[0] == 1.0


def test_peer_null_is_per_group_and_excludes_known_miners():
    rng = np.random.default_rng(1)
    t = np.r_[rng.exponential(1.0, 100), rng.exponential(5.0, 100)]
    codes = np.r_[np.zeros(100, int), np.ones(100, int)]
    null = PeerNull.fit(t, codes)
    assert null.beta[0] < null.beta[1]  # the second group is wider
    p = null.p_values(np.array([8.0, 8.0]), np.array([0, 1]))
    assert p[0] < p[1]
    assert null.p_values(np.array([8.0]), np.array([7]))[0] == pytest.approx(
        null.p_values(np.array([8.0]))[0]
    )  # an unseen group uses the pooled null
    d = null.to_dict()
    assert 90 <= d["n"][0] <= 100 and "beta" in d


def test_mining_model_reports_the_lists_expected_precision():
    geo = pytest.importorskip("geoenergy.samplecity")
    pop = geo.generate_population(n_meters=150, start="2023-11-01", end="2023-12-11", seed=7)
    from detectors.model import MiningModel

    m = MiningModel("unsupervised").fit(pop.readings, pop.registry, weather=pop.weather)
    r = m.score(pop.readings, pop.registry, weather=pop.weather, reasons=False)
    info = r.attrs["flagging"]
    main = r["list"] == "main"
    assert info["n_flagged"] == (r["flagged"] & main).sum() >= 1
    assert 0.5 <= info["expected_precision"] <= 1.0
    assert "Benjamini-Hochberg" in info["method"]
    ok = r["score"].notna()
    assert r.loc[ok & main, "p_value"].between(0, 1).all()
    # Registered data centres are judged on data-centre evidence, not a peer null.
    assert r.loc[~main, "p_value"].isna().all()
    # The flagged (main) list holds the smallest p-values of its meters.
    f = r["flagged"] & main
    assert r.loc[f, "p_value"].max() <= r.loc[ok & main & ~r["flagged"], "p_value"].min()
    assert m.card["flagging"]["method"].startswith("simulated null")
    # 150 meters over 40 days: the rigs come first, then confounders as unusual among
    # their few peers (40 days do not establish a heater's weather response; 24-hour
    # shops, a telecom station). Measured: 8 of the 14 flagged are rigs.
    truth = pop.truth.set_index("meter_id").loc[r.loc[f, "meter_id"], "is_mining"]
    assert truth.iloc[:5].sum() >= 4 and truth.mean() >= 0.4
    # A stricter rate gives a list no longer than the default one.
    strict = MiningModel("unsupervised", fdr=0.001).fit(
        pop.readings, pop.registry, weather=pop.weather
    )
    rs = strict.score(pop.readings, pop.registry, weather=pop.weather, reasons=False)
    assert (rs["flagged"] & (rs["list"] == "main")).sum() <= f.sum()
    with pytest.raises(ValueError, match="fdr must be a false-discovery rate"):
        MiningModel("unsupervised", fdr=0).fit(pop.readings, pop.registry)
    # Without labels the null's estimate is announced; with the inspections, the
    # lower of the null's and theirs, and the card keeps the calibration.
    assert info["expected_precision"] == info["expected_precision_null"]
    assert m.card["flagging"]["label_calibration"] is None
    lab = MiningModel("unsupervised").fit(
        pop.readings, pop.registry, weather=pop.weather, labels=pop.labels
    )
    li = lab.score(pop.readings, pop.registry, weather=pop.weather, reasons=False).attrs[
        "flagging"
    ]
    # Measured: the null announces 1.0 for a list that is 8/14 rigs; the 8 inspections
    # (3 rigs, 5 ordinary) announce 0.59.
    assert li["n_labels"] == 8 and lab.card["flagging"]["label_calibration"]["n_mining"] == 3
    real = truth.mean()
    assert li["expected_precision"] <= li["expected_precision_null"]
    assert abs(li["expected_precision"] - real) < abs(li["expected_precision_null"] - real)
    assert isinstance(r, pd.DataFrame)


def test_registered_data_centres_are_flagged_in_their_own_list():
    geo = pytest.importorskip("geoenergy.samplecity")
    pop = geo.generate_population(n_meters=300, start="2023-11-01", end="2023-12-21", seed=3)
    from detectors.model import MiningModel

    m = MiningModel("unsupervised").fit(pop.readings, pop.registry, weather=pop.weather)
    r = m.score(pop.readings, pop.registry, weather=pop.weather, reasons=False)
    cls = pop.registry.set_index("meter_id").loc[r["meter_id"], "customer_class"].to_numpy()
    assert (r["list"].to_numpy() == np.where(cls == "data_centre", "data_centre", "main")).all()
    info = r.attrs["flagging"]
    assert info["n_flagged"] == int((r["flagged"] & (r["list"] == "main")).sum())
    assert set(info["lists"]) == {"main", "data_centre"}
    dc = info["lists"]["data_centre"]
    assert dc["n_scored"] == int(((cls == "data_centre") & r["score"].notna()).sum())
    # Judged on data-centre evidence (detectors.datacentre), so even fewer data centres
    # than min_group_size are scored and listed among themselves.
    assert dc["n_scored"] < m.min_group_size
    assert dc["method"].startswith("data-centre evidence")
    assert dc["n_flagged"] == int((r["flagged"] & (r["list"] == "data_centre")).sum())
    # A data centre on a meter registered as something else stays in the main list.
    reg = pop.registry.copy()
    first_dc = reg.index[reg["customer_class"] == "data_centre"][0]
    reg.loc[first_dc, "customer_class"] = "commercial"
    moved = m.score(pop.readings, reg, weather=pop.weather, reasons=False)
    row = moved.set_index("meter_id").loc[reg.loc[first_dc, "meter_id"]]
    assert row["list"] == "main"


def test_weather_driven_meters_take_the_mixture_of_the_two_nulls():
    # 30 ordinary meters, 12 weather-driven farms, a farm with a flat rig (the fixture of
    # tests/detectors/test_unsupervised.py): a meter's p-value is (1 - d) p + d p_w.
    from tests.detectors.test_unsupervised import _farms_and_a_rigged_farm

    X = _farms_and_a_rigged_farm()
    det = UnsupervisedDetector(min_group_size=5).fit(X)
    null = SimulatedNull.fit(det, X, random_state=0)
    assert null.weather_values.shape == (1, len(null.survival))
    t = -det.score_samples(X)
    d, ev = det.weather_path(X)
    p_own = null.p_values(t)
    p = null.p_values(t, None, d, ev)
    np.testing.assert_array_equal(p[:30], p_own[:30])  # d = 0: the peer-group null alone
    assert (p[30:42] == 1.0).all()  # ordinary farms: no evidence among weather-driven loads
    assert p[42] < 1e-3  # the rigged farm's shape is unusual among them
    # Halfway driven: the mean of the two nulls' p-values, by hand.
    half = null.p_values(t[[42]], None, np.array([0.5]), ev[[42]])[0]
    p_w = null.p_values(t[[42]], None, np.array([1.0]), ev[[42]])[0]
    assert half == pytest.approx(0.5 * p_own[42] + 0.5 * p_w)
    # Ordinary nulls are unchanged by the weather-driven one (drawn after them).
    old = SimulatedNull.fit(UnsupervisedDetector(min_group_size=5, weather_shape=[]).fit(X), X)
    assert old.weather_values is None
    np.testing.assert_array_equal(old.p_values(t[:30]), p_own[:30])
    assert null.to_dict()["weather_null"]["tail_share"] > 0
    with pytest.raises(ValueError, match="driven and evidence must hold one value per meter"):
        null.p_values(t, None, d[:3], ev)


def test_a_point_mass_beyond_the_grid_starts_the_tail_at_its_share():
    # 995 zeros and 1..5: the top 1 % is the mass at 0, so the tail starts at the
    # share above it, (5 + 1) / (1000 + 1), with the mean excess 3 as its scale.
    from detectors.flagging import _SURVIVAL_GRID, _survival_table

    v, beta, share = _survival_table(np.r_[np.zeros(995), np.arange(1.0, 6.0)])
    assert v[-1] == 0.0 and beta == 3.0 and share == pytest.approx(6 / 1001)
    null = SimulatedNull(
        groups=np.array([], dtype=np.int64),
        survival=_SURVIVAL_GRID.copy(),
        values=v[None, :],
        beta=np.array([beta]),
        count=np.array([1000]),
        tail_share=np.array([share]),
    )
    np.testing.assert_allclose(null.p_values(np.array([0.0, 2.0])), [1.0, share * np.exp(-2 / 3)])
    # A continuous sample keeps the tail at the last level (1 %).
    assert _survival_table(np.linspace(0, 1, 1001))[2] == pytest.approx(0.01)
