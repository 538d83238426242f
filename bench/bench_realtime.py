"""Benchmark: live data-centre readings through the ingest API, and PUE visible.

``python -m bench.bench_realtime`` builds a workspace (untimed; SpatiaLite,
or PostGIS with ``--db``): a registry of 500 data centres x 2 meters
(facility and IT), their ``data_centres`` layer and one token per data
centre. It starts the app with uvicorn on loopback (one worker, a
subprocess, so its CPU and memory are its own) and then:

1. **live**: every data centre sends one batch a minute (its two meters'
   1-minute readings), spread evenly over the minute, for ``--minutes``
   minutes (default 10) of wall time, ``--minute-s`` seconds each (default
   60: real time);
2. **backlog**: every data centre sends a day of readings (1,440 minutes x 2
   meters = 2,880 rows) in one request, at most ``--concurrency`` requests
   in flight; a 429 is retried after its ``Retry-After``.

Printed per phase: batches, rows, sustained rows/s, p50 / p95 / max latency
of a batch [ms], 429s and errors, the server's CPU [s and % of one core]
and peak RSS [MiB]; in the live phase also the lag from a reading's arrival
to its PUE being visible at ``GET /api/v1/pue`` (five probe data centres
poll every 0.5 s after each of their batches), p50 / p95 / max [s]. The correctness note of the
same run: every acknowledged row is in the store, none twice, and the rows
stored equal the rows acknowledged (nothing lost).

The baseline beside it: the same batch ingested in process by
``geoenergy.ingest.ingest_readings`` from a CSV file (no HTTP), p50 / p95
[ms], i.e. what the file route costs per batch.

Loopback only; every loop is bounded by the sizes given. ``--small``: 50
data centres, 2 minutes of 10 s (a smoke run). ``--buckets`` (readings
store partitions, default 64) and ``--rules-every-s`` (period of the alert
rules) show what the latency depends on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def build(work: Path, n_dc: int, db: str | None, buckets: int, rules_every_s: float | None):
    """Workspace, registry, layer and one token per data centre (untimed)."""
    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_layer, ingest_registry
    from geoenergy.monitor.tokens import add_token
    from geoenergy.store import upgrade

    settings = {"readings_buckets": buckets} | ({"db_url": db} if db else {})
    ws = Workspace.create(work / "ws", **settings)
    if rules_every_s is not None:
        with open(ws.config_path, "a", encoding="utf-8") as fh:
            fh.write(f"\n[monitor.api]\nrules_every_s = {float(rules_every_s)!r}\n")
        ws = Workspace(ws.path)
    upgrade(ws.db_url)
    rng = np.random.default_rng(17)
    lon = 116.2 + rng.random(n_dc) * 0.5
    lat = 39.7 + rng.random(n_dc) * 0.4
    ids = [f"DC{i:04d}" for i in range(n_dc)]
    reg = pd.DataFrame(
        {
            "meter_id": [f"{d}-{k}" for d in ids for k in ("F", "IT")],
            "address": [f"{d} site" for d in ids for _ in (0, 1)],
            "customer_class": "data_centre",
            "lon": np.repeat(lon, 2),
            "lat": np.repeat(lat, 2),
        }
    )
    reg.to_csv(work / "registry.csv", index=False)
    ingest_registry(ws, work / "registry.csv")
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {
                "name": d,
                "pue": 1.4,
                "cooling": "water",
                "meter_id": f"{d}-F",
                "it_meter_id": f"{d}-IT",
                "status": "existing",
            },
        }
        for d, x, y in zip(ids, lon, lat, strict=True)
    ]
    (work / "dc.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    ingest_layer(ws, "data_centres", work / "dc.geojson")
    tokens = {d: add_token(ws.store, d, [f"{d}-F", f"{d}-IT"])[0] for d in ids}
    return ws, ids, tokens


def start_server(ws):
    port = _free_port()
    env = dict(os.environ, GEOENERGY_WORKSPACE=str(ws.path), GEOENERGY_DB=ws.db_url)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geoenergy.web.app:app_from_env"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"]
    cmd += ["--timeout-keep-alive", "65"]  # as `geoenergy serve`
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):  # bounded wait: 60 s
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


class Usage:
    """CPU time [s] and peak RSS [MiB] of the server process."""

    def __init__(self, pid: int):
        import psutil

        self.p = psutil.Process(pid)
        self.t0 = self._cpu()
        self.w0 = time.perf_counter()

    def _cpu(self) -> float:
        t = self.p.cpu_times()
        return t.user + t.system

    def read(self) -> dict:
        cpu = self._cpu() - self.t0
        wall = time.perf_counter() - self.w0
        peak = None
        try:
            with open(f"/proc/{self.p.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak = int(line.split()[1]) / 1024.0
        except OSError:
            peak = self.p.memory_info().rss / 2**20
        return {"cpu_s": cpu, "cpu_pct": 100.0 * cpu / wall if wall else 0.0, "peak_rss_mib": peak}


def _rows(dc: str, times, seed: int):
    it = 50.0 + (seed % 7)
    return [
        row
        for t in times
        for row in (
            {"meter_id": f"{dc}-F", "timestamp": t, "kwh": round(it * 1.3 / 60, 4)},
            {"meter_id": f"{dc}-IT", "timestamp": t, "kwh": round(it / 60, 4)},
        )
    ]


async def _post(client, url, token, body, stats):
    """POST a batch as a gateway should: a 429/503 is sent again after its
    Retry-After, a lost connection at once (bounded: 20 tries)."""
    import httpx

    t0 = time.perf_counter()
    r = None
    for _ in range(20):
        try:
            r = await client.post(
                f"{url}/api/v1/readings", json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TransportError:  # e.g. a keep-alive connection closed: send it again
            stats["resent"] += 1
            await asyncio.sleep(0.2)
            continue
        if r.status_code in (429, 503):
            stats["retries"] += 1
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))
            continue
        break
    dt_ms = (time.perf_counter() - t0) * 1000.0
    if r is None or r.status_code != 200:
        stats["errors"] += 1
        return None
    j = r.json()
    stats["latency_ms"].append(dt_ms)
    stats["batches"] += 1
    stats["rows"] += j["rows"]
    stats["accepted"] += j["accepted"]
    stats["duplicates"] += j["duplicates"]
    stats["rejected"] += j["rejected"]
    return j


def _new_stats():
    return {
        "batches": 0,
        "rows": 0,
        "accepted": 0,
        "duplicates": 0,
        "rejected": 0,
        "errors": 0,
        "retries": 0,
        "resent": 0,
        "latency_ms": [],
        "lag_s": [],
        "lag_first_s": [],
        "not_visible": 0,
    }


async def live(url, ids, tokens, start, minutes: int, minute_s: float, probe_dcs):
    import httpx

    stats = _new_stats()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        probes = []

        async def probe(dc, t_iso, t_sent, first):
            want = pd.Timestamp(t_iso).tz_convert("UTC")
            for _ in range(120):  # bounded: 60 s of polling every 0.5 s
                r = await client.get(
                    f"{url}/api/v1/pue",
                    params={"data_centre": dc, "resolution": "hour"},
                    headers={"Authorization": f"Bearer {tokens[dc]}"},
                )
                last = r.json().get("last_reading") if r.status_code == 200 else None
                if last and pd.Timestamp(last) >= want:
                    key = "lag_s" if first is False else "lag_first_s"
                    stats[key].append(time.perf_counter() - t_sent)
                    return
                await asyncio.sleep(0.5)
            stats["not_visible"] += 1

        async def one(dc, t_iso, delay, first):
            await asyncio.sleep(delay)
            t_sent = time.perf_counter()
            j = await _post(client, url, tokens[dc], _rows(dc, [t_iso], hash(dc)), stats)
            if j is not None and dc in probe_dcs:
                probes.append(asyncio.create_task(probe(dc, t_iso, t_sent, first)))

        for m in range(minutes):
            t_iso = (start + pd.Timedelta(minutes=m)).isoformat()
            t_minute = time.perf_counter()
            await asyncio.gather(
                *(one(dc, t_iso, i * minute_s / len(ids), m == 0) for i, dc in enumerate(ids))
            )
            rest = minute_s - (time.perf_counter() - t_minute)
            if rest > 0:
                await asyncio.sleep(rest)
        await asyncio.gather(*probes)
    return stats


async def backlog(url, ids, tokens, day_start, concurrency: int):
    import httpx

    stats = _new_stats()
    times = [(day_start + pd.Timedelta(minutes=k)).isoformat() for k in range(1440)]
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600) as client:

        async def one(dc):
            async with sem:
                await _post(client, url, tokens[dc], _rows(dc, times, hash(dc)), stats)

        await asyncio.gather(*(one(dc) for dc in ids))
    return stats


def baseline(work: Path, ws, ids, tokens, start, n: int) -> list[float]:
    """The same 2-row batches ingested in process from a CSV file [ms]."""
    from geoenergy.ingest import ingest_readings

    out = []
    for k, dc in enumerate(ids[:n]):
        t = (start + pd.Timedelta(minutes=k % 30)).isoformat()
        path = work / f"base-{k}.csv"
        pd.DataFrame(_rows(dc, [t], hash(dc))).to_csv(path, index=False)
        t0 = time.perf_counter()
        ingest_readings(ws, path)
        out.append((time.perf_counter() - t0) * 1000.0)
        path.unlink()
    return out


def check(ws, expected_rows: int) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [p for paths in ws.readings.files().values() for p in paths]
    table = pa.concat_tables([pq.read_table(p, columns=["meter_id", "timestamp"]) for p in files])
    df = table.to_pandas()
    dup = int(df.duplicated().sum())
    ok = dup == 0 and len(df) == expected_rows
    return (
        f"{'OK' if ok else 'MISMATCH'}: {len(df):,} rows stored, {expected_rows:,} acknowledged "
        f"as accepted, {dup} stored twice, {len(files):,} Parquet files"
    )


def _table(name, s, wall, usage):
    lat = s["latency_ms"]
    print(
        f"{name:<8} {s['batches']:>7,} {s['rows']:>10,} {s['rows'] / wall:>9,.0f} "
        f"{_pct(lat, 50):>8.0f} {_pct(lat, 95):>8.0f} {max(lat or [0]):>8.0f} "
        f"{s['retries'] + s['resent']:>5} {s['errors']:>4} {usage['cpu_s']:>7.1f} {usage['cpu_pct']:>5.0f} "
        f"{usage['peak_rss_mib']:>7.0f}"
    )


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_realtime", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--small", action="store_true", help="50 data centres, 2 minutes of 10 s")
    p.add_argument("--data-centres", type=int, help="data centres (2 meters each); default 500")
    p.add_argument("--minutes", type=int, help="live minutes; default 10")
    p.add_argument("--minute-s", type=float, help="wall seconds per live minute; default 60")
    p.add_argument("--concurrency", type=int, default=16, help="backlog requests in flight")
    p.add_argument("--db", help="store URL (PostGIS); default the workspace's SpatiaLite")
    p.add_argument("--buckets", type=int, default=64, help="readings store buckets")
    p.add_argument(
        "--rules-every-s", type=float, help="period of the alert rules [s] (app default 30)"
    )
    p.add_argument("--workdir", type=Path, help="work folder (default: temp, removed)")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    n_dc = args.data_centres or (50 if args.small else 500)
    minutes = args.minutes or (2 if args.small else 10)
    minute_s = args.minute_s or (10.0 if args.small else 60.0)
    tmp = None
    if args.workdir is None:
        work = Path(tempfile.mkdtemp(prefix="geoenergy-bench-realtime-"))
        tmp = work
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    print(
        f"GeoEnergy live ingest benchmark: {n_dc} data centres x 2 meters, {minutes} live "
        f"minutes of {minute_s:g} s, then a day's backlog; workdir {work}; cores "
        f"{os.cpu_count()}"
    )
    t0 = time.perf_counter()
    ws, ids, tokens = build(work, n_dc, args.db, args.buckets, args.rules_every_s)
    print(f"setup (untimed): {time.perf_counter() - t0:.0f} s")
    now = pd.Timestamp.now(tz=TZ).floor("min")
    live_start = now - pd.Timedelta(minutes=minutes)
    day_start = (now - pd.Timedelta(days=1)).normalize() - pd.Timedelta(days=1)
    proc, url = start_server(ws)
    out = {"data_centres": n_dc, "minutes": minutes, "minute_s": minute_s}
    try:
        print(
            f"\n{'phase':<8} {'batches':>7} {'rows':>10} {'rows/s':>9} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'max ms':>8} {'retry':>5} {'err':>4} {'cpu s':>7} {'cpu%':>5} "
            f"{'RSS MiB':>7}"
        )
        usage = Usage(proc.pid)
        w0 = time.perf_counter()
        probe_dcs = set(ids[:: max(1, len(ids) // 5)])
        s_live = asyncio.run(live(url, ids, tokens, live_start, minutes, minute_s, probe_dcs))
        u_live = usage.read()
        _table("live", s_live, time.perf_counter() - w0, u_live)
        files_live = sum(ws.readings.file_counts().values())
        usage = Usage(proc.pid)
        w0 = time.perf_counter()
        s_back = asyncio.run(backlog(url, ids, tokens, day_start, args.concurrency))
        u_back = usage.read()
        _table("backlog", s_back, time.perf_counter() - w0, u_back)
        w_back = time.perf_counter() - w0
        files_back = sum(ws.readings.file_counts().values())
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    lag = s_live["lag_s"]
    print(
        f"readings store: {files_live:,} Parquet files after the live phase, {files_back:,} "
        f"after the backlog ({args.buckets} buckets; the server compacts per [monitor.compaction])"
    )
    print(
        f"\nlag from arrival to PUE visible (5 probe data centres, {len(lag)} readings): p50 "
        f"{_pct(lag, 50):.2f} s, p95 {_pct(lag, 95):.2f} s, max {max(lag or [float('nan')]):.2f} s; "
        f"{s_live['not_visible']} not visible within 60 s; a meter's very first reading: "
        f"{max(s_live['lag_first_s'] or [float('nan')]):.1f} s (its interval is known, and "
        f"its step shown, once the second reading arrives)"
    )
    base = baseline(work, ws, ids, tokens, day_start - pd.Timedelta(days=1), min(50, n_dc))
    print(
        f"baseline, the same 2-row batch via ingest_readings from a CSV file in process: "
        f"p50 {_pct(base, 50):.0f} ms, p95 {_pct(base, 95):.0f} ms ({len(base)} batches)"
    )
    expected = s_live["accepted"] + s_back["accepted"] + 2 * len(base)
    note = check(ws, expected)
    print(f"correctness: {note}")
    out.update(
        live={k: v for k, v in s_live.items() if k not in ("latency_ms", "lag_s", "lag_first_s")}
        | {"p95_ms": _pct(s_live["latency_ms"], 95), "lag_p95_s": _pct(lag, 95)}
        | u_live,
        backlog={
            k: v for k, v in s_back.items() if k not in ("latency_ms", "lag_s", "lag_first_s")
        }
        | {"p95_ms": _pct(s_back["latency_ms"], 95), "rows_per_s": s_back["rows"] / w_back}
        | u_back,
        baseline_p95_ms=_pct(base, 95),
        files_after_live=files_live,
        files_after_backlog=files_back,
        correctness=note,
    )
    ws.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
