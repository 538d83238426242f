"""Joins of meters to districts and buildings, checked against answers worked out by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from layers.coords import wgs84_to_gcj02
from layers.joins import MATCHES, join_buildings, join_districts, join_meters
from layers.meters import read_meters
from layers.schemas import LayerError

UTM = "EPSG:32650"  # UTM 50N: Beijing
X0, Y0 = 450_000.0, 4_420_000.0  # a point in Beijing [m]


def _utm(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=UTM)


def test_hand_checked_example(hand):
    out = join_meters(hand.meters(), hand.districts(), hand.buildings(), tolerance_m=20)
    assert out.crs.to_epsg() == 4326
    assert out["meter_id"].tolist() == ["m1", "m2", "m3", "m4", "m5"]
    assert out["district"].tolist()[:4] == ["A", "A", "A", "B"]
    assert pd.isna(out["district"].iloc[4])
    assert out["district_match"].tolist() == ["within"] * 4 + ["none"]
    assert out["building_match"].tolist() == ["within", "nearest", "none", "within", "none"]
    assert out["building_id"].tolist()[:2] == ["b1", "b1"]
    assert out["building_id"].iloc[3] == "b3"
    assert out["building_use"].tolist()[:2] == ["residential", "residential"]
    assert out["building_floor_area_m2"].iloc[1] == 400.0
    assert np.isnan(out["building_floor_area_m2"].iloc[3])  # b3 has no floor area
    dist = out["building_distance_m"].to_numpy()
    assert dist[0] == 0.0
    assert dist[1] == pytest.approx(12.0, abs=0.5)
    assert np.isnan(dist[2]) and np.isnan(dist[4])
    assert out.attrs["unmatched"] == {"district": ["m5"], "building": ["m3", "m5"]}
    assert out.attrs["metric_crs"] == "EPSG:32650"
    assert set(out["building_match"]) <= set(MATCHES)


def test_tolerance_decides_nearest(hand):
    # m3 is 50 m from b2: inside a 60 m tolerance, outside the default 20 m.
    out = join_buildings(hand.meters(), hand.buildings(), tolerance_m=60)
    assert out["building_match"].iloc[2] == "nearest"
    assert out["building_id"].iloc[2] == "b2"
    assert out["building_distance_m"].iloc[2] == pytest.approx(50.0, abs=0.5)
    out = join_buildings(hand.meters(), hand.buildings(), tolerance_m=0)
    assert out["building_match"].tolist() == ["within", "none", "none", "within", "none"]


def test_point_on_shared_boundary_goes_to_first_district():
    d = gpd.GeoDataFrame(
        {"name": ["West", "East"]},
        geometry=[box(116.3, 39.9, 116.4, 40.0), box(116.4, 39.9, 116.5, 40.0)],
        crs="EPSG:4326",
    )
    m = gpd.GeoDataFrame(
        {"meter_id": ["edge", "corner"]},
        geometry=[Point(116.4, 39.95), Point(116.4, 39.9)],
        crs="EPSG:4326",
    )
    out = join_districts(m, d)
    assert out["district"].tolist() == ["West", "West"]
    # The layer's order decides, not the name or the position.
    out = join_districts(m, d.iloc[::-1])
    assert out["district"].tolist() == ["East", "East"]
    assert len(out) == 2


def test_overlapping_buildings_smallest_wins_one_row_per_meter():
    b = _utm(
        [box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60)],
        building_id=["campus", "house"],
        use=["public", "residential"],
    )
    m = _utm([Point(X0 + 50, Y0 + 50), Point(X0 + 10, Y0 + 10)], meter_id=["in-both", "campus"])
    out = join_buildings(m, b)
    assert len(out) == 2
    assert out["building_id"].tolist() == ["house", "campus"]


def test_equidistant_nearest_is_deterministic():
    # A meter exactly between two 20 m buildings, 10 m from each: the smaller wins,
    # and with equal sizes the first in the layer.
    b = _utm(
        [box(X0, Y0, X0 + 20, Y0 + 20), box(X0 + 40, Y0, X0 + 60, Y0 + 20)],
        building_id=["left", "right"],
        use=["residential", "residential"],
    )
    m = _utm([Point(X0 + 30, Y0 + 10)], meter_id=["mid"])
    assert join_buildings(m, b)["building_id"].tolist() == ["left"]
    assert join_buildings(m, b.iloc[::-1])["building_id"].tolist() == ["right"]
    small = b.copy()
    small.loc[1, "geometry"] = box(X0 + 40, Y0 + 5, X0 + 50, Y0 + 15)
    out = join_buildings(m, small)
    assert out["building_id"].tolist() == ["right"]
    assert out["building_distance_m"].iloc[0] == pytest.approx(10.0, abs=1e-6)


def test_input_order_and_index_kept_and_results_do_not_depend_on_order(hand):
    m = hand.meters()
    m.index = [10, 20, 30, 40, 50]
    out = join_meters(m, hand.districts(), hand.buildings())
    assert out.index.tolist() == [10, 20, 30, 40, 50]
    shuffled = join_meters(m.iloc[[4, 2, 0, 3, 1]], hand.districts(), hand.buildings())
    pd.testing.assert_frame_equal(
        shuffled.drop(columns="geometry").sort_index(), out.drop(columns="geometry")
    )


def test_crs_mismatch_is_reprojected(hand):
    # Buildings stay in UTM, meters in WGS84, districts in a third CRS (web mercator).
    out = join_meters(hand.meters(), hand.districts().to_crs(3857), hand.buildings())
    assert out["building_match"].tolist() == ["within", "nearest", "none", "within", "none"]
    assert out["district"].tolist()[:4] == ["A", "A", "A", "B"]


def test_missing_crs_raises(hand):
    m = hand.meters().set_crs(None, allow_override=True)
    with pytest.raises(LayerError, match=r"meters: no CRS.*set_crs"):
        join_meters(m, hand.districts())
    d = hand.districts().set_crs(None, allow_override=True)
    with pytest.raises(LayerError, match=r"districts: no CRS"):
        join_meters(hand.meters(), d)


def test_meters_without_geometry_match_nothing(hand):
    m = hand.meters()
    m.loc[0, "geometry"] = None
    out = join_meters(m, hand.districts(), hand.buildings())
    assert out["district_match"].iloc[0] == "none"
    assert out["building_match"].iloc[0] == "none"
    assert "m1" in out.attrs["unmatched"]["building"]


def test_building_ids_from_id_col_or_index(hand):
    b = hand.buildings().drop(columns="building_id")
    b.index = [101, 102, 103]
    out = join_buildings(hand.meters(), b)
    assert out["building_id"].tolist()[:2] == [101, 101]
    b["code"] = ["x", "y", "z"]
    assert join_buildings(hand.meters(), b, id_col="code")["building_id"].iloc[3] == "z"


def test_empty_meters(hand):
    out = join_meters(hand.meters().iloc[:0], hand.districts(), hand.buildings())
    assert len(out) == 0
    assert "building_match" in out.columns
    assert out.attrs["unmatched"] == {"district": [], "building": []}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"districts": None, "buildings": None}, ValueError, "needs districts=, buildings="),
        ({"tolerance_m": -1}, ValueError, "tolerance_m must be finite and >= 0"),
        ({"tolerance_m": "20"}, TypeError, "tolerance_m must be a number"),
        ({"name_col": "NAME"}, LayerError, r"districts: column\(s\) \['NAME'\] missing"),
        ({"use_col": "usage"}, LayerError, r"buildings: column\(s\) \['usage'\] missing"),
        ({"crs": "EPSG:4326"}, ValueError, "must be a projected CRS in metres"),
    ],
)
def test_bad_arguments(hand, kwargs, error, match):
    args = {"districts": hand.districts(), "buildings": hand.buildings(), **kwargs}
    with pytest.raises(error, match=match):
        join_meters(hand.meters(), **args)


def test_non_point_meters_and_non_frames(hand):
    with pytest.raises(LayerError, match="meters: geometries must be points"):
        join_meters(hand.districts().assign(meter_id=["a", "b", "c"]), hand.districts())
    with pytest.raises(TypeError, match="meters must be a geopandas GeoDataFrame"):
        join_meters(pd.DataFrame({"meter_id": ["a"]}), hand.districts())


# --------------------------------------------------------------------------
# GCJ-02 registry against WGS84 buildings
# --------------------------------------------------------------------------
def _beijing_blocks(n=6):
    """n 20 m buildings 60 m apart in a row, and one meter at each centre (WGS84)."""
    centres = [(X0 + 60 * i, Y0) for i in range(n)]
    b = _utm(
        [box(x - 10, y - 10, x + 10, y + 10) for x, y in centres],
        building_id=[f"b{i}" for i in range(n)],
        use=["residential"] * n,
    ).to_crs("EPSG:4326")
    pts = gpd.GeoSeries([Point(c) for c in centres], crs=UTM).to_crs("EPSG:4326")
    return b, pts.x.to_numpy(), pts.y.to_numpy()


def test_gcj02_registry_lands_on_the_right_buildings():
    b, lon, lat = _beijing_blocks()
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    registry = pd.DataFrame(
        {
            "meter_id": [f"m{i}" for i in range(len(lon))],
            "lon": gcj_lon,
            "lat": gcj_lat,
            "coord_system": "GCJ02",
        }
    )
    converted = read_meters(registry)
    out = join_buildings(converted, b, tolerance_m=5)
    assert out["building_id"].tolist() == b["building_id"].tolist()
    assert (out["building_match"] == "within").all()

    # Without conversion the GCJ-02 offset (several hundred metres in Beijing)
    # puts every meter off its building: none matches the right one.
    raw = read_meters(registry.assign(coord_system="wgs84"))
    wrong = join_buildings(raw, b, tolerance_m=5)
    assert (wrong["building_id"] != b["building_id"].to_numpy()).all()
    assert (wrong["building_match"] == "none").all()


def test_gcj02_layer_file_lands_on_the_right_buildings(tmp_path):
    from layers.io import read_layer

    b, lon, lat = _beijing_blocks()
    gcj = b.copy()
    gcj["geometry"] = gcj.geometry.map(
        lambda g: box(*wgs84_to_gcj02(*g.bounds[:2]), *wgs84_to_gcj02(*g.bounds[2:]))
    )
    path = tmp_path / "buildings-amap.gpkg"
    gcj.to_file(path)
    converted = read_layer(path, "buildings", coord_system="gcj02")
    assert converted.attrs["coord_system"] == "gcj02"
    m = gpd.GeoDataFrame(
        {"meter_id": [f"m{i}" for i in range(len(lon))]},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    assert join_buildings(m, converted)["building_id"].tolist() == b["building_id"].tolist()
    unconverted = read_layer(path, "buildings")
    assert (join_buildings(m, unconverted)["building_match"] == "none").all()


# --------------------------------------------------------------------------
# dask-geopandas
# --------------------------------------------------------------------------
def test_dask_two_partitions_give_the_same_result(hand):
    dask_geopandas = pytest.importorskip("dask_geopandas")
    m = hand.meters()
    expected = join_meters(m, hand.districts(), hand.buildings())
    lazy = join_meters(
        dask_geopandas.from_geopandas(m, npartitions=2), hand.districts(), hand.buildings()
    )
    assert lazy.npartitions == 2
    got = lazy.compute()
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(expected.drop(columns="geometry")),
        check_dtype=False,
    )
    assert got.geometry.geom_equals(expected.geometry).all()
