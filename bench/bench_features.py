"""Benchmark: load-signature feature extraction, against tsfresh and a single NumPy pass.

Ours: :func:`detectors.features.extract_features` (26 features, status and
onset date per meter).

1. **Streamed, city scale** (default 100,000 meters x 365 days hourly,
   876 M readings): the readings are a dask array whose blocks of
   ``--chunk`` meters are generated lazily by a seeded generator
   (:func:`synthetic_readings`), so the array never exists in memory as a
   whole; dask's threaded scheduler with ``--workers`` (2) threads. The
   same lazy array is also reduced by the *floor*, one ``np.nanmean`` +
   ``np.nanstd`` per block, and by a generate-only pass (the cost of
   making the data, included in both), so the table shows ours / floor
   both with and without generation.
2. **Side by side, smaller** (default 2,000 meters x 60 days, the size of the
   readings benchmarks, in memory, on 2 threads (``extract_features(n_jobs=-1)``);
   at 200 meters our fixed cost of checks and table building, about 10 ms,
   dominates and the ratios drop to ~20x tsfresh and ~9x the floor -- try
   ``--compare-meters 200``): ours,
   tsfresh's ``extract_features`` with a comparable feature set (mean,
   standard deviation, quantiles, autocorrelation at lags 24 h and 168 h,
   change_quantiles, agg_linear_trend, ...; ``n_jobs=2``), and the floor.

Every case runs in a fresh subprocess (:func:`bench._common.run_case`), so
its peak memory [MiB] is its own peak RSS, interpreter and imports included.
Times are wall-clock seconds [s] of the timed call only; throughput is
readings per second [readings/s]. tsfresh is a bench-only dependency
(``pip install tsfresh``); without it that case reports an error.

Run alone::

    python -m bench.bench_features                      # 100,000 x 365 streamed + 200 x 60
    python -m bench.bench_features --small              # smoke run, well under a minute
    python -m bench.bench_features --meters 20000 --days 90 --compare-meters 500
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from bench._common import Row, run_case

HERE = "bench.bench_features"
START = "2024-01-01"  # first local day (Asia/Shanghai)
TIMEZONE = "Asia/Shanghai"

TSFRESH_PARAMETERS = {
    "mean": None,
    "standard_deviation": None,
    "maximum": None,
    "minimum": None,
    "median": None,
    "quantile": [{"q": q} for q in (0.05, 0.1, 0.9, 0.95)],
    "autocorrelation": [{"lag": 24}, {"lag": 168}],
    "change_quantiles": [{"ql": 0.0, "qh": 0.8, "isabs": True, "f_agg": "mean"}],
    "agg_linear_trend": [{"attr": "slope", "chunk_len": 24, "f_agg": "mean"}],
    "linear_trend": [{"attr": "slope"}, {"attr": "rvalue"}],
    "mean_abs_change": None,
    "variation_coefficient": None,
    "count_above_mean": None,
    "longest_strike_above_mean": None,
    "energy_ratio_by_chunks": [{"num_segments": 2, "segment_focus": 1}],
}
"""tsfresh calculators comparable to our features (level, peak, base, plateau,
hour-to-hour change, daily and weekly periodicity, trend / step)."""


# -- synthetic data, generated block by block -----------------------------------------


def _block(meters: int, hours: int, seed: int, block: int) -> np.ndarray:
    """One block of hourly energy [kWh]: homes with a daily profile, 1 % flat rigs, gaps.

    One uniform draw per reading makes both the +-25 % noise and the 0.1 %
    of lost readings, so generating costs little next to what is measured.
    """
    rng = np.random.default_rng([seed, block])
    hod = np.arange(hours) % 24
    profile = 1.0 + 0.6 * np.sin((hod - 6.0) / 24.0 * 2 * np.pi)  # daytime peak
    base = rng.gamma(2.0, 0.4, size=(meters, 1))  # mean load [kW]
    rig = rng.random((meters, 1)) < 0.01  # a flat 8 kW mining load
    u = rng.random((meters, hours))
    load = np.where(rig, 8.0, base * profile) * (0.75 + 0.5 * u)
    load[u < 0.001] = np.nan  # lost readings
    return load


def synthetic_readings(meters: int, days: int, *, chunk: int = 1000, seed: int = 42, lazy=True):
    """Readings laid out like ``open_readings`` (UTC ``time``, ``local_time``, attrs).

    ``lazy=True`` gives a dask array whose blocks of ``chunk`` meters are
    generated when computed (deterministic per block), else a NumPy array.
    """
    import dask.array as da
    import pandas as pd
    import xarray as xr

    hours = days * 24
    local = pd.date_range(START, periods=hours, freq="h")
    utc = local.tz_localize(TIMEZONE).tz_convert("UTC").tz_localize(None)
    sizes = [min(chunk, meters - lo) for lo in range(0, meters, chunk)]
    if lazy:

        def make(block_info=None):
            i = block_info[None]["chunk-location"][0]
            return _block(sizes[i], hours, seed, i)

        data = da.map_blocks(
            make, chunks=(tuple(sizes), (hours,)), dtype=np.float64, meta=np.empty((0, 0))
        )
    else:
        data = np.concatenate([_block(n, hours, seed, i) for i, n in enumerate(sizes)])
    ids = np.char.add("M", np.char.zfill(np.arange(1, meters + 1).astype(str), 7))
    return xr.Dataset(
        {"kwh": (("meter", "time"), data)},
        coords={
            "meter": ids,
            "time": ("time", utc.to_numpy(), {"timezone": "UTC"}),
            "local_time": ("time", local.to_numpy(), {"timezone": TIMEZONE}),
            "customer_class": ("meter", np.full(meters, "residential")),
        },
        attrs={"step_s": 3600, "timezone": TIMEZONE},
    )


# -- the timed cases (each in a fresh subprocess) -------------------------------------


def _floor(block: np.ndarray) -> np.ndarray:
    """The single pass: one nanmean and one nanstd per meter."""
    return np.stack([np.nanmean(block, axis=1), np.nanstd(block, axis=1)], axis=1)


def streamed(kind: str, meters: int, days: int, chunk: int, workers: int, repeat: int = 1) -> dict:
    """Time a pass over the lazily generated array [s]: features, floor or generation.

    With ``repeat`` > 1 the best of that many passes (for small, noisy sizes).
    """
    import warnings

    import dask

    from detectors.features import extract_features

    ds = synthetic_readings(meters, days, chunk=chunk)
    rows = meters * days * 24
    x = ds.kwh.data
    extra = {"meters": meters}

    def once():
        if kind == "features":
            f = extract_features(ds)
            extra["ok"] = int(f.status.str.startswith("ok").sum())
        elif kind == "floor":
            x.map_blocks(_floor, chunks=(x.chunks[0], (2,)), dtype=np.float64).compute()
        else:  # generation only: make every block, keep one column
            x.map_blocks(lambda b: b[:, :1].copy(), chunks=(x.chunks[0], (1,))).compute()

    with dask.config.set(scheduler="threads", num_workers=workers), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        seconds = _best(once, repeat)
    return {"seconds": seconds, "rows": rows, **extra}


def _best(func, repeat: int) -> float:
    """Smallest wall-clock time of ``repeat`` calls [s]."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def small(kind: str, meters: int, days: int, repeat: int = 5) -> dict:
    """Time one method on an in-memory array [s], best of ``repeat``: features, floor, tsfresh."""
    import warnings

    ds = synthetic_readings(meters, days, lazy=False)
    rows = meters * days * 24
    warnings.simplefilter("ignore")
    if kind == "features":
        from detectors.features import extract_features

        seconds = _best(lambda: extract_features(ds), repeat)
        return {"seconds": seconds, "rows": rows, "columns": len(extract_features(ds).columns)}
    if kind == "floor":
        x = ds.kwh.values
        return {"seconds": _best(lambda: _floor(x), repeat), "rows": rows, "columns": 2}
    try:
        from tsfresh import extract_features as ts_extract
    except ImportError:
        raise SystemExit("tsfresh is not installed: pip install tsfresh") from None
    df = ds.kwh.to_dataframe().reset_index()[["meter", "time", "kwh"]].dropna()  # no NaN
    out = []

    def once():
        out.append(
            ts_extract(
                df,
                column_id="meter",
                column_sort="time",
                column_value="kwh",
                default_fc_parameters=TSFRESH_PARAMETERS,
                n_jobs=2,
                disable_progressbar=True,
            )
        )

    seconds = _best(once, min(repeat, 2))  # tsfresh is slow: best of two at most
    return {"seconds": seconds, "rows": rows, "columns": out[-1].shape[1]}


# -- the benchmark --------------------------------------------------------------------


def run_cases(
    meters: int,
    days: int,
    *,
    chunk: int = 1000,
    workers: int = 2,
    compare_meters: int = 200,
    compare_days: int = 60,
    tsfresh: bool = True,
    repeat: int = 1,
    timeout: float | None = None,
    log=print,
) -> list[Row]:
    """All cases; returns report rows (ours vs each baseline).

    ``repeat``: passes per streamed case (best taken); the in-memory cases
    take the best of 5 (tsfresh: of 2).
    """
    rows = []
    kw = {"meters": meters, "days": days, "chunk": chunk, "workers": workers, "repeat": repeat}
    log(f"  streamed {meters:,} x {days} d: features ...")
    ours = run_case(f"{HERE}:streamed", timeout=timeout, kind="features", **kw)
    log("  streamed: single pass ...")
    floor = run_case(f"{HERE}:streamed", timeout=timeout, kind="floor", **kw)
    log("  streamed: generation only ...")
    gen = run_case(f"{HERE}:streamed", timeout=timeout, kind="generate", **kw)
    note = ""
    if ours.ok:
        note = f"{ours.extra['ok']:,} of {ours.extra['meters']:,} meters ok"
    if ours.ok and floor.ok and gen.ok:
        note += f"; generating the data takes {gen.seconds:.2f} s of both"
        if floor.seconds - gen.seconds > 0.1 * floor.seconds:
            net = (ours.seconds - gen.seconds) / (floor.seconds - gen.seconds)
            note += f"; without it ours takes {net:.1f}x the single pass"
        else:
            note += "; too small to tell the single pass from the generation"
    rows.append(Row(f"streamed {meters:,}x{days}d vs single pass", ours, floor, note))

    kw = {"meters": compare_meters, "days": compare_days}
    log(f"  in memory {compare_meters:,} x {compare_days} d: features ...")
    ours_s = run_case(f"{HERE}:small", timeout=timeout, kind="features", **kw)
    log("  in memory: single pass ...")
    floor_s = run_case(f"{HERE}:small", timeout=timeout, kind="floor", **kw)
    rows.append(Row(f"in memory {compare_meters}x{compare_days}d vs single pass", ours_s, floor_s))
    if tsfresh:
        log("  in memory: tsfresh ...")
        ts = run_case(f"{HERE}:small", timeout=timeout, kind="tsfresh", **kw)
        note = f"tsfresh: {ts.extra.get('columns', '?')} features, n_jobs=2" if ts.ok else ""
        rows.append(
            Row(f"in memory {compare_meters}x{compare_days}d vs tsfresh", ours_s, ts, note)
        )
    return rows


def run(data, work=None, *, log=print, timeout: float | None = None) -> list[Row]:
    """The common ``run(data, work)`` signature: streams ``data.meters`` x ``data.days``.

    Generates its own data (lazily, in memory); ``data.ensure`` is not needed.
    """
    return run_cases(
        data.meters,
        data.days,
        compare_meters=min(200, data.meters),
        compare_days=min(60, data.days),
        timeout=timeout,
        log=log,
    )


def print_table(rows: list[Row], elapsed: float) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="Load-signature features: ours vs baselines",
        caption=escape(
            "time: wall-clock of the timed call [s]; ratio = baseline / ours (>1: ours "
            "faster); readings/s: input readings per second; peak: max RSS of a fresh "
            "subprocess per case, interpreter + imports included [MiB]. "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"total {elapsed:.0f} s."
        ),
    )
    for c in (
        "case",
        "ours [s]",
        "baseline [s]",
        "baseline / ours",
        "ours readings/s",
        "base readings/s",
        "ours peak [MiB]",
        "base peak [MiB]",
    ):
        table.add_column(escape(c), justify="left" if c == "case" else "right")
    table.add_column("notes", overflow="fold")

    def fmt(x, spec):
        return "-" if x is None else format(x, spec)

    for r in rows:
        o, b = r.ours, r.baseline
        ratio = None if not (o.ok and b.ok) else b.seconds / o.seconds
        notes = [r.note] if r.note else []
        if not o.ok:
            notes.append(f"ours failed: {o.error}")
        if not b.ok:
            notes.append(f"baseline failed: {b.error}")
        table.add_row(
            r.name,
            fmt(o.seconds, ".3f"),
            fmt(b.seconds, ".3f"),
            fmt(ratio, ".2f"),
            fmt(o.rows_per_s, ",.0f"),
            fmt(b.rows_per_s, ",.0f"),
            fmt(o.peak_mib, ",.0f"),
            fmt(b.peak_mib, ",.0f"),
            escape("; ".join(notes)),
        )
    Console(width=max(160, Console().width)).print(table)


def main(argv=None) -> list[Row]:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_features", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--meters", type=int, default=100_000, help="streamed meters (100,000)")
    p.add_argument("--days", type=int, default=365, help="streamed days (365)")
    p.add_argument("--chunk", type=int, default=1000, help="meters per dask block (1000)")
    p.add_argument("--workers", type=int, default=2, help="dask threads (2)")
    p.add_argument("--compare-meters", type=int, default=2000, help="meters side by side (2,000)")
    p.add_argument("--compare-days", type=int, default=60, help="days side by side (60)")
    p.add_argument("--no-tsfresh", action="store_true", help="skip the tsfresh case")
    p.add_argument(
        "--small",
        action="store_true",
        help="smoke run: 5,000 x 60 streamed, 50 x 30 side by side (well under a minute)",
    )
    p.add_argument("--timeout", type=float, help="per-case timeout [s]")
    args = p.parse_args(argv)
    repeat = 1
    if args.small:
        args.meters, args.days, args.compare_meters, args.compare_days = 5000, 60, 50, 30
        repeat = 3
    print(
        f"Feature extraction: {args.meters:,} meters x {args.days} days hourly streamed "
        f"({args.meters * args.days * 24:,} readings, blocks of {args.chunk} meters, "
        f"{args.workers} threads); {args.compare_meters} x {args.compare_days} d side by side"
    )
    t0 = time.perf_counter()
    rows = run_cases(
        args.meters,
        args.days,
        chunk=args.chunk,
        workers=args.workers,
        compare_meters=args.compare_meters,
        compare_days=args.compare_days,
        tsfresh=not args.no_tsfresh,
        repeat=repeat,
        timeout=args.timeout,
    )
    print_table(rows, time.perf_counter() - t0)
    return rows


if __name__ == "__main__":
    main()
