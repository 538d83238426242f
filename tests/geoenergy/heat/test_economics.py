"""Pipe sizing, costs, heat loss and levelised cost of heat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geoenergy.heat.economics import (
    PIPE_COST_AREAS,
    PIPE_SERIES,
    capital_recovery_factor,
    heat_loss_w_per_m,
    lcoh,
    pipe_cost_per_m,
    pipe_size,
)


def test_capital_recovery_factor():
    # 8 % over 25 years: 0.08 x 1.08^25 / (1.08^25 - 1) = 0.09368 (annuity tables).
    assert capital_recovery_factor(0.08, 25) == pytest.approx(0.09368, abs=1e-5)
    assert capital_recovery_factor(0.0, 20) == pytest.approx(0.05)


def test_lcoh_by_hand():
    # 10 M CNY capex at CRF 0.1 (r=0 over 10 yr) + 0.5 M CNY/yr over 10,000 MWh/yr.
    assert lcoh(10e6, 0.5e6, 10_000, rate=0.0, years=10) == pytest.approx(150.0)
    assert np.isnan(lcoh(1.0, 1.0, 0.0))


def test_pipe_size_grows_with_heat_and_shrinks_with_delta_t():
    dn = pipe_size([1.0, 5.0, 20.0], 20.0)
    assert list(dn) == sorted(dn) and dn[0] < dn[2]
    assert pipe_size(5.0, 40.0)[0] <= pipe_size(5.0, 20.0)[0]
    assert pipe_size(0.0, 20.0)[0] == 0
    # A 5 MW flow at 20 K is 59.7 kg/s: DN200 gives about 1.8 m/s and > 100 Pa/m,
    # DN250 about 1.1 m/s and < 100 Pa/m.
    assert pipe_size(5.0, 20.0)[0] == 250


def test_pipe_cost_model_and_table():
    c1, c2 = PIPE_COST_AREAS["outer_city"]
    d = PIPE_SERIES[200].inner_m
    assert pipe_cost_per_m(200, cny_per_eur=7.8)[0] == pytest.approx((c1 + c2 * d) * 7.8)
    table = {100: 1000.0, 300: 3000.0}
    np.testing.assert_allclose(pipe_cost_per_m([100, 200, 400], table=table), [1000, 3000, 3000])
    assert pipe_cost_per_m(0)[0] == 0.0


def test_heat_loss_by_hand():
    # DN200, casing 355 mm, PUR 0.027 W/mK, soil 1.5 W/mK, depth 1 m, 10 degC ground.
    p = PIPE_SERIES[200]
    r = math.log(p.casing_m / p.outer_m) / (2 * math.pi * 0.027) + math.log(4 / p.casing_m) / (
        2 * math.pi * 1.5
    )
    assert heat_loss_w_per_m(200, 70, 45)[0] == pytest.approx((60 + 35) / r)
    assert 20 < heat_loss_w_per_m(200, 70, 45)[0] < 40  # typical pre-insulated pipe pair
    assert heat_loss_w_per_m(0, 70, 45)[0] == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="delta_t_k"):
        pipe_size(1.0, 0.0)
    with pytest.raises(ValueError, match="dn must be one of"):
        pipe_cost_per_m(123)
    with pytest.raises(ValueError, match="rate must lie in"):
        capital_recovery_factor(1.5, 10)
    with pytest.raises(ValueError, match="years must be a whole number"):
        capital_recovery_factor(0.05, 0)
