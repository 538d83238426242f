"""Quality on a second synthetic generator (bench._town), written apart from the sample city.

One town of 1,000 meters over 120 days with the issue's named cases: rigs on
village meters among pumps, greenhouses and fish ponds, valley-only rigs
among storage and electric heating, rigs in a factory's base load among
continuous-process plants, registered data centres (their own list) and an
unregistered one. ~15 s.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from detectors.evaluate import average_precision
from detectors.model import MiningModel

_town = pytest.importorskip("bench._town")


@pytest.fixture(scope="module")
def town():
    pop = _town.town_population(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MiningModel("unsupervised").fit(pop.readings, pop.registry, pop.weather)
        r = m.score(pop.readings, pop.registry, pop.weather, reasons=False)
    return pop, r.merge(pop.truth, on="meter_id")


def test_the_town_ranks_its_rigs_first(town):
    _, r = town
    # Measured 0.955 (seed 1) and 0.983 (seed 2); continuous processes are the misses.
    assert average_precision(r["is_mining"].to_numpy(), r["score"].to_numpy()) >= 0.90


def test_registered_data_centres_stay_out_of_the_main_list(town):
    _, r = town
    dc = r["case"] == "data_centre"
    assert (r.loc[dc, "list"] == "data_centre").all()
    # The unregistered one (registered as commercial) is a suspect in the main list.
    hidden = r[r["case"] == "mining_unregistered_dc"]
    assert (hidden["list"] == "main").all() and hidden["flagged"].all()
    main = r[r["list"] == "main"]
    top = main.head(int(r["is_mining"].sum()))
    assert not top["case"].isin(["data_centre", "storage_heating", "fish_pond"]).any()


def test_mining_hidden_in_registered_data_centres_ranks_first_among_them(town):
    _, r = town
    dc = r[r["list"] == "data_centre"].sort_values("rank")
    assert set(dc["case"]) == {"data_centre", "mining_in_dc"}
    # Scored on data-centre evidence (detectors.datacentre), ranked among data centres.
    # Measured (seed 1): the hidden-mining sites at ranks 1, 2, 3 and 5 of 16.
    y = (dc["case"] == "mining_in_dc").to_numpy()
    assert average_precision(y, dc["score"].to_numpy()) >= 0.8
    assert dc["reasons"].str.startswith("data-centre score").all()
    assert dc["p_value"].isna().all()
    # No registered data centre in the main list, whatever its score.
    assert not (r.loc[r["list"] == "main", "case"].isin(["data_centre", "mining_in_dc"])).any()


def test_farm_mining_puts_rigs_into_weather_driven_farm_meters():
    # The bench case of the held-back city's worst miss (rigs on pumps, greenhouses and
    # fish ponds): the chosen farms carry a rig on top of their own load, the rest of
    # the town is untouched.
    from bench.bench_quality import FARM_KINDS, FARM_MINING_SITES, town_population

    plain = town_population(2)
    farm = town_population(2, farm_mining=True)
    t = farm.truth.set_index("meter_id")
    rigs = t.index[t["case"] == "mining_weather_farm"]
    assert len(rigs) == FARM_MINING_SITES and t.loc[rigs, "is_mining"].all()
    assert plain.truth.set_index("meter_id").loc[rigs, "case"].isin(FARM_KINDS).all()
    before = plain.readings["kwh"].sel(meter=rigs).values
    after = farm.readings["kwh"].sel(meter=rigs).values
    diff = after - before  # kWh per hour = kW, from each rig's onset on
    added = np.array([np.nanmedian(d[d > 0]) for d in diff])
    assert (np.nan_to_num(diff) >= -1e-9).all()
    np.testing.assert_allclose(added, t.loc[rigs, "power_kw"].to_numpy(float), rtol=0.02)
    others = ~farm.readings["meter"].isin(rigs).values
    np.testing.assert_array_equal(
        farm.readings["kwh"].values[others], plain.readings["kwh"].values[others]
    )
    with pytest.raises(ValueError, match="fewer than 2 x n = 24; build it with more meters"):
        town_population(2, 200, farm_mining=True)


def test_pooled_cases_sum_the_counts_of_the_seeds():
    # Two seeds of one window: 3 + 2 rigs of 1 kW or more, 2 + 1 of them flagged; 50 + 50
    # untouched households with 0 + 1 false flags. Pooled: 3 of 5 flagged (60 %), 1 false
    # flag in 100; the flag precision of the 1 kW rigs 3 / (3 + 1); AP the mean 0.9.
    import pandas as pd

    from bench.bench_quality import check_targets, pooled_cases

    def cases(n_big, hit, false, ap):
        return pd.DataFrame(
            {
                "detector": "unsupervised",
                "case": ["power >= 1 kW", "confounder untouched"],
                "n": [n_big, 50],
                "AP": [ap, np.nan],
                "P@n": [ap, np.nan],
                "flagged": [hit / n_big, false / 50],
                "flag_precision": [np.nan, np.nan],
                "n_flagged": [hit, false],
                "n_false": [false, false],
            }
        )

    results = {
        "lcl 2013 seed 1": {"cases": cases(3, 2, 0, 1.0)},
        "lcl 2013 seed 2": {"cases": cases(2, 1, 1, 0.8)},
    }
    p = pooled_cases(results)
    big = p.loc[("lcl 2013", "power >= 1 kW")]
    assert (big["n"], big["n_flagged"], big["populations"]) == (5, 3, 2)
    assert big["flagged"] == pytest.approx(0.6) and big["flag_precision"] == pytest.approx(0.75)
    assert big["AP"] == pytest.approx(0.9) and big["AP_worst"] == pytest.approx(0.8)
    ctl = p.loc[("lcl 2013", "confounder untouched")]
    assert ctl["flagged"] == pytest.approx(0.01) and np.isnan(ctl["flag_precision"])
    t = check_targets({}, p).set_index("target")
    assert t.loc["rigs >= 1 kW flagged >= 80 %", "measured"] == "3/5 = 60%"
    assert not t.loc["rigs >= 1 kW flagged >= 80 %", "met"]
    assert t.loc["false flags <= 1 / 100 untouched", "met"]  # exactly 1 in 100


def test_fdr_levels_cut_the_same_p_values_at_each_rate():
    # Main list A (rig, 2 kW, p 0.001), B (rig, 0.5 kW, 0.004), C, D, F (no mining: 0.02,
    # 0.5, 0.9); E, a registered data centre, is left out (its own list). m = 5.
    # Benjamini-Hochberg at 0.01: bounds 0.002, 0.004, 0.006, ...: A and B. At 0.1: bounds
    # 0.02, 0.04, 0.06, ...: A, B and C (C is a false flag).
    from types import SimpleNamespace

    import pandas as pd

    from bench.bench_quality import fdr_levels, pooled_fdr_levels

    ids = list("ABCDEF")
    pop = SimpleNamespace(
        truth=pd.DataFrame(
            {
                "meter_id": ids,
                "is_mining": [True, True, False, False, True, False],
                "power_kw": [2.0, 0.5, np.nan, np.nan, 40.0, np.nan],
            }
        ),
        registry=pd.DataFrame(
            {"meter_id": ids, "customer_class": ["residential"] * 4 + ["data_centre", "public"]}
        ),
    )
    r = pd.DataFrame({"meter_id": ids, "p_value": [0.001, 0.004, 0.02, 0.5, 1e-4, 0.9]})
    lv = fdr_levels(pop, r, levels=(0.01, 0.1)).set_index("fdr")
    assert lv.loc[0.01].to_dict() == {
        "rigs": 2, "rigs_flagged": 2, "big": 1, "big_flagged": 1, "negatives": 3, "false": 0
    }  # fmt: skip
    assert (lv.loc[0.1, "rigs_flagged"], lv.loc[0.1, "false"]) == (2, 1)
    summary = pd.DataFrame(index=["unsupervised"])
    summary.attrs["fdr_levels"] = lv.reset_index().to_dict("records")
    pooled = pooled_fdr_levels({f"lcl 2013 seed {s}": {"summary": summary} for s in (1, 2)})
    row = pooled.loc[("lcl 2013", 0.1)]
    assert (row["rigs"], row["false"], row["negatives"]) == (4, 2, 6)
    assert row["rig_recall"] == 1.0 and row["big_recall"] == 1.0
    assert row["false_per_100"] == pytest.approx(100 * 2 / 6)
    assert row["precision"] == pytest.approx(4 / 6)
