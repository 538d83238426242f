"""The unsupervised detector: robust z-scores by hand, directions, peers, excess AND shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.unsupervised import UnsupervisedDetector

MAD_TO_SD = 1.4826


def test_robust_z_by_hand_on_one_column():
    # median 1.0; |x - median| = 0, .1, .1, 0, 4 -> MAD 0.1 -> scale 0.14826
    X = np.array([[1.0], [1.1], [0.9], [1.0], [5.0]])
    det = UnsupervisedDetector(min_group_size=2, contamination=0.2).fit(X)
    z = 0.1 / (MAD_TO_SD * 0.1)
    np.testing.assert_allclose(det.evidence(X)[:, 0], [0, z, 0, 0, 8.0])  # capped at 8
    # Below the median counts against (counter 0.5: at most 4): the plain sum is signed.
    np.testing.assert_allclose(det.score_samples(X), [0, -z, z, 0, -8.0])
    assert det.predict(X).tolist() == [1, 1, 1, 1, -1]


def test_a_quarter_of_the_peers_at_a_bound_does_not_collapse_the_scale():
    # 20 step ratios: 10 meters without an upward split sit at exactly 1 (the bound),
    # 10 have steps 1.02, 1.04, ..., 1.20. The MAD (median 1.01) is 1.4826 x 0.01,
    # which would put a 1.5x rise at 33 standard deviations; with half the peers at
    # the bound the scale is the IQR's sigma instead: quartiles 1.0 and 1.105
    # (numpy's linear interpolation), 0.105 / 1.349.
    from detectors.robust import RobustStats

    x = np.r_[np.ones(10), 1.0 + 0.02 * np.arange(1, 11)]
    st = RobustStats.fit(x[:, None], None, min_group_size=5)
    assert st.scale[-1, 0] == pytest.approx(0.105 / 1.349)
    # Ties in the middle of the range leave the MAD alone: 1.0 ... 1.9 with six 1.45s.
    y = np.r_[np.linspace(1.0, 1.9, 14), np.full(6, 1.45)]
    med = np.median(y)
    assert RobustStats.fit(y[:, None], None, min_group_size=5).scale[-1, 0] == pytest.approx(
        MAD_TO_SD * np.median(np.abs(y - med))
    )


def test_direction_low_and_none():
    X = np.array([[1.0, 1.0], [1.1, 1.1], [0.9, 0.9], [1.0, 1.0], [-1.0, -1.0]])
    det = UnsupervisedDetector(directions=["low", "none"], min_group_size=2).fit(X)
    ev = det.evidence(X)
    assert ev[4, 0] == 8.0 and ev[4, 1] == 0.0
    assert ev[1, 0] == 0.0


def test_peer_groups_judge_a_value_against_its_own_group():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.1, 30)  # group 0 uses about 1
    b = rng.normal(10.0, 1.0, 30)  # group 1 uses about 10
    X = pd.DataFrame({"load": np.r_[a, b], "g": np.r_[np.zeros(30), np.ones(30)]})
    det = UnsupervisedDetector(group_column="g", min_group_size=10).fit(X)
    probe = pd.DataFrame({"load": [10.0, 10.0], "g": [0, 1]})
    ev = det.evidence(probe)
    assert ev[0, 0] == 8.0  # 10 in a group of 1s: maximal evidence
    assert ev[1, 0] < 1.0  # 10 among 10s: normal
    assert ev[:, 1].tolist() == [0.0, 0.0]  # the group column is no feature


def test_small_and_unseen_groups_use_the_pooled_statistics():
    X = pd.DataFrame({"load": [1.0, 1.2, 0.8, 1.1, 0.9, 50.0], "g": [0, 0, 0, 0, 0, 1]})
    det = UnsupervisedDetector(group_column="g", min_group_size=3).fit(X)
    assert det.stats_.groups.tolist() == [0]  # group 1 has one meter only
    pooled = det.evidence(pd.DataFrame({"load": [1.5], "g": [1]}))
    unseen = det.evidence(pd.DataFrame({"load": [1.5], "g": [7]}))
    assert pooled[0, 0] == unseen[0, 0] > 0


def _named(**overrides):
    """Six meters of two named features; the last is the one to judge."""
    base = {
        "level_vs_peer": [1.0, 1.1, 0.9, 1.0, 1.05],
        "load_factor": [0.2, 0.25, 0.15, 0.2, 0.22],
    }
    rows = pd.DataFrame(base)
    probe = pd.DataFrame({k: [v] for k, v in overrides.items()})
    return pd.concat([rows, probe], ignore_index=True)


def test_flat_without_excess_is_not_mining():
    # A telecom base station: flat (load factor 0.9) but using what its peers use.
    X = _named(level_vs_peer=1.0, load_factor=0.9)
    det = UnsupervisedDetector(min_group_size=2).fit(X)
    assert det.evidence(X)[5, 1] == 8.0  # the shape is very unusual ...
    assert det.score_samples(X)[5] == 0.0  # ... but without excess there is no anomaly
    # A rig: flat and far above its peers.
    rig = _named(level_vs_peer=8.0, load_factor=0.9)
    assert det.score_samples(rig)[5] == pytest.approx(-8.0)  # sqrt(8 x 8)


def test_excess_off_gives_the_plain_sum():
    X = _named(level_vs_peer=1.0, load_factor=0.9)
    det = UnsupervisedDetector(min_group_size=2, excess=[]).fit(X)
    assert det.score_samples(X)[5] == pytest.approx(-8.0)


def test_log_scale_for_ratios():
    X = pd.DataFrame({"level_vs_peer": [1.0, 2.0, 0.5, 1.0, 4.0]})
    det = UnsupervisedDetector(min_group_size=2, excess=[]).fit(X)
    # log2-symmetric: 2x and 0.5x are equally far from 1x.
    s = det.score_samples(X)
    assert s[1] == pytest.approx(-s[2])


def test_exoneration_subtracts_from_the_shape():
    base = pd.DataFrame(
        {
            "level_vs_peer": [1.0, 1.1, 0.9, 1.0, 1.05, 8.0, 8.0],
            "load_factor": [0.2, 0.25, 0.15, 0.2, 0.22, 0.9, 0.9],
            "temperature_sensitivity_rel": [0.0, 0.01, -0.01, 0.0, 0.005, 0.0, -0.2],
        }
    )
    det = UnsupervisedDetector(min_group_size=2).fit(base)
    s = det.score_samples(base)
    assert s[5] < s[6] == 0.0  # the heater following the weather is explained away


def _farms_and_a_rigged_farm():
    """30 ordinary meters, 12 weather-driven farms and, last, a farm with a flat rig added."""
    rng = np.random.default_rng(3)
    n, f = 30, 12
    return pd.DataFrame(
        {
            "level_vs_peer": np.r_[rng.normal(1.0, 0.1, n), rng.normal(10.0, 2.0, f), 14.0],
            "base_load_ratio": np.r_[rng.normal(0.3, 0.05, n), rng.normal(0.82, 0.01, f), 0.98],
            "plateau_share": np.r_[rng.normal(0.2, 0.03, n), rng.normal(0.25, 0.02, f), 0.55],
            # The rig dilutes the farm's weather response but leaves it far from 0.
            "temperature_sensitivity_rel": np.r_[
                rng.normal(0.0, 0.002, n), rng.normal(0.045, 0.001, f), 0.025
            ],
        }
    )


def test_weather_clears_a_load_only_down_to_its_weather_driven_peers():
    X = _farms_and_a_rigged_farm()
    det = UnsupervisedDetector(min_group_size=5).fit(X)
    assert det.weather_stats_ is not None  # 13 weather-driven training meters
    assert det.weather_shape_.tolist() == [False, True, True, False]
    a = -det.score_samples(X)
    farms, rigged = a[30:42], a[42]
    assert rigged > 2.0 * farms.max()  # flatter than any farm: still suspect
    # ... but never more than without the weather's clearance.
    own = UnsupervisedDetector(min_group_size=5, exonerate={}).fit(X)
    assert rigged <= -own.score_samples(X)[42] + 1e-9
    # Without the comparison the weather clears the rigged farm fully (the old miss).
    off = UnsupervisedDetector(min_group_size=5, weather_shape=[]).fit(X)
    assert off.weather_stats_ is None and -off.score_samples(X)[42] == 0.0


def test_too_few_weather_driven_meters_skip_the_comparison():
    X = _farms_and_a_rigged_farm().iloc[[*range(32), 42]]
    det = UnsupervisedDetector(min_group_size=5).fit(X)
    assert det.weather_stats_ is None
    assert -det.score_samples(X)[-1] == 0.0


def test_gates_need_both_features():
    X = pd.DataFrame(
        {
            "level_vs_peer": [1.0, 1.1, 0.9, 1.0, 8.0, 8.0],
            "night_day_ratio": [0.3, 0.35, 0.25, 0.3, 4.0, 4.0],
            "valley_night_cv": [0.3, 0.35, 0.25, 0.3, 0.6, 0.01],  # heater varies, rig does not
        }
    )
    det = UnsupervisedDetector(min_group_size=2).fit(X)
    ev = det.evidence(X)
    assert ev[4, 1] == 0.0  # night use of a varying load earns nothing
    assert ev[5, 1] > 0.0
    assert det.gates_.tolist() == [-1, 2, -1]


def test_mining_score_is_one_half_at_the_threshold():
    X = np.array([[1.0], [1.1], [0.9], [1.0], [5.0], [3.0]])
    det = UnsupervisedDetector(min_group_size=2, contamination=0.2).fit(X)
    s = det.mining_score(X)
    d = det.decision_function(X)
    assert ((s > 0.5) == (d < 0)).all()
    assert ((s >= 0) & (s < 1)).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"contamination": 0.7}, ValueError, r"contamination must be a share in \(0, 0.5\]"),
        ({"min_group_size": 0}, ValueError, "min_group_size must be an int >= 1"),
        ({"cap": 0}, ValueError, "cap must be a positive"),
        ({"weather_ramp": 0}, ValueError, "weather_ramp must be a positive"),
        ({"directions": ["up"]}, ValueError, "direction of column 0 must be one of"),
        ({"directions": ["high", "low"]}, ValueError, "gives 2 directions for 1 features"),
        ({"directions": "high"}, TypeError, "directions must be None, a dict"),
        ({"weights": {0: -1}}, ValueError, "weight of column 0 must be >= 0"),
        ({"excess": "level"}, TypeError, "wrap a single column in a list"),
        ({"exonerate": {0: "up"}}, ValueError, "exonerate direction of 0"),
        ({"group_column": "g"}, ValueError, "has no column names"),
        ({"weather_exclude_groups": 1}, TypeError, "wrap a single code in a list"),
        ({"weather_exclude_groups": [0.5]}, ValueError, "must hold integer peer-group codes"),
        ({"weather_exclude_groups": [1]}, ValueError, r"\[1\] needs group_column"),
    ],
)
def test_bad_parameters_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        UnsupervisedDetector(**kwargs).fit(np.ones((4, 1)))


def test_group_codes_must_be_integers():
    X = pd.DataFrame({"load": [1.0, 2.0], "g": [0.5, 1.0]})
    with pytest.raises(ValueError, match="must hold integer peer-group codes"):
        UnsupervisedDetector(group_column="g").fit(X)


def test_weather_path_and_its_null_by_hand():
    # One weather_shape column: a simulated ordinary weather-driven meter's evidence is
    # S_w = max(T - margin, 0) with T a t-variate of WEATHER_NULL_DOF (4) degrees of
    # freedom, so P(S_w >= s) = t4.sf(s + 3) below the cap.
    from scipy.stats import t as student_t

    from detectors.unsupervised import WEATHER_NULL_DOF

    X = _farms_and_a_rigged_farm()
    det = UnsupervisedDetector(min_group_size=5, weather_shape=["base_load_ratio"]).fit(X)
    sw = det.null_weather_shape(X, n_draws=200_000, random_state=0)
    assert sw.shape == (200_000,) and sw.min() == 0.0
    for s in (0.0, 1.0):
        expected = student_t(WEATHER_NULL_DOF).sf(s + det.weather_margin)
        assert (sw > s).mean() == pytest.approx(expected, abs=0.0015)
    # The meters' side: the farms and the rigged farm are weather-driven (d = 1), the
    # ordinary meters not; the rigged farm's evidence is its robust z-score of
    # base_load_ratio among the weather-driven meters less the margin (3).
    d, ev = det.weather_path(X)
    assert (d[:30] == 0).all() and (d[30:] == 1).all()
    st = det.weather_stats_
    z = (0.98 - st.center[-1, 1]) / st.scale[-1, 1]
    assert ev[42] == pytest.approx(min(z, det.cap) - 3.0)
    assert (ev[30:42] == 0).all()  # ordinary farms: within the margin
    # Without a weather comparison there is no weather path and no null for it.
    off = UnsupervisedDetector(min_group_size=5, weather_shape=[]).fit(X)
    assert off.null_weather_shape(X) is None
    assert not off.weather_path(X)[0].any()
    with pytest.raises(ValueError, match="n_draws must be a positive int, got 0"):
        det.null_weather_shape(X, n_draws=0)


def test_excluded_groups_do_not_shape_the_weather_reference():
    # The farms of _farms_and_a_rigged_farm (group 0) plus four registered data centres
    # (group 1): the weather explains their cooling too, but they are flat 24/7 loads
    # far above the farms on base_load_ratio and plateau_share.
    farms = _farms_and_a_rigged_farm().assign(g=0)
    dcs = pd.DataFrame(
        {
            "level_vs_peer": [40.0, 45.0, 50.0, 55.0],
            "base_load_ratio": [0.95, 0.96, 0.97, 0.95],
            "plateau_share": [0.9, 0.92, 0.95, 0.93],
            "temperature_sensitivity_rel": [0.04, 0.045, 0.05, 0.04],
            "g": [1, 1, 1, 1],
        }
    )
    X = pd.concat([farms, dcs], ignore_index=True)
    kw = {"min_group_size": 5, "group_column": "g"}
    alone = UnsupervisedDetector(**kw).fit(farms)
    mixed = UnsupervisedDetector(**kw).fit(X)
    kept_out = UnsupervisedDetector(**kw, weather_exclude_groups=[1]).fit(X)
    assert kept_out.weather_exclude_groups_.tolist() == [1]
    # The data centres are weather-driven: without the exclusion they join the 13 farms
    # and pull the reference's median plateau_share up ...
    assert (mixed._weather_rows(X.to_numpy(float))[-4:]).all()
    col = list(X.columns).index("plateau_share")
    assert mixed.weather_stats_.center[-1, col] > alone.weather_stats_.center[-1, col]
    # ... with it, the reference is the farms' alone, to the bit: the same medians and
    # scales, and the same simulated null from the same random stream.
    np.testing.assert_array_equal(kept_out.weather_stats_.center, alone.weather_stats_.center)
    np.testing.assert_array_equal(kept_out.weather_stats_.scale, alone.weather_stats_.scale)
    np.testing.assert_array_equal(
        kept_out.null_weather_shape(X, n_draws=500, random_state=1),
        alone.null_weather_shape(farms, n_draws=500, random_state=1),
    )
    # The weather-driven farms' median plateau_share (13 meters: the 7th value) by hand.
    driven = np.sort(X["plateau_share"].to_numpy()[30:43])
    assert kept_out.weather_stats_.center[-1, col] == driven[6]
