"""Tests of the synthetic sample city (small: 300 meters, three weeks across 15 Nov)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

from geoenergy.contracts import CUSTOMER_CLASSES
from geoenergy.samplecity import ARCHETYPES, SampleCity, generate_city
from layers.coords import gcj02_to_wgs84

N = 300
START, END = "2023-11-05", "2023-11-26"
KW = {"n_meters": N, "start": START, "end": END, "seed": 7}
CLASSES = set(CUSTOMER_CLASSES)
LAYER_COLUMNS = {
    "districts": {"name"},
    "buildings": {"use", "floor_area_m2"},
    "heating_network": {"kind", "supply_temp_c", "return_temp_c", "diameter_mm", "operator"},
    "heat_demand": {"demand_mwh"},
    "data_centres": {"name", "it_load_mw", "meter_id", "pue", "cooling", "operator"},
}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> SampleCity:
    return generate_city(tmp_path_factory.mktemp("city"), **KW)


@pytest.fixture(scope="module")
def readings(city) -> pd.DataFrame:
    return pd.read_parquet(city.readings)


@pytest.fixture(scope="module")
def truth(city) -> pd.DataFrame:
    return pd.read_csv(city.truth, dtype={"onset_date": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def registry(city) -> pd.DataFrame:
    return pd.read_csv(city.registry)


def _wide(readings, meters):
    """Hourly kWh of ``meters`` as a (meter, hour) frame."""
    sub = readings[readings["meter_id"].isin(meters)]
    return sub.pivot(index="meter_id", columns="timestamp", values="kwh")


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


def test_weather(city):
    weather = pd.read_csv(city.weather)
    assert list(weather.columns) == ["date", "temp_c"]
    dates = pd.to_datetime(weather["date"], format="%Y-%m-%d")
    assert dates.tolist() == pd.date_range(START, END, inclusive="left").tolist()
    assert weather["temp_c"].between(-15, 20).all()


def test_default_weather_is_a_beijing_season(tmp_path):
    # Only the weather matters here; a short span keeps it fast.
    early = generate_city(tmp_path / "a", n_meters=100, start="2023-09-01", end="2023-09-15")
    late = generate_city(tmp_path / "b", n_meters=100, start="2024-01-10", end="2024-01-31")
    sept = pd.read_csv(early.weather)["temp_c"].mean()
    jan = pd.read_csv(late.weather)["temp_c"].mean()
    assert 20 < sept < 29
    assert -10 < jan < 0


def test_truth_has_every_archetype(truth, registry):
    assert list(truth.columns) == ["meter_id", "archetype", "is_mining", "onset_date"]
    assert truth["is_mining"].dtype == bool
    assert set(truth["archetype"]) == set(ARCHETYPES)
    assert truth["meter_id"].tolist() == registry["meter_id"].tolist()
    mining = truth["archetype"].str.startswith("mining_")
    assert (truth["is_mining"] == mining).all()
    assert 0.01 <= mining.mean() <= 0.04
    onset = truth["onset_date"] != ""
    assert not (onset & ~mining).any()
    assert truth.loc[truth["archetype"] == "mining_step_onset", "onset_date"].ne("").all()
    days = pd.to_datetime(truth.loc[onset, "onset_date"])
    assert days.between(pd.Timestamp(START), pd.Timestamp(END)).all()
    # Archetypes are registered under a plausible customer class.
    cls = registry.set_index("meter_id")["customer_class"]
    by_arch = truth.assign(cls=truth["meter_id"].map(cls)).groupby("archetype")["cls"]
    for name, (_role, classes, _share) in ARCHETYPES.items():
        assert set(by_arch.get_group(name)) <= set(classes), name


def test_labels(city, truth):
    labels = pd.read_csv(city.labels)
    assert list(labels.columns) == ["meter_id", "label", "inspected_on"]
    assert set(labels["label"]) == {"mining", "not_mining"}
    assert labels["meter_id"].is_unique
    day = pd.to_datetime(labels["inspected_on"], format="%Y-%m-%d")
    assert day.between(pd.Timestamp(START), pd.Timestamp(END), inclusive="left").all()
    t = truth.set_index("meter_id")
    assert (labels["label"].eq("mining") == labels["meter_id"].map(t["is_mining"])).all()
    onset = pd.to_datetime(labels["meter_id"].map(t["onset_date"]).replace("", None))
    assert (day[onset.notna()] > onset[onset.notna()]).all()
    # Inspectors visit confounders more often than ordinary customers.
    role = t["archetype"].map(lambda a: ARCHETYPES[a][0])
    visited = labels.loc[labels["label"] == "not_mining", "meter_id"].map(role)
    share_all = (role[role != "mining"] == "confounder").mean()
    assert (visited == "confounder").mean() > 2 * share_all


def test_layers_contract(city, registry):
    for kind, path in city.layers.items():
        assert path.suffix == ".gpkg"
        assert pyogrio.list_layers(path)[:, 0].tolist() == [kind]
        gdf = gpd.read_file(path, layer=kind)
        assert gdf.crs.to_epsg() == 4326, kind
        assert LAYER_COLUMNS[kind] <= set(gdf.columns), kind
        assert len(gdf) > 0
    districts = gpd.read_file(city.layers["districts"])
    assert len(districts) == 6
    assert districts["name"].str.endswith("区").all()
    area = districts.to_crs(32650).area
    union = shapely.union_all(districts.to_crs(32650).geometry.values)
    assert union.area == pytest.approx(area.sum(), rel=1e-6)  # no overlaps
    union_deg = shapely.union_all(districts.geometry.values)
    assert union_deg.area == pytest.approx(union_deg.envelope.area, rel=1e-9)  # no holes
    assert 100e6 < union.area < 130e6  # about 12.8 km x 8.9 km [m2]

    buildings = gpd.read_file(city.layers["buildings"])
    assert set(buildings["use"]) <= CLASSES
    assert set(buildings.geom_type) == {"Polygon"}
    xy = shapely.get_coordinates(buildings.to_crs(32650).geometry.values).reshape(-1, 5, 2)
    sides = np.hypot(*np.diff(xy, axis=1).transpose(2, 0, 1))  # rectangles: 4 sides [m]
    assert ((sides > 14.5) & (sides < 80.5)).all()

    net = gpd.read_file(city.layers["heating_network"])
    assert set(net["kind"]) == {"primary", "secondary"}
    primary, secondary = net[net["kind"] == "primary"], net[net["kind"] == "secondary"]
    assert primary["supply_temp_c"].between(105, 121).all()
    assert secondary["supply_temp_c"].between(60, 75).all()
    assert (net["return_temp_c"] < net["supply_temp_c"]).all()
    trunk = shapely.union_all(primary.geometry.values)
    assert all(trunk.distance(shapely.Point(g.coords[0])) < 1e-9 for g in secondary.geometry)

    demand = gpd.read_file(city.layers["heat_demand"])
    assert (demand["demand_mwh"] >= 0).all() and demand["demand_mwh"].max() > 0

    dc = gpd.read_file(city.layers["data_centres"])
    assert len(dc) == 8 and set(dc.geom_type) == {"Point"}
    assert dc["it_load_mw"].between(1, 40).all()
    assert dc["pue"].between(1.15, 1.6).all()
    assert set(dc["cooling"]) <= {"air", "water", "liquid", "immersion"}
    linked = dc["meter_id"].dropna()
    assert 1 <= len(linked) <= 4
    classes = registry.set_index("meter_id")["customer_class"]
    assert (linked.map(classes) == "data_centre").all()


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


def test_deterministic_for_a_seed(city, tmp_path):
    again = generate_city(tmp_path, **KW)
    for name in ["registry", "readings", "readings_csv_extra", "labels", "weather", "truth"]:
        assert getattr(again, name).read_bytes() == getattr(city, name).read_bytes(), name
    for kind, path in city.layers.items():
        a, b = gpd.read_file(path), gpd.read_file(again.layers[kind])
        pd.testing.assert_frame_equal(a, b)
    other = generate_city(tmp_path / "other", **{**KW, "seed": 8})
    assert other.readings.read_bytes() != city.readings.read_bytes()


def test_mining_signal_differs_from_residential(readings, truth):
    hod = readings["timestamp"].dt.hour
    night = (hod >= 23) | (hod < 7)
    g = readings.groupby("meter_id")["kwh"]
    cv = g.std() / g.mean()
    nd = (
        readings[night].groupby("meter_id")["kwh"].mean()
        / readings[~night].groupby("meter_id")["kwh"].mean()
    )
    arch = truth.set_index("meter_id")["archetype"]
    mining = truth.loc[truth["is_mining"], "meter_id"]
    residential = arch.index[arch == "residential"]
    assert nd[mining].mean() > nd[residential].mean()
    assert cv[mining].mean() < cv[residential].mean()
    # A 24/7 rig is almost flat.
    assert cv[arch.index[arch == "mining_24x7"]].max() < 0.3


def test_coal_to_electricity_heats_at_night_from_15_november(readings, truth):
    meters = truth.loc[truth["archetype"] == "coal_to_electricity", "meter_id"]
    wide = _wide(readings, meters)
    hod = wide.columns.hour
    night = (hod >= 23) | (hod < 7)
    # Night hours are assigned to the night's first evening; 15 Nov 23:00 is in season.
    before = night & (wide.columns < pd.Timestamp("2023-11-14 23:00"))
    after = night & (wide.columns >= pd.Timestamp("2023-11-14 23:00"))
    assert (wide.loc[:, after].mean(axis=1) > 4 * wide.loc[:, before].mean(axis=1)).all()
    # Ordinary households show no such step.
    plain = _wide(readings, truth.loc[truth["archetype"] == "residential", "meter_id"])
    ratio = plain.loc[:, after].mean(axis=1).mean() / plain.loc[:, before].mean(axis=1).mean()
    assert 0.5 < ratio < 2


def test_street_lighting_burns_only_at_night(readings, truth):
    wide = _wide(readings, truth.loc[truth["archetype"] == "street_lighting", "meter_id"])
    hod = wide.columns.hour
    day, night = wide.loc[:, (hod >= 9) & (hod < 16)], wide.loc[:, (hod >= 19) & (hod < 23)]
    assert ((day == 0) | day.isna()).all().all()  # NaN: a gap in the readings
    assert ((night > 0) | night.isna()).all().all()


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


def test_generate_population_in_memory():
    from geoenergy.samplecity import ARCHETYPES, generate_population

    pop = generate_population(400, start="2023-11-01", end="2023-11-22", seed=3)
    ds = pop.readings
    assert ds.kwh.dims == ("meter", "time")
    assert ds.sizes == {"meter": 400, "time": 21 * 24}
    # UTC is local time minus 8 h (Asia/Shanghai has no DST).
    assert (ds.local_time.values[0] - ds.time.values[0]) == np.timedelta64(8, "h")
    assert list(pop.registry.meter_id) == list(ds.meter.values)
    assert (pop.registry.customer_class.to_numpy() == ds.customer_class.values).all()
    # 4 % mining, every confounder and disguise present.
    share = pop.truth.is_mining.mean()
    assert 0.03 <= share <= 0.055
    roles = {a for a, (r, _, _) in ARCHETYPES.items() if r != "normal"}
    assert roles <= set(pop.truth.archetype)
    # Labels: only mining labels for miners, a third of them on average.
    lab = pop.labels.merge(pop.truth, on="meter_id")
    assert (lab.is_mining == (lab.label == "mining")).all()
    assert 0 < (lab.label == "mining").sum() < pop.truth.is_mining.sum()
    # Deterministic for a seed.
    again = generate_population(400, start="2023-11-01", end="2023-11-22", seed=3)
    np.testing.assert_array_equal(again.readings.kwh.values, ds.kwh.values)


def test_generate_population_rejects_bad_share():
    from geoenergy.samplecity import generate_population

    with pytest.raises(ValueError, match=r"mining_share must be between 0 and 0\.5"):
        generate_population(200, mining_share=4)
