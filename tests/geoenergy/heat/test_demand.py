"""Hourly heat demand on the bundled Beijing weather year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geoenergy.errors import ConfigError, InputFileError
from geoenergy.heat.demand import hourly_demand, load_weather_year, supply_temperature
from geoenergy.heat.season import heating_season_mask, reference_hours


def test_bundled_beijing_year_is_plausible_and_attributed():
    t = load_weather_year()
    assert t.shape == (8760,) and np.isfinite(t).all()
    # Beijing 2015: January mean a little below 0 degC, July mean about 27 degC.
    hours = reference_hours()
    assert -6 < t[hours.month == 1].mean() < 2
    assert 24 < t[hours.month == 7].mean() < 30
    import geoenergy.heat

    readme = Path(geoenergy.heat.__file__).parent / "data" / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "20170457" in text


def test_profile_sums_to_annual_demand_and_follows_the_cold():
    t = load_weather_year()
    q = hourly_demand([5000.0, 0.0], t)
    np.testing.assert_allclose(q.sum(axis=1), [5000.0, 0.0])
    mask = heating_season_mask(reference_hours())
    assert (q[0, ~mask] == 0).all()  # Beijing default: no hot water, space heating in season
    cold, mild = np.argmin(np.where(mask, t, np.inf)), np.argmax(np.where(mask, t, -np.inf))
    assert q[0, cold] > q[0, mild]


def test_hot_water_share_runs_all_year():
    t = load_weather_year()
    q = hourly_demand(8760.0, t, season=("01-01", "12-31"), dhw_share=0.25)
    assert q.sum() == pytest.approx(8760.0)
    assert q.min() == pytest.approx(0.25)  # 25 % of 8,760 MWh spread over 8,760 h: 0.25 MW


def test_supply_curve_slides_with_outdoor_temperature():
    t = np.array([-7.6, 5.2, 18.0, 25.0])
    sup = supply_temperature([70.0], np.resize(t, 4), min_c=50.0)
    np.testing.assert_allclose(sup[0], [70.0, 60.0, 50.0, 50.0])
    np.testing.assert_allclose(supply_temperature([70.0], t)[0], 70.0)


def test_bad_weather_files(tmp_path):
    with pytest.raises(ConfigError, match="weather_file"):
        load_weather_year(tmp_path / "nope.csv")
    short = tmp_path / "short.csv"
    short.write_text("timestamp,temp_c\n2015-01-01 00:00,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="8,760"):
        load_weather_year(short)
    kelvin = tmp_path / "k.csv"
    kelvin.write_text("temp_c\n" + "280.0\n" * 8760, encoding="utf-8")
    with pytest.raises(InputFileError, match="degrees Celsius"):
        load_weather_year(kelvin)
