"""PostGIS: read and validate a table, write with COPY, and the join in SQL."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from layers.joins import join_meters
from layers.postgis import join_meters_postgis, read_postgis, write_postgis
from layers.schemas import LayerError

pytestmark = pytest.mark.postgis


@pytest.fixture
def engine(postgis_url):
    sa = pytest.importorskip("sqlalchemy")
    eng = sa.create_engine(postgis_url)
    yield eng
    eng.dispose()


def test_round_trip(hand, postgis_url):
    src = hand.buildings()  # UTM 50N, with a NaN floor area
    assert write_postgis(src, postgis_url, "buildings") == 3
    gdf = read_postgis(postgis_url, "buildings", "buildings")
    assert gdf.crs.to_epsg() == 4326
    assert gdf.attrs["source_crs"] == "EPSG:32650"
    assert gdf["fid"].tolist() == [0, 1, 2]
    assert gdf["building_id"].tolist() == ["b1", "b2", "b3"]
    assert gdf["use"].tolist() == ["residential", "commercial", "industrial"]
    assert gdf["floor_area_m2"].iloc[:2].tolist() == [400.0, 1200.0]
    assert np.isnan(gdf["floor_area_m2"].iloc[2])
    back = gdf.to_crs(src.crs)
    assert all(
        a.equals_exact(b, tolerance=1e-6) for a, b in zip(back.geometry, src.geometry, strict=True)
    )


def test_write_reprojects_and_refuses_to_overwrite(hand, postgis_url, engine):
    d = hand.districts()
    write_postgis(d, engine, "districts", srid=32650)
    with engine.connect() as conn:
        srid = conn.exec_driver_sql("SELECT Find_SRID('public', 'districts', 'geom')").scalar()
        has_gist = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'districts' "
            "AND indexdef ILIKE '%%gist%%'"
        ).scalar()
    assert (srid, has_gist) == (32650, 1)
    with pytest.raises(ValueError, match="already exists; pass if_exists='replace'"):
        write_postgis(d, engine, "districts")
    write_postgis(d.iloc[:1], engine, "districts", if_exists="replace")
    assert len(read_postgis(engine, "districts", "districts")) == 1


def test_texts_with_commas_quotes_and_chinese(postgis_url):
    d = gpd.GeoDataFrame(
        {"name": ['西城区, "old" town', "line\nbreak"], "flag": [True, False]},
        geometry=[box(116.3, 39.9, 116.4, 40.0), box(116.4, 39.9, 116.5, 40.0)],
        crs="EPSG:4326",
    )
    write_postgis(d, postgis_url, "districts")
    back = read_postgis(postgis_url, "districts", "districts")
    assert back["name"].tolist() == d["name"].tolist()
    assert back["flag"].tolist() == [True, False]


def test_validation_problems(hand, postgis_url, engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE nosrid (name text, geom geometry(Polygon))")
        conn.exec_driver_sql(
            "INSERT INTO nosrid VALUES ('A', 'POLYGON((116 39, 117 39, 117 40, 116 40, 116 39))')"
        )
        conn.exec_driver_sql("CREATE TABLE two (name text, g1 geometry, g2 geometry)")
    with pytest.raises(LayerError, match=r"districts layer nosrid \(PostGIS\): no CRS"):
        read_postgis(postgis_url, "nosrid", "districts")
    with pytest.raises(LayerError, match=r"required column\(s\) \['use'\] missing"):
        write_postgis(hand.districts(), engine, "d4326")
        read_postgis(engine, "d4326", "buildings")
    with pytest.raises(LayerError, match="no such table with a geometry column"):
        read_postgis(engine, "missing", "districts")
    with pytest.raises(LayerError, match=r"several geometry columns \['g1', 'g2'\]"):
        read_postgis(engine, "two", "districts")
    with pytest.raises(ValueError, match="must be a plain SQL identifier"):
        read_postgis(engine, "x; DROP TABLE nosrid", "districts")


def test_swapped_table(hand, postgis_url):
    import shapely

    d = hand.districts()
    d["geometry"] = shapely.transform(d.geometry.values, lambda xy: xy[:, ::-1].copy())
    write_postgis(d, postgis_url, "swapped")
    with pytest.raises(LayerError, match=r"3 feature\(s\) look like \(lat, lon\)"):
        read_postgis(postgis_url, "swapped", "districts")
    assert len(read_postgis(postgis_url, "swapped", "districts", swap_xy=True)) == 3


def test_sql_join_matches_geopandas(hand, postgis_url, engine):
    for name, frame in (
        ("meters", hand.meters()),
        ("districts", hand.districts()),
        ("buildings", hand.buildings()),
    ):
        write_postgis(frame, engine, name, srid=32650)
    expected = pd.DataFrame(
        join_meters(hand.meters(), hand.districts(), hand.buildings()).drop(columns="geometry")
    )
    got = join_meters_postgis(engine, tolerance_m=20)
    assert got.columns.tolist() == expected.columns.tolist()
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False,
                                  atol=1e-6)  # fmt: skip
    assert got["building_distance_m"].iloc[1] == pytest.approx(12.0, abs=0.5)
    n = join_meters_postgis(engine, districts=None, tolerance_m=60, into="joined")
    assert n == 5
    with engine.connect() as conn:
        matches = conn.exec_driver_sql(
            "SELECT building_match FROM joined ORDER BY meter_id"
        ).scalars().all()  # fmt: skip
    assert matches == ["within", "nearest", "nearest", "within", "none"]


def test_sql_join_needs_one_metric_srid(hand, postgis_url, engine):
    write_postgis(hand.meters(), engine, "meters")  # WGS84
    write_postgis(hand.buildings(), engine, "buildings")  # UTM
    with pytest.raises(LayerError, match="different SRIDs"):
        join_meters_postgis(engine, districts=None)
    write_postgis(hand.buildings(), engine, "buildings", srid=4326, if_exists="replace")
    with pytest.raises(LayerError, match="not a projected CRS in metres"):
        join_meters_postgis(engine, districts=None)


def test_sql_tie_breaks_match_geopandas(postgis_url, engine):
    # Overlapping buildings and an equidistant pair: both sides pick the same one.
    x0, y0 = 450_000.0, 4_420_000.0
    b = gpd.GeoDataFrame(
        {"building_id": ["campus", "house", "left", "right"], "use": ["public", "res", "a", "b"]},
        geometry=[
            box(x0, y0, x0 + 100, y0 + 100),
            box(x0 + 40, y0 + 40, x0 + 60, y0 + 60),
            box(x0 + 200, y0, x0 + 220, y0 + 20),
            box(x0 + 240, y0, x0 + 260, y0 + 20),
        ],
        crs="EPSG:32650",
    )
    m = gpd.GeoDataFrame(
        {"meter_id": ["in-both", "between"]},
        geometry=gpd.points_from_xy([x0 + 50, x0 + 230], [y0 + 50, y0 + 10]),
        crs="EPSG:32650",
    ).to_crs(4326)
    write_postgis(b, engine, "buildings")
    write_postgis(m, engine, "meters", srid=32650)
    got = join_meters_postgis(engine, districts=None, floor_area_col=None)
    expected = join_meters(m, None, b)
    assert got["building_id"].tolist() == expected["building_id"].tolist() == ["house", "left"]
    assert got["building_distance_m"].tolist() == pytest.approx([0.0, 10.0], abs=1e-6)
