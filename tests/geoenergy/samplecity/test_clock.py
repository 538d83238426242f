"""The time axis and weather of the city."""

from __future__ import annotations

import pandas as pd

from geoenergy.samplecity import generate_city

START, END = "2023-11-05", "2023-11-26"  # the small city of conftest.py


def test_weather(city):
    weather = pd.read_csv(city.weather)
    assert list(weather.columns) == ["date", "temp_c"]
    dates = pd.to_datetime(weather["date"], format="%Y-%m-%d")
    assert dates.tolist() == pd.date_range(START, END, inclusive="left").tolist()
    assert weather["temp_c"].between(-15, 20).all()


def test_default_weather_is_a_beijing_season(tmp_path):
    # Only the weather matters here; a short span keeps it fast.
    early = generate_city(tmp_path / "a", n_meters=100, start="2023-09-01", end="2023-09-15")
    late = generate_city(tmp_path / "b", n_meters=100, start="2024-01-10", end="2024-01-31")
    sept = pd.read_csv(early.weather)["temp_c"].mean()
    jan = pd.read_csv(late.weather)["temp_c"].mean()
    assert 20 < sept < 29
    assert -10 < jan < 0
