"""Dispatch, COP and transmission: properties and Hotmaps' figures (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geoenergy.heat.heatpump import cop_carnot_fraction
from geoenergy.heat.matching import dispatch
from geoenergy.heat.transmission import (
    HOTMAPS_LINE_COST_EUR_PER_M,
    connection_tree,
    line_cost_per_m,
    peak_flow,
)

HOURS = 48
flows = arrays(float, (3, HOURS), elements=st.floats(0, 50, allow_nan=False))
caps = arrays(float, (2, HOURS), elements=st.floats(0, 60, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(flows, caps, st.lists(st.integers(-1, 1), min_size=3, max_size=3))
def test_used_never_exceeds_demand_nor_supply(supply, cap, nets):
    used, taken = dispatch(supply, np.array(nets), cap)
    assert (used <= supply + 1e-9).all() and (used >= 0).all()
    assert (taken <= cap + 1e-9).all()
    for n in range(2):
        np.testing.assert_allclose(used[np.array(nets) == n].sum(axis=0), taken[n], atol=1e-9)
    assert (used[np.array(nets) == -1] == 0).all()


@settings(max_examples=60, deadline=None)
@given(flows, caps, arrays(float, (HOURS,), elements=st.floats(0, 50, allow_nan=False)))
def test_a_new_site_on_a_saturated_network_adds_nothing(supply, cap, extra):
    nets = np.array([0, 0, 0])
    _, before = dispatch(supply, nets, cap)
    _, after = dispatch(np.vstack([supply, extra]), np.array([0, 0, 0, 0]), cap)
    assert (after[0] >= before[0] - 1e-9).all() and (after[0] <= cap[0] + 1e-9).all()
    saturated = before[0] >= cap[0] - 1e-9
    np.testing.assert_allclose(after[0][saturated], before[0][saturated], atol=1e-9)


def test_merit_order_serves_the_cheapest_first():
    used, _ = dispatch(np.array([[5.0], [5.0]]), np.array([0, 0]), np.array([[6.0]]), merit=[1, 0])
    assert used[:, 0].tolist() == [1.0, 5.0]


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-10, 60),
    st.floats(40, 120),
    st.floats(0, 30),
    st.floats(0.3, 0.7),
)
def test_a_hotter_supply_never_raises_the_cop(source, sink, extra, eta):
    lo = cop_carnot_fraction(source, sink, eta, cop_max=8.0)
    hi = cop_carnot_fraction(source, sink + extra, eta, cop_max=8.0)
    assert hi <= lo + 1e-12


def test_line_cost_matches_hotmaps_per_flow_figures():
    """Hotmaps, CM Excess heat transport potential, "Specific costs of transmission lines used".

    The line for a peak flow is the table's first line whose capacity covers it;
    our cost is that figure x the escalation to 2024 x CNY/EUR, within 1 %.
    """
    esc, fx = 1.21, 7.8
    for cap_mw, eur in HOTMAPS_LINE_COST_EUR_PER_M:
        cost, n = line_cost_per_m(cap_mw * 0.99, escalation=esc, cny_per_eur=fx)
        assert n[0] == 1
        assert cost[0] == pytest.approx(eur * esc * fx, rel=0.01)
    # 1 MW needs the 1.2 MW line (240 EUR/m); 400 MW three parallel 190 MW lines.
    assert line_cost_per_m(1.0, escalation=1.0, cny_per_eur=1.0)[0][0] == 240.0
    cost, n = line_cost_per_m(400.0, escalation=1.0, cny_per_eur=1.0)
    assert n[0] == 3 and cost[0] == 3 * 976.0


def test_peak_flow_is_a_three_hour_average():
    q = np.zeros(24)
    q[10] = 9.0
    assert peak_flow(q, 3) == pytest.approx(3.0)
    assert peak_flow(q, 1) == pytest.approx(9.0)


def test_neighbours_share_a_line():
    # Two sites 100 m apart, 500 m and 550 m from the network: the second joins the first.
    parent, length = connection_tree([[0, 0], [100, 0]], [500.0, 550.0], detour_factor=1.0)
    assert parent.tolist() == [-1, 0]
    np.testing.assert_allclose(length, [500.0, 100.0])
    far, _ = connection_tree([[0, 0]], [5000.0], max_edge_m=3000)
    assert far.tolist() == [-2]
