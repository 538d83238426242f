"""Impossible inputs are refused where they enter, naming the setting, site or segment (issue 14)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoenergy.errors import ConfigError
from geoenergy.heat import HeatConfig, analyse
from geoenergy.heat.economics import CP_WATER, PIPE_SERIES, RHO_WATER
from geoenergy.heat.recovery import source_temp_problem
from geoenergy.heat.transmission import parallel_pipes

from .conftest import CRS, make_network, make_sites


@pytest.mark.parametrize("value", ["nan", "303.15", "inf", "-40", "120"])
def test_config_file_source_temp_is_checked(tmp_path, value):
    p = tmp_path / "geoenergy.toml"
    p.write_text(f"[heat.cooling.air]\nsource_temp_c = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cooling\.air\.source_temp_c") as err:
        HeatConfig.from_toml(p)
    if value == "303.15":
        assert "looks like kelvin" in str(err.value) and "30.00 degC" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"discount_rate": 1.0}, r"discount_rate=1\.0.*\[0, 1\)"),
        ({"discount_rate": math.nan}, "discount_rate"),
        ({"dhw_share": 1.5}, "dhw_share"),
        ({"must_run_share": math.nan}, "must_run_share"),
        ({"capture_share_factor": math.inf}, "capture_share_factor"),
        ({"cooling": {"air": {"capture_share": math.nan}}}, r"cooling\.air\.capture_share"),
        ({"displaced_source": "coal"}, "coal_boiler"),
        ({"space_heating_base_temp_c": 291.15}, "space_heating_base_temp_c"),
        ({"ground_temp_c": math.nan}, "ground_temp_c"),
        ({"hx_approach_k": math.nan}, "hx_approach_k"),
        ({"network_grouping": "colour"}, "network_grouping"),
        ({"pipe_cost_model": "guess"}, "pipe_cost_model"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        HeatConfig(**kwargs)


def test_config_docstring_example_loads(tmp_path):
    # The module docstring's example (displaced_source = "coal_boiler") is valid TOML and valid.
    import geoenergy.heat.config as mod

    text = mod.__doc__.split("::")[1].split("Load it with")[0]
    body = "\n".join(line[4:] for line in text.splitlines() if line.startswith("    "))
    p = tmp_path / "heat.toml"
    p.write_text(body, encoding="utf-8")
    assert HeatConfig.from_toml(p).displaced_source == "coal_boiler"


def test_per_site_source_temp_in_kelvin_is_refused(network):
    sites = make_sites([(0, 100), (0, 300)], source_temp_c=[np.nan, 303.15])
    with pytest.raises(ConfigError, match=r"DC1: source_temp_c=303\.15.*looks like kelvin"):
        analyse(sites, network)


def test_per_site_capture_share_names_the_site(network):
    sites = make_sites([(0, 100), (0, 300)], capture_share=[0.5, 1.5])
    with pytest.raises(ConfigError, match=r"DC1: capture_share=1\.5"):
        analyse(sites, network)


def test_network_return_not_below_supply_is_refused():
    net = make_network()
    net.loc[0, "return_temp_c"] = 70.0
    with pytest.raises(ConfigError, match=r"segment.*return_temp_c must be below supply_temp_c"):
        analyse(make_sites([(0, 100)]), net)


def test_network_supply_in_kelvin_is_refused():
    net = make_network()
    net.loc[0, ["supply_temp_c", "return_temp_c"]] = [343.15, 318.15]
    with pytest.raises(ConfigError, match="looks like kelvin"):
        analyse(make_sites([(0, 100)]), net)


def test_negative_it_load_is_an_error(network):
    with pytest.raises(ConfigError, match="DC0: IT load unknown"):
        analyse(make_sites([(0, 100)], it_load_mw=[-3.0]), network)


def test_no_nan_is_ranked(network):
    sites = make_sites([(0, 100), (0, 9000), (0, 400)])
    s = analyse(sites, network, config=HeatConfig(metric_crs=CRS)).sites
    ranked = s[s["rank"].notna()]
    assert np.isfinite(ranked["score_mwh_per_kcny"]).all()
    assert np.isfinite(ranked["used_heat_mwh_th_per_yr"]).all()
    assert (ranked["used_heat_mwh_th_per_yr"] > 0).all()
    assert pd.isna(s.loc[1, "rank"])


@pytest.mark.parametrize("source", [-30.0, 0.0, 30.0, 95.0])
def test_plausible_source_temperatures_pass(source):
    assert source_temp_problem(source) is None


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.1, max_value=3000), st.floats(min_value=10, max_value=80))
def test_parallel_pipes_keep_the_velocity_plausible(heat_mw, delta_t):
    dn, count = parallel_pipes(heat_mw, delta_t)
    mass = heat_mw * 1e6 / (CP_WATER * delta_t) / count[0]
    area = math.pi * PIPE_SERIES[int(dn[0])].inner_m ** 2 / 4
    assert mass / (RHO_WATER * area) < 5.0  # m/s; one DN800 for 1,000 MW would be ~22 m/s


def test_a_thousand_megawatts_needs_parallel_pipes():
    dn, count = parallel_pipes(1000.0, 40.0)
    assert dn[0] == 800 and count[0] >= 4


@pytest.mark.parametrize("pue", [0.9, 130.0, math.inf])
def test_implausible_pue_names_the_site(network, pue):
    with pytest.raises(ConfigError, match=r"DC1: pue=.*from 1 to 5"):
        analyse(make_sites([(0, 100), (0, 300)], pue=[1.3, pue]), network)


def test_bad_demand_polygon_is_a_config_error(network):
    import geopandas as gpd
    from shapely.geometry import box

    from .conftest import X0, Y0

    demand = gpd.GeoDataFrame(
        {"demand_mwh": [-5.0]}, geometry=[box(X0, Y0 - 200, X0 + 100, Y0 - 100)], crs=CRS
    )
    with pytest.raises(ConfigError, match="demand_mwh"):
        analyse(make_sites([(0, 100)]), network, heat_demand=demand)
