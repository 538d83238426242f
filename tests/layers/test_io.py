"""Reading and validating layer files."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from layers.io import check_layer, read_layer
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


# --------------------------------------------------------------------------
# round trips through every format
# --------------------------------------------------------------------------
FORMATS = {
    "GPKG": "b.gpkg",
    "GeoJSON": "b.geojson",
    "ESRI Shapefile": "b.shp",
    "FlatGeobuf": "b.fgb",
    "GeoParquet": "b.parquet",
}


def _buildings(geoms=None, crs="EPSG:4326"):
    geoms = geoms if geoms is not None else [box(116.40, 39.90, 116.401, 39.901), SQUARES[1]]
    return gpd.GeoDataFrame(
        {"use": ["residential", "commercial"][: len(geoms)], "floor_area_m2": [800.0, 120.5]},
        geometry=geoms,
        crs=crs,
    )


@pytest.mark.parametrize("driver", FORMATS)
@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
def test_round_trip(tmp_path, driver):
    path = tmp_path / FORMATS[driver]
    # One projected source, to check the reprojection on the way in too.
    src = _buildings().to_crs("EPSG:32650") if driver == "FlatGeobuf" else _buildings()
    if driver == "GeoParquet":
        src.to_parquet(path)
    else:
        src.to_file(path, driver=driver)
    gdf = read_layer(path, "buildings")
    assert gdf.crs.to_epsg() == 4326
    # FlatGeobuf's spatial index stores features in Hilbert order.
    gdf = gdf.sort_values("use", ascending=False, ignore_index=True)
    assert gdf["use"].tolist() == ["residential", "commercial"]
    # Shapefile truncates floor_area_m2 to floor_area; read_layer restores the name.
    assert gdf["floor_area_m2"].tolist() == [800.0, 120.5]
    expected = _buildings().geometry
    # Shapefile rings are stored clockwise: compare normalised geometries.
    assert all(
        a.normalize().equals_exact(b.normalize(), tolerance=1e-7)
        for a, b in zip(gdf.geometry, expected, strict=True)
    )


def test_multilayer_geopackage_needs_layer(tmp_path):
    path = tmp_path / "city.gpkg"
    _buildings().to_file(path, layer="buildings")
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARES[0]], crs="EPSG:4326").to_file(
        path, layer="districts"
    )
    assert read_layer(path, "districts", layer="districts")["name"].tolist() == ["A"]
    assert len(read_layer(path, "buildings", layer="buildings")) == 2


@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
def test_shapefile_without_prj_has_no_crs(tmp_path):
    path = tmp_path / "noprj.shp"
    _buildings().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(LayerError, match=r"buildings layer noprj\.shp: no CRS"):
        read_layer(path, "buildings")


# --------------------------------------------------------------------------
# swapped and out-of-range coordinates
# --------------------------------------------------------------------------
def _swap(geom):
    import shapely

    return shapely.transform(geom, lambda xy: xy[:, ::-1].copy())


def test_swapped_layer_raises_and_swap_xy_fixes_it(tmp_path):
    path = tmp_path / "b.gpkg"
    _buildings(geoms=[_swap(g) for g in _buildings().geometry]).to_file(path)
    with pytest.raises(
        LayerError,
        match=r"2 feature\(s\) look like \(lat, lon\).*\|y\| > 90.*Swap x/y.*swap_xy=True",
    ):
        read_layer(path, "buildings")
    gdf = read_layer(path, "buildings", swap_xy=True)
    assert gdf.total_bounds[0] == pytest.approx(116.4)


def test_one_swapped_feature_is_named(tmp_path):
    path = tmp_path / "b.gpkg"
    geoms = list(_buildings().geometry)
    geoms[1] = _swap(geoms[1])
    _buildings(geoms=geoms).to_file(path)
    with pytest.raises(LayerError, match=r"1 feature\(s\) look like \(lat, lon\).*rows \[1\]"):
        read_layer(path, "buildings")


def test_swapped_inside_the_valid_range_is_caught_by_region(tmp_path):
    # Urumqi (87.6 E, 43.8 N) stored as (lat, lon): |y| < 90, but only the swapped
    # position is in China.
    path = tmp_path / "d.gpkg"
    _districts(path, geoms=[box(43.7, 87.5, 43.9, 87.7)])
    with pytest.raises(LayerError, match=r"swapped position falls in China.*Swap x/y"):
        read_layer(path, "districts")
    # ... and against a study area elsewhere.
    with pytest.raises(LayerError, match=r"swapped position falls in the study area"):
        read_layer(path, "districts", study_area=(87.0, 43.0, 88.5, 44.5))
    assert len(read_layer(path, "districts", swap_xy=True, study_area=(87, 43, 88.5, 44.5))) == 1


def test_projected_coordinates_labelled_wgs84(tmp_path):
    path = tmp_path / "d.gpkg"
    utm = gpd.GeoSeries(SQUARES, crs="EPSG:4326").to_crs("EPSG:32650")
    _districts(path, geoms=utm.set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(LayerError, match=r"3 feature\(s\) have coordinates outside -180"):
        read_layer(path, "districts")


# --------------------------------------------------------------------------
# study area, repairs, several problems at once, coord_system
# --------------------------------------------------------------------------
def test_outside_study_area_gives_count_and_rows(tmp_path):
    path = _districts(tmp_path / "d.gpkg")
    area = box(116.3, 39.9, 116.45, 40.0)  # holds D0 and part of D1, not D2
    with pytest.raises(
        LayerError, match=r"1 of 3 feature\(s\) lie outside the study area \(rows \[2\]\)"
    ):
        read_layer(path, "districts", study_area=area)
    assert len(read_layer(path, "districts", study_area=(116.0, 39.0, 117.0, 41.0))) == 3
    frame = gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_crs("EPSG:32650")
    with pytest.raises(LayerError, match="outside the study area"):
        read_layer(path, "districts", study_area=frame)


@pytest.mark.parametrize(
    ("study_area", "error", "match"),
    [
        ((1, 2, 3), TypeError, "study_area must be a shapely polygon"),
        ((117, 39, 116, 40), ValueError, "minx < maxx"),
        ("Beijing", TypeError, "study_area must be"),
    ],
)
def test_bad_study_area(tmp_path, study_area, error, match):
    path = _districts(tmp_path / "d.gpkg")
    with pytest.raises(error, match=match):
        read_layer(path, "districts", study_area=study_area)


def test_make_valid_keeps_only_polygons(tmp_path):
    # A polygon with a spike: make_valid gives polygon + line; a districts layer
    # keeps the polygon.
    spike = Polygon([(116.0, 39.0), (116.1, 39.0), (116.1, 39.1), (116.1, 39.2), (116.1, 39.1),
                     (116.0, 39.1)])  # fmt: skip
    path = _districts(tmp_path / "d.gpkg", geoms=[spike])
    gdf = read_layer(path, "districts", make_valid=True)
    assert gdf.geom_type.tolist() == ["Polygon"]
    assert gdf.attrs["n_repaired"] == 1


def test_all_problems_in_one_error(tmp_path):
    path = tmp_path / "b.gpkg"
    geoms = [BOWTIE, _swap(SQUARES[0]), Point(116.4, 39.9)]
    gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=geoms, crs="EPSG:4326").to_file(path)
    with pytest.raises(LayerError) as info:
        read_layer(path, "buildings")
    codes = [p.code for p in info.value.problems]
    assert codes == ["missing_columns", "invalid", "geometry_type", "swapped"]
    assert len(str(info.value).splitlines()) == 4


def test_gcj02_layer_is_converted(tmp_path):
    from layers.coords import gcj02_to_wgs84

    path = _districts(tmp_path / "d.gpkg")
    gdf = read_layer(path, "districts", coord_system="GCJ02")
    x, y = gdf.geometry.iloc[0].exterior.coords[0]
    assert (x, y) == pytest.approx(gcj02_to_wgs84(*SQUARES[0].exterior.coords[0]), abs=1e-9)
    assert gdf.attrs["coord_system"] == "gcj02"
    assert gdf.attrs["source_crs"] == "EPSG:4326"


def test_coord_system_needs_degrees(tmp_path):
    utm = gpd.GeoSeries(SQUARES, crs="EPSG:4326").to_crs("EPSG:32650")
    path = _districts(tmp_path / "d.gpkg", geoms=utm, crs="EPSG:32650")
    with pytest.raises(LayerError, match="coord_system='gcj02' needs lon/lat degrees"):
        read_layer(path, "districts", coord_system="gcj02")
    with pytest.raises(ValueError, match="coord_system='utm' is not one of"):
        read_layer(path, "districts", coord_system="utm")


# --------------------------------------------------------------------------
# check_layer: a report, never an exception
# --------------------------------------------------------------------------
def test_check_layer_reports_without_raising(tmp_path):
    path = _districts(tmp_path / "d.gpkg", geoms=[SQUARES[0], BOWTIE, _swap(SQUARES[1])])
    report = check_layer(path, "districts")
    assert not report.ok
    assert [p.code for p in report.problems] == ["invalid", "swapped"]
    assert report.problems[0].rows == (1,)
    assert report.problems[1].count == 1
    assert report.n_features == 3
    assert report.crs == "EPSG:4326"
    assert report.geometry_types == {"Polygon": 3}
    assert report.bounds == pytest.approx((116.0, 39.0, 116.4, 40.0))
    as_dict = report.to_dict()
    assert as_dict["ok"] is False and as_dict["problems"][1]["code"] == "swapped"
    assert as_dict["features"] == 3
    # The report reads like its dict, too.
    assert report["crs"] == "EPSG:4326" and "bounds" in report
    assert report.get("problems")[0]["rows"] == [1]
    assert "[swapped]" in str(report)


def test_check_layer_ok_and_unreadable(tmp_path):
    report = check_layer(_districts(tmp_path / "d.gpkg"), "districts", coord_system=None)
    assert report.ok and report.problems == []
    assert str(report).endswith("OK")
    bad = tmp_path / "bad.fgb"
    bad.write_bytes(b"junk")
    report = check_layer(bad, "districts")
    assert [p.code for p in report.problems] == ["unreadable"]
    assert check_layer(tmp_path / "nope.gpkg", "districts").problems[0].code == "unreadable"


def test_check_layer_no_crs(tmp_path):
    path = tmp_path / "x.parquet"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[SQUARES[0]]).to_parquet(path)
    report = check_layer(path, "districts")
    assert [p.code for p in report.problems] == ["no_crs"]
    assert report.bounds is None


def test_problem_codes_are_documented():
    from layers.validate import PROBLEMS

    assert list(PROBLEMS)[:3] == ["unreadable", "empty", "no_crs"]
    assert all(isinstance(v, str) and v for v in PROBLEMS.values())
