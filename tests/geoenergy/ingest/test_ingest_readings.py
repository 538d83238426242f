"""Ingestion of meter readings: row checks, time zones, intervals, idempotency, crashes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import geoenergy.ingest.readings as ingest_readings_mod
from geoenergy.ingest import ingest_readings, ingest_registry
from geoenergy.ingest.readings import infer_intervals, merge_bucket
from geoenergy.readings import ReadingsStore, open_readings
from geoenergy.store import Ingest, Meter, RejectedRow, Store

# Row-level problems: data row number -> (column, value, words the reason must hold).
BAD_FILE = """\
meter_id,timestamp,kwh
M1,2023-11-15 00:00,1
M1,2023-11-15 01:00,2
M1,2023-11-15 02:00,3
M1,2023-11-15 03:00,4
M1,2023-11-15 03:00,4
M1,2023-11-15 04:30,1
M1,2023-11-15 05:00,-1
M1,2023-11-15 06:00,abc
M1,2023-11-15 25:00,1
,2023-11-15 07:00,1
M9,2023-11-15 07:00,1
M2,2023-11-15 00:00,3
M2,2023-11-15 00:00,4
M2,2099-01-01 00:00,1
M2,2023-11-15 01:00,1,9
M3,2023-11-15 00:00,1
M3,2023-11-15 00:10,1
M3,2023-11-15 00:20,1
M1,2023-11-15 04:00,5
"""
EXPECTED_REJECTS = {
    6: ("timestamp", None, "not on the meter's 1 h grid"),
    7: ("kwh", "-1", "must be >= 0"),
    8: ("kwh", "abc", "is not a finite number; give a number [kWh]"),
    9: ("timestamp", "2023-11-15 25:00", "write it like 2023-11-15 08:00"),
    10: ("meter_id", "", "meter_id is empty; every row needs"),
    11: ("meter_id", "M9", "ingest a registry that lists it"),
    12: ("kwh", "3.0", "different kwh (row 12: 3, row 13: 4); none was kept"),
    13: ("kwh", "4.0", "Keep the one correct row"),
    14: ("timestamp", "2099-01-01 00:00", "lies in the future"),
    15: (None, "M2,2023-11-15 01:00,1,9", "the header has 3; check the delimiter"),
    16: ("timestamp", None, "GeoEnergy accepts 15 min, 30 min, 1 h or 1 day"),
    17: ("timestamp", None, "Resample this meter's readings"),
    18: ("timestamp", None, "mostly 10 min apart"),
}


def _readings_frame(ws, **kw) -> pd.DataFrame:
    """Stored readings as (meter_id, timestamp UTC, kwh), sorted."""
    rs = ReadingsStore(ws.readings_path, ws.settings.readings_buckets)
    frames = [rs.read_bucket(b) for b in range(rs.n_buckets)]
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["meter_id", "timestamp"], ignore_index=True)


def _meters(ws) -> dict[str, Meter]:
    with Store.for_workspace(ws) as store, store.session() as s:
        return {m.meter_id: m for m in s.scalars(sa.select(Meter))}


# -- row-level problems ----------------------------------------------------------------


def test_every_bad_row_is_quarantined_with_its_fix(ws_reg, tmp_path, kit):
    path = kit.write(tmp_path / "bad.csv", BAD_FILE)
    rep = ingest_readings(ws_reg, path)

    assert rep.status == "ingested"
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (19, 5, 1, 13)
    assert rep.n_rows == rep.n_accepted + rep.n_duplicates + rep.n_rejected
    assert sum(n for n, _ in rep.problems.values()) == 13
    assert rep.problems["conflicting_duplicate"][0] == 2
    assert rep.problems["irregular_interval"][0] == 3

    rows = kit.rejected_rows(ws_reg, "readings")
    assert sorted(r["row"] for r in rows) == sorted(EXPECTED_REJECTS)
    for r in rows:
        column, value, words = EXPECTED_REJECTS[r["row"]]
        assert r["column"] == column, r
        if value is not None:
            assert r["value"] == value, r
        assert words in r["reason"], r
        assert r["raw"], r  # the whole row is kept

    stored = _readings_frame(ws_reg)
    assert stored["meter_id"].tolist() == ["M1"] * 5
    assert stored["kwh"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stored["timestamp"].iloc[0] == pd.Timestamp("2023-11-14 16:00", tz="UTC")

    (ing,) = [i for i in kit.ingests(ws_reg) if i.kind == "readings"]
    assert (ing.n_rows, ing.n_accepted, ing.n_duplicates, ing.n_rejected) == (19, 5, 1, 13)
    m1 = _meters(ws_reg)["M1"]
    assert (m1.interval_s, m1.n_readings) == (3600, 5)


def test_bad_line_raw_keeps_the_line(ws_reg, tmp_path, kit):
    path = kit.write(tmp_path / "bad.csv", BAD_FILE)
    ingest_readings(ws_reg, path)
    (line,) = [r for r in kit.rejected_rows(ws_reg) if r["column"] is None]
    assert line["raw"] == {"line": "M2,2023-11-15 01:00,1,9"}


def test_numbers_in_other_spellings(ws_reg, tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv",
        [
            ("M1", "2023-11-15 00:00", " 1.5 "),
            ("M1", "2023-11-15 01:00", '"2,5"'),
            ("M1", "2023-11-15 02:00", "1e400"),
            ("M1", "2023-11-15 03:00", "nan"),
            ("M1", "2023-11-15 04:00", ""),
            ("M1", "2023/11/15 05:00", "0"),
        ],
    )
    rep = ingest_readings(ws_reg, path)
    assert (rep.n_accepted, rep.n_rejected) == (3, 3)
    assert _readings_frame(ws_reg)["kwh"].tolist() == [1.5, 2.5, 0.0]
    by_row = {r["row"]: r for r in kit.rejected_rows(ws_reg)}
    assert "not a finite number" in by_row[3]["reason"]
    assert "not a finite number" in by_row[4]["reason"]
    assert "kwh is empty" in by_row[5]["reason"]


def test_nonexistent_and_ambiguous_local_times(make_ws, tmp_path, kit):
    ws = make_ws(timezone="Europe/Berlin")
    ingest_registry(ws, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
    path = kit.readings_csv(
        tmp_path / "r.csv",
        [
            ("M1", "2023-03-26 00:00", 1),
            ("M1", "2023-03-26 01:00", 1),
            ("M1", "2023-03-26 02:30", 1),  # does not exist: clocks jump 02:00 -> 03:00
            ("M1", "2023-03-26 03:00", 1),
            ("M1", "2023-03-26 04:00", 1),
            ("M1", "2023-03-26T02:30+01:00", 1),  # = 03:30 CEST: exists, off the grid
            ("M2", "2023-10-29 02:30", 1),  # happens twice
            ("M2", "2023-10-29T02:00+02:00", 1),
            ("M2", "2023-10-29T02:00+01:00", 1),
            ("M2", "2023-10-29T03:00+01:00", 1),
            ("M1", "2023-03-26 05:00", 1),
            ("M1", "2023-03-26 06:00", 1),
        ],
    )
    rep = ingest_readings(ws, path)
    rows = {r["row"]: r for r in kit.rejected_rows(ws)}
    assert rows[3]["column"] == "timestamp"
    assert rows[3]["value"] == "2023-03-26 02:30"
    assert "does not exist or is ambiguous in Europe/Berlin" in rows[3]["reason"]
    assert "UTC offset" in rows[3]["reason"]
    assert rows[7]["value"] == "2023-10-29 02:30"
    assert "ambiguous" in rows[7]["reason"]
    assert "not on the meter's 1 h grid" in rows[6]["reason"]
    assert set(rows) == {3, 6, 7}
    assert rep.n_accepted == 9
    stored = _readings_frame(ws)
    m2 = stored[stored["meter_id"] == "M2"]["timestamp"].dt.strftime("%H:%M").tolist()
    assert m2 == ["00:00", "01:00", "02:00"]  # UTC: the repeated hour is kept apart


# -- time zones ---------------------------------------------------------------------------


def test_naive_timestamps_are_local_time(ws_reg, tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv", [("M1", "2023-11-15 08:00", 1), ("M1", "2023-11-15 09:00", 2)]
    )
    ingest_readings(ws_reg, path)
    stored = _readings_frame(ws_reg)
    assert stored["timestamp"].tolist() == [
        pd.Timestamp("2023-11-15 00:00", tz="UTC"),
        pd.Timestamp("2023-11-15 01:00", tz="UTC"),
    ]
    m1 = _meters(ws_reg)["M1"]
    assert m1.first_reading == pd.Timestamp("2023-11-15 00:00", tz="UTC")


def test_timezone_setting_changes_the_reading_of_naive_times(make_ws, tmp_path, kit):
    ws = make_ws(timezone="UTC")
    ingest_registry(ws, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
    ingest_readings(ws, kit.readings_csv(tmp_path / "r.csv", [("M1", "2023-11-15 08:00", 1)]))
    assert _readings_frame(ws)["timestamp"].tolist() == [pd.Timestamp("2023-11-15 08:00Z")]


def test_offsets_are_honoured_and_same_instant_is_a_duplicate(ws_reg, tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv",
        [
            ("M1", "2023-11-15T00:00+00:00", 1),
            ("M1", "2023-11-15T08:00+08:00", 1),
            ("M1", "2023-11-15T01:00Z", 2),
            ("M1", "2023-11-15 09:00", 2),  # naive Shanghai = 01:00Z again
            ("M1", "2023-11-15T02:00:00+0000", 3),
        ],
    )
    rep = ingest_readings(ws_reg, path)
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (5, 3, 2, 0)
    assert _readings_frame(ws_reg)["timestamp"].dt.hour.tolist() == [0, 1, 2]


def test_same_instant_different_kwh_across_offsets_conflicts(ws_reg, tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv",
        [("M1", "2023-11-15T00:00+00:00", 1), ("M1", "2023-11-15T08:00+08:00", 2)],
    )
    rep = ingest_readings(ws_reg, path)
    assert (rep.n_accepted, rep.n_rejected) == (0, 2)
    reason = kit.rejected_rows(ws_reg)[0]["reason"]
    assert "2023-11-15T08:00:00+08:00" in reason  # told in local time


@pytest.mark.parametrize(
    ("freq", "seconds"), [("15min", 900), ("30min", 1800), ("1h", 3600), ("1D", 86400)]
)
def test_interval_inference(ws_reg, tmp_path, kit, freq, seconds):
    times = pd.date_range("2023-11-15", periods=8, freq=freq)
    times = times.delete(4)  # a gap does not change the interval
    rows = [("M2", t.strftime("%Y-%m-%d %H:%M"), 1) for t in times]
    rep = ingest_readings(ws_reg, kit.readings_csv(tmp_path / "r.csv", rows))
    assert (rep.n_accepted, rep.n_rejected) == (7, 0)
    m2 = _meters(ws_reg)["M2"]
    assert (m2.interval_s, m2.n_readings) == (seconds, 7)
    assert m2.first_reading == pd.Timestamp("2023-11-14 16:00", tz="UTC")
    assert m2.last_reading == (times[-1] - pd.Timedelta(hours=8)).tz_localize("UTC")


def test_each_meter_has_its_own_interval(ws_reg, tmp_path, kit):
    rows = [("M1", f"2023-11-15 00:{m:02d}", 1) for m in (0, 15, 30, 45)]
    rows += [("M2", f"2023-11-15 {h:02d}:00", 1) for h in range(4)]
    rows += [("M3", f"2023-11-{d:02d}", 1) for d in (15, 16, 17)]
    rep = ingest_readings(ws_reg, kit.readings_csv(tmp_path / "r.csv", rows))
    assert rep.n_rejected == 0
    assert {k: m.interval_s for k, m in _meters(ws_reg).items()} == {
        "M1": 900,
        "M2": 3600,
        "M3": 86400,
    }


def test_daily_grid_is_local_midnight(ws_reg, tmp_path, kit):
    rows = [("M3", f"2023-11-{d:02d}", 1) for d in (15, 16, 17)]
    rows.append(("M3", "2023-11-18T00:00Z", 1))  # 08:00 in Shanghai: off the daily grid
    rep = ingest_readings(ws_reg, kit.readings_csv(tmp_path / "r.csv", rows))
    assert (rep.n_accepted, rep.n_rejected) == (3, 1)
    (r,) = kit.rejected_rows(ws_reg)
    assert r["row"] == 4
    assert "1 day grid" in r["reason"]


def test_infer_intervals_mode_and_ties():
    df = pd.DataFrame(
        {
            "meter_id": ["A"] * 4 + ["B"] * 3 + ["C"],
            "timestamp": pd.to_datetime(
                [
                    "2023-01-01 00:00",
                    "2023-01-01 01:00",
                    "2023-01-01 02:00",
                    "2023-01-01 02:15",
                    "2023-01-01 00:00",
                    "2023-01-01 00:30",
                    "2023-01-01 01:30",
                    "2023-01-01 00:00",
                ],
                utc=True,
            ),
        }
    )
    got = infer_intervals(df)
    assert got.to_dict() == {"A": 3600.0, "B": 1800.0}  # B: a tie goes to the shorter
    assert "C" not in got  # one reading: no interval
    assert infer_intervals(df.iloc[:0]).empty


def test_merge_bucket_against_stored():
    ts = pd.to_datetime(["2023-11-15 00:00", "2023-11-15 01:00", "2023-11-15 02:00"], utc=True)
    existing = pd.DataFrame({"meter_id": ["A", "A"], "timestamp": ts[:2], "kwh": [1.0, 2.0]})
    new = pd.DataFrame(
        {"meter_id": ["A"] * 3, "timestamp": ts, "kwh": [1.0, 9.0, 3.0], "row": [1, 2, 3]}
    )
    accepted, rejected, n_dup, stats = merge_bucket(new, existing, "Asia/Shanghai")
    assert accepted["kwh"].tolist() == [3.0]
    assert n_dup == 1
    assert rejected["row_number"].tolist() == [2]
    assert rejected["problem"].tolist() == ["conflicts_with_stored"]
    assert "already has kwh=2 stored" in rejected["reason"].iloc[0]
    assert "never overwritten" in rejected["reason"].iloc[0]
    assert stats.set_index("meter_id").loc["A", "n"] == 3
    assert stats.set_index("meter_id").loc["A", "interval_s"] == 3600


def test_gaps_stay_missing(ws_reg, tmp_path, kit):
    rows = [("M1", f"2023-11-15 {h:02d}:00", h + 1) for h in (0, 1, 3, 4)]
    ingest_readings(ws_reg, kit.readings_csv(tmp_path / "r.csv", rows))
    ds = open_readings(ws_reg, resolution="native")
    values = ds.kwh.sel(meter="M1").values
    np.testing.assert_array_equal(values, [1.0, 2.0, np.nan, 4.0, 5.0])
    assert not (values == 0).any()
    assert _meters(ws_reg)["M1"].n_readings == 4


# -- idempotency ----------------------------------------------------------------------


def _state(ws, kit):
    rs = ReadingsStore(ws.readings_path, ws.settings.readings_buckets)
    return {
        "manifest": rs.manifest(),
        "files": kit.parquet_files(ws),
        "readings": _readings_frame(ws),
        "ingests": kit.count(ws, Ingest),
        "rejected": kit.count(ws, RejectedRow),
        "meters": {k: (m.n_readings, m.interval_s) for k, m in _meters(ws).items()},
    }


def _assert_same_state(a, b):
    assert a["manifest"] == b["manifest"]
    assert a["files"] == b["files"]
    pd.testing.assert_frame_equal(a["readings"], b["readings"])
    assert (a["ingests"], a["rejected"], a["meters"]) == (b["ingests"], b["rejected"], b["meters"])


def test_same_file_twice_is_unchanged(ws_reg, tmp_path, kit):
    path = kit.write(tmp_path / "bad.csv", BAD_FILE)
    first = ingest_readings(ws_reg, path)
    before = _state(ws_reg, kit)
    assert before["manifest"]["version"] == 1

    again = ingest_readings(ws_reg, path)
    assert again.status == "unchanged"
    assert again.ingest_id == first.ingest_id
    assert again.n_accepted == 0
    assert "already ingested" in again.summary()
    assert "--force" in again.summary()
    _assert_same_state(before, _state(ws_reg, kit))


def test_other_file_with_the_same_rows_adds_nothing(ws_reg, tmp_path, kit):
    rows = [("M1", f"2023-11-15 {h:02d}:00", h) for h in range(6)]
    ingest_readings(ws_reg, kit.readings_csv(tmp_path / "a.csv", rows))
    before = _state(ws_reg, kit)

    # Reordered, with offsets, as Parquet: the same readings.
    pq_path = tmp_path / "b.parquet"
    pd.DataFrame(
        {
            "meter_id": ["M1"] * 6,
            "timestamp": pd.date_range("2023-11-14 16:00", periods=6, freq="h", tz="UTC")[::-1],
            "kwh": [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
        }
    ).to_parquet(pq_path)
    rep = ingest_readings(ws_reg, pq_path)
    assert rep.status == "ingested"
    assert (rep.n_rows, rep.n_accepted, rep.n_duplicates, rep.n_rejected) == (6, 0, 6, 0)
    after = _state(ws_reg, kit)
    assert after["files"] == before["files"]
    pd.testing.assert_frame_equal(after["readings"], before["readings"])
    assert after["meters"] == before["meters"]


def test_force_rerecords_rejects_without_duplicating(ws_reg, tmp_path, kit):
    path = kit.readings_csv(
        tmp_path / "r.csv",
        [("M1", "2023-11-15 00:00", 1), ("M1", "2023-11-15 01:00", -5), ("M4", "2023-11-15", 1)],
    )
    first = ingest_readings(ws_reg, path)
    assert (first.n_accepted, first.n_rejected) == (1, 2)

    again = ingest_readings(ws_reg, path, force=True)
    assert again.status == "ingested"
    assert (again.n_rows, again.n_accepted, again.n_duplicates, again.n_rejected) == (3, 0, 1, 2)
    assert [r["row"] for r in kit.rejected_rows(ws_reg)] == [2, 3]
    assert len([i for i in kit.ingests(ws_reg) if i.kind == "readings"]) == 1

    # Once M4 is registered, --force takes its row and clears it from the quarantine.
    reg = kit.write(
        tmp_path / "reg2.csv",
        kit.REGISTRY + "M4,北京市西城区4号,public,116.36,39.91\n",
    )
    assert ingest_registry(ws_reg, reg).n_accepted == 1
    third = ingest_readings(ws_reg, path, force=True)
    assert (third.n_accepted, third.n_duplicates, third.n_rejected) == (1, 1, 1)
    assert [r["row"] for r in kit.rejected_rows(ws_reg)] == [2]
    assert set(_readings_frame(ws_reg)["meter_id"]) == {"M1", "M4"}


def test_second_file_extends_meters(ws_reg, tmp_path, kit):
    a = [("M1", f"2023-11-15 {h:02d}:00", 1) for h in range(3)]
    b = [("M1", f"2023-11-15 {h:02d}:00", 1) for h in range(2, 6)]
    ingest_readings(ws_reg, kit.readings_csv(tmp_path / "a.csv", a))
    rep = ingest_readings(ws_reg, kit.readings_csv(tmp_path / "b.csv", b))
    assert (rep.n_accepted, rep.n_duplicates) == (3, 1)
    m1 = _meters(ws_reg)["M1"]
    assert (m1.n_readings, m1.interval_s) == (6, 3600)
    assert m1.last_reading == pd.Timestamp("2023-11-14 21:00", tz="UTC")
    assert ReadingsStore(ws_reg.readings_path).manifest()["version"] == 2


# -- transactions: a crash never leaves half an ingestion -------------------------------


def test_crash_before_commit_leaves_previous_state(ws_reg, tmp_path, kit, monkeypatch):
    first = [("M1", f"2023-11-15 {h:02d}:00", 1) for h in range(3)]
    ingest_readings(ws_reg, kit.readings_csv(tmp_path / "a.csv", first))
    before = _state(ws_reg, kit)
    shown_before = open_readings(ws_reg, resolution="native").kwh.values

    def boom(*args, **kwargs):
        # The new Parquet files and the staged manifest exist at this point.
        assert (ws_reg.readings_path / "_manifest.next.json").exists()
        assert len(kit.parquet_files(ws_reg)) > len(before["files"])
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ingest_readings_mod, "record_ingest", boom)
    second = [("M1", f"2023-11-15 {h:02d}:00", 2) for h in range(3, 6)]
    path = kit.readings_csv(tmp_path / "b.csv", second)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_readings(ws_reg, path)

    _assert_same_state(before, _state(ws_reg, kit))
    assert not (ws_reg.readings_path / "_manifest.next.json").exists()
    assert list(ws_reg.staging_path.iterdir()) == []
    np.testing.assert_array_equal(
        open_readings(ws_reg, resolution="native").kwh.values, shown_before
    )

    monkeypatch.undo()
    rep = ingest_readings(ws_reg, path)
    assert (rep.status, rep.n_accepted) == ("ingested", 3)
    assert open_readings(ws_reg, resolution="native").kwh.values.tolist() == [[1, 1, 1, 2, 2, 2]]


def test_crash_after_commit_is_published_on_next_open(ws_reg, tmp_path, kit, monkeypatch):
    rows = [("M1", f"2023-11-15 {h:02d}:00", 1) for h in range(3)]
    path = kit.readings_csv(tmp_path / "a.csv", rows)

    def crash(self):
        raise RuntimeError("crash between commit and publish")

    monkeypatch.setattr(ReadingsStore, "publish", crash)
    with pytest.raises(RuntimeError, match="between commit and publish"):
        ingest_readings(ws_reg, path)
    monkeypatch.undo()
    assert (ws_reg.readings_path / "_manifest.next.json").exists()

    ds = open_readings(ws_reg, resolution="native")  # recovers: the commit happened
    assert ds.kwh.values.tolist() == [[1.0, 1.0, 1.0]]
    assert not (ws_reg.readings_path / "_manifest.next.json").exists()
    assert ingest_readings(ws_reg, path).status == "unchanged"


def test_ingest_options_are_recorded(ws_reg, tmp_path, kit):
    path = kit.write(tmp_path / "r.csv", "id,ts,e\nM1,2023-11-15 00:00,1\n")
    rep = ingest_readings(
        ws_reg, path, column_map={"id": "meter_id", "ts": "timestamp", "e": "kwh"}
    )
    assert rep.n_accepted == 1
    (ing,) = [i for i in kit.ingests(ws_reg) if i.kind == "readings"]
    assert ing.options["column_map"] == {"id": "meter_id", "ts": "timestamp", "e": "kwh"}
    assert ing.options["timezone"] == "Asia/Shanghai"
    manifest = json.loads((ws_reg.readings_path / "_manifest.json").read_text())
    assert manifest["ingests"] == [ing.options["token"]]
