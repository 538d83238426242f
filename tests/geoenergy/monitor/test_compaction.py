"""Compaction of the readings store during live ingestion: reads stay the same,
the file count stays bounded, and compaction never races an ingestion."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from geoenergy.config import Workspace
from geoenergy.errors import ConfigError
from geoenergy.monitor.stream import Compaction, Ingestor
from geoenergy.readings import open_readings

START = pd.Timestamp("2026-12-01T00:00:00+08:00")


def _batch(meter: str, k: int) -> list[dict]:
    t = (START + pd.Timedelta(minutes=5 * k)).isoformat()
    return [{"meter_id": meter, "timestamp": t, "kwh": str(1.0 + (k % 7) + 0.25 * len(meter))}]


def test_background_compaction_keeps_reads_and_bounds_files(monitor_ws):
    ws = monitor_ws
    ing = Ingestor(ws)
    cfg = Compaction(files_per_bucket=3, every_s=0.01)
    stop = threading.Event()
    seen_files: list[int] = []
    errors: list[BaseException] = []

    def background():  # what the API's evaluator thread does, only more often
        while not stop.is_set():
            try:
                ing.compact(cfg)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return
            seen_files.append(sum(ws.readings.file_counts().values()))
            stop.wait(0.01)

    th = threading.Thread(target=background)
    th.start()
    n = 40
    meters = ["F1", "I1", "X1"]
    try:
        for k in range(n):
            for m in meters:  # one small batch per meter: one file each
                res = ing.submit(_batch(m, k), {m})
                assert (res.accepted, res.rejected) == (1, 0), res.as_dict()
    finally:
        stop.set()
        th.join()
    assert not errors
    assert ing.compactions > 0
    # Without compaction the store would hold n * 3 files; with it, each
    # bucket at most files_per_bucket + 1 (the ingestion right after a check).
    final = ing.compact(cfg)
    assert final["files_after"] <= final["files_before"]
    counts = ws.readings.file_counts()
    assert all(c <= cfg.files_per_bucket for c in counts.values()), counts
    assert max(seen_files) <= ws.readings.n_buckets * (cfg.files_per_bucket + 1) + len(meters)

    ds = open_readings(ws, resolution="native").compute()
    assert ds.sizes["time"] == n
    for m in meters:
        want = [float(_batch(m, k)[0]["kwh"]) for k in range(n)]
        np.testing.assert_array_equal(ds.kwh.sel(meter=m).values, want)
    # Re-sending a batch after compaction is still a duplicate.
    again = ing.submit(_batch("F1", 3), {"F1"})
    assert (again.accepted, again.duplicates) == (0, 1)


def test_compaction_merges_only_small_files(monitor_ws):
    ws = monitor_ws
    ing = Ingestor(ws)
    for k in range(6):
        ing.submit(_batch("F1", k), {"F1"})
    rs = ws.readings
    (bucket,) = [b for b, c in rs.file_counts().items() if c]
    before = rs.read_bucket(bucket).sort_values("timestamp").reset_index(drop=True)
    # Every file is "large" at 1 byte: nothing to merge.
    assert rs.compact(buckets=[bucket], small_bytes=1)["buckets"] == 0
    assert rs.file_counts()[bucket] == 6
    assert ing.compact(Compaction(files_per_bucket=2))["buckets"] == 1
    assert rs.file_counts()[bucket] == 1
    for k in range(6, 9):
        ing.submit(_batch("F1", k), {"F1"})
    big = rs.files([bucket])[bucket][0]
    # The compacted file counts as large now: only the three new ones merge.
    res = rs.compact(buckets=[bucket], small_bytes=big.stat().st_size)
    assert res["buckets"] == 1 and rs.file_counts()[bucket] == 2
    after = rs.read_bucket(bucket).sort_values("timestamp").reset_index(drop=True)
    pd.testing.assert_frame_equal(after.iloc[:6], before)
    assert len(after) == 9


def test_compaction_settings_from_geoenergy_toml(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    assert Compaction.from_ws(ws) == Compaction()
    with open(ws.config_path, "a", encoding="utf-8") as fh:
        fh.write("\n[monitor.compaction]\nfiles_per_bucket = 8\nevery_s = 2.5\n")
    assert Compaction.from_ws(Workspace(ws.path)) == Compaction(files_per_bucket=8, every_s=2.5)
    with open(ws.config_path, "a", encoding="utf-8") as fh:
        fh.write("bogus = 1\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        Compaction.from_ws(Workspace(ws.path))
