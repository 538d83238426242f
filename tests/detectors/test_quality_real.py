"""Quality on real households: 53 London homes (Low Carbon London, 2013) with injected rigs.

The population (:mod:`bench._lcl`) keeps every household untouched as the
control and adds rigged copies of some (0.3-3.5 kW; 24/7, already running,
valley-only, late onset; off on 10-20 % of days). The rows are not in the
repository: they are read from ``../shared/data/lcl/`` beside it, and the
test skips with a message when the file is absent. Issue 20's targets for
the flagged list: at least 80 % of the rigs of 1 kW or more flagged, at most
1 false flag per 100 untouched households; the ranking: AP >= 0.93 on
average. The supervised detector ranks the unlabelled meters at least as well
as its prior and the gradient-boosting baseline. ~30 s.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from detectors.evaluate import average_precision
from detectors.model import MiningModel

_lcl = pytest.importorskip("bench._lcl")

if _lcl.lcl_path() is None:
    pytest.skip(
        "the Low Carbon London households are not at ../shared/data/lcl/ beside the "
        "repository (see shared/data/README.md); the real-household quality test is skipped",
        allow_module_level=True,
    )

POPULATIONS = {
    "2013 seed 1": (1, None, None),
    "2013 seed 2": (2, None, None),
    "2013 seed 3": (3, None, None),
    "jan-apr seed 4": (4, "2013-01-01", "2013-05-01"),
}


@pytest.fixture(scope="module")
def households():
    return _lcl.load_households()


@pytest.fixture(scope="module")
def results(households):
    out = {}
    for name, (seed, start, end) in POPULATIONS.items():
        pop = _lcl.lcl_population(seed, households=households, start=start, end=end)
        truth = pop.truth.set_index("meter_id")
        scored = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for det in ("unsupervised", "supervised"):
                m = MiningModel(det).fit(pop.readings, pop.registry, labels=pop.labels)
                scored[det] = m.score(pop.readings, pop.registry, reasons=False)
            scored["baseline"] = m.baseline_scores(pop.readings, pop.registry)
        out[name] = (truth, set(pop.labels["meter_id"]), scored)
    return out


def test_rigs_of_1_kw_are_flagged_and_households_are_not(results):
    big = flagged_big = false = untouched = 0
    for truth, _, scored in results.values():
        r = scored["unsupervised"].set_index("meter_id")
        t = truth.loc[r.index]
        rig = t["is_mining"].to_numpy(bool)
        strong = rig & (t["power_kw"].to_numpy() >= 1.0)
        flagged = r["flagged"].to_numpy(bool)
        big += strong.sum()
        flagged_big += flagged[strong].sum()
        false += flagged[~rig].sum()
        untouched += (~rig).sum()
    # Measured: 36 of 37 (97 %), no false flag in 212 untouched households (1 in January-April
    # before a quarter of the peers at a bound stopped collapsing the robust scale).
    assert flagged_big / big >= 0.80
    assert 100.0 * false / untouched <= 1.0


def test_the_ranking_finds_the_rigs(results):
    aps = []
    for truth, _, scored in results.values():
        r = scored["unsupervised"]
        y = truth.loc[r["meter_id"], "is_mining"].to_numpy(bool)
        aps.append(average_precision(y, r["score"].to_numpy(float)))
    # Measured 1.000, 0.964, 1.000 (2013) and 0.994 (jan-apr): small rigs are the misses;
    # 0.975, 0.935, 0.981 before a floor back at its winter level stopped being a step.
    assert np.mean(aps) >= 0.95 and min(aps) >= 0.90


def test_supervised_matches_its_prior_and_beats_the_baseline(results):
    for truth, labelled, scored in results.values():

        def ap(r, labelled=labelled, truth=truth):
            r = r[~r["meter_id"].isin(labelled)]
            y = truth.loc[r["meter_id"], "is_mining"].to_numpy(bool)
            return average_precision(y, r["score"].to_numpy(float))

        sup, prior, base = (
            ap(scored["supervised"]),
            ap(scored["unsupervised"]),
            ap(scored["baseline"]),
        )
        assert sup >= prior - 0.01
        assert sup >= base
