"""Parsing a live batch, and the group commit that splits results exactly per batch."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoenergy.monitor.stream import BatchError, Ingestor, ingest_batch, parse_batch


def test_parse_json_and_csv_to_text_rows():
    rows = parse_batch(
        b'[{"meter_id": "F1", "timestamp": "2026-12-01T00:00:00+08:00", "kwh": 1.5}, 3]',
        "application/json; charset=utf-8",
    )
    assert rows[0] == {"meter_id": "F1", "timestamp": "2026-12-01T00:00:00+08:00", "kwh": "1.5"}
    assert rows[1].startswith("row is a int")
    csv = parse_batch(b"meter_id,timestamp,kwh,extra\nF1,2026-12-01 00:00,2,x\n", "text/csv")
    assert csv == [{"meter_id": "F1", "timestamp": "2026-12-01 00:00", "kwh": "2"}]


@pytest.mark.parametrize(
    ("body", "ctype", "status", "match"),
    [
        (b"{", "application/json", 400, "not valid JSON"),
        (b'{"a": 1}', "application/json", 400, "send a list"),
        (b"\xff", "application/json", 400, "UTF-8"),
        (b"a,b\n1,2\n", "text/csv", 400, "lacks"),
        (b"x", "application/xml", 415, "not accepted"),
        (b"[" + b",".join([b"{}"] * 11) + b"]", "application/json", 413, "at most 10"),
    ],
)
def test_unreadable_batches_name_the_fix(body, ctype, status, match):
    with pytest.raises(BatchError, match=match) as info:
        parse_batch(body, ctype, max_rows=10)
    assert info.value.status == status


@given(st.lists(st.fixed_dictionaries({"meter_id": st.text(), "kwh": st.floats()}), max_size=20))
def test_parse_never_fails_on_any_list_of_objects(rows):
    import json

    out = parse_batch(json.dumps(rows).encode(), "application/json")
    assert len(out) == len(rows) and all(isinstance(r, dict) for r in out)


def _rows(meter, times, kwh=1.0):
    return [{"meter_id": meter, "timestamp": t, "kwh": str(kwh)} for t in times]


T = [f"2026-12-01T00:{m:02d}:00+08:00" for m in range(0, 60, 5)]


def test_group_commit_splits_counts_exactly(monitor_ws):
    ws = monitor_ws
    # F1 already has T[0]: the same row again is a duplicate.
    first = ingest_batch(ws, _rows("F1", T[:1]), {"F1", "I1"})
    assert (first.accepted, first.duplicates, first.rejected) == (1, 0, 0)

    ing = Ingestor(ws)
    a = _rows("F1", T[:3]) + _rows("I1", T[:3], 0.8)  # 5 new, 1 duplicate
    b = [*_rows("X1", T[:2]), {"meter_id": "X1", "timestamp": T[2], "kwh": "-1"}]
    c = _rows("F1", T[3:5])  # same meter as a: must wait for the next group
    results = {}
    ing._busy = True  # hold the store as if a group were being ingested
    threads = [
        threading.Thread(
            target=lambda k=k, rows=rows, ok=ok: results.__setitem__(k, ing.submit(rows, ok))
        )
        for k, rows, ok in (("a", a, {"F1", "I1"}), ("b", b, {"X1"}), ("c", c, {"F1"}))
    ]
    for t in threads:
        t.start()
    for _ in range(200):  # bounded wait until all three are queued
        if ing.waiting() == 3:
            break
        time.sleep(0.01)
    with ing._cond:
        ing._busy = False
        ing._cond.notify_all()
    for t in threads:
        t.join(60)
    assert ing.groups == 2
    ra, rb, rc = results["a"], results["b"], results["c"]
    assert (ra.accepted, ra.duplicates, ra.rejected) == (5, 1, 0)
    assert (rb.accepted, rb.duplicates, rb.rejected) == (2, 0, 1)
    assert rb.rejections[0]["row"] == 3 and rb.rejections[0]["column"] == "kwh"
    assert (rc.accepted, rc.duplicates, rc.rejected) == (2, 0, 0)
    assert ra.ingest_id == rb.ingest_id != rc.ingest_id
