"""The readings suite: ingesting meter files and opening them as xarray, vs pandas.

Its two parts live in :mod:`bench.bench_ingest` and :mod:`bench.bench_open`;
this module runs them on one synthetic data set and prints one table.
``python -m bench readings`` runs both at the default size;
``python -m bench readings open --meters 100000 --days 365 --interval day``
(or ``python -m bench open ...``) runs one part at another size.
See ``bench/README.md``.

Every case runs in a fresh subprocess. Times are wall-clock seconds [s] of
the timed part only (data generation and workspace setup are not timed);
throughput is input readings per second [rows/s]; peak memory is the
subprocess's own peak RSS [MiB] (``VmHWM`` on Linux, else ``ru_maxrss``;
see :func:`bench._common.peak_rss_mib`), which includes the interpreter,
imports and untimed setup.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench import bench_ingest, bench_open
from bench._common import ADJ, Dataset, Row, print_table

BENCHMARKS = {"ingest": bench_ingest.run, "open": bench_open.run}
SIZES = {
    "small": (200, 14),  # smoke run, seconds
    "default": (2000, 60),  # ~2.9 M hourly rows, a few minutes
    "large": (20000, 365),  # ~175 M hourly rows; tens of GB of CSV (see the README on scale)
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench readings", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "benchmarks",
        nargs="*",
        metavar="BENCHMARK",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)",
    )
    p.add_argument("--size", choices=SIZES, default="default", help="preset meters x days")
    p.add_argument("--meters", type=int, help="number of meters (overrides --size)")
    p.add_argument("--days", type=int, help="number of local days (overrides --size)")
    p.add_argument(
        "--interval",
        choices=["hour", "day"],
        default="hour",
        help="reading interval of the synthetic data (default: hour)",
    )
    p.add_argument("--workdir", type=Path, help="keep data and workspaces here (default: temp)")
    p.add_argument("--no-baseline", action="store_true", help="skip the pandas baselines")
    p.add_argument("--timeout", type=float, help="per-case timeout [s]")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    unknown = set(args.benchmarks) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    return args


def main(argv=None) -> list[Row]:
    args = parse_args(argv)
    meters, days = SIZES[args.size]
    meters, days = args.meters or meters, args.days or days
    names = args.benchmarks or list(BENCHMARKS)
    if args.no_baseline and "ingest" in names:
        raise SystemExit("--no-baseline applies to `open` only; run `python -m bench open ...`.")

    tmp = None
    if args.workdir is None:
        tmp = tempfile.mkdtemp(prefix="geoenergy-bench-")
        work = Path(tmp)
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    data = Dataset(work, meters, days, args.interval)
    print(
        f"GeoEnergy benchmarks: {meters:,} meters x {days} days, {ADJ[args.interval]} readings "
        f"({data.rows:,} rows); workdir {work}"
    )
    results: dict[str, list[Row]] = {}
    t0 = time.perf_counter()
    try:
        for name in names:
            print(f"[{name}]")
            kw = {"timeout": args.timeout}
            if name == "open":
                kw["baseline_on"] = not args.no_baseline
            results[name] = BENCHMARKS[name](data, work, **kw)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(results, data, time.perf_counter() - t0)
    if args.json:
        args.json.write_text(json.dumps(to_json(results, data), indent=1), encoding="utf-8")
    return [r for rows in results.values() for r in rows]


def to_json(results: dict[str, list[Row]], data: Dataset) -> dict:
    def case(c):
        if c is None:
            return None
        return {
            "seconds": c.seconds,
            "rows": c.rows,
            "rows_per_s": c.rows_per_s,
            "peak_mib": c.peak_mib,
            "error": c.error,
            **c.extra,
        }

    return {
        "meters": data.meters,
        "days": data.days,
        "interval": data.interval,
        "rows": data.rows,
        "results": [
            {
                "benchmark": k,
                "case": r.name,
                "ratio": r.ratio,
                "note": r.note,
                "ours": case(r.ours),
                "baseline": case(r.baseline),
            }
            for k, rows in results.items()
            for r in rows
        ],
    }


if __name__ == "__main__":
    main()
