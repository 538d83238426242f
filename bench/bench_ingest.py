"""Benchmark: ingesting meter readings, against a plain pandas script.

Ours: ``geoenergy.ingest.ingest_readings(ws, path)`` into a workspace whose
registry lists every meter (row validation, local-time parsing, meter
buckets, interval inference, duplicate/conflict checks, transactional
commit). Baseline: what a utility analyst would otherwise write, with no
validation::

    df = pd.read_csv(path, parse_dates=["timestamp"])   # or pd.read_parquet
    df.drop_duplicates().to_parquet(out)

Cases (each side in a fresh subprocess; times [s] cover only the ingestion):

- ``ingest csv`` / ``ingest parquet``: first ingestion of the file.
- ``re-ingest same file``: the same CSV again. Ours recognises the file by
  its SHA-256 and changes nothing; the baseline re-reads the file and its
  store, concatenates, drops duplicates and rewrites the store.
- ``re-ingest resent copy``: the same rows under another name (meters in
  another order, so another hash). Ours reads and checks every row and
  finds them all duplicates; the baseline does as above.

Run alone: ``python -m bench ingest --meters 2000 --days 60`` (the readings suite,
:mod:`bench.bench_readings`, runs it; this module is one of its parts).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bench._common import Dataset, Row, new_workspace, run_case

HERE = "bench.bench_ingest"


# -- the timed cases (run in a fresh subprocess by run_case) --------------------------


def ours(workspace: str, registry: str, path: str) -> dict:
    """Time ``ingest_readings`` [s]; creates the workspace first when missing (untimed)."""
    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_readings

    ws_path = Path(workspace)
    if (ws_path / "geoenergy.toml").exists():
        ws = Workspace(ws_path)
    else:
        ws = new_workspace(ws_path, Path(registry))
    t0 = time.perf_counter()
    report = ingest_readings(ws, path)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": report.n_rows,
        "status": report.status,
        "accepted": report.n_accepted,
        "duplicates": report.n_duplicates,
        "rejected": report.n_rejected,
    }


def baseline(path: str, out: str, existing: str | None = None) -> dict:
    """Time the analyst's pandas script [s]: read, (append to ``existing``), dedupe, write."""
    import pandas as pd

    t0 = time.perf_counter()
    if path.endswith(".csv"):
        df = pd.read_csv(path, parse_dates=["timestamp"])
    else:
        df = pd.read_parquet(path)
    n_read = len(df)
    if existing is not None:
        df = pd.concat([pd.read_parquet(existing), df], ignore_index=True)
    df = df.drop_duplicates()
    df.to_parquet(out, index=False)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n_read, "stored": len(df)}


# -- the benchmark --------------------------------------------------------------------


def run(data: Dataset, work: Path, *, log=print, timeout: float | None = None) -> list[Row]:
    """Run all ingestion cases; leaves ``work/ws-parquet`` (a full workspace) and
    ``work/analyst-store.parquet`` (the baseline's store) for :mod:`bench.bench_open`.
    """
    data.ensure(csv=True, log=log)
    n = data.rows
    reg = str(data.registry_csv)
    csv, pq = str(data.readings_csv), str(data.readings_parquet)
    for p in ("ws-csv", "ws-parquet", "ws-same", "ws-resent"):
        shutil.rmtree(work / p, ignore_errors=True)
    base_csv = work / "analyst-store-csv.parquet"
    base_pq = work / "analyst-store.parquet"
    rows = []

    def case(name, ours_kw, base_kw, check):
        log(f"  {name} ...")
        o = run_case(f"{HERE}:ours", timeout=timeout, registry=reg, **ours_kw)
        b = run_case(f"{HERE}:baseline", timeout=timeout, **base_kw)
        if o.ok:
            check(o.extra)
        if b.ok:
            assert b.extra["stored"] == n, f"{name}: baseline stored {b.extra['stored']} rows"
        rows.append(Row(name, o, b))

    def first(extra):
        assert extra["accepted"] == n and extra["rejected"] == 0, extra

    case(
        "ingest csv",
        {"workspace": str(work / "ws-csv"), "path": csv},
        {"path": csv, "out": str(base_csv)},
        first,
    )
    case(
        "ingest parquet",
        {"workspace": str(work / "ws-parquet"), "path": pq},
        {"path": pq, "out": str(base_pq)},
        first,
    )
    if not rows[0].ours.ok or not rows[0].baseline.ok:
        log("  (skipping re-ingest cases: the first CSV ingestion failed)")
        return rows

    def same(extra):
        assert extra["status"] == "unchanged", extra

    shutil.copytree(work / "ws-csv", work / "ws-same")
    case(
        "re-ingest same file",
        {"workspace": str(work / "ws-same"), "path": csv},
        {"path": csv, "out": str(work / "analyst-same.parquet"), "existing": str(base_csv)},
        same,
    )

    def resent(extra):
        assert extra["duplicates"] == n and extra["accepted"] == 0, extra

    shutil.copytree(work / "ws-csv", work / "ws-resent")
    copy = str(data.readings_copy_csv)
    case(
        "re-ingest resent copy",
        {"workspace": str(work / "ws-resent"), "path": copy},
        {"path": copy, "out": str(work / "analyst-resent.parquet"), "existing": str(base_csv)},
        resent,
    )
    for p in ("ws-csv", "ws-same", "ws-resent"):
        shutil.rmtree(work / p, ignore_errors=True)
    for p in ("analyst-same.parquet", "analyst-resent.parquet", base_csv.name):
        (work / p).unlink(missing_ok=True)
    return rows
