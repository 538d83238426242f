"""The same ingestion on both store backends (SpatiaLite and PostGIS)."""

from __future__ import annotations

import datetime as dt

import pytest

from geoenergy.config import Workspace
from geoenergy.ingest import ingest_labels, ingest_readings, ingest_registry, ingest_weather
from geoenergy.readings import open_readings
from geoenergy.store import AuditLog, Ingest, RejectedRow, upgrade

READINGS = """\
meter_id,timestamp,kwh
M1,2023-11-15 00:00,1
M1,2023-11-15 01:00,2
M1,2023-11-15 01:00,2
M1,2023-11-15 02:00,-3
M9,2023-11-15 02:00,1
M1,2023-11-15 03:00,4,extra
M1,2023-11-15 04:00,5
"""


@pytest.fixture
def ws_any(store_url, tmp_path, kit):
    created = Workspace.create(tmp_path / "ws", readings_buckets=4)
    upgrade(store_url)
    ws = Workspace(created.path, db_url=store_url)
    assert ws.db_url == store_url
    ingest_registry(ws, kit.write(tmp_path / "registry.csv", kit.REGISTRY))
    return ws


def test_idempotency_and_rejected_rows(ws_any, tmp_path, kit):
    ws = ws_any
    path = kit.write(tmp_path / "r.csv", READINGS)
    rep = ingest_readings(ws, path)
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (7, 3, 1, 3)
    rows = kit.rejected_rows(ws, "readings")
    assert [(r["row"], r["column"]) for r in rows] == [(4, "kwh"), (5, "meter_id"), (6, None)]
    assert rows[0]["raw"] == {"meter_id": "M1", "timestamp": "2023-11-15 02:00", "kwh": "-3"}

    assert ingest_readings(ws, path).status == "unchanged"
    again = ingest_readings(ws, path, force=True)
    assert (again.n_accepted, again.n_duplicates, again.n_rejected) == (0, 4, 3)
    assert kit.count(ws, RejectedRow) == 3
    assert kit.count(ws, Ingest) == 2  # registry + readings

    ds = open_readings(ws, resolution="native")
    assert ds.kwh.sel(meter="M1").values.tolist()[:2] == [1.0, 2.0]


def test_tables_on_each_backend(ws_any, tmp_path, kit):
    ws = ws_any
    changed = kit.REGISTRY.replace("commercial", "data_centre")
    rep = ingest_registry(ws, kit.write(tmp_path / "reg2.csv", changed))
    assert (rep.n_accepted, rep.n_duplicates) == (1, 2)
    assert kit.count(ws, AuditLog) == 1

    labels = "meter_id,label,inspected_on\nM1,mining,2023-10-01\nM1,bad,2023-10-01\n"
    rep = ingest_labels(ws, kit.write(tmp_path / "l.csv", labels))
    assert (rep.n_accepted, rep.n_rejected) == (1, 1)
    weather = "date,temp_c\n2023-11-15,3.5\n2023-11-16,100\n"
    rep = ingest_weather(ws, kit.write(tmp_path / "w.csv", weather))
    assert (rep.n_accepted, rep.n_rejected) == (1, 1)
    assert ingest_weather(ws, tmp_path / "w.csv").status == "unchanged"
    ing = kit.ingests(ws)[-1]
    assert ing.finished_at.tzinfo is not None
    assert ing.finished_at <= dt.datetime.now(dt.UTC)


def test_meter_statistics_after_an_append_on_each_backend(ws_any, tmp_path, kit):
    """The meters' statistics are written by one set-based statement per backend (COPY and
    UPDATE ... FROM on PostGIS, executemany on SpatiaLite): read back through the ORM, they
    are what the readings say, as aware UTC times."""
    from geoenergy.store import Meter

    ws = ws_any
    ingest_readings(ws, kit.write(tmp_path / "a.csv", READINGS))
    more = "meter_id,timestamp,kwh\nM1,2023-11-15 05:00,6\nM1,2023-11-15 06:00,7\nM2,2023-11-16 00:00,1\n"
    rep = ingest_readings(ws, kit.write(tmp_path / "b.csv", more))
    assert rep.n_accepted == 3
    with ws.store.session() as s:
        got = {m.meter_id: m for m in s.query(Meter).all()}
    m1, m2, m3 = got["M1"], got["M2"], got["M3"]
    # local (Asia/Shanghai) 2023-11-15 00:00 is 16:00 UTC the day before
    assert m1.first_reading == dt.datetime(2023, 11, 14, 16, tzinfo=dt.UTC)
    assert m1.last_reading == dt.datetime(2023, 11, 14, 22, tzinfo=dt.UTC)
    assert (m1.interval_s, m1.n_readings) == (3600, 5)
    assert (m2.interval_s, m2.n_readings) == (None, 1)
    assert m2.first_reading == m2.last_reading == dt.datetime(2023, 11, 15, 16, tzinfo=dt.UTC)
    assert (m3.n_readings, m3.first_reading) == (0, None)
    assert m1.updated_at.tzinfo is not None and m1.updated_at <= dt.datetime.now(dt.UTC)
    ds = open_readings(ws, resolution="hourly")
    assert ds.kwh.sel(meter="M1").dropna("time").values.tolist()[-2:] == [6.0, 7.0]
