"""HeatConfig defaults, TOML loading and checks."""

from __future__ import annotations

import pytest

from geoenergy.errors import ConfigError
from geoenergy.heat import HeatConfig


def test_defaults():
    c = HeatConfig()
    assert (c.heating_season_start, c.heating_season_end) == ("11-15", "03-15")
    assert c.carnot_fraction == 0.5 and c.pue_limit_existing == 1.4


def test_toml_with_heat_table(tmp_path):
    p = tmp_path / "geoenergy.toml"
    p.write_text(
        'timezone = "Asia/Shanghai"\n[heat]\ncarnot_fraction = 0.45\n'
        'displaced_source = "coal_boiler"\n[heat.cooling.air]\nsource_temp_c = 32\n'
        '[heat.pipe_cost_cny_per_m]\n"200" = 3000\n',
        encoding="utf-8",
    )
    c = HeatConfig.from_toml(p)
    assert c.carnot_fraction == 0.45 and c.displaced_source == "coal_boiler"
    assert c.cooling == {"air": {"source_temp_c": 32}}
    assert c.pipe_cost_cny_per_m == {200: 3000.0}


def test_toml_top_level(tmp_path):
    p = tmp_path / "heat.toml"
    p.write_text('heating_season_start = "11-01"\n', encoding="utf-8")
    assert HeatConfig.from_toml(p).heating_season_start == "11-01"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"carnot_fraction": 1.5}, "carnot_fraction=1.5"),
        ({"heating_season_start": "11/15"}, "heating_season_start"),
        ({"displaced_source": "peat"}, "displaced_source"),
        ({"cooling": {"evaporative": {}}}, "cooling types are"),
        ({"cooling": {"air": {"colour": 1}}}, "only source_temp_c"),
        ({"connect_to": "tertiary"}, "connect_to"),
        ({"reference_year": 2024}, "non-leap"),
        ({"detour_factor": 0.9}, "detour_factor"),
        ({"pue_limit_new_bands": [[20000, 1.2], [10000, 1.3]]}, "ascend"),
        ({"pipe_area": "moon"}, "pipe_area"),
    ],
)
def test_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        HeatConfig(**kwargs)


def test_unknown_key_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown heat setting\(s\) \['colour'\]"):
        HeatConfig.from_dict({"colour": "red"})
    with pytest.raises(ConfigError, match="file not found"):
        HeatConfig.from_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        HeatConfig.from_toml(bad)
