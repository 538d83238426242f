"""The small sample city the samplecity tests read (300 meters, three weeks across 15 Nov).

It is generated once per session and overrides the larger ``city`` of
``tests/geoenergy/conftest.py`` for the tests in this folder. The test
modules restate the span they assert on (``N, START, END, KW``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from geoenergy.samplecity import SampleCity, generate_city

# 300 meters, three weeks across 15 Nov, seed 7.
N = 300
START, END = "2023-11-05", "2023-11-26"
KW = {"n_meters": N, "start": START, "end": END, "seed": 7}


@pytest.fixture(scope="session")
def city(tmp_path_factory) -> SampleCity:
    return generate_city(tmp_path_factory.mktemp("city"), **KW)


@pytest.fixture(scope="session")
def readings(city) -> pd.DataFrame:
    return pd.read_parquet(city.readings)


@pytest.fixture(scope="session")
def truth(city) -> pd.DataFrame:
    return pd.read_csv(city.truth, dtype={"onset_date": str}, keep_default_na=False)


@pytest.fixture(scope="session")
def registry(city) -> pd.DataFrame:
    return pd.read_csv(city.registry)
