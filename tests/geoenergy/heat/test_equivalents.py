"""Floor area, households, standard coal and CO2 from official factors."""

from __future__ import annotations

import pytest

from geoenergy.heat.equivalents import (
    DISPLACED_SOURCES,
    GJ_PER_TCE,
    displaced_fuel,
    floor_area_annual,
    floor_area_design,
    households,
    tce_of_heat,
)


def test_standard_coal_of_heat_gbt_2589():
    # GB/T 2589-2020 appendix A: heat 0.03412 kgce/MJ, so 1 MWh = 3,600 MJ is
    # 122.83 kgce; and 1 kgce = 29,307.6 kJ (so 1 MWh = 3.6/29.3076 tce = 0.12284).
    assert tce_of_heat(1.0) == pytest.approx(0.12283, abs=1e-5)
    assert tce_of_heat(1.0) == pytest.approx(3.6 / GJ_PER_TCE, rel=1e-3)


def test_fuel_coefficients_reproduce_the_official_table():
    # 各种能源折标准煤及碳排放参考系数 (GB/T 2589 heating values, NDRC provincial
    # inventory guideline carbon contents): raw coal 20,908 kJ/kg, 0.7143 kgce/kg,
    # 26.37 tC/TJ, oxidation 0.94 -> 1.9003 kg CO2/kg; natural gas 38,931 kJ/m3,
    # 1.3300 kgce/m3, 15.3 tC/TJ, oxidation 0.99 -> 2.1622 kg CO2/m3.
    coal, gas = DISPLACED_SOURCES["coal_boiler"], DISPLACED_SOURCES["gas_boiler"]
    assert coal.co2_kg_per_unit == pytest.approx(1.9003, abs=5e-4)
    assert gas.co2_kg_per_unit == pytest.approx(2.1622, abs=5e-4)
    assert coal.lhv_kj_per_unit / 29_307.6 == pytest.approx(coal.kgce_per_unit, abs=1e-3)
    # The standard rounds the gas coefficient to 1.33 (38,931 / 29,307.6 = 1.3284).
    assert gas.lhv_kj_per_unit / 29_307.6 == pytest.approx(gas.kgce_per_unit, abs=2e-3)


def test_displaced_gas_boiler_by_hand():
    # 1,000 MWh of heat from a 92 % gas boiler: 3,600 GJ / 0.92 = 3,913 GJ of gas
    # = 100,510 m3 (38.931 MJ/m3) -> 133.7 tce and 217.3 t CO2.
    out = displaced_fuel(1000.0, "gas_boiler")
    assert out["fuel_gj"] == pytest.approx(3600 / 0.92)
    assert out["fuel_quantity"] == pytest.approx(3600 / 0.92 * 1e6 / 38_931)
    assert out["tce"] == pytest.approx(out["fuel_quantity"] * 1.33 / 1000)
    assert out["co2_t"] == pytest.approx(217.3, abs=0.2)
    assert displaced_fuel(1000.0, "coal_boiler", boiler_efficiency=0.5)["fuel_gj"] == 7200


def test_floor_area_and_households():
    assert floor_area_design(1.0, 40.0) == pytest.approx(25_000.0)
    assert floor_area_annual(1000.0, 0.1) == pytest.approx(10_000.0)
    assert households(8000.0, 80.0) == pytest.approx(100.0)


def test_bad_input():
    with pytest.raises(ValueError, match="source must be one of"):
        displaced_fuel(1.0, "peat")
    with pytest.raises(ValueError, match="design_load_w_per_m2 must be a positive"):
        floor_area_design(1.0, 0)
    with pytest.raises(ValueError, match="heat_mwh must be >= 0"):
        tce_of_heat(-1.0)
