"""Shared helpers: synthetic data, fresh-subprocess cases, and result records.

Every timed case runs in its own fresh Python process (:func:`run_case`), so
the peak memory reported is that process's own peak resident set size [MiB]
(:func:`peak_rss_mib`). It includes the interpreter, the imports and the
untimed setup of the case (for example ingesting the small registry), not
only the timed call.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TIMEZONE = "Asia/Shanghai"
"""Zone of the naive synthetic timestamps (the workspace default; no DST)."""
START = "2024-01-01"
"""First local day of the synthetic readings."""
RESULT_MARK = "BENCH-RESULT "


# -- synthetic data -------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Synthetic meter data of ``meters`` meters over ``days`` local days.

    Readings are hourly (``interval="hour"``, 24 rows per meter and day) or
    daily (``interval="day"``, 1 row per meter and day); ``kwh`` [kWh] has
    three decimals so it survives the CSV round trip exactly.
    """

    root: Path
    meters: int
    days: int
    interval: str = "hour"

    @property
    def dir(self) -> Path:
        return self.root / f"data-{self.meters}m-{self.days}d-{self.interval}"

    @property
    def rows(self) -> int:
        per_day = 24 if self.interval == "hour" else 1
        return self.meters * self.days * per_day

    @property
    def registry_csv(self) -> Path:
        return self.dir / "registry.csv"

    @property
    def readings_csv(self) -> Path:
        return self.dir / "readings.csv"

    @property
    def readings_parquet(self) -> Path:
        return self.dir / "readings.parquet"

    @property
    def readings_copy_csv(self) -> Path:
        """Same rows as :attr:`readings_csv`, another order: other name and hash."""
        return self.dir / "readings-resent.csv"

    def ensure(self, *, csv: bool = True, log=print) -> Dataset:
        """Generate the files unless they already exist (generation is not timed)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        done = self.dir / ".complete"
        if done.exists() and (not csv or self.readings_csv.exists()):
            return self
        t0 = time.perf_counter()
        log(f"generating {self.rows:,} synthetic readings in {self.dir} ...")
        r = run_case(
            "bench._common:generate_case",
            root=str(self.root),
            meters=self.meters,
            days=self.days,
            interval=self.interval,
            csv=csv,
        )
        if not r.ok:
            raise RuntimeError(f"generating the synthetic data failed: {r.error}")
        done.touch()
        log(f"  done in {time.perf_counter() - t0:.1f} s")
        return self


def meter_ids(n: int) -> np.ndarray:
    """Meter ids ``M0000001`` ... (strings)."""
    return np.char.add("M", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)


def generate(ds: Dataset, *, csv: bool = True, seed: int = 42) -> None:
    """Write the registry CSV and the readings as Parquet (and CSV when ``csv``).

    Readings are written meter by meter in time order, in blocks of meters so
    memory stays bounded at any size. Timestamps are naive local times
    (``TIMEZONE``), as a utility export would give them.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = meter_ids(ds.meters)
    classes = np.array(["residential", "commercial", "industrial", "public"])
    pd.DataFrame(
        {
            "meter_id": ids,
            "address": [
                f"{i % 997 + 1} Synthetic Road, block {i // 997}" for i in range(ds.meters)
            ],
            "customer_class": classes[rng.integers(0, len(classes), ds.meters)],
            "lon": np.round(116.2 + rng.random(ds.meters) * 0.4, 6),
            "lat": np.round(39.7 + rng.random(ds.meters) * 0.4, 6),
        }
    ).to_csv(ds.registry_csv, index=False)

    step = "h" if ds.interval == "hour" else "D"
    times = pd.date_range(START, periods=ds.rows // ds.meters, freq=step).to_numpy()
    n_t = len(times)
    hour = (times.astype("datetime64[h]").astype(np.int64) % 24).astype(np.float64)
    profile = 1.0 + 0.6 * np.sin((hour - 6.0) / 24.0 * 2 * np.pi)  # daytime peak
    if ds.interval == "day":
        profile = np.full(n_t, 24.0)
    schema = pa.schema(
        [("meter_id", pa.string()), ("timestamp", pa.timestamp("s")), ("kwh", pa.float64())]
    )
    block = max(1, 2_000_000 // n_t)
    pq_writer = pq.ParquetWriter(ds.readings_parquet, schema, compression="zstd")
    csv_writer = pacsv.CSVWriter(ds.readings_csv, schema) if csv else None
    try:
        for lo in range(0, ds.meters, block):
            hi = min(ds.meters, lo + block)
            n_m = hi - lo
            base = rng.gamma(2.0, 0.4, size=(n_m, 1))  # mean load [kW]
            miner = rng.random((n_m, 1)) < 0.01  # flat 24/7 load of a mining rig
            load = np.where(miner, 8.0 + 0 * profile, base * profile)
            kwh = np.round(load * rng.lognormal(0.0, 0.25, size=(n_m, n_t)), 3)
            table = pa.table(
                {
                    "meter_id": np.repeat(ids[lo:hi], n_t),
                    "timestamp": np.tile(times.astype("datetime64[s]"), n_m),
                    "kwh": kwh.ravel(),
                },
                schema=schema,
            )
            pq_writer.write_table(table, row_group_size=1_000_000)
            if csv_writer is not None:
                csv_writer.write_table(table)
    finally:
        pq_writer.close()
        if csv_writer is not None:
            csv_writer.close()
    if csv:
        # The "resent" file: the same rows, meters in reverse order, so its
        # name and SHA-256 differ while every row duplicates a stored one.
        with open(ds.readings_csv, "rb") as f:
            header = f.readline()
            body = f.read()
        lines = body.splitlines(keepends=True)
        per_meter = n_t
        with open(ds.readings_copy_csv, "wb") as f:
            f.write(header)
            for lo in range(len(lines) - per_meter, -1, -per_meter):
                f.writelines(lines[lo : lo + per_meter])
        del lines, body


def generate_case(root: str, meters: int, days: int, interval: str, csv: bool) -> dict:
    """:func:`generate` as a subprocess case (keeps the parent process small)."""
    t0 = time.perf_counter()
    ds = Dataset(Path(root), meters, days, interval)
    generate(ds, csv=csv)
    return {"seconds": time.perf_counter() - t0, "rows": ds.rows}


# -- workspaces -----------------------------------------------------------------------


def new_workspace(path: Path, registry_csv: Path):
    """Create a workspace at ``path``, migrate its store and ingest the registry."""
    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_registry
    from geoenergy.store import upgrade

    ws = Workspace.create(path, timezone=TIMEZONE)
    upgrade(ws.db_url)
    ingest_registry(ws, registry_csv)
    return ws


# -- fresh-subprocess cases -----------------------------------------------------------


@dataclass
class CaseResult:
    """One timed case: ``seconds`` [s] of the timed part, ``peak_mib`` [MiB] max RSS."""

    seconds: float | None
    peak_mib: float | None
    rows: int = 0
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows_per_s(self) -> float | None:
        if not self.ok or not self.seconds:
            return None
        return self.rows / self.seconds


@dataclass
class Row:
    """One line of the report: our case and the baseline a user would otherwise run."""

    name: str
    ours: CaseResult
    baseline: CaseResult | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Our time / baseline time (below 1: we are faster)."""
        if self.baseline is None or not (self.ours.ok and self.baseline.ok):
            return None
        return self.ours.seconds / self.baseline.seconds


def run_case(func: str, timeout: float | None = None, **kwargs) -> CaseResult:
    """Run ``module:function(**kwargs)`` in a fresh Python process.

    The function returns ``{"seconds": ..., "rows": ..., **extra}``; the
    child adds its peak RSS [MiB] (:func:`peak_rss_mib`). A crash (for example the kernel
    killing an out-of-memory baseline) becomes a result with ``error`` set.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "bench._common", func, json.dumps(kwargs, default=str)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return CaseResult(None, None, error=f"timed out after {timeout:.0f} s")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            data = json.loads(line[len(RESULT_MARK) :])
            return CaseResult(
                seconds=data.pop("seconds"),
                peak_mib=data.pop("peak_mib"),
                rows=data.pop("rows", 0),
                extra=data,
            )
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
    why = "killed (out of memory?)" if proc.returncode in (-9, 137) else tail[0][:200]
    return CaseResult(None, None, error=f"exit {proc.returncode}: {why}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process [MiB].

    Linux: ``VmHWM`` of ``/proc/self/status``, which starts afresh at
    ``exec``. ``getrusage(RUSAGE_SELF).ru_maxrss`` does not: Linux carries it
    over from the forking parent, so a child of a large parent would report
    the parent's peak. Elsewhere: ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _child(func: str, kwargs_json: str) -> None:
    module, name = func.split(":")
    result = getattr(importlib.import_module(module), name)(**json.loads(kwargs_json))
    result["peak_mib"] = peak_rss_mib()
    print(RESULT_MARK + json.dumps(result, default=float), flush=True)


# -- the readings-style table (readings and webmap suites) ---------------------------

ADJ = {"hour": "hourly", "day": "daily"}
"""Adjective of a :class:`Dataset` interval, for titles."""


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(results: dict[str, list[Row]], data: Dataset, elapsed: float) -> None:
    """Print one row per case of ``results`` ({benchmark: rows}) as a rich table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=(
            f"GeoEnergy vs pandas - {data.meters:,} meters x {data.days} days "
            f"({data.rows:,} {ADJ[data.interval]} readings)"
        ),
        caption=escape(
            "time: wall-clock of the timed part [s]; ratio = ours / baseline (<1: ours faster); "
            "rows/s: input readings per second; peak: max RSS of a fresh subprocess per case "
            "(VmHWM, includes interpreter + imports) [MiB]. "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"total {elapsed:.0f} s."
        ),
    )
    for col in (
        "benchmark",
        "case",
        "ours [s]",
        "baseline [s]",
        "ratio",
        "ours rows/s",
        "base rows/s",
        "ours peak [MiB]",
        "base peak [MiB]",
    ):
        table.add_column(escape(col), justify="left" if col in ("benchmark", "case") else "right")
    table.add_column("notes", overflow="fold")
    for bench, rows in results.items():
        for r in rows:
            b = r.baseline
            notes = [r.note] if r.note else []
            if not r.ours.ok:
                notes.append(f"ours failed: {r.ours.error}")
            if b is not None and not b.ok:
                notes.append(f"baseline failed: {b.error}")
            table.add_row(
                bench,
                r.name,
                _fmt(r.ours.seconds, ".2f"),
                _fmt(b and b.seconds, ".2f"),
                _fmt(r.ratio, ".2f"),
                _fmt(r.ours.rows_per_s, ",.0f"),
                _fmt(b and b.rows_per_s, ",.0f"),
                _fmt(r.ours.peak_mib, ",.0f"),
                _fmt(b and b.peak_mib, ",.0f"),
                escape("; ".join(n for n in notes if n)),
            )
    Console(width=max(160, Console().width)).print(table)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
