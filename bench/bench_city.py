"""Benchmark: a city-scale run, stage by stage (ingest, detection, storing the run).

Default size: 100,000 meters x 120 days of hourly readings (288 M rows),
synthetic (:func:`bench._common.generate`: meters in blocks, a daytime
profile, 1 % flat 24/7 rigs). Stages, each in its own fresh process so its
peak memory is its own:

1. ``ingest``: ``ingest_readings`` of the Parquet file into a workspace whose
   registry lists every meter (every row checked, duplicates/conflicts
   against the store, intervals, grid, the transactional commit);
2. ``detect``: ``run_detection(ws, detector="unsupervised")``: opening the
   store as meters x hours, features, fitting and scoring, hotspots, and
   storing the run, its scores and flags in the relational store;
3. ``append``: ingesting one more day for every meter (the daily re-run's
   ingestion);
4. ``rerun``: ``run_detection`` again after the append, with the cache the
   first run left (:mod:`geoenergy.featurecache`): the old days' layouts are
   kept, only the new day's files are read; every kernel row is computed
   again (the window is a day longer). Printed next to the cold ``detect``;
5. ``cluster`` (with ``--cluster``): the same detection, from an empty
   cache, on a ``dask.distributed`` LocalCluster of two worker processes,
   its scores compared with the re-run's to the bit (not counted in the total).

Printed: wall-clock seconds [s] and peak RSS [MiB] per stage, readings per
second, and the load average (the machine may be shared). The aim for the
full size is under 10 minutes and under 4 GB on 2 cores.

Run: ``python -m bench city [--meters 100000 --days 120] [--workdir DIR] [--cluster]``;
``--meters 2000 --days 30`` is a smoke run of a minute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench._common import Dataset, new_workspace, run_case

HERE = "bench.bench_city"


def stage_ingest(workspace: str, registry: str, path: str) -> dict:
    """Ingest the readings [s]; the workspace and its registry are made first (untimed)."""
    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_readings

    ws_path = Path(workspace)
    ws = (
        Workspace(ws_path)
        if (ws_path / "geoenergy.toml").exists()
        else new_workspace(ws_path, Path(registry))
    )
    t0 = time.perf_counter()
    rep = ingest_readings(ws, path)
    seconds = time.perf_counter() - t0
    ws.close()
    return {
        "seconds": seconds,
        "rows": rep.n_rows,
        "accepted": rep.n_accepted,
        "duplicates": rep.n_duplicates,
        "rejected": rep.n_rejected,
    }


#: The columns of the scores compared between the local run and the cluster's.
COMPARED = ["meter_id", "score", "rank", "flagged", "status", "reasons", "p_value", "list"]


def stage_detect(
    workspace: str, cold: bool = True, scores_out: str | None = None, save: bool = True
) -> dict:
    """Score every meter and store the run [s]; ``cold``: with an empty feature cache.

    ``scores_out``: also write the scores there (Parquet, untimed).
    """
    from geoenergy.config import Workspace
    from geoenergy.detection import run_detection
    from geoenergy.featurecache import CACHE_FOLDER

    if cold:
        shutil.rmtree(Path(workspace) / CACHE_FOLDER, ignore_errors=True)
    ws = Workspace(Path(workspace))
    t0 = time.perf_counter()
    res = run_detection(ws, detector="unsupervised", save=save)
    seconds = time.perf_counter() - t0
    ws.close()
    if scores_out:
        res.scores[COMPARED].to_parquet(scores_out, index=False)
    return {
        "seconds": seconds,
        "meters": len(res.scores),
        "scored": int((res.scores["status"] == "ok").sum()),
        "flagged": int(res.n_flagged),
        "run_id": res.run_id,
        "notes": [n for n in res.notes if n.startswith(("readings:", "features:"))],
    }


def stage_detect_cluster(workspace: str, scores_out: str, local_scores: str) -> dict:
    """The cold detection on a two-worker ``dask.distributed`` LocalCluster [s].

    The workers are processes of their own (one thread each) that read the
    workspace's readings store; the run is not stored. Its scores are compared
    with the local run's on the same readings (``local_scores``), every column
    of :data:`COMPARED` to the bit.
    """
    import distributed
    import pandas as pd

    from bench._common import peak_rss_mib

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = stage_detect(workspace, cold=True, scores_out=scores_out, save=False)
        workers = client.run(peak_rss_mib)
    a, b = pd.read_parquet(local_scores), pd.read_parquet(scores_out)
    try:
        pd.testing.assert_frame_equal(b, a, check_exact=True)
        same = "identical to the local run (every column, to the bit)"
    except AssertionError as exc:
        same = "DIFFERENT from the local run: " + " ".join(str(exc).split())[:300]
    out["notes"] = [
        *out["notes"],
        f"scores: {same}",
        "workers: 2 processes x 1 thread, peak "
        + ", ".join(f"{v:,.0f}" for v in workers.values())
        + " MiB",
    ]
    return out


def write_next_day(data_dir: str, meters: int, days: int, out: str) -> dict:
    """The day after the data set, for every meter, as Parquet (untimed setup)."""
    import numpy as np
    import pandas as pd

    from bench._common import START, meter_ids

    day = pd.Timestamp(START) + pd.Timedelta(days=days)
    times = pd.date_range(day, periods=24, freq="h").to_numpy().astype("datetime64[s]")
    ids = meter_ids(meters)
    rng = np.random.default_rng(7)
    pd.DataFrame(
        {
            "meter_id": np.repeat(ids, 24),
            "timestamp": np.tile(times, meters),
            "kwh": np.round(rng.gamma(2.0, 0.4, meters * 24), 3),
        }
    ).to_parquet(out, index=False)
    return {"seconds": 0.0, "rows": meters * 24}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench city", description=__doc__)
    p.add_argument("--meters", type=int, default=100_000)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--workdir", type=Path, help="keep data and workspace here (default: temp)")
    p.add_argument("--timeout", type=float, help="per-stage timeout [s]")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="also run the cold detection on a 2-worker dask.distributed LocalCluster and "
        "compare its scores with the local run's",
    )
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="geoenergy-bench-city-"))
    work.mkdir(parents=True, exist_ok=True)
    data = Dataset(work, args.meters, args.days).ensure(csv=False)
    ws = work / "ws-city"
    shutil.rmtree(ws, ignore_errors=True)
    load_before = os.getloadavg()
    stages = {}
    print(f"  ingest {data.rows:,} readings ...", flush=True)
    stages["ingest"] = run_case(
        f"{HERE}:stage_ingest",
        timeout=args.timeout,
        workspace=str(ws),
        registry=str(data.registry_csv),
        path=str(data.readings_parquet),
    )
    if stages["ingest"].ok:
        print("  detect and store the run ...", flush=True)
        stages["detect"] = run_case(
            f"{HERE}:stage_detect", timeout=args.timeout, workspace=str(ws)
        )
        nxt = work / "next-day.parquet"
        run_case(
            f"{HERE}:write_next_day",
            data_dir=str(data.dir),
            meters=args.meters,
            days=args.days,
            out=str(nxt),
        )
        print("  append one day ...", flush=True)
        stages["append"] = run_case(
            f"{HERE}:stage_ingest",
            timeout=args.timeout,
            workspace=str(ws),
            registry=str(data.registry_csv),
            path=str(nxt),
        )
        if stages["append"].ok:
            print("  re-run detection after the append (warm cache) ...", flush=True)
            local_scores = work / "scores-local.parquet"
            stages["rerun"] = run_case(
                f"{HERE}:stage_detect",
                timeout=args.timeout,
                workspace=str(ws),
                cold=False,
                scores_out=str(local_scores),
            )
            if args.cluster and stages["rerun"].ok:
                print("  the same detection, cold, on a 2-worker LocalCluster ...", flush=True)
                stages["cluster"] = run_case(
                    f"{HERE}:stage_detect_cluster",
                    timeout=args.timeout,
                    workspace=str(ws),
                    scores_out=str(work / "scores-cluster.parquet"),
                    local_scores=str(local_scores),
                )
    load_after = os.getloadavg()
    print(
        f"\ncity run - {args.meters:,} meters x {args.days} days ({data.rows:,} hourly readings) "
        f"on {os.cpu_count()} cores"
    )
    total = 0.0
    for name, r in stages.items():
        if not r.ok:
            print(f"  {name:<7} failed: {r.error}")
            continue
        if name != "cluster":
            total += r.seconds
        rate = f"{r.rows / r.seconds:,.0f} readings/s" if r.rows and r.seconds else ""
        extra = ", ".join(f"{k} {v:,}" for k, v in r.extra.items() if isinstance(v, int))
        print(f"  {name:<7} {r.seconds:8.1f} s   peak {r.peak_mib:8,.0f} MiB   {rate}   {extra}")
        for note in r.extra.get("notes", []):
            print(f"          {note}")
    if "detect" in stages and "rerun" in stages and stages["detect"].ok and stages["rerun"].ok:
        print(
            f"  daily re-run {stages['rerun'].seconds:.1f} s vs cold detect "
            f"{stages['detect'].seconds:.1f} s"
        )
    print(f"  total   {total:8.1f} s (aim: under 600 s and 4,096 MiB per stage)")
    print(
        f"  load average (1, 5, 15 min) before {tuple(round(x, 1) for x in load_before)}, "
        f"after {tuple(round(x, 1) for x in load_after)}"
    )
    return {k: vars(v) for k, v in stages.items()}


if __name__ == "__main__":
    main()
