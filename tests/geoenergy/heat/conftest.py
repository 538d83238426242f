"""Small hand-made data centres and networks in UTM 50N metres."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

CRS = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0


def make_sites(offsets, **columns):
    """Data centres at (X0 + dx, Y0 + dy); every column defaults to one air-cooled 10 MW site."""
    n = len(offsets)
    data = {
        "name": [f"DC{i}" for i in range(n)],
        "cooling": ["air"] * n,
        "pue": [1.3] * n,
        "it_load_mw": [10.0] * n,
        "operator": ["Op"] * n,
    }
    data.update(columns)
    return gpd.GeoDataFrame(
        data, geometry=[Point(X0 + dx, Y0 + dy) for dx, dy in offsets], crs=CRS
    )


def make_network():
    """A secondary pipe along y = Y0 (70/45 degC) and a hot primary along y = Y0 - 3000."""
    return gpd.GeoDataFrame(
        {
            "kind": ["secondary", "primary"],
            "supply_temp_c": [70.0, 120.0],
            "return_temp_c": [45.0, 60.0],
            "operator": ["Heat Co", "Big Heat"],
            "diameter_mm": [300, 800],
        },
        geometry=[
            LineString([(X0 - 10_000, Y0), (X0 + 10_000, Y0)]),
            LineString([(X0 - 10_000, Y0 - 3000), (X0 + 10_000, Y0 - 3000)]),
        ],
        crs=CRS,
    )


@pytest.fixture
def network():
    return make_network()
