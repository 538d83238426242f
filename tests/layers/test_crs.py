"""CRS handling: a metric CRS for distances, explicit reprojection, datum conversion."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from layers.coords import gcj02_to_wgs84
from layers.crs import (
    align_crs,
    convert_coord_system,
    metric_crs,
    require_crs,
    to_metric,
    to_wgs84,
    utm_zone_epsg,
)
from layers.schemas import LayerError


def _points(lon, lat, crs="EPSG:4326"):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=crs)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (116.4, 39.9, 32650),  # Beijing: UTM 50N
        (121.47, 31.23, 32651),  # Shanghai: UTM 51N
        (87.6, 43.8, 32645),  # Urumqi: UTM 45N
        (151.2, -33.9, 32756),  # Sydney: UTM 56S
    ],
)
def test_metric_crs_is_the_utm_zone(lon, lat, epsg):
    assert metric_crs(_points([lon], [lat])).to_epsg() == epsg


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (116.4, 39.9),
        (-70.65, -33.45),  # Santiago: 19S
        (10.75, 59.91),  # Oslo (PROJ's zones are plain 6-degree bands there too)
        (15.6, 78.2),  # Svalbard
        (-179.5, 83.5),
        (179.5, -79.5),
        (-0.1, 51.5),
        (2.0, 1e-9),
    ],
)
def test_utm_zone_by_arithmetic_is_the_zone_proj_finds(lon, lat):
    import pyproj.aoi
    import pyproj.database

    infos = pyproj.database.query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=pyproj.aoi.AreaOfInterest(lon, lat, lon, lat)
    )
    assert [int(i.code) for i in infos] == [utm_zone_epsg(lon, lat)]


@pytest.mark.parametrize(("lon", "lat"), [(114.0, 30.0), (116.4, 0.0), (0.0, 85.0), (3.0, -81.0)])
def test_utm_zone_on_an_edge_or_outside_is_left_to_proj(lon, lat):
    assert utm_zone_epsg(lon, lat) is None
    if abs(lat) < 80:  # on an edge PROJ finds several zones; metric_crs takes its first
        assert metric_crs(_points([lon], [lat])).is_projected


def test_metric_crs_from_projected_input_and_config():
    utm = _points([116.3, 116.5], [39.8, 40.0]).to_crs(3857)
    assert metric_crs(utm).to_epsg() == 32650
    assert metric_crs(utm, crs="EPSG:4547").to_epsg() == 4547  # CGCS2000 / 3-degree GK CM 114E
    assert metric_crs(None, crs=32650).to_epsg() == 32650


@pytest.mark.parametrize(
    ("crs", "match"),
    [
        ("EPSG:4326", r"must be a projected CRS in metres.*EPSG:32650"),
        ("EPSG:2263", r"must be a projected CRS in metres.*US survey foot"),  # NY feet
        ("not a crs", "is not a CRS pyproj knows"),
    ],
)
def test_metric_crs_rejects_non_metric(crs, match):
    with pytest.raises(ValueError, match=match):
        metric_crs(_points([116.4], [39.9]), crs=crs)


def test_metric_crs_needs_a_crs():
    with pytest.raises(LayerError, match=r"layer: no CRS.*set_crs\('EPSG:4326'\)"):
        metric_crs(gpd.GeoDataFrame(geometry=[Point(116.4, 39.9)]))


def test_metric_crs_of_a_dask_frame():
    dask_geopandas = pytest.importorskip("dask_geopandas")
    frame = dask_geopandas.from_geopandas(_points([116.3, 116.5], [39.8, 40.0]), npartitions=2)
    assert metric_crs(frame).to_epsg() == 32650


def test_to_metric_and_back():
    pts = _points([116.4], [39.9])
    utm = to_metric(pts)
    assert utm.crs.to_epsg() == 32650
    back = to_wgs84(utm)
    assert back.geometry.iloc[0].x == pytest.approx(116.4, abs=1e-9)
    assert to_wgs84(pts) is pts  # already WGS84: no copy


def test_align_crs_reprojects_or_raises():
    pts = _points([116.4], [39.9])
    other = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:32650")
    aligned = align_crs(pts, other)
    assert aligned.crs.to_epsg() == 32650
    assert align_crs(pts, "EPSG:4326") is pts
    with pytest.raises(LayerError, match="buildings: no CRS"):
        align_crs(other.set_crs(None, allow_override=True), pts, "buildings")
    with pytest.raises(LayerError, match="districts: no CRS"):
        align_crs(pts, other.set_crs(None, allow_override=True), "meters", "districts")
    with pytest.raises(TypeError, match="must be a geopandas GeoDataFrame"):
        require_crs([1, 2], "meters")


def test_convert_coord_system_moves_every_vertex():
    square = box(116.39, 39.91, 116.40, 39.92)
    series = gpd.GeoSeries([square, Point(116.4, 39.9)], index=[7, 8], crs="EPSG:4326")
    out = convert_coord_system(series, "gcj02")
    assert out.index.tolist() == [7, 8]
    expected = np.array([gcj02_to_wgs84(x, y) for x, y in square.exterior.coords])
    np.testing.assert_allclose(np.asarray(out.iloc[0].exterior.coords), expected, atol=1e-12)
    assert out.crs.to_epsg() == 4326
    assert convert_coord_system(series, "WGS84").geom_equals(series).all()


def test_convert_coord_system_refuses_projected_and_unknown():
    utm = gpd.GeoSeries([Point(450000, 4420000)], crs="EPSG:32650")
    with pytest.raises(LayerError, match="needs lon/lat degrees"):
        convert_coord_system(utm, "gcj02")
    with pytest.raises(ValueError, match="unknown value"):
        convert_coord_system(utm.to_crs(4326), "gcj-02")
