"""Writing the city: every file, the readings and extra-rows contracts, layers, seeds, checks."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

from geoenergy.samplecity import generate_city

# The small city of conftest.py: 300 meters, three weeks across 15 Nov, seed 7.
N = 300
START, END = "2023-11-05", "2023-11-26"
KW = {"n_meters": N, "start": START, "end": END, "seed": 7}
LAYER_COLUMNS = {
    "districts": {"name"},
    "buildings": {"use", "floor_area_m2"},
    "heating_network": {"kind", "supply_temp_c", "return_temp_c", "diameter_mm", "operator"},
    "heat_demand": {"demand_mwh"},
    "data_centres": {"name", "it_load_mw", "meter_id", "pue", "cooling", "operator"},
}


def test_all_files_written_and_labelled_synthetic(city):
    paths = [city.registry, city.readings, city.readings_csv_extra, city.labels]
    paths += [city.weather, city.truth, *city.layers.values()]
    assert all(p.is_file() and p.parent == city.root for p in paths)
    assert set(city.layers) == set(LAYER_COLUMNS)
    readme = (city.root / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    assert "seed=7" in readme
    assert city.n_meters == N
    assert (city.start, city.end) == (pd.Timestamp(START), pd.Timestamp(END))


def test_readings_contract(city, readings, registry):
    schema = pq.read_schema(city.readings)
    assert schema.names == ["meter_id", "timestamp", "kwh"]
    assert str(schema.field("meter_id").type) == "string"
    assert schema.field("timestamp").type.tz is None
    assert str(schema.field("kwh").type) == "double"
    assert pd.api.types.is_string_dtype(readings["meter_id"])
    assert pd.api.types.is_datetime64_dtype(readings["timestamp"])
    assert readings["kwh"].notna().all()
    assert (readings["kwh"] >= 0).all()
    assert not readings.duplicated(["meter_id", "timestamp"]).any()
    ts = readings["timestamp"]
    assert ts.min() == pd.Timestamp(START)
    assert ts.max() == pd.Timestamp(END) - pd.Timedelta(hours=1)
    assert (ts.dt.floor("h") == ts).all()
    assert set(readings["meter_id"]) == set(registry["meter_id"])
    meta = pq.ParquetFile(city.readings).metadata
    assert all(meta.row_group(i).num_rows <= 1_000_000 for i in range(meta.num_row_groups))


def test_readings_have_gaps_not_zeros(readings):
    hours = (pd.Timestamp(END) - pd.Timestamp(START)) // pd.Timedelta(hours=1)
    per_meter = readings.groupby("meter_id").size()
    assert per_meter.max() == hours
    assert len(readings) < N * hours
    # At least one stretch of a day or more is missing (rows absent).
    step = readings.groupby("meter_id")["timestamp"].diff().dropna()
    assert step.max() >= pd.Timedelta(hours=25)
    assert (per_meter < hours - 23).sum() >= 1


def test_layers_contract(city):
    for kind, path in city.layers.items():
        assert path.suffix == ".gpkg"
        assert pyogrio.list_layers(path)[:, 0].tolist() == [kind]
        gdf = gpd.read_file(path, layer=kind)
        assert gdf.crs.to_epsg() == 4326, kind
        assert LAYER_COLUMNS[kind] <= set(gdf.columns), kind
        assert len(gdf) > 0


def test_deterministic_for_a_seed(city, tmp_path):
    again = generate_city(tmp_path, **KW)
    for name in ["registry", "readings", "readings_csv_extra", "labels", "weather", "truth"]:
        assert getattr(again, name).read_bytes() == getattr(city, name).read_bytes(), name
    for kind, path in city.layers.items():
        a, b = gpd.read_file(path), gpd.read_file(again.layers[kind])
        pd.testing.assert_frame_equal(a, b)
    other = generate_city(tmp_path / "other", **{**KW, "seed": 8})
    assert other.readings.read_bytes() != city.readings.read_bytes()


def test_extra_csv_holds_duplicates_and_every_bad_row(city, readings):
    extra = pd.read_csv(city.readings_csv_extra, dtype=str, keep_default_na=False)
    assert list(extra.columns) == ["meter_id", "timestamp", "kwh"]
    assert 150 <= len(extra) <= 250
    assert (extra["meter_id"] == "").sum() >= 3
    assert (extra["meter_id"] == "M999999").sum() >= 3
    assert (extra["timestamp"] == "2023-13-45 25:00").sum() >= 3
    assert (extra["kwh"] == "abc").sum() >= 3
    kwh = pd.to_numeric(extra["kwh"], errors="coerce")
    assert (kwh < 0).sum() >= 3
    assert extra["timestamp"].str.endswith("+08:00").sum() >= 10
    assert extra["timestamp"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00").sum() >= 10

    ts = pd.to_datetime(extra["timestamp"].str.removesuffix("+08:00"), errors="coerce")
    ok = extra.assign(timestamp=ts, kwh=kwh).dropna()
    ok = ok[(ok["kwh"] >= 0) & ok["meter_id"].str.fullmatch(r"M\d{6}")]
    ok = ok[ok["meter_id"] != "M999999"]
    merged = ok.merge(
        readings.astype({"timestamp": ts.dtype}),
        on=["meter_id", "timestamp"],
        suffixes=("", "_pq"),
    )
    assert len(merged) == len(ok)  # every valid-looking row duplicates a parquet row
    same = merged["kwh"] == merged["kwh_pq"]
    assert same.sum() >= 150
    assert (~same).sum() >= 3
    assert (merged.loc[~same, "kwh"] >= 0).all()


def test_without_errors_no_extra_file(tmp_path):
    city = generate_city(tmp_path, **{**KW, "n_meters": 100}, inject_errors=False)
    assert city.readings_csv_extra is None
    assert not (tmp_path / "readings_extra.csv").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_meters": 10}, ValueError, "n_meters must be at least 100"),
        ({"n_meters": 300.0}, TypeError, "n_meters must be an int"),
        ({"seed": -1}, TypeError, "seed"),
        ({"start": "2023-11-05 12:00"}, ValueError, "start must be midnight"),
        ({"start": "2023-11-20"}, ValueError, "at least 14 days"),
        ({"start": "not a date"}, ValueError, "must be dates"),
        ({"end": pd.Timestamp("2023-11-26", tz="Asia/Shanghai")}, ValueError, "naive"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate_city(tmp_path, **{**KW, **kwargs})
    assert not any(tmp_path.iterdir())
