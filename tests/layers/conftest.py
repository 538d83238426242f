"""Shared fixtures of the layers tests: a small layout worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

UTM = "EPSG:32650"  # UTM 50N: Beijing
X0, Y0 = 450_000.0, 4_420_000.0  # a point in Beijing [m]


def _utm(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=UTM)


# Three districts: A = [0,1000]x[0,1000], B = [1000,2000]x[0,1000], C = [0,2000]x[1000,2000]
# (metres from X0, Y0), given in WGS84 as a district layer would be.
def districts():
    return _utm(
        [
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            box(X0, Y0 + 1000, X0 + 2000, Y0 + 2000),
        ],
        name=["A", "B", "C"],
    ).to_crs("EPSG:4326")


# Two 20 m buildings in district A, and a large one in B.
def buildings():
    return _utm(
        [
            box(X0 + 100, Y0 + 100, X0 + 120, Y0 + 120),
            box(X0 + 500, Y0 + 500, X0 + 520, Y0 + 520),
            box(X0 + 1200, Y0 + 200, X0 + 1400, Y0 + 400),
        ],
        building_id=["b1", "b2", "b3"],
        use=["residential", "commercial", "industrial"],
        floor_area_m2=[400.0, 1200.0, np.nan],
    )


# Five meters: m1 in b1; m2 12 m east of b1; m3 50 m east of b2; m4 in b3; m5 outside all.
def meters():
    return _utm(
        [
            Point(X0 + 110, Y0 + 110),
            Point(X0 + 132, Y0 + 110),
            Point(X0 + 570, Y0 + 510),
            Point(X0 + 1300, Y0 + 300),
            Point(X0 + 5000, Y0 + 5000),
        ],
        meter_id=["m1", "m2", "m3", "m4", "m5"],
    ).to_crs("EPSG:4326")


@pytest.fixture
def hand():
    """Builders of the hand-checked layout (fresh frames on every call)."""
    return SimpleNamespace(districts=districts, buildings=buildings, meters=meters)
