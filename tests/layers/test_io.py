"""Reading and validating layer files."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from layers.io import read_layer
from layers.schemas import LayerError

# Three districts of 0.1 deg squares near Beijing.
SQUARES = [box(116.3 + 0.1 * i, 39.9, 116.4 + 0.1 * i, 40.0) for i in range(3)]
BOWTIE = Polygon([(116.0, 39.0), (116.1, 39.1), (116.1, 39.0), (116.0, 39.1)])


def _districts(path, geoms=SQUARES, crs="EPSG:4326", **cols):
    data = {"name": [f"D{i}" for i in range(len(geoms))], **cols}
    gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs).to_file(path)
    return path


def test_reads_and_keeps_wgs84(tmp_path):
    gdf = read_layer(_districts(tmp_path / "d.gpkg"), "districts")
    assert len(gdf) == 3
    assert gdf.crs.to_epsg() == 4326
    assert gdf["name"].tolist() == ["D0", "D1", "D2"]
    assert gdf.attrs["n_repaired"] == 0
    assert gdf.attrs["kind"] == "districts"


def test_projected_layer_is_returned_in_wgs84(tmp_path):
    utm = gpd.GeoSeries(SQUARES, crs="EPSG:4326").to_crs("EPSG:32650")
    path = _districts(tmp_path / "d.gpkg", geoms=utm, crs="EPSG:32650")
    gdf = read_layer(path, "districts")
    assert gdf.crs.to_epsg() == 4326
    assert "32650" in gdf.attrs["source_crs"]
    minx, miny, maxx, maxy = gdf.total_bounds
    assert (miny, maxx) == pytest.approx((39.9, 116.6), abs=1e-6)
    assert minx == pytest.approx(116.3, abs=1e-6)
    assert maxy == pytest.approx(40.0, abs=1e-6)


def test_geoparquet(tmp_path):
    path = tmp_path / "d.parquet"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARES[0]], crs="EPSG:4326").to_parquet(path)
    assert read_layer(path, "districts")["name"].tolist() == ["A"]


def test_no_crs(tmp_path):
    path = tmp_path / "x.parquet"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARES[0]]).to_parquet(path)
    with pytest.raises(LayerError, match=r"districts layer x\.parquet: no CRS.*EPSG:4326"):
        read_layer(path, "districts")


def test_missing_column(tmp_path):
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARES[0]], crs="EPSG:4326").to_file(path)
    with pytest.raises(LayerError, match=r"required column\(s\) \['use'\] missing.*Rename"):
        read_layer(path, "buildings")


def test_wrong_geometry_type(tmp_path):
    path = tmp_path / "d.gpkg"
    gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[Point(116.4, 39.9), SQUARES[0]], crs="EPSG:4326"
    ).to_file(path)
    with pytest.raises(
        LayerError, match=r"1 feature\(s\) have geometry type \['Point'\]; a districts layer"
    ):
        read_layer(path, "districts")


def test_lines_for_heating_network(tmp_path):
    path = tmp_path / "net.gpkg"
    gpd.GeoDataFrame(
        {"kind": ["primary"], "supply_temp_c": [110.0], "return_temp_c": [60.0]},
        geometry=[LineString([(116.3, 39.9), (116.4, 39.9)])],
        crs="EPSG:4326",
    ).to_file(path)
    assert len(read_layer(path, "heating_network")) == 1


def test_invalid_geometry_and_make_valid(tmp_path):
    path = _districts(tmp_path / "d.gpkg", geoms=[SQUARES[0], BOWTIE, SQUARES[1]])
    with pytest.raises(LayerError, match=r"1 invalid geometries \(rows \[1\]\).*--make-valid"):
        read_layer(path, "districts")
    gdf = read_layer(path, "districts", make_valid=True)
    assert gdf.attrs["n_repaired"] == 1
    assert gdf.is_valid.all()
    assert gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def test_empty_layer(tmp_path):
    path = tmp_path / "d.gpkg"
    gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326").to_file(path)
    with pytest.raises(LayerError, match="the layer has no features"):
        read_layer(path, "districts")


def test_feature_without_geometry(tmp_path):
    path = tmp_path / "d.parquet"
    gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[SQUARES[0], None], crs="EPSG:4326"
    ).to_parquet(path)
    with pytest.raises(LayerError, match=r"1 feature\(s\) without geometry"):
        read_layer(path, "districts")


def test_unknown_kind_missing_and_unreadable(tmp_path):
    with pytest.raises(LayerError, match="unknown layer kind 'roads'"):
        read_layer(tmp_path / "x.gpkg", "roads")
    with pytest.raises(LayerError, match="file not found"):
        read_layer(tmp_path / "x.gpkg", "districts")
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage")
    with pytest.raises(LayerError, match=r"bad\.gpkg: cannot be read"):
        read_layer(bad, "districts")
