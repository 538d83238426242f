"""The meter registry as WGS84 points, converted per row from GCJ-02 / BD-09."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

from layers.coords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from layers.meters import read_meters
from layers.schemas import LayerError

GEOD = Geod(ellps="WGS84")
TIANANMEN = (116.397128, 39.916527)  # WGS84


def _registry(**overrides):
    data = {
        "meter_id": ["m1", "m2", "m3", "m4"],
        "address": ["1 A Rd", "2 B Rd", "3 C Rd", "4 D Rd"],
        "customer_class": ["residential", "residential", "commercial", "industrial"],
        "lon": [116.40, 116.41, 116.42, 116.43],
        "lat": [39.90, 39.91, 39.92, 39.93],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_wgs84_by_default():
    gdf = read_meters(_registry())
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.x.tolist() == [116.40, 116.41, 116.42, 116.43]
    assert gdf["coord_system"].tolist() == ["wgs84"] * 4
    assert gdf["address"].tolist()[0] == "1 A Rd"
    assert gdf.attrs["coord_systems"] == {"wgs84": 4, "gcj02": 0, "bd09": 0}
    assert gdf.attrs["kind"] == "meters"


def test_per_row_coord_system():
    gcj = wgs84_to_gcj02(*TIANANMEN)
    bd = wgs84_to_bd09(*TIANANMEN)
    df = _registry(
        lon=[TIANANMEN[0], gcj[0], bd[0], 116.43],
        lat=[TIANANMEN[1], gcj[1], bd[1], 39.93],
        coord_system=["WGS84", " gcj02", "BD09", ""],
    )
    gdf = read_meters(df)
    assert gdf["coord_system"].tolist() == ["wgs84", "gcj02", "bd09", "wgs84"]
    # All three rows are the same place: within 0.5 m of each other.
    x, y = gdf.geometry.x.to_numpy()[:3], gdf.geometry.y.to_numpy()[:3]
    dist = GEOD.inv(x, y, np.full(3, TIANANMEN[0]), np.full(3, TIANANMEN[1]))[2]
    assert np.all(dist < 0.5), dist
    assert gdf.attrs["coord_systems"] == {"wgs84": 2, "gcj02": 1, "bd09": 1}


def test_file_level_coord_system_overrides_with_warning():
    df = _registry(coord_system=["gcj02", "", "bd09", None])
    with pytest.warns(UserWarning, match=r"overrides the coord_system column for 1 row\(s\)"):
        gdf = read_meters(df, coord_system="gcj02")
    assert gdf["coord_system"].tolist() == ["gcj02"] * 4
    lon, lat = gcj02_to_wgs84(116.42, 39.92)
    assert (gdf.geometry.x.iloc[2], gdf.geometry.y.iloc[2]) == pytest.approx((lon, lat))


def test_outside_china_unchanged_bd09_shifted():
    # GCJ-02 is the identity outside China; BD-09 shifts everywhere.
    df = pd.DataFrame(
        {"meter_id": ["paris-g", "paris-b"], "lon": [2.35, 2.35], "lat": [48.85, 48.85],
         "coord_system": ["gcj02", "bd09"]}
    )  # fmt: skip
    gdf = read_meters(df, study_area=(2.0, 48.0, 3.0, 49.0))
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (2.35, 48.85)
    assert gdf.geometry.x.iloc[1] == pytest.approx(bd09_to_wgs84(2.35, 48.85)[0])


def test_csv_parquet_and_point_layer(tmp_path):
    df = _registry(
        meter_id=["007", "NA", "m3", "m4"],
        coord_system=["gcj02", "", "", ""],
        floor_area_m2=[80.0, np.nan, 120.0, np.nan],
    )
    csv = tmp_path / "registry.csv"
    df.to_csv(csv, index=False)
    from_csv = read_meters(csv)
    assert from_csv["meter_id"].tolist() == ["007", "NA", "m3", "m4"]  # ids stay text
    assert from_csv["coord_system"].tolist() == ["gcj02", "wgs84", "wgs84", "wgs84"]
    assert from_csv["floor_area_m2"].dtype == float  # blanks are NaN, not ""
    pq = tmp_path / "registry.parquet"
    df.to_parquet(pq)
    assert read_meters(pq).geometry.equals(from_csv.geometry)
    points = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs="EPSG:4326",
    ).to_crs("EPSG:32650")
    gpkg = tmp_path / "meters.gpkg"
    points.drop(columns="coord_system").to_file(gpkg)
    from_gpkg = read_meters(gpkg)
    assert from_gpkg.geometry.x.to_numpy() == pytest.approx(df["lon"].to_numpy())
    assert from_gpkg.geometry.y.to_numpy() == pytest.approx(df["lat"].to_numpy())


def test_missing_coordinates_raise_or_keep():
    df = _registry(lon=[116.40, np.nan, "n/a", 116.43])
    with pytest.raises(
        LayerError, match=r"2 meter\(s\) without numeric lon/lat \(rows \[1, 2\]\)"
    ):
        read_meters(df)
    gdf = read_meters(df, on_missing="keep")
    assert gdf.geometry.isna().tolist() == [False, True, True, False]
    assert gdf.attrs["n_missing_coords"] == 2


def test_swapped_rows_are_named():
    df = _registry(lon=[39.90, 116.41, 116.42, 39.93], lat=[116.40, 39.91, 39.92, 116.43])
    with pytest.raises(
        LayerError, match=r"2 feature\(s\) look like \(lat, lon\).*rows \[0, 3\].*Swap x/y"
    ):
        read_meters(df)


@pytest.mark.parametrize(
    ("df", "kwargs", "match"),
    [
        (_registry().drop(columns="lat"), {}, r"required column\(s\) \['lat'\] missing"),
        (_registry().drop(columns="meter_id"), {}, r"\['meter_id'\] missing"),
        (_registry(meter_id=["a", "a", "b", "c"]), {}, r"2 rows share a meter_id.*'a'"),
        (_registry(coord_system=["wgs84", "gcj-02", "amap", ""]), {},
         r"2 row\(s\) have an unknown coord_system \['amap', 'gcj-02'\]"),
        (_registry(lon=[116.4, 116.41, 200.0, 116.43]), {},
         r"1 feature\(s\) have coordinates outside -180"),
        (_registry(), {"study_area": box(116.405, 39.0, 117.0, 41.0)},
         r"1 of 4 meter\(s\) lie outside the study area \(rows \[0\]\)"),
        (_registry().iloc[:0], {}, "the registry has no rows"),
    ],
)  # fmt: skip
def test_problems_raise(df, kwargs, match):
    with pytest.raises(LayerError, match=match):
        read_meters(df, **kwargs)


def test_renamed_coordinate_columns():
    df = _registry().rename(columns={"lon": "x", "lat": "y"})
    assert read_meters(df, lon_col="x", lat_col="y").geometry.x.iloc[0] == 116.40


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"coord_system": "utm"}, ValueError, "coord_system='utm' is not one of"),
        ({"coord_system": 4326}, TypeError, "coord_system must be None or one of"),
        ({"on_missing": "drop"}, ValueError, "on_missing='drop' must be one of"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        read_meters(_registry(), **kwargs)


def test_bad_sources(tmp_path):
    with pytest.raises(TypeError, match="source must be a DataFrame"):
        read_meters([1, 2])
    with pytest.raises(LayerError, match="file not found"):
        read_meters(tmp_path / "nope.csv")
    polygons = gpd.GeoDataFrame({"meter_id": ["a"]}, geometry=[box(116, 39, 117, 40)], crs=4326)
    with pytest.raises(LayerError, match=r"needs Point geometries"):
        read_meters(polygons)
    no_crs = gpd.GeoDataFrame({"meter_id": ["a"]}, geometry=[Point(116.4, 39.9)])
    with pytest.raises(LayerError, match="geometry has no CRS"):
        read_meters(no_crs)
