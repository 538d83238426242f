"""Ingestion of the registry, inspection labels and weather."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from geoenergy.ingest import ingest_labels, ingest_registry, ingest_weather
from geoenergy.ingest.tables import validate_registry
from geoenergy.store import AuditLog, Ingest, InspectionLabel, Meter, RejectedRow, Store, Weather

REGISTRY_BAD = """\
meter_id,address,customer_class,lon,lat,coord_system,contracted_kw,building
M1,建国路1号,residential,116.40,39.90,,,A
M2,建国路2号,shop,116.30,39.90,,,B
M3,建国路3号,commercial,39.90,116.40,,,C
M4,建国路4号,public,200,39.90,,,D
M5,建国路5号,public,116.40,-95,,,E
M6,建国路6号,public,0,0,,,F
M7,建国路7号,public,116.40,39.90,utm,,G
M8,,public,116.40,39.90,,,H
,建国路9号,public,116.40,39.90,,,I
M10,建国路10号,Data Centre,116.40,39.90,GCJ02,500,J
M1,建国路1号,residential,116.40,39.90,,,A
M11,建国路11号,residential,abc,39.90,,,K
M12,建国路12号,residential,116.40,39.90,,,L,EXTRA
M13,建国路13号,industrial,116.40,39.90,,-5,M
M1,建国路1号 (changed),residential,116.40,39.90,,,A
"""
REGISTRY_REJECTS = {
    2: ("customer_class", "shop", "is not allowed; use one of residential, commercial"),
    3: ("lat", "116.40", "lon and lat look swapped"),
    4: ("lon", "200", "lon=200 is outside -180..180"),
    5: ("lat", "-95", "lat=-95 is outside -90..90"),
    6: ("lon", "0", "placeholder, not a location; geocode the address"),
    7: ("coord_system", "utm", "use one of wgs84, gcj02, bd09"),
    8: ("address", "", "every row needs the postal address"),
    9: ("meter_id", "", "every row needs the meter's id"),
    12: ("lon", "abc", "not a finite number; give a number [deg]"),
    13: (None, None, "the header has 8"),
    14: ("contracted_kw", "-5", "must be >= 0"),
    15: ("meter_id", "M1", "appears again with different values (first on row 1)"),
}


def _meters(ws) -> dict[str, Meter]:
    with Store.for_workspace(ws) as store, store.session() as s:
        return {m.meter_id: m for m in s.scalars(sa.select(Meter))}


def _check_rejects(rows, expected):
    assert sorted(r["row"] for r in rows) == sorted(expected)
    for r in rows:
        column, value, words = expected[r["row"]]
        assert r["column"] == column, r
        if value is not None:
            assert r["value"] == value, r
        assert words in r["reason"], r


# -- registry -------------------------------------------------------------------------


def test_registry_rows(ws, tmp_path, kit):
    rep = ingest_registry(ws, kit.write(tmp_path / "reg.csv", REGISTRY_BAD))
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (15, 2, 1, 12)
    assert rep.n_rows == rep.n_accepted + rep.n_duplicates + rep.n_rejected
    _check_rejects(kit.rejected_rows(ws, "registry"), REGISTRY_REJECTS)

    meters = _meters(ws)
    assert sorted(meters) == ["M1", "M10"]
    m1, m10 = meters["M1"], meters["M10"]
    assert m1.address == "建国路1号"  # the first row of a meter wins
    assert (m1.lon, m1.lat, m1.coord_system) == (116.4, 39.9, "wgs84")
    assert m1.attributes == {"building": "A"}
    assert m1.ingest_id == rep.ingest_id
    assert m10.customer_class == "data_centre"  # case and spaces normalised
    assert m10.coord_system == "gcj02"
    assert (m10.source_lon, m10.source_lat) == (116.4, 39.9)
    # GCJ-02 is shifted by a few hundred metres from WGS84 in Beijing.
    assert 0.001 < abs(m10.lon - 116.4) < 0.01
    assert 0.0005 < abs(m10.lat - 39.9) < 0.01
    assert m10.contracted_kw == 500.0


def test_validate_registry_directly():
    df = pd.DataFrame(
        {
            "meter_id": ["A", "B"],
            "address": ["x", "y"],
            "customer_class": ["residential", "residential"],
            "lon": [116.4, 39.9],
            "lat": [39.9, 116.4],
        },
        index=pd.Index([1, 2], name="row"),
    )
    clean, checks = validate_registry(df)
    assert clean.index.tolist() == [1]
    assert checks.rejects()["problem"].tolist() == ["swapped_lon_lat"]


def test_validate_registry_swapped_rows_that_are_already_bad():
    # Two swapped rows, one of them already rejected for an empty id: each row
    # keeps its first problem and the swapped reason names the right values.
    df = pd.DataFrame(
        {
            "meter_id": ["", "B"],
            "address": ["x", "y"],
            "customer_class": ["residential", "residential"],
            "lon": [39.9, 39.8],
            "lat": [116.3, 116.2],
        },
        index=pd.Index([1, 2], name="row"),
    )
    clean, checks = validate_registry(df)
    assert clean.empty
    rej = checks.rejects()
    assert rej["problem"].tolist() == ["empty", "swapped_lon_lat"]
    assert "lon=39.8, lat=116.2" in rej["reason"].iloc[1]


def test_registry_change_updates_and_audits(ws, tmp_path, kit):
    first = ingest_registry(ws, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
    changed = kit.REGISTRY.replace("北京市朝阳区建国路1号", "北京市朝阳区建国路100号")
    rep = ingest_registry(ws, kit.write(tmp_path / "reg2.csv", changed))
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (3, 1, 2, 0)

    m1 = _meters(ws)["M1"]
    assert m1.address == "北京市朝阳区建国路100号"
    assert m1.ingest_id == rep.ingest_id != first.ingest_id
    with Store.for_workspace(ws) as store, store.session() as s:
        (log,) = s.scalars(sa.select(AuditLog)).all()
    assert (log.actor, log.action, log.entity, log.entity_id) == (
        "ingest",
        "registry_update",
        "meter",
        "M1",
    )
    assert log.before == {"address": "北京市朝阳区建国路1号"}
    assert log.after == {"address": "北京市朝阳区建国路100号"}


def test_registry_move_updates_location(ws, tmp_path, kit):
    ingest_registry(ws, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
    moved = kit.REGISTRY.replace("116.40,39.90", "116.50,39.95")
    rep = ingest_registry(ws, kit.write(tmp_path / "reg2.csv", moved))
    assert rep.n_accepted == 1
    m1 = _meters(ws)["M1"]
    assert (m1.lon, m1.lat) == (116.5, 39.95)
    with Store.for_workspace(ws) as store, store.session() as s:
        log = s.scalars(sa.select(AuditLog)).one()
    assert log.before == {"lon": 116.4, "lat": 39.9, "source_lon": 116.4, "source_lat": 39.9}


def test_registry_twice_and_force(ws, tmp_path, kit):
    path = kit.write(tmp_path / "reg.csv", REGISTRY_BAD)
    ingest_registry(ws, path)
    assert ingest_registry(ws, path).status == "unchanged"
    rep = ingest_registry(ws, path, force=True)
    assert (rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (0, 3, 12)
    assert kit.count(ws, RejectedRow) == 12
    assert kit.count(ws, Ingest) == 1
    assert kit.count(ws, AuditLog) == 0


def test_registry_parquet_and_map(ws, tmp_path):
    path = tmp_path / "reg.parquet"
    pd.DataFrame(
        {
            "电表编号": ["P1", "P2"],
            "地址": ["a", "b"],
            "用户类别": ["industrial", "other"],
            "经度": [116.1, 116.2],
            "纬度": [39.1, 39.2],
        }
    ).to_parquet(path)
    rep = ingest_registry(
        ws,
        path,
        column_map={
            "电表编号": "meter_id",
            "地址": "address",
            "用户类别": "customer_class",
            "经度": "lon",
            "纬度": "lat",
        },
    )
    assert (rep.n_accepted, rep.n_rejected) == (2, 0)
    assert _meters(ws)["P2"].lat == 39.2


def test_registry_parquet_rejects_have_row_numbers(ws, tmp_path, kit):
    path = tmp_path / "reg.parquet"
    pd.DataFrame(
        {
            "meter_id": ["P1", "P2", "P3"],
            "address": ["a", "b", "c"],
            "customer_class": ["industrial", "other", "nope"],
            "lon": [116.1, 116.2, 116.3],
            "lat": [39.1, 39.2, 39.3],
        }
    ).to_parquet(path)
    rep = ingest_registry(ws, path, chunk_rows=2)
    assert (rep.n_accepted, rep.n_rejected) == (2, 1)
    (r,) = kit.rejected_rows(ws)
    assert (r["row"], r["column"], r["value"]) == (3, "customer_class", "nope")


# -- labels ---------------------------------------------------------------------------

LABELS = """\
meter_id,label,inspected_on
M1,mining,2023-10-01
M2,Not Mining,2023-10-02
M1,maybe,2023-10-01
M1,mining,2023-13-45
M9,mining,2023-10-01
M3,mining,2099-01-01
M3,mining,2023-10-01 08:00
M1,mining,2023-10-01
M2,mining,2023-10-02
M3,not_mining,2023/10/3
"""
LABEL_REJECTS = {
    3: ("label", "maybe", "use one of mining, not_mining"),
    4: ("inspected_on", "2023-13-45", "write it like 2023-11-15"),
    5: ("meter_id", "M9", "not in the meter registry; ingest it first"),
    6: ("inspected_on", "2099-01-01", "lies in the future"),
    7: ("inspected_on", "2023-10-01 08:00", "not an ISO 8601 date"),
    9: ("label", "mining", "another label for 2023-10-02 on row 2"),
}


def test_label_rows(ws_reg, tmp_path, kit):
    rep = ingest_labels(ws_reg, kit.write(tmp_path / "labels.csv", LABELS))
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (10, 3, 1, 6)
    _check_rejects(kit.rejected_rows(ws_reg, "labels"), LABEL_REJECTS)
    with Store.for_workspace(ws_reg) as store, store.session() as s:
        got = sorted(
            (lab.meter_id, lab.label, lab.inspected_on, lab.ingest_id)
            for lab in s.scalars(sa.select(InspectionLabel))
        )
    assert got == [
        ("M1", "mining", dt.date(2023, 10, 1), rep.ingest_id),
        ("M2", "not_mining", dt.date(2023, 10, 2), rep.ingest_id),
        ("M3", "not_mining", dt.date(2023, 10, 3), rep.ingest_id),
    ]


def test_label_never_overwritten(ws_reg, tmp_path, kit):
    ingest_labels(
        ws_reg,
        kit.write(tmp_path / "a.csv", "meter_id,label,inspected_on\nM1,mining,2023-10-01\n"),
    )
    rep = ingest_labels(
        ws_reg,
        kit.write(
            tmp_path / "b.csv",
            "meter_id,label,inspected_on\nM1,not_mining,2023-10-01\nM1,mining,2023-10-01\n",
        ),
    )
    assert (rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (0, 0, 2)
    # Row 2 conflicts with row 1 of its own file; row 1 with the stored outcome.
    rows = {r["row"]: r["reason"] for r in kit.rejected_rows(ws_reg)}
    assert "already has label 'mining'" in rows[1]
    assert "not overwritten" in rows[1]
    assert "another label" in rows[2]
    assert kit.count(ws_reg, InspectionLabel) == 1


# -- weather --------------------------------------------------------------------------

WEATHER = """\
date,temp_c
2023-11-15,3.5
2023-11-16,99
2023-11-17,-61
2023-11-31,1
2023-11-18,warm
2023-11-15,3.5
2023-11-15,4
,1
2023/11/19,-2.5
2023-11-20,"1,5"
"""
WEATHER_REJECTS = {
    2: ("temp_c", "99", "must be <= 60 [degC]"),
    3: ("temp_c", "-61", "must be >= -60 [degC]"),
    4: ("date", "2023-11-31", "not an ISO 8601 date"),
    5: ("temp_c", "warm", "not a finite number"),
    7: ("temp_c", "4", "appears again with another temp_c (first on row 1)"),
    8: ("date", "", "date is empty"),
}


def test_weather_rows(ws, tmp_path, kit):
    rep = ingest_weather(ws, kit.write(tmp_path / "weather.csv", WEATHER))
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (10, 3, 1, 6)
    _check_rejects(kit.rejected_rows(ws, "weather"), WEATHER_REJECTS)
    with Store.for_workspace(ws) as store, store.session() as s:
        got = {w.date: w.temp_c for w in s.scalars(sa.select(Weather))}
    assert got == {
        dt.date(2023, 11, 15): 3.5,
        dt.date(2023, 11, 19): -2.5,
        dt.date(2023, 11, 20): 1.5,
    }


def test_weather_conflict_with_stored(ws, tmp_path, kit):
    ingest_weather(ws, kit.write(tmp_path / "a.csv", "date,temp_c\n2023-11-15,3.5\n"))
    rep = ingest_weather(
        ws, kit.write(tmp_path / "b.csv", "date,temp_c\n2023-11-15,3.5\n2023-11-15,5\n")
    )
    # Row 2 conflicts with row 1 of the file.
    assert (rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (0, 1, 1)
    rep = ingest_weather(ws, kit.write(tmp_path / "c.csv", "date,temp_c\n2023-11-15,5\n"))
    assert rep.n_rejected == 1
    reason = kit.rejected_rows(ws)[-1]["reason"]
    assert "already has temp_c=3.5 stored" in reason


@pytest.mark.parametrize("fn", [ingest_labels, ingest_weather])
def test_file_level_error_writes_nothing(ws_reg, tmp_path, kit, fn):
    path = kit.write(tmp_path / "x.csv", "a,b\n1,2\n")
    n = kit.count(ws_reg, Ingest)
    with pytest.raises(ValueError, match=r"x\.csv: required column\(s\).*--map"):
        fn(ws_reg, path)
    assert kit.count(ws_reg, Ingest) == n
    assert kit.count(ws_reg, RejectedRow) == 0
