"""Heat-pump COP, heat delivered and electricity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoenergy.heat.heatpump import (
    cop_carnot,
    cop_carnot_fraction,
    heat_delivered,
    heat_pump,
    heat_pump_electricity,
)


def test_carnot_heat_pump_worked_example():
    # Çengel & Boles, Thermodynamics: An Engineering Approach, ch. 6, example
    # "Heating a house by a Carnot heat pump": house kept at 21 degC, outdoor
    # -5 degC, heat loss 135,000 kJ/h. Published: COP_HP,rev = 11.3 and minimum
    # power 3.32 kW. Tolerance: the book rounds to three significant figures.
    cop = cop_carnot(-5.0, 21.0)
    assert cop == pytest.approx(11.3, rel=0.005)
    power_kw = heat_pump_electricity(135_000 / 3600, cop)
    assert power_kw == pytest.approx(3.32, rel=0.005)


def test_carnot_fraction_scales_the_carnot_cop_for_a_stated_lift():
    # Lift from 30 degC to 80 degC: Carnot COP = 353.15 / 50 = 7.063 (by hand);
    # a quality grade of 0.5 gives 3.53.
    assert cop_carnot(30.0, 80.0) == pytest.approx(353.15 / 50.0)
    assert cop_carnot_fraction(30.0, 80.0, 0.5) == pytest.approx(0.5 * 353.15 / 50.0)
    assert cop_carnot_fraction(30.0, 31.0, 0.5, cop_max=8.0) == 8.0


def test_energy_balance_of_a_published_data_centre_heat_pump_plant():
    # Fortum's heat-recovery plants for Microsoft's data centres near Helsinki:
    # "together the two plants will produce nearly 40 MW of district heating"
    # and "the total COP of the system is 6.6" for heating plus cooling (Oilon,
    # reported by Climate Control News, 2024). COP_total = (Q_heat + Q_cool)/W
    # = 2 COP_heat - 1, so COP_heat = 3.8; the plants then take 29.5 MW of
    # data-centre heat and draw 10.5 MW of electricity (hand calculation).
    cop_heat = (6.6 + 1.0) / 2.0
    source = 40.0 * (1 - 1 / cop_heat)
    assert source == pytest.approx(29.47, abs=0.01)
    assert heat_delivered(source, cop_heat) == pytest.approx(40.0)
    assert heat_pump_electricity(40.0, cop_heat) == pytest.approx(10.53, abs=0.01)


def test_direct_use_needs_no_heat_pump():
    out = heat_pump(2.0, 60.0, 55.0, hx_approach_k=3.0)
    assert out["direct_use"] is True
    assert out["delivered"] == 2.0
    assert out["electricity"] == 0.0
    lifted = heat_pump(2.0, 56.0, 55.0, hx_approach_k=3.0)
    assert lifted["direct_use"] is False
    assert lifted["delivered"] > 2.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cop_carnot_fraction(30, 60, 1.5), "carnot_fraction must lie in"),
        (lambda: cop_carnot_fraction(30, 60, 0.5, cop_max=0.5), "cop_max must be > 1"),
        (lambda: cop_carnot(400, -300), "above -273.15"),
        (lambda: heat_delivered(1.0, 0.9), "cop must be > 1"),
        (lambda: heat_pump(1.0, 30, 60, hx_approach_k=-1), "hx_approach_k must be >= 0"),
        (lambda: heat_pump(1.0, 0, 90, carnot_fraction=0.1), "COP would be <= 1"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_type():
    with pytest.raises(TypeError, match="t_source_c must be a number"):
        cop_carnot("warm", 60)


temps = st.floats(min_value=-20, max_value=70, allow_nan=False)
lifts = st.floats(min_value=1.0, max_value=90, allow_nan=False)
fractions = st.floats(min_value=0.3, max_value=1.0, allow_nan=False)


@given(temps, lifts, lifts, fractions)
def test_cop_falls_as_the_lift_rises(t_source, lift_a, lift_b, eta):
    lo, hi = sorted((lift_a, lift_b))
    assert cop_carnot_fraction(t_source, t_source + lo, eta) >= cop_carnot_fraction(
        t_source, t_source + hi, eta
    )


@given(
    st.floats(min_value=0, max_value=500, allow_nan=False),
    temps,
    lifts,
    fractions,
    st.floats(min_value=1.5, max_value=20),
)
def test_heat_delivered_never_exceeds_the_energy_balance(q_source, t_source, lift, eta, cop_max):
    t_sink = t_source + lift
    out = heat_pump(q_source, t_source, t_sink, carnot_fraction=eta, cop_max=cop_max)
    delivered, electricity = out["delivered"], out["electricity"]
    # First law: delivered = source + electricity.
    assert delivered == pytest.approx(q_source + electricity, rel=1e-9, abs=1e-9)
    # Second law: at least the electricity a reversible heat pump would need.
    carnot = cop_carnot(t_source, t_sink)
    assert electricity >= delivered / carnot * (1 - 1e-9)
    assert delivered >= q_source


def test_arrays():
    cop = cop_carnot_fraction(np.array([20.0, 30.0]), np.array([70.0, 70.0]), 0.5)
    assert cop.shape == (2,) and cop[0] < cop[1]
