"""Score, eligibility and rank."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoenergy.heat.ranking import SCORES, eligibility, rank, score_heat_per_cost


def test_score_is_heat_per_kcny():
    assert score_heat_per_cost(1000.0, 100_000.0) == 10.0
    assert np.isnan(score_heat_per_cost(1000.0, 0.0))
    assert set(SCORES) == {"heat_per_cost", "lcoh"}


def test_rank_and_ties():
    r = rank([5.0, 7.0, 7.0, 1.0], [True, True, True, False], tiebreak=[0, 200, 100, 0])
    assert list(r.astype(object)) == [3, 2, 1, pd.NA]


def test_eligibility_reasons():
    ok, why = eligibility(
        [True, False, True, True], [100, np.nan, 5000, 100], [10, 0, 10, 0], max_connection_m=3000
    )
    assert list(ok) == [True, False, False, False]
    assert why[0] == "" and "compatible" in why[1] and "max_connection_m" in why[2]
    assert "usable heat" in why[3]
