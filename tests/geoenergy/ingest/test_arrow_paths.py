"""The Arrow paths of readings ingestion give what the row-by-row checks gave.

CSV blocks parsed in parallel and re-read on one thread when a line is bad,
checks run once per distinct value, staged rows spilled to disk, and typed
Parquet timestamps used as they are.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geoenergy.ingest.readings as readings_mod
import geoenergy.ingest.sources as sources_mod
from geoenergy.ingest import ingest_readings, ingest_registry, open_table
from geoenergy.ingest.checks import RowChecks, check_float, check_text, distinct, parse_timestamps
from geoenergy.ingest.merge import local_ns
from geoenergy.ingest.readings import infer_intervals
from geoenergy.readings import ReadingsStore

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stored(ws) -> pd.DataFrame:
    rs = ReadingsStore(ws.readings_path, ws.settings.readings_buckets)
    df = pd.concat([rs.read_bucket(b) for b in range(rs.n_buckets)], ignore_index=True)
    return df.sort_values(["meter_id", "timestamp"], ignore_index=True)


def test_bad_lines_in_several_blocks_keep_their_numbers(tmp_path, kit, monkeypatch):
    # Blocks of ~64 bytes: every few lines a new block, bad lines in two of them.
    monkeypatch.setattr(sources_mod, "CSV_BLOCK_BYTES", 64)
    lines = ["meter_id,timestamp,kwh"]
    for h in range(12):
        lines.append(f"M1,2023-11-15 {h:02d}:00,{h}")
        if h in (2, 9):
            lines.append(f"M1,2023-11-15 {h:02d}:30,{h},EXTRA")
    path = kit.write(tmp_path / "r.csv", "\n".join(lines) + "\n")
    src = open_table(path, "readings")
    chunks = list(src.iter_arrow(5))
    rows = np.concatenate([r for _, r in chunks])
    kwh = [v for t, _ in chunks for v in t.column("kwh").to_pylist()]
    assert len(chunks) > 2
    assert all(t.num_rows <= 5 for t, _ in chunks)
    assert [(b.row_number, b.text) for b in src.bad_lines] == [
        (4, "M1,2023-11-15 02:30,2,EXTRA"),
        (12, "M1,2023-11-15 09:30,9,EXTRA"),
    ]
    assert rows.tolist() == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13, 14]
    assert kwh == [str(h) for h in range(12)]


def test_small_blocks_and_spilled_staging_give_the_same_store(
    ws_reg, make_ws, tmp_path, kit, monkeypatch
):
    rows = [
        (m, f"2023-11-{d:02d} {h:02d}:00", d + h)
        for m in ("M1", "M2")
        for d in (15, 16)
        for h in range(24)
    ]
    rows.insert(7, ("M1", "2023-11-15 07:00", 99))  # a conflicting duplicate
    rows.insert(30, ("M9", "2023-11-15 00:00", 1))  # an unknown meter
    path = kit.readings_csv(tmp_path / "r.csv", rows)
    first = ingest_readings(ws_reg, path)

    other = make_ws("other")
    ingest_registry(other, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
    monkeypatch.setattr(sources_mod, "CSV_BLOCK_BYTES", 100)
    monkeypatch.setattr(readings_mod, "STAGE_IN_MEMORY_ROWS", 10)
    second = ingest_readings(other, path, chunk_rows=7)

    assert (second.n_rows, second.n_accepted, second.n_duplicates, second.n_rejected) == (
        first.n_rows,
        first.n_accepted,
        first.n_duplicates,
        first.n_rejected,
    )
    assert second.problems == first.problems
    pd.testing.assert_frame_equal(_stored(other), _stored(ws_reg))
    assert [r["row"] for r in kit.rejected_rows(other)] == [
        r["row"] for r in kit.rejected_rows(ws_reg)
    ]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_parquet_naive_timestamps_are_local_and_aware_are_converted(ws_reg, tmp_path, unit):
    local = pd.date_range("2023-11-15 08:00", periods=3, freq="h").as_unit(unit)
    naive = tmp_path / "naive.parquet"
    pd.DataFrame({"meter_id": "M1", "timestamp": local, "kwh": [1.0, 2.0, 3.0]}).to_parquet(naive)
    aware = tmp_path / "aware.parquet"
    pd.DataFrame(
        {
            "meter_id": "M2",
            "timestamp": local.tz_localize("Europe/Berlin"),
            "kwh": [1.0, 2.0, 3.0],
        }
    ).to_parquet(aware)
    assert ingest_readings(ws_reg, naive).n_accepted == 3
    assert ingest_readings(ws_reg, aware).n_accepted == 3
    stored = _stored(ws_reg)
    got = stored.groupby("meter_id")["timestamp"].first()
    assert got["M1"] == pd.Timestamp("2023-11-15 00:00", tz="UTC")  # Shanghai = UTC+8
    assert got["M2"] == pd.Timestamp("2023-11-15 07:00", tz="UTC")  # Berlin = UTC+1


def test_parquet_rejects_keep_typed_values(ws_reg, tmp_path, kit):
    path = tmp_path / "r.parquet"
    pd.DataFrame(
        {
            "meter_id": ["M1", "M1", "M9", None],
            "timestamp": pd.to_datetime(["2023-11-15 08:00", "2023-11-15 09:00"] * 2),
            "kwh": [1.0, -2.0, 1.0, 1.0],
        }
    ).to_parquet(path)
    rep = ingest_readings(ws_reg, path)
    assert (rep.n_accepted, rep.n_rejected) == (1, 3)
    rows = {r["row"]: r for r in kit.rejected_rows(ws_reg)}
    assert rows[2]["value"] == "-2.0"
    assert rows[3]["value"] == "M9"
    assert "not in the meter registry" in rows[3]["reason"]
    assert rows[4]["column"] == "meter_id"
    assert rows[4]["raw"]["timestamp"] == "2023-11-15 09:00:00"


_value = st.sampled_from(
    ["", " ", "M1", " M1", "2023-11-15 08:00", "2023-11-15T08:00Z", "x", "-1", "1,5", "2", "nan"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_value, _value, _value), min_size=1, max_size=25))
def test_checking_distinct_values_equals_checking_rows(rows):
    df = pd.DataFrame(rows, columns=["meter_id", "timestamp", "kwh"], dtype=object)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    direct = RowChecks(df)
    check_text(direct, df["meter_id"], "meter_id", "the meter's id")
    ts_direct = parse_timestamps(direct, df["timestamp"], "timestamp", SHANGHAI)
    kwh_direct = check_float(direct, df["kwh"], "kwh", unit="kWh", minimum=0.0)

    table = pa.table({c: pa.array(df[c].tolist(), pa.string()) for c in df.columns})
    combined = RowChecks(None, n=len(df))
    codes, uni = distinct(table.column("meter_id"))
    sub = RowChecks(uni.to_frame("meter_id"))
    check_text(sub, uni, "meter_id", "the meter's id")
    combined.absorb(sub, codes)
    codes, uni = distinct(table.column("timestamp"))
    sub = RowChecks(uni.to_frame("timestamp"))
    ts = parse_timestamps(sub, uni, "timestamp", SHANGHAI).to_numpy(dtype="datetime64[ns]")[codes]
    combined.absorb(sub, codes)
    codes, uni = distinct(table.column("kwh"))
    sub = RowChecks(uni.to_frame("kwh"))
    kwh = check_float(sub, uni, "kwh", unit="kWh", minimum=0.0)[codes]
    combined.absorb(sub, codes)

    assert combined.problem.tolist() == direct.problem.tolist()
    assert combined.reason.tolist() == direct.reason.tolist()
    assert combined.column.tolist() == direct.column.tolist()
    np.testing.assert_array_equal(ts, ts_direct.to_numpy(dtype="datetime64[ns]"))
    np.testing.assert_array_equal(kwh, kwh_direct)


@pytest.mark.parametrize("tz", ["Europe/Berlin", "Asia/Shanghai", "America/St_Johns", "UTC"])
def test_local_times_match_pandas_across_daylight_saving(tz):
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2023-01-01", tz="UTC").value
    ts = start + rng.integers(0, 400 * 86400, 5000) * 1_000_000_000
    ts[:4] = pd.to_datetime(
        [
            "2023-03-26 00:59:59",
            "2023-03-26 01:00:00",
            "2023-10-29 00:59:59",
            "2023-10-29 01:00:00",
        ],
        utc=True,
    ).asi8
    expected = pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    np.testing.assert_array_equal(local_ns(ts, tz), expected.tz_localize(None).asi8)


def test_intervals_when_the_time_span_needs_ranked_times():
    # Two centuries in nanoseconds do not fit beside the meter rank: times are ranked.
    times = pd.to_datetime(
        ["1990-01-01 00:00", "1990-01-01 01:00", "1990-01-01 02:00", "2190-01-01 00:00:00.5"],
        utc=True,
        format="ISO8601",
    )
    df = pd.DataFrame({"meter_id": ["A", "A", "A", "B"], "timestamp": times})
    got = infer_intervals(df)
    assert got.to_dict() == {"A": 3600.0}


def test_mode_beyond_the_accepted_intervals_is_counted_exactly():
    # 10-minute spacing most often, then 1 h: the 10 min wins and is reported.
    base = pd.Timestamp("2023-11-15", tz="UTC")
    offsets = [0, 10, 20, 30, 40, 100, 160]
    df = pd.DataFrame(
        {"meter_id": "A", "timestamp": [base + pd.Timedelta(minutes=m) for m in offsets]}
    )
    assert infer_intervals(df).to_dict() == {"A": 600.0}


def _history_state(ws, kit):
    import sqlalchemy as sa

    from geoenergy.store import Meter, Store

    with Store.for_workspace(ws) as store, store.session() as s:
        meters = {
            m.meter_id: (m.interval_s, m.first_reading, m.last_reading, m.n_readings)
            for m in s.scalars(sa.select(Meter))
        }
    rejected = [(r["row"], r["reason"]) for r in kit.rejected_rows(ws)]
    return _stored(ws), meters, rejected


@pytest.mark.parametrize(
    "second",
    [
        "append",  # continues every series: the store is not read
        "other_spacing",  # continues at 30 min: the store is read
        "overlap",  # repeats the last stored hour
        "backfill",  # fills a gap inside the stored range
        "new_meter",  # a meter with no stored reading
    ],
)
def test_appending_without_reading_the_store_gives_the_same_state(
    make_ws, tmp_path, kit, monkeypatch, second
):
    first = [(m, f"2023-11-15 {h:02d}:00", h) for m in ("M1", "M2") for h in range(24) if h != 5]
    nxt = {
        "append": [(m, f"2023-11-16 {h:02d}:00", h) for m in ("M1", "M2") for h in range(24)],
        "other_spacing": [("M1", f"2023-11-16 00:{m:02d}", 1) for m in (0, 30)],
        "overlap": [("M1", "2023-11-15 23:00", 23), ("M1", "2023-11-16 00:00", 2)],
        "backfill": [("M2", "2023-11-15 05:00", 5), ("M2", "2023-11-16 00:00", 1)],
        "new_meter": [("M3", f"2023-11-16 {h:02d}:00", h) for h in range(3)]
        + [("M1", "2023-11-16 00:00", 1)],
    }[second]
    a = kit.readings_csv(tmp_path / "a.csv", first)
    b = kit.readings_csv(tmp_path / "b.csv", nxt)
    states = []
    for fast in (True, False):
        monkeypatch.setattr(readings_mod, "APPEND_FAST_PATH", fast)
        ws = make_ws(f"ws-{fast}")
        ingest_registry(ws, kit.write(tmp_path / "reg.csv", kit.REGISTRY))
        ingest_readings(ws, a)
        if fast and second in ("append", "new_meter"):

            def unread(*args, **kwargs):
                raise AssertionError("the store was read for an append")

            monkeypatch.setattr(readings_mod, "_stored_rows", unread)
        rep = ingest_readings(ws, b)
        monkeypatch.undo()
        states.append(
            ((rep.n_accepted, rep.n_duplicates, rep.n_rejected), *_history_state(ws, kit))
        )
    (counts_f, rows_f, meters_f, rej_f), (counts_s, rows_s, meters_s, rej_s) = states
    assert counts_f == counts_s
    pd.testing.assert_frame_equal(rows_f, rows_s)
    assert meters_f == meters_s
    assert rej_f == rej_s
