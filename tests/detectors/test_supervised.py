"""The supervised PU detector: learns from a few confirmed miners, calibrates, explains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.supervised import NoPositiveLabelsWarning, SupervisedDetector
from detectors.unsupervised import UnsupervisedDetector


def _population(seed=0, n_normal=200, n_rig=20, n_heater=20):
    """Normal meters; rigs (high level, flat); heaters (high level, night, weather-following)."""
    rng = np.random.default_rng(seed)
    n = n_normal + n_rig + n_heater
    X = pd.DataFrame(
        {
            "level_vs_peer": rng.lognormal(0.0, 0.2, n),
            "load_factor": rng.normal(0.2, 0.03, n),
            "night_day_ratio": rng.normal(0.4, 0.05, n),
        }
    )
    rig = np.arange(n_normal, n_normal + n_rig)
    heat = np.arange(n_normal + n_rig, n)
    X.loc[rig, "level_vs_peer"] = rng.uniform(4, 10, n_rig)
    X.loc[rig, "load_factor"] = rng.uniform(0.7, 0.95, n_rig)
    X.loc[heat, "level_vs_peer"] = rng.uniform(4, 10, n_heater)
    X.loc[heat, "night_day_ratio"] = rng.uniform(2, 5, n_heater)
    kind = np.array(["normal"] * n_normal + ["rig"] * n_rig + ["heater"] * n_heater)
    # A third of the rigs confirmed; a few heaters and normal meters inspected, not mining.
    y = np.full(n, -1)
    y[np.flatnonzero(kind == "rig")[:7]] = 1
    y[np.flatnonzero(kind == "heater")[:5]] = 0
    y[:5] = 0
    return X, y, kind


def test_unlabelled_rigs_outrank_heaters_and_normal_meters():
    X, y, kind = _population()
    det = SupervisedDetector(random_state=0).fit(X, y)
    p = det.mining_probability(X)
    unl = y == -1
    rigs = p[unl & (kind == "rig")]
    others = p[unl & (kind != "rig")]
    assert rigs.min() > others.max()
    assert ((p >= 0) & (p <= 1)).all()
    assert (det.predict(X)[unl & (kind == "rig")] == -1).all()
    assert det.n_positive_ == 7 and det.n_negative_ == 10 and det.n_unlabelled_ == 223


def test_probability_is_calibrated_roughly():
    X, y, _kind = _population()
    det = SupervisedDetector(random_state=0).fit(X, y)
    p = det.mining_probability(X)
    # Expected number of miners among the unlabelled = the 13 rigs left, within a factor 2.
    assert 6 < p[y == -1].sum() < 26
    assert 0 < det.label_frequency_ <= 1


def test_score_samples_is_one_minus_probability_and_offset_the_threshold():
    X, y, _ = _population()
    det = SupervisedDetector(random_state=0, threshold=0.3).fit(X, y)
    np.testing.assert_allclose(det.score_samples(X), 1 - det.mining_probability(X))
    assert det.offset_ == pytest.approx(0.7)
    assert ((det.predict(X) == -1) == (det.mining_probability(X) > 0.3)).all()


def test_same_seed_same_model():
    X, y, _ = _population()
    a = SupervisedDetector(random_state=3).fit(X, y).mining_probability(X)
    b = SupervisedDetector(random_state=3).fit(X, y).mining_probability(X)
    np.testing.assert_array_equal(a, b)


def test_evidence_points_at_the_feature_that_differs():
    X, y, kind = _population()
    det = SupervisedDetector(random_state=0).fit(X, y)
    ev = det.evidence(X)
    assert (ev >= 0).all()
    rig = np.flatnonzero((kind == "rig") & (y == -1))[0]
    assert ev[rig].argmax() in (0, 1)  # the level or the flatness, not the night ratio


def test_without_a_confirmed_miner_it_falls_back_to_the_prior():
    X, y, _ = _population()
    y0 = np.where(y == 1, -1, y)
    with pytest.warns(NoPositiveLabelsWarning, match="no confirmed miner"):
        det = SupervisedDetector(random_state=0).fit(X, y0)
    prior = UnsupervisedDetector().fit(X)
    np.testing.assert_allclose(det.score_samples(X), prior.score_samples(X))
    np.testing.assert_allclose(det.mining_score(X), prior.mining_score(X))
    with pytest.raises(ValueError, match="no calibrated probability"):
        det.mining_probability(X)


def test_bad_labels_are_named():
    X, y, _ = _population()
    with pytest.raises(ValueError, match="prior='drop'"):
        SupervisedDetector(prior="drop").fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="every meter in y is a confirmed miner"):
        SupervisedDetector().fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="y must be 1-D"):
        SupervisedDetector().fit(X, y[:, None])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SupervisedDetector().fit(X, y[:-1])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"threshold": 1.0}, ValueError, r"threshold must be a probability in \(0, 1\)"),
        ({"n_bags": 0}, ValueError, "n_bags must be an int >= 1"),
        ({"C": -1}, ValueError, "C must be a number > 0"),
        ({"prior": "none"}, TypeError, "prior must be None, 'drop' or an estimator"),
    ],
)
def test_bad_parameters_are_named(kwargs, exc, match):
    X, y, _ = _population()
    with pytest.raises(exc, match=match):
        SupervisedDetector(**kwargs).fit(X, y)


def test_a_custom_prior_and_no_prior_both_work():
    from sklearn.ensemble import IsolationForest

    X, y, kind = _population()
    for prior in ("drop", IsolationForest(random_state=0)):
        det = SupervisedDetector(prior=prior, random_state=0).fit(X, y)
        p = det.mining_probability(X)
        assert np.median(p[kind == "rig"]) > np.median(p[kind == "normal"])


def test_auto_prior_weight_is_chosen_by_cross_validation_among_the_candidates():
    X, y, kind = _population()
    det = SupervisedDetector(prior_weight="auto", cv=3, random_state=0).fit(X, y)
    assert det.prior_weight_ in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert set(det.cv_scores_) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert all(0.0 <= v <= 1.0 for v in det.cv_scores_.values())
    # Rigs differ from everything else on every input, so every weight separates them.
    p = det.mining_probability(X)
    unl = y == -1
    assert p[unl & (kind == "rig")].min() > p[unl & (kind != "rig")].max()
    again = SupervisedDetector(prior_weight="auto", cv=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.mining_probability(X), p)


def test_a_fixed_prior_weight_skips_the_cross_validation():
    X, y, _ = _population()
    det = SupervisedDetector(prior_weight=0.25, random_state=0).fit(X, y)
    assert det.prior_weight_ == 0.25 and det.cv_scores_ == {}


def test_bad_prior_weight_is_named():
    X, y, _ = _population()
    with pytest.raises(ValueError, match="prior_weight must be 'auto' or a share"):
        SupervisedDetector(prior_weight="best").fit(X, y)
    with pytest.raises(ValueError, match="cv must be an int >= 1"):
        SupervisedDetector(cv=0).fit(X, y)


def _ap(y, s):
    from detectors.evaluate import average_precision

    return average_precision(y, s)


def test_with_uninformative_labels_the_selection_keeps_the_prior():
    # "Mining" verdicts on meters drawn at random: held-out labels cannot show a gain.
    X, _, kind = _population(n_normal=300)
    rng = np.random.default_rng(5)
    y = np.full(len(X), -1)
    picked = rng.choice(len(X), 30, replace=False)
    y[picked[:15]], y[picked[15:]] = 1, 0
    det = SupervisedDetector(select="1se", random_state=0).fit(X, y)
    assert det.learner_ == "prior"
    table = det.selection_["candidates"]
    assert set(table) == {
        "prior",
        "blend",
        "learners",
        "baseline",
        "stack",
        "prior+benign",
        "stack+benign",
        "prior-led+benign",
    }
    assert not any(c["beats_reference"] for c in table.values())
    assert det.selection_["folds"] == 5 and det.selection_["repeats"] == 3
    # Every fold hides 3 of the 15 miners among the unlabelled meters and its 3 hidden
    # non-miners: one pair is worth half of 1 / (3 * (n - 30 + 3)) of the judging AUC.
    assert table["prior"]["resolution"] == pytest.approx(0.5 / (3 * (len(X) - 27)))
    # The prior ranks: the rigs (and heaters, which it cannot tell apart) on top.
    p = det.mining_score(X)
    unl = y == -1
    prior = det.prior_.mining_score(X)
    assert _ap((kind == "rig")[unl], p[unl]) == pytest.approx(
        _ap((kind == "rig")[unl], prior[unl])
    )


def _hidden_population(seed):
    """Rigs that the prior cannot see: ordinary on its features, distinct on a neutral one."""
    X, _, kind = _population(seed=seed, n_normal=300, n_rig=40)
    rng = np.random.default_rng(seed + 100)
    rig = kind == "rig"
    X.loc[rig, ["level_vs_peer", "load_factor"]] = (
        X.loc[~rig & (kind == "normal")]
        .iloc[: rig.sum()][["level_vs_peer", "load_factor"]]
        .to_numpy()
    )
    X["phase_noise"] = rng.normal(0.0, 1.0, len(X))
    X.loc[rig, "phase_noise"] = rng.normal(4.0, 0.5, rig.sum())
    y = np.full(len(X), -1)
    y[np.flatnonzero(rig)[:15]] = 1
    y[np.flatnonzero(kind == "heater")[:8]] = 0
    y[np.flatnonzero(kind == "normal")[:8]] = 0
    return X, y, kind


def test_with_informative_labels_the_selection_picks_a_learner_that_wins_on_held_out_meters():
    directions = {
        "level_vs_peer": "high",
        "load_factor": "high",
        "night_day_ratio": "high",
        "phase_noise": "none",
    }
    X, y, kind = _hidden_population(1)
    det = SupervisedDetector(directions=directions, select="1se", random_state=0).fit(X, y)
    assert det.learner_ != "prior" and det.selection_["labels_informative"]
    # The default (learners two fifths of the ranking) or one that beats it on the folds.
    won = det.selection_["candidates"][det.learner_]
    ref = det.selection_["reference"]
    assert ref == "prior-led+benign"
    assert det.learner_ == ref or (won["beats_reference"] and won["gain"] > won["se"] > 0)
    assert det.selection_["candidates"]["prior"]["gain"] < 0
    # Held out: the unlabelled meters of this population and every meter of a fresh one.
    unl = y == -1
    rig = kind == "rig"
    assert (
        _ap(rig[unl], det.mining_score(X)[unl])
        > _ap(rig[unl], det.prior_.mining_score(X)[unl]) + 0.3
    )
    X2, _, kind2 = _hidden_population(2)
    assert (
        _ap(kind2 == "rig", det.mining_score(X2))
        > _ap(kind2 == "rig", det.prior_.mining_score(X2)) + 0.3
    )


def test_with_informative_labels_the_prior_led_candidate_ranks_unless_another_beats_it():
    # Heaters look like rigs to the prior (level and night use); 15 confirmed rigs and
    # 16 inspected non-miners (8 heaters) tell them apart. No candidate gains over the
    # default on the folds, so three quarters of the prior and a quarter of the
    # learners, demoted near the inspected heaters, rank: better than the prior.
    X, _, kind = _population(seed=1, n_normal=300, n_rig=40)
    y = np.full(len(X), -1)
    y[np.flatnonzero(kind == "rig")[:15]] = 1
    y[np.flatnonzero(kind == "heater")[:8]] = 0
    y[np.flatnonzero(kind == "normal")[:8]] = 0
    det = SupervisedDetector(select="1se", random_state=0).fit(X, y)
    sel = det.selection_
    assert sel["labels_informative"] and sel["reference"] == "prior-led+benign"
    assert det.learner_ == "prior-led+benign"
    assert not any(c["beats_reference"] for c in sel["candidates"].values())
    assert sel["candidates"]["prior"]["gain"] < 0  # the prior alone loses on the folds
    unl, rig = y == -1, kind == "rig"
    assert _ap(rig[unl], det.mining_score(X)[unl]) > _ap(rig[unl], det.prior_.mining_score(X)[unl])


def test_labels_are_informative_only_when_the_learners_beat_chance_by_a_standard_error():
    from detectors._select import informative

    assert informative([0.90, 0.92, 0.88, 0.91, 0.89], test_share=0.2)
    # Mean 0.52, corrected standard error sqrt(var * (1/5 + 0.25)) = 0.057 > 0.02.
    assert not informative([0.60, 0.45, 0.55, 0.42, 0.58], test_share=0.2)
    assert not informative([0.49, 0.50, 0.51], test_share=0.2)  # chance
    assert not informative([0.95], test_share=0.2)  # one fold: no standard error


def test_too_few_miners_keep_the_prior_and_say_why():
    X, y, _ = _population()  # 7 confirmed miners
    det = SupervisedDetector(select="1se", random_state=0).fit(X, y)
    assert det.learner_ == "prior"
    assert "10 needed" in det.selection_["why"]
    assert "benign look-alikes" in det.selection_["not_mining_use"]


def test_benign_share_demotes_only_near_inspected_non_miners():
    from detectors._select import benign_share, benign_share_loo

    T = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    benign = np.array([True, True, False])
    Z = np.array([[0.0, 0.0], [5.0, 5.0], [50.0, 50.0]])
    s = benign_share(T, benign, Z, 1.0)
    # Beside two benign cases: K = 1 + exp(-0.005) ~ 1.995, share 1.995 / 2.995.
    assert s[0] == pytest.approx((1 + np.exp(-0.005)) / (2 + np.exp(-0.005)), rel=1e-6)
    assert s[1] < 1e-9  # beside a confirmed miner
    assert s[2] == 0.0  # far from every inspected meter: not demoted
    loo = benign_share_loo(T, benign, 1.0)
    assert loo[0] == pytest.approx(np.exp(-0.005) / (np.exp(-0.005) + 1.0), rel=1e-6)


def test_the_one_standard_error_rule_prefers_the_prior_on_a_noisy_gain():
    from detectors._select import choose

    prior = [0.80, 0.82, 0.78, 0.81, 0.79]
    noisy = [0.95, 0.70, 0.90, 0.72, 0.88]  # mean gain 0.03, large spread
    steady = [0.85, 0.87, 0.83, 0.86, 0.84]  # mean gain 0.05, every fold
    winner, table = choose({"prior": prior, "blend": noisy}, test_share=0.2)
    assert winner == "prior" and not table["blend"]["beats_reference"]
    winner, table = choose({"prior": prior, "blend": noisy, "stack": steady}, test_share=0.2)
    assert winner == "stack" and table["stack"]["gain"] == pytest.approx(0.05)
    # A small steady gain: enough for the benign modifier of the prior, not for a replacement.
    small = [v + 0.004 for v in prior]
    winner, table = choose({"prior": prior, "stack": small}, test_share=0.2)
    assert winner == "prior" and table["stack"]["min_gain"] == 0.005
    winner, table = choose({"prior": prior, "prior+benign": small}, test_share=0.2)
    assert winner == "prior+benign" and table["prior+benign"]["min_gain"] == 0.0


def test_a_small_steady_gain_is_enough_for_a_prior_led_candidate_not_for_a_replacement():
    from detectors._select import MIN_GAIN, choose

    prior = [0.90, 0.92, 0.88, 0.91, 0.89]
    steady = [v + 0.004 for v in prior]  # gain 0.004 on every fold: standard error 0
    # Gains +0.01, -0.01, ...: mean 0.002, variance 1.2e-4, corrected standard error
    # sqrt(1.2e-4 * (1/5 + 0.2/0.8)) = 0.0073 > 0.002.
    noisy = [v + d for v, d in zip(prior, [0.01, -0.01, 0.01, -0.01, 0.01], strict=True)]
    auc = {"prior": prior, "learners": steady, "prior-led+benign": steady}
    winner, table = choose(auc, test_share=0.2)
    assert MIN_GAIN > 0.004
    assert winner == "prior-led+benign"
    assert table["prior-led+benign"]["se"] == pytest.approx(0.0, abs=1e-12)
    assert table["prior-led+benign"]["min_gain"] == 0.0
    assert not table["learners"]["beats_reference"] and table["learners"]["min_gain"] == MIN_GAIN
    winner, table = choose({"prior": prior, "prior-led+benign": noisy}, test_share=0.2)
    assert winner == "prior"
    assert table["prior-led+benign"]["gain"] == pytest.approx(0.002)
    assert table["prior-led+benign"]["se"] == pytest.approx(np.sqrt(1.2e-4 * 0.45))


def test_a_candidate_without_the_prior_may_not_replace_the_default():
    from detectors._select import WITHOUT_PRIOR, choose

    default = [0.90, 0.92, 0.88, 0.91, 0.89]
    auc = {
        "prior-led+benign": default,
        "learners": [v + 0.05 for v in default],  # steady, well above MIN_GAIN
        "stack": [v + 0.02 for v in default],
    }
    eligible = set(auc) - WITHOUT_PRIOR
    winner, table = choose(auc, test_share=0.2, reference="prior-led+benign", eligible=eligible)
    assert winner == "stack" and table["stack"]["gain"] == pytest.approx(0.02)
    assert not table["learners"]["eligible"] and not table["learners"]["beats_reference"]
    assert table["learners"]["gain"] == pytest.approx(0.05)  # judged and tabled all the same
    # Against the prior (no default) every candidate may win.
    assert choose({"prior": default, "learners": auc["learners"]}, test_share=0.2)[0] == (
        "learners"
    )


def test_means_closer_than_one_pair_per_fold_tie_and_the_tie_goes_by_the_candidate_order():
    from detectors._select import CANDIDATES, choose

    prior = [0.90, 0.92, 0.88, 0.91, 0.89]
    # Steady gains (standard error 0) of 0.0040 and 0.0039: both prior-led, both pass.
    auc = {
        "prior": prior,
        "prior+benign": [v + 0.0040 for v in prior],
        "prior-led+benign": [v + 0.0039 for v in prior],
        "learners": [v + 0.0041 for v in prior],  # best mean, but short of MIN_GAIN
    }
    winner, table = choose(auc, test_share=0.2)
    assert winner == "prior+benign"  # resolution 0: the better mean, by 0.0001
    assert table["prior+benign"]["resolution"] == 0.0
    assert not table["learners"]["beats_reference"]
    # One pair per fold is worth 0.0002 > 0.0001: a tie, and prior-led+benign is first.
    assert list(CANDIDATES).index("prior-led+benign") < list(CANDIDATES).index("prior+benign")
    winner, table = choose(auc, test_share=0.2, resolution=0.0002)
    assert winner == "prior-led+benign" and table["prior-led+benign"]["resolution"] == 0.0002
    # Worth 0.00005 < 0.0001: the means differ by two pairs per fold, no tie.
    assert choose(auc, test_share=0.2, resolution=0.00005)[0] == "prior+benign"
    # A clear winner is not tied with anything: stack gains 0.02 > MIN_GAIN.
    auc["stack"] = [v + 0.02 for v in prior]
    assert choose(auc, test_share=0.2, resolution=0.0002)[0] == "stack"
    # The resolution only ties means: a steady prior-led gain of half a pair per fold
    # (0.0001, standard error 0) still passes, one that moved a single fold does not
    # (mean 0.00002, standard error sqrt(2e-9 * 0.45) = 0.00003).
    steady = {"prior": prior, "prior+benign": [v + 0.0001 for v in prior]}
    assert choose(steady, test_share=0.2, resolution=0.0002)[0] == "prior+benign"
    once = {"prior": prior, "prior+benign": [*prior[:4], prior[4] + 0.0001]}
    winner, table = choose(once, test_share=0.2, resolution=0.0002)
    assert winner == "prior" and table["prior+benign"]["se"] == pytest.approx(3e-5)
    with pytest.raises(ValueError, match="resolution must be a finite AUC step >= 0"):
        choose(auc, test_share=0.2, resolution=-0.001)


def test_the_prior_led_candidate_is_three_fifths_prior_then_demoted_near_benign_cases():
    from detectors._select import PRIOR_LED_WEIGHT

    det = SupervisedDetector(prior_saturation=1.0)
    det.prior_ = UnsupervisedDetector()  # only its presence matters to the combination
    # The prior's anomaly (last input) 3 and 1 -> prior scores 3/4 and 1/2.
    Z = np.array([[0.0, 3.0], [0.0, 1.0]])
    learned = np.array([0.35, 0.9])
    benign = np.array([0.2, 0.0])
    f = det._combine("prior-led+benign", Z, learned, None, benign)
    assert PRIOR_LED_WEIGHT == 0.6
    # (0.6 * 0.75 + 0.4 * 0.35) * (1 - 0.2) = 0.472; 0.6 * 0.5 + 0.4 * 0.9 = 0.66.
    assert f == pytest.approx([0.472, 0.66])
