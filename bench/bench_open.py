"""Benchmark: opening the readings as xarray and reducing, against pandas.

Ours: ``geoenergy.readings.open_readings(ws, resolution=...)`` (a lazy,
dask-chunked ``(meter, time)`` grid read from the workspace's partitioned
Parquet store) followed by a reduction. Baseline: the analyst's pandas code
on the analyst's own Parquet store (the file :mod:`bench.bench_ingest`'s
baseline wrote, same rows)::

    df = pd.read_parquet(store)
    daily = df.groupby(["meter_id", df.timestamp.dt.floor("D")]).kwh.sum().unstack()

Cases (each side in a fresh subprocess, so max RSS is that case's peak):

- ``daily mean``: mean daily energy per meter [kWh/day]:
  ``open_readings(ws, resolution="daily").kwh.mean("time").compute()`` vs
  ``groupby(meter, local day).sum()`` -> meters x days -> ``mean(axis=1)``.
- ``hourly max``: peak hourly energy per meter [kWh]:
  ``open_readings(ws, resolution="hourly").kwh.max("time").compute()`` vs
  ``groupby("meter_id").kwh.max()``. Skipped for daily-interval data.

Correctness (untimed, fresh subprocess): the full meters x days matrix of
daily sums [kWh] from ``open_readings`` must equal the pandas one, and the
per-meter results of the timed cases must agree.

Run alone: ``python -m bench open --meters 2000 --days 60`` (the readings suite,
:mod:`bench.bench_readings`, runs it; this module is one of its parts).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench._common import TIMEZONE, Dataset, Row, new_workspace, run_case

HERE = "bench.bench_open"


# -- setup (untimed) ------------------------------------------------------------------


def prepare(workspace: str, registry: str, readings: str, store: str) -> dict:
    """Ingest ``readings`` into a new workspace and write the analyst's store."""
    import pandas as pd

    from geoenergy.ingest import ingest_readings

    t0 = time.perf_counter()
    if not (Path(workspace) / "geoenergy.toml").exists():
        ws = new_workspace(Path(workspace), Path(registry))
        report = ingest_readings(ws, readings)
        assert report.n_rejected == 0, report.summary()
    if not Path(store).exists():
        pd.read_parquet(readings).drop_duplicates().to_parquet(store, index=False)
    return {"seconds": time.perf_counter() - t0, "rows": 0}


# -- the timed cases ------------------------------------------------------------------


def ours(workspace: str, what: str, out: str, rows: int) -> dict:
    """Time open + reduce [s]; saves the per-meter result to ``out`` (.npz)."""
    from geoenergy.config import Workspace
    from geoenergy.readings import open_readings

    ws = Workspace(workspace)
    t0 = time.perf_counter()
    if what == "daily_mean":
        res = open_readings(ws, resolution="daily").kwh.mean("time").compute()
    else:
        res = open_readings(ws, resolution="hourly").kwh.max("time").compute()
    seconds = time.perf_counter() - t0
    np.savez(out, meter=res["meter"].to_numpy().astype(str), value=res.to_numpy())
    return {"seconds": seconds, "rows": rows}


def baseline(store: str, what: str, out: str, rows: int) -> dict:
    """Time the pandas equivalent [s]; saves the per-meter result to ``out`` (.npz)."""
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_parquet(store)
    if what == "daily_mean":
        daily = pandas_daily(df)
        res = daily.mean(axis=1)
    else:
        res = df.groupby("meter_id")["kwh"].max()
    seconds = time.perf_counter() - t0
    np.savez(out, meter=res.index.to_numpy().astype(str), value=res.to_numpy())
    return {"seconds": seconds, "rows": rows}


def pandas_daily(df):
    """Daily sums [kWh] per meter and local day (naive local timestamps), meters x days."""
    day = df["timestamp"].dt.floor("D")
    return df.groupby(["meter_id", day])["kwh"].sum().unstack("timestamp")


def check_daily(workspace: str, store: str) -> dict:
    """Assert open_readings' daily sums equal pandas' on the same data (untimed)."""
    import pandas as pd

    from geoenergy.config import Workspace
    from geoenergy.readings import open_readings

    ds = open_readings(Workspace(workspace), resolution="daily")
    assert ds.attrs["timezone"] == TIMEZONE
    ours_daily = ds.kwh.compute().to_pandas()
    ours_daily.columns = pd.DatetimeIndex(ds["local_time"].to_numpy())
    base = pandas_daily(pd.read_parquet(store))
    base = base.loc[ours_daily.index, ours_daily.columns]
    assert ours_daily.shape == base.shape, (ours_daily.shape, base.shape)
    assert not np.isnan(ours_daily.to_numpy()).any(), "complete synthetic days came out NaN"
    np.testing.assert_allclose(ours_daily.to_numpy(), base.to_numpy(), rtol=1e-9, atol=1e-9)
    diff = float(np.abs(ours_daily.to_numpy() - base.to_numpy()).max())
    return {"seconds": 0.0, "rows": int(ours_daily.size), "max_abs_diff_kwh": diff}


def _same(a: Path, b: Path) -> float:
    """Max abs difference [kWh] of two saved per-meter results, matched by meter."""
    x, y = np.load(a), np.load(b)
    ix = np.argsort(x["meter"])
    iy = np.argsort(y["meter"])
    assert (x["meter"][ix] == y["meter"][iy]).all(), "different meters"
    np.testing.assert_allclose(x["value"][ix], y["value"][iy], rtol=1e-9, atol=1e-9)
    return float(np.abs(x["value"][ix] - y["value"][iy]).max())


# -- the benchmark --------------------------------------------------------------------


def run(
    data: Dataset,
    work: Path,
    *,
    log=print,
    timeout: float | None = None,
    baseline_on: bool = True,
) -> list[Row]:
    """Run the open/reduce cases on ``work/ws-parquet`` (ingested here unless present)."""
    data.ensure(csv=False, log=log)
    ws = work / "ws-parquet"
    store = work / "analyst-store.parquet"
    if not (ws / "geoenergy.toml").exists() or not store.exists():
        log("  ingesting the readings for the open benchmark (untimed) ...")
        r = run_case(
            f"{HERE}:prepare",
            workspace=str(ws),
            registry=str(data.registry_csv),
            readings=str(data.readings_parquet),
            store=str(store),
        )
        if not r.ok:
            raise RuntimeError(f"preparing the open benchmark failed: {r.error}")
    whats = ["daily_mean"] + (["hourly_max"] if data.interval == "hour" else [])
    rows = []
    for what in whats:
        name = what.replace("_", " ")
        log(f"  {name} ...")
        o_out, b_out = work / f"ours-{what}.npz", work / f"base-{what}.npz"
        o = run_case(
            f"{HERE}:ours",
            timeout=timeout,
            workspace=str(ws),
            what=what,
            out=str(o_out),
            rows=data.rows,
        )
        b = None
        if baseline_on:
            b = run_case(
                f"{HERE}:baseline",
                timeout=timeout,
                store=str(store),
                what=what,
                out=str(b_out),
                rows=data.rows,
            )
        note = ""
        if o.ok and b is not None and b.ok:
            note = f"results agree (max |diff| {_same(o_out, b_out):.1e} kWh)"
        rows.append(Row(name, o, b, note))
    if baseline_on and all(r.baseline and r.baseline.ok for r in rows):
        log("  checking daily sums against pandas (untimed) ...")
        c = run_case(f"{HERE}:check_daily", timeout=timeout, workspace=str(ws), store=str(store))
        if not c.ok:
            raise AssertionError(f"daily sums differ from pandas: {c.error}")
        rows[0].note += (
            f"; daily sums equal pandas on {c.rows:,} meter-days "
            f"(max |diff| {c.extra['max_abs_diff_kwh']:.1e} kWh)"
        )
    return rows
