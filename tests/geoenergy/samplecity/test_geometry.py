"""The town's geometry: registry positions and addresses, districts, buildings, meter sites."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoenergy.contracts import CUSTOMER_CLASSES
from layers.coords import gcj02_to_wgs84

N = 300  # meters of the small city of conftest.py
CLASSES = set(CUSTOMER_CLASSES)


def test_registry_contract(registry):
    assert list(registry.columns) == [
        "meter_id",
        "address",
        "customer_class",
        "lon",
        "lat",
        "coord_system",
        "contracted_kw",
        "floor_area_m2",
    ]
    assert len(registry) == N
    assert registry["meter_id"].is_unique
    assert registry["meter_id"].str.fullmatch(r"M\d{6}").all()
    assert registry["address"].str.startswith("[示例] ").all()
    assert registry["address"].is_unique
    assert set(registry["customer_class"]) == CLASSES
    assert set(registry["coord_system"]) == {"wgs84", "gcj02"}
    assert 0.03 < (registry["coord_system"] == "gcj02").mean() < 0.2
    assert registry["lon"].between(116.19, 116.37).all()
    assert registry["lat"].between(39.94, 40.04).all()
    assert (registry["contracted_kw"] > 0).all()
    assert registry["floor_area_m2"].isna().any()
    assert (registry["floor_area_m2"].dropna() > 0).all()


def test_districts_layer(city):
    districts = gpd.read_file(city.layers["districts"])
    assert len(districts) == 6
    assert districts["name"].str.endswith("区").all()
    area = districts.to_crs(32650).area
    union = shapely.union_all(districts.to_crs(32650).geometry.values)
    assert union.area == pytest.approx(area.sum(), rel=1e-6)  # no overlaps
    union_deg = shapely.union_all(districts.geometry.values)
    assert union_deg.area == pytest.approx(union_deg.envelope.area, rel=1e-9)  # no holes
    assert 100e6 < union.area < 130e6  # about 12.8 km x 8.9 km [m2]


def test_buildings_layer(city):
    buildings = gpd.read_file(city.layers["buildings"])
    assert set(buildings["use"]) <= CLASSES
    assert set(buildings.geom_type) == {"Polygon"}
    xy = shapely.get_coordinates(buildings.to_crs(32650).geometry.values).reshape(-1, 5, 2)
    sides = np.hypot(*np.diff(xy, axis=1).transpose(2, 0, 1))  # rectangles: 4 sides [m]
    assert ((sides > 14.5) & (sides < 80.5)).all()


def test_every_meter_lies_inside_a_building(city, registry):
    buildings = gpd.read_file(city.layers["buildings"])
    lon, lat = registry["lon"].to_numpy(), registry["lat"].to_numpy()
    gcj = (registry["coord_system"] == "gcj02").to_numpy()
    wlon, wlat = gcj02_to_wgs84(lon[gcj], lat[gcj])
    lon_w, lat_w = lon.copy(), lat.copy()
    lon_w[gcj], lat_w[gcj] = wlon, wlat
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon_w, lat_w), crs=4326)
    hit = gpd.sjoin(points, buildings, predicate="within", how="left")
    assert hit.groupby(level=0)["index_right"].count().eq(1).all()
    # Without conversion the GCJ-02 positions are hundreds of metres off.
    raw = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon[gcj], lat[gcj]), crs=4326)
    assert gpd.sjoin(raw, buildings, predicate="within").index.nunique() < gcj.sum() / 2
    # The building's use matches the customer class.
    uses = buildings.loc[hit["index_right"].to_numpy(), "use"].to_numpy()
    assert (uses == registry["customer_class"].to_numpy()).all()
