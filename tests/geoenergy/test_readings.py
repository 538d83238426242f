"""The readings store (manifest, staging, recovery) and its xarray view."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geoenergy.config import Workspace
from geoenergy.errors import ConfigError
from geoenergy.ingest import ingest_readings, ingest_registry
from geoenergy.readings import (
    MANIFEST,
    MANIFEST_NEXT,
    SCHEMA,
    ReadingsStore,
    bucket_of,
    compact_readings,
    open_readings,
)
from geoenergy.store import upgrade

REGISTRY = """\
meter_id,address,customer_class,lon,lat
M1,a,residential,116.40,39.90
M2,b,commercial,116.30,39.98
M3,c,industrial,116.28,39.85
M4,d,public,116.20,39.80
"""
DAY1 = pd.Timestamp("2023-11-15 00:00", tz="Asia/Shanghai")


def _fixture_frame() -> pd.DataFrame:
    """Three meters over two local days (2023-11-15 and -16, Asia/Shanghai).

    M1: 15 min, 0.1/0.2/0.3/0.4 kWh in each hour -> 1 kWh per hour, 24 per day.
    M2: 15 min, 1 kWh, day 1 only, 05:30 missing -> hour 05 and day 1 NaN.
    M3: 1 h, 2 kWh, 10:00 on day 2 missing -> day 2 NaN, day 1 48 kWh.
    """
    q = pd.date_range(DAY1, periods=2 * 96, freq="15min")
    m1 = pd.DataFrame({"meter_id": "M1", "timestamp": q, "kwh": np.tile([0.1, 0.2, 0.3, 0.4], 48)})
    q2 = q[:96].delete(5 * 4 + 2)
    m2 = pd.DataFrame({"meter_id": "M2", "timestamp": q2, "kwh": 1.0})
    h = pd.date_range(DAY1, periods=48, freq="h").delete(24 + 10)
    m3 = pd.DataFrame({"meter_id": "M3", "timestamp": h, "kwh": 2.0})
    return pd.concat([m1, m2, m3], ignore_index=True)


@pytest.fixture(scope="module")
def ws3(tmp_path_factory):
    """A workspace holding the three-meter fixture (read-only for the tests)."""
    root = tmp_path_factory.mktemp("readings")
    ws = Workspace.create(root / "ws", readings_buckets=2)
    upgrade(ws.db_url)
    (root / "reg.csv").write_text(REGISTRY, encoding="utf-8")
    ingest_registry(ws, root / "reg.csv")
    df = _fixture_frame()
    csv = df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d %H:%M"))
    csv.to_csv(root / "r.csv", index=False)
    rep = ingest_readings(ws, root / "r.csv")
    assert (rep.n_accepted, rep.n_rejected) == (len(df), 0)
    return ws


def _utc(local: str) -> np.datetime64:
    return np.datetime64(
        pd.Timestamp(local, tz="Asia/Shanghai").tz_convert("UTC").tz_localize(None)
    )


# -- open_readings ------------------------------------------------------------------------


def test_hourly_values(ws3):
    ds = open_readings(ws3)
    assert ds.kwh.dims == ("meter", "time")
    assert sorted(ds.meter.values.tolist()) == ["M1", "M2", "M3"]  # M4 has no readings
    assert ds.sizes["time"] == 48
    assert ds.time.values[0] == _utc("2023-11-15 00:00")
    kwh = ds.kwh.compute()
    np.testing.assert_allclose(kwh.sel(meter="M1").values, 1.0)
    m2 = kwh.sel(meter="M2").values
    assert np.isnan(m2[5])
    assert np.isnan(m2[24:]).all()
    np.testing.assert_array_equal(np.delete(m2[:24], 5), 4.0)
    m3 = kwh.sel(meter="M3").values
    assert np.isnan(m3[34])
    np.testing.assert_array_equal(np.delete(m3, 34), 2.0)


def test_daily_values(ws3):
    ds = open_readings(ws3, resolution="daily")
    assert ds.attrs["step_s"] == 86400
    assert pd.DatetimeIndex(ds.local_time.values).equals(
        pd.DatetimeIndex(["2023-11-15", "2023-11-16"])
    )
    assert ds.time.values[0] == _utc("2023-11-15 00:00")
    kwh = ds.kwh.compute()
    np.testing.assert_allclose(kwh.sel(meter="M1").values, [24.0, 24.0])
    assert np.isnan(kwh.sel(meter="M2").values).all()  # one quarter hour missing
    m3 = kwh.sel(meter="M3").values
    assert m3[0] == 48.0
    assert np.isnan(m3[1])  # one hour missing: the day is unknown, not 46


def test_coordinates_and_attrs(ws3):
    ds = open_readings(ws3)
    assert ds.kwh.attrs["units"] == "kWh"
    assert ds.time.attrs["timezone"] == "UTC"
    assert ds.local_time.attrs["timezone"] == "Asia/Shanghai"
    assert pd.Timestamp(ds.local_time.values[0]) == pd.Timestamp("2023-11-15 00:00")
    assert pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2023-11-14 16:00")
    assert ds.attrs["timezone"] == "Asia/Shanghai"
    assert ds.interval_s.sel(meter="M3").item() == 3600
    assert ds.interval_s.sel(meter="M1").item() == 900
    assert ds.customer_class.sel(meter="M2").item() == "commercial"
    assert ds.lon.sel(meter="M1").item() == pytest.approx(116.4)
    assert ds.kwh.chunks is not None  # lazy, dask-backed
    assert len(ds.kwh.chunks[0]) <= ws3.settings.readings_buckets


def test_selection(ws3):
    ds = open_readings(ws3, meters=["M3"])
    assert ds.meter.values.tolist() == ["M3"]
    ds = open_readings(ws3, customer_class=["residential", "industrial"])
    assert sorted(ds.meter.values.tolist()) == ["M1", "M3"]
    ds = open_readings(ws3, customer_class="commercial")
    assert ds.meter.values.tolist() == ["M2"]
    ds = open_readings(ws3, start="2023-11-16 00:00", end="2023-11-16 06:00")
    assert ds.sizes["time"] == 6
    assert ds.time.values[0] == _utc("2023-11-16 00:00")
    np.testing.assert_allclose(ds.kwh.sel(meter="M3").values, 2.0)


def test_selection_errors(ws3):
    with pytest.raises(ValueError, match=r"have no readings.*\['M4'\]"):
        open_readings(ws3, meters=["M1", "M4"])
    with pytest.raises(ValueError, match="no readings match the selection"):
        open_readings(ws3, customer_class="agricultural")
    with pytest.raises(ValueError, match="resolution must be one of"):
        open_readings(ws3, resolution="minutely")


def test_native_needs_one_interval(ws3):
    with pytest.raises(
        ValueError, match=r"different intervals \[900, 3600\].*resolution='hourly' or 'daily'"
    ):
        open_readings(ws3, resolution="native")
    ds = open_readings(ws3, resolution="native", meters=["M1", "M2"])
    assert ds.attrs["step_s"] == 900
    assert ds.kwh.sel(meter="M1").values[:4].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert np.isnan(ds.kwh.sel(meter="M2").values[22])


def test_coarse_meter_at_finer_resolution(tmp_path):
    ws = Workspace.create(tmp_path / "ws", readings_buckets=2)
    upgrade(ws.db_url)
    (tmp_path / "reg.csv").write_text(REGISTRY, encoding="utf-8")
    ingest_registry(ws, tmp_path / "reg.csv")
    (tmp_path / "r.csv").write_text(
        "meter_id,timestamp,kwh\nM4,2023-11-15,10\nM4,2023-11-16,12\n", encoding="utf-8"
    )
    ingest_readings(ws, tmp_path / "r.csv")
    with pytest.raises(ValueError, match=r"coarser than the hourly step.*resolution='daily'"):
        open_readings(ws)
    ds = open_readings(ws, resolution="daily")
    assert ds.kwh.values.tolist() == [[10.0, 12.0]]
    assert open_readings(ws, resolution="native").kwh.values.tolist() == [[10.0, 12.0]]


def test_matches_a_pandas_pivot(ws3):
    df = _fixture_frame()
    df["hour"] = df["timestamp"].dt.tz_convert("UTC").dt.floor("h").dt.tz_localize(None)
    per_hour = {"M1": 4, "M2": 4, "M3": 1}
    g = df.groupby(["meter_id", "hour"])["kwh"].agg(["sum", "size"]).reset_index()
    g = g[g["size"] == g["meter_id"].map(per_hour)]
    expected = g.pivot(index="meter_id", columns="hour", values="sum")

    ds = open_readings(ws3)
    got = ds.kwh.to_pandas().sort_index()
    expected = expected.reindex(index=got.index, columns=got.columns)
    expected.columns = expected.columns.astype(got.columns.dtype)
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_exact=False)


# -- the store -----------------------------------------------------------------------------


def test_bucket_of_is_stable():
    ids = np.array(["M1", "M2", "M3", "电表-42"], dtype=object)
    b = bucket_of(ids, 8)
    assert b.dtype == np.int64
    assert ((b >= 0) & (b < 8)).all()
    np.testing.assert_array_equal(b, bucket_of(ids.copy(), 8))
    np.testing.assert_array_equal(bucket_of(ids[::-1], 8), b[::-1])  # per id, not per batch
    assert bucket_of([], 8).size == 0


def _table(meter="A", hours=2):
    ts = pd.date_range("2023-11-15", periods=hours, freq="h", tz="UTC")
    return pa.Table.from_pandas(
        pd.DataFrame({"meter_id": meter, "timestamp": ts, "kwh": 1.0}), preserve_index=False
    )


def test_recover_publishes_a_committed_stage(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 4)
    token = rs.new_token()
    rel = rs.write_bucket_file(1, token, _table())
    rs.stage(token, {1: rel})
    assert rs.manifest()["version"] == 0  # staged, not yet visible
    assert rs.read_bucket(1).empty

    assert rs.recover(lambda t: t == token) == "published"
    m = rs.manifest()
    assert (m["version"], m["buckets"], m["files"], m["ingests"]) == (
        1,
        4,
        {"001": [rel]},
        [token],
    )
    assert len(rs.read_bucket(1)) == 2
    assert not (rs.path / MANIFEST_NEXT).exists()


def test_recover_discards_an_uncommitted_stage(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 4)
    t1 = rs.new_token()
    rs.stage(t1, {1: rs.write_bucket_file(1, t1, _table())})
    rs.publish()
    before = rs.manifest()

    t2 = rs.new_token()
    rel2 = rs.write_bucket_file(1, t2, _table("B"))
    rs.stage(t2, {1: rel2})
    orphan = rs.path / "bucket=003" / "deadbeef.parquet"
    orphan.parent.mkdir()
    orphan.write_bytes(b"left over")

    assert rs.recover(lambda t: False) == "discarded"
    assert rs.manifest() == before
    assert not (rs.path / rel2).exists()
    assert not orphan.exists()
    assert rs.read_bucket(1)["meter_id"].unique().tolist() == ["A"]
    assert rs.recover(lambda t: True) is None  # nothing staged any more


def test_recover_with_a_corrupt_stage(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 4)
    (rs.path / MANIFEST_NEXT).write_text("{not json", encoding="utf-8")
    assert rs.recover(lambda t: True) == "discarded"


def test_read_bucket_filters(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 2)
    t = rs.new_token()
    rel = rs.write_bucket_file(0, t, pa.concat_tables([_table("A", 4), _table("B", 4)]))
    rs.stage(t, {0: rel})
    rs.publish()
    df = rs.read_bucket(
        0,
        meter_ids=["B"],
        start=pd.Timestamp("2023-11-15 01:00Z"),
        end=pd.Timestamp("2023-11-15 03:00Z"),
    )
    assert df["meter_id"].tolist() == ["B", "B"]
    assert df["timestamp"].dt.hour.tolist() == [1, 2]
    assert rs.read_bucket(1).columns.tolist() == SCHEMA.names


def test_stored_layout_wins_over_setting(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 4)
    t = rs.new_token()
    rs.stage(t, {2: rs.write_bucket_file(2, t, _table())})
    rs.publish()
    assert ReadingsStore(tmp_path / "readings", 64).n_buckets == 4
    assert json.loads((rs.path / MANIFEST).read_text())["buckets"] == 4


def test_one_writer_at_a_time(tmp_path):
    rs = ReadingsStore(tmp_path / "readings", 4)
    other = ReadingsStore(tmp_path / "readings", 4)
    with (
        rs.lock(),
        pytest.raises(ConfigError, match="another ingestion is writing"),
        other.lock(),
    ):
        pass
    with other.lock():  # released
        pass


# -- compaction -------------------------------------------------------------------------


def test_compact_keeps_reads_identical(tmp_path):
    ws = Workspace.create(tmp_path / "ws", readings_buckets=2)
    upgrade(ws.db_url)
    (tmp_path / "reg.csv").write_text(REGISTRY, encoding="utf-8")
    ingest_registry(ws, tmp_path / "reg.csv")
    df = _fixture_frame()
    df = df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d %H:%M"))
    parts = np.array_split(np.arange(len(df)), 3)  # three ingestions, three files per bucket
    for i, rows in enumerate(parts):
        df.iloc[rows].to_csv(tmp_path / f"r{i}.csv", index=False)
        ingest_readings(ws, tmp_path / f"r{i}.csv")
    rs = ws.readings
    n_before = sum(len(v) for v in rs.files().values())
    hourly = open_readings(ws, resolution="hourly").kwh.values
    daily = open_readings(ws, resolution="daily").kwh.values

    def stored():
        frames = [rs.read_bucket(b) for b in range(rs.n_buckets)]
        return pd.concat(frames).sort_values(["meter_id", "timestamp"], ignore_index=True)

    rows_before = stored()
    res = compact_readings(ws)

    files = rs.files()
    assert res["files_before"] == n_before > len(files)
    assert res["files_after"] == len(files) == res["buckets"]
    assert all(len(v) == 1 for v in files.values())
    on_disk = sorted(str(p) for p in rs.path.glob("bucket=*/*"))
    assert on_disk == sorted(str(p) for v in files.values() for p in v)  # old files gone
    pd.testing.assert_frame_equal(stored(), rows_before)
    np.testing.assert_array_equal(open_readings(ws, resolution="hourly").kwh.values, hourly)
    np.testing.assert_array_equal(open_readings(ws, resolution="daily").kwh.values, daily)

    assert compact_readings(ws)["buckets"] == 0  # nothing left to merge
    again = ingest_readings(ws, tmp_path / "r0.csv", force=True)  # still a duplicate
    assert (again.n_accepted, again.n_duplicates) == (0, len(parts[0]))
