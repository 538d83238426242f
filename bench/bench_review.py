"""Benchmark: the review app under load, on PostGIS with 100,000 flags.

``python -m bench.bench_review`` builds a workspace on a fresh PostGIS
database (untimed): a registry of 100,000 meters in 16 districts, hourly
readings of the 2,000 best-ranked ones over 30 days, one detection run with
100,000 flags, hotspots, and 50 enforcement users. It starts the app with
uvicorn on loopback and runs locust headless: 50 concurrent officers log in,
then browse the queue (random pages, filters, sorts), open cases (mostly
near the top of the queue) and record actions (assign, schedule, note,
outcome) for 60 s, with 1-3 s of think time between steps
(:mod:`bench.locustfile_review`).

Printed per endpoint: requests, failures, requests per second and p50 /
p95 / p99 latency [ms]; then the error count, the 409 conflicts (two
officers acting on the same case version: the second is told to reload,
nothing is saved; expected, not an error) and the audit check: every action
the server accepted is a row of ``reviews`` and has its ``audit_log`` entry
(nothing lost), and no review exists that no client recorded.

Baseline, in the same run: the same queue page and case page computed in
process by the query functions (no HTTP, no concurrency), p50 / p95 [ms],
i.e. what a single analyst running the SQL would wait. The difference is
the web stack plus queueing under load. Also printed: the peak RSS of each
server worker [MiB].

Server and load generator run on separate cores (``taskset``): by default
the server on CPU 0 and locust on CPU 1 when the machine has two or more
(``--server-cpus``, ``--load-cpus``; ``--server-cpus ''`` for no pinning);
the database server is not pinned. The machine (CPU model, cores, memory,
load average before the run, PostgreSQL version) and the pinning are printed
with the figures. Right after the server starts, and before any other page,
one officer opens a case page: its time is printed beside the next 20 case
pages (the app warms up at start, so the first is no slower).

Options: ``--small`` (5,000 flags, 10 users, 15 s: a smoke run), ``--flags``,
``--users``, ``--seconds``, ``--workers`` (uvicorn worker processes,
default one per server CPU), ``--think LO,HI`` [s], ``--db URL`` (an admin URL of a
PostgreSQL server with PostGIS; default ``$GEOENERGY_BENCH_PG_URL`` or the
test server), ``--workdir DIR`` and ``--keep`` (keep the database and
workspace for another run).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):  # `python bench/bench_review.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench._common import REPO, CaseResult, Row

DEFAULT_PG_URL = "postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test"
PASSWORD = "bench passphrase 2023"
#: Inspection and schedule date of the simulated actions (today: valid for both).
TODAY = dt.date.today().isoformat()
#: Districts of Beijing with a rough centre (lon, lat) [degree].
DISTRICTS = {
    "东城区": (116.42, 39.93),
    "西城区": (116.37, 39.91),
    "朝阳区": (116.49, 39.95),
    "海淀区": (116.30, 39.96),
    "丰台区": (116.29, 39.86),
    "石景山区": (116.22, 39.91),
    "门头沟区": (116.10, 39.94),
    "房山区": (116.14, 39.75),
    "通州区": (116.66, 39.91),
    "顺义区": (116.65, 40.13),
    "昌平区": (116.23, 40.22),
    "大兴区": (116.34, 39.73),
    "怀柔区": (116.63, 40.32),
    "平谷区": (117.12, 40.14),
    "密云区": (116.84, 40.38),
    "延庆区": (115.97, 40.46),
}
CLASSES = ["residential"] * 6 + ["commercial"] * 2 + ["industrial", "public"]
TARGET_P95_MS = 300.0


@dataclass(frozen=True)
class Size:
    flags: int
    readings_meters: int
    days: int
    users: int
    seconds: int


SIZES = {
    "small": Size(flags=5_000, readings_meters=100, days=14, users=10, seconds=15),
    "full": Size(flags=100_000, readings_meters=2_000, days=30, users=50, seconds=60),
}


# -- setup (untimed) ------------------------------------------------------------------


def _pg_admin(url: str):
    import sqlalchemy as sa

    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(admin_url: str) -> str:
    """A new PostGIS database on the server of ``admin_url``; returns its URL."""
    admin = _pg_admin(admin_url)
    name = f"geoenergy_bench_review_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name)
    admin.dispose()
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    engine.dispose()
    return url.render_as_string(hide_password=False)


def drop_database(admin_url: str, db_url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(db_url).database
    admin = _pg_admin(admin_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _registry(n: int, rng) -> tuple:
    import pandas as pd

    ids = np.char.add("B", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)
    names = list(DISTRICTS)
    district = rng.integers(0, len(names), n)
    centre = np.array([DISTRICTS[d] for d in names])[district]
    lon = np.round(centre[:, 0] + rng.normal(0, 0.03, n), 6)
    lat = np.round(centre[:, 1] + rng.normal(0, 0.02, n), 6)
    frame = pd.DataFrame(
        {
            "meter_id": ids,
            "address": [
                f"北京市{names[d]}测试路{i % 997 + 1}号{i // 997 % 30 + 1}单元"
                for i, d in enumerate(district)
            ],
            "customer_class": np.array(CLASSES)[rng.integers(0, len(CLASSES), n)],
            "lon": lon,
            "lat": lat,
        }
    )
    return frame, np.array(names)[district]


def build(ws_path: Path, db_url: str, size: Size, *, log=print) -> dict:
    """Create and fill the workspace (untimed); returns what the load test needs."""
    import pandas as pd
    import sqlalchemy as sa

    from geoenergy.config import Workspace
    from geoenergy.ingest import ingest_readings, ingest_registry
    from geoenergy.store import DetectionRun, Flag, Hotspot, Store, User, upgrade
    from geoenergy.web.auth import hash_password

    rng = np.random.default_rng(20231201)
    t0 = time.perf_counter()
    ws = Workspace.create(ws_path, db_url=db_url, readings_buckets=16)
    upgrade(ws.db_url)
    files = ws_path / "files"
    files.mkdir(exist_ok=True)
    reg, districts = _registry(size.flags, rng)
    reg.to_csv(files / "registry.csv", index=False)
    ingest_registry(ws, files / "registry.csv")
    log(f"  registry of {size.flags:,} meters ingested ({time.perf_counter() - t0:.0f} s)")

    # Scores: most meters low, a tail of suspicious ones; rank 1 = highest score.
    score = np.clip(rng.beta(1.2, 6.0, size.flags), 0, 1)
    order = np.argsort(-score, kind="stable")
    rank = np.empty(size.flags, dtype=int)
    rank[order] = np.arange(1, size.flags + 1)
    top = order[: size.readings_meters]

    # Hourly readings of the best-ranked meters: a flat mining load for half of them.
    times = pd.date_range("2023-11-01", periods=size.days * 24, freq="h")
    hour = times.hour.to_numpy()
    profile = 0.5 + 0.9 * np.exp(-(((hour - 19) / 3.0) ** 2))
    rows = []
    onset_day = pd.Timestamp("2023-11-01") + pd.Timedelta(days=size.days // 3)
    for k, i in enumerate(top):
        if k % 2 == 0:
            kwh = np.where(times >= onset_day, 4.0, profile) * rng.lognormal(0, 0.05, len(times))
        else:
            kwh = profile * rng.lognormal(0, 0.2, len(times))
        rows.append(pd.DataFrame({"meter_id": reg.meter_id[i], "timestamp": times, "kwh": kwh}))
    readings = pd.concat(rows, ignore_index=True)
    readings["kwh"] = readings["kwh"].round(3)
    readings.to_parquet(files / "readings.parquet", index=False)
    ingest_readings(ws, files / "readings.parquet")
    log(f"  {len(readings):,} readings ingested ({time.perf_counter() - t0:.0f} s)")

    store = Store.for_workspace(ws)
    started = dt.datetime(2023, 11, 30, 2, 0, tzinfo=dt.UTC)
    with store.session() as s:
        run = DetectionRun(
            detector="robust",
            version="1.0",
            params={},
            started_at=started,
            finished_at=started,
            n_meters=size.flags,
            n_flagged=size.flags,
        )
        s.add(run)
        s.flush()
        run_id = run.id
        # Hotspots: 0.02-degree cells holding at least 5 of the best-ranked 5 %.
        best = order[: max(size.flags // 20, 10)]
        cell = np.floor(reg.lon.to_numpy()[best] / 0.02).astype(int) * 100_000 + np.floor(
            reg.lat.to_numpy()[best] / 0.02
        ).astype(int)
        hotspot_of = {}
        for j, c in enumerate(np.unique(cell)):
            members = best[cell == c]
            if len(members) < 5:
                continue
            cx, cy = (c // 100_000) * 0.02, (c % 100_000) * 0.02
            h = Hotspot(
                run_id=run_id,
                label=f"{districts[members[0]]}-{j}",
                n_flagged=len(members),
                total_score=float(score[members].sum()),
                members=[str(reg.meter_id[m]) for m in members],
                geom=f"SRID=4326;POLYGON(({cx} {cy}, {cx + 0.02} {cy}, {cx + 0.02} {cy + 0.02}, "
                f"{cx} {cy + 0.02}, {cx} {cy}))",
            )
            s.add(h)
            s.flush()
            for m in members:
                hotspot_of[m] = h.id
        n_hotspots = len(set(hotspot_of.values()))
    onset = onset_day.date()
    flags = [
        {
            "run_id": run_id,
            "meter_id": str(reg.meter_id[i]),
            "score": float(score[i]),
            "rank": int(rank[i]),
            "reasons": [
                f"night load {0.5 + score[i]:.2f}x day load",
                f"load {1 + 4 * score[i]:.1f}x the median of its peer group",
            ],
            "flagged": True,
            "status": "ok",
            "district": str(districts[i]),
            "building_use": "residential",
            "onset_date": onset if rank[i] <= size.readings_meters and rank[i] % 2 else None,
            "hotspot_id": hotspot_of.get(i),
            "features": {"night_day_ratio": round(0.5 + float(score[i]), 3)},
        }
        for i in range(size.flags)
    ]
    with store.session() as s:
        for lo in range(0, len(flags), 10_000):
            s.execute(sa.insert(Flag), flags[lo : lo + 10_000])
        # One Argon2 hash (default, production parameters) shared by the bench users.
        pw_hash = hash_password(PASSWORD)
        users = [f"officer{k:02d}" for k in range(1, size.users + 1)]
        s.execute(
            sa.insert(User),
            [{"name": u, "role": "enforcement", "password_hash": pw_hash} for u in users],
        )
    store.dispose()
    with open(files / "meters.txt", "w", encoding="utf-8") as f:
        f.writelines(f"{reg.meter_id[i]}\n" for i in order)
    info = {
        "ws": str(ws_path),
        "db_url": db_url,
        "users": users,
        "meters_file": str(files / "meters.txt"),
        "n_flags": size.flags,
        "n_hotspots": n_hotspots,
        "n_readings": len(readings),
        "setup_s": time.perf_counter() - t0,
    }
    (ws_path / "bench.json").write_text(json.dumps(info), encoding="utf-8")
    log(
        f"  {size.flags:,} flags, {n_hotspots} hotspots, {len(users)} users "
        f"({info['setup_s']:.0f} s setup)"
    )
    return info


# -- the server and the load ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pinned(cmd: list[str], cpus: str | None) -> list[str]:
    """``cmd`` run on CPUs ``cpus`` (taskset list, e.g. "0" or "0-1"); unchanged if None."""
    if not cpus or shutil.which("taskset") is None:
        return cmd
    return ["taskset", "-c", cpus, *cmd]


def default_cpus() -> tuple[str | None, str | None]:
    """(server, load generator) CPU lists: separate cores when there are two or more."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (n or 1) < 2:
        return None, None
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0, 1]
    half = max(1, len(cpus) // 2)
    as_list = lambda xs: ",".join(str(c) for c in xs)  # noqa: E731
    return as_list(cpus[:half]), as_list(cpus[half:])


def machine(server_cpus, load_cpus, db_url: str | None = None) -> dict:
    """What the figures were measured on."""
    import platform

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            mem_gib = int(f.readline().split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    pg = None
    if db_url:
        try:
            import sqlalchemy as sa

            engine = sa.create_engine(db_url)
            with engine.connect() as conn:
                pg = conn.exec_driver_sql("SHOW server_version").scalar()
            engine.dispose()
        except Exception:
            pg = None
    return {
        "cpu": model or "unknown",
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1) if mem_gib else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "postgresql": pg,
        "server_cpus": server_cpus or "not pinned",
        "load_cpus": load_cpus or "not pinned",
    }


def first_case_pages(url: str, user: str, meters: list[str], n: int = 20) -> dict:
    """Time [ms] of the first case page after start, and of the ``n`` next ones.

    One officer logs in and opens ``n + 1`` different cases near the top of
    the queue, one after the other (each reads its meter's readings once).
    """
    import requests

    s = requests.Session()
    page = s.get(url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = s.post(
        url + "/login",
        data={"name": user, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    if r.status_code != 303:
        raise RuntimeError(f"login of {user} failed: HTTP {r.status_code}")
    times = []
    for meter in meters[1 : n + 2]:  # meters[0] is the one the app warmed up with
        t = time.perf_counter()
        r = s.get(url + "/cases/" + quote(meter, safe=""), timeout=60)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    s.close()
    rest = times[1:]
    return {
        "first_ms": times[0],
        "next_p50_ms": statistics.median(rest),
        "next_max_ms": max(rest),
        "n": len(rest),
    }


def start_server(
    info: dict, workers: int, log=print, cpus: str | None = None
) -> tuple[subprocess.Popen, str]:
    """uvicorn with ``workers`` processes on a free loopback port (on CPUs ``cpus``);
    waits for /healthz."""
    import urllib.request

    port = _free_port()
    env = dict(os.environ)
    env.update(
        GEOENERGY_WORKSPACE=info["ws"],
        GEOENERGY_DB=info["db_url"],
        GEOENERGY_WEB_OPTIONS=json.dumps({"tile_url": None}),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "geoenergy.web.app:app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        # Longer than the users' think time, as behind a reverse proxy; with
        # uvicorn's 5 s a client may reuse a connection the server is closing.
        "--timeout-keep-alive",
        "75",
    ]
    proc = subprocess.Popen(_pinned(cmd, cpus), env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.3)
    else:
        stop_server(proc)
        raise RuntimeError("the app server did not answer /healthz within 120 s")
    log(f"  app server: {workers} uvicorn worker(s) on {url}, CPUs {cpus or 'not pinned'}")
    return proc, url


def _server_processes(proc: subprocess.Popen) -> list:
    """The processes serving requests: uvicorn's workers, or the server itself with one."""
    import psutil

    root = psutil.Process(proc.pid)
    return root.children(recursive=True) or [root]


def worker_peaks_mib(proc: subprocess.Popen) -> list[float]:
    """Peak RSS (VmHWM) of the server's worker processes [MiB]."""
    try:
        procs = _server_processes(proc)
    except Exception:
        return []
    out = []
    for p in procs:
        try:
            with open(f"/proc/{p.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        out.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return out


def server_cpu_s(proc: subprocess.Popen) -> float:
    """CPU time (user + system) the server's processes have used so far. [s]"""
    total = 0.0
    for p in _server_processes(proc):
        t = p.cpu_times()
        total += t.user + t.system
    return total


def cpu_per_page(url: str, user: str, meters: list[str], proc, n: int = 100) -> dict:
    """Server CPU time per queue page and per case page [ms], one request at a time.

    CPU time does not depend on how busy the machine is (wall time does): it
    says how many pages one dedicated core serves per second.
    """
    import requests

    s = requests.Session()
    page = s.get(url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    s.post(
        url + "/login",
        data={"name": user, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    rng = np.random.default_rng(7)
    out = {}
    for kind in ("queue", "case"):
        c0 = server_cpu_s(proc)
        for _ in range(n):
            if kind == "queue":
                pg = int(rng.choice([1, 1, 1, 2, 3, rng.integers(1, 2000)]))
                r = s.get(url + "/queue", params={"page": pg}, timeout=60)
            else:
                meter = meters[min(int(rng.pareto(1.2)), len(meters) - 1)]
                r = s.get(url + "/cases/" + quote(meter, safe=""), timeout=60)
            r.raise_for_status()
        out[kind] = (server_cpu_s(proc) - c0) * 1000 / n
    s.close()
    return out


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def run_locust(
    info: dict, url: str, size: Size, think: str, out: Path, log=print, cpus: str | None = None
) -> Path:
    """Run locust headless; returns the path of its ``*_stats.csv``."""
    actions = out / "actions.csv"
    actions.unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        BENCH_REVIEW_USERS=",".join(info["users"]),
        BENCH_REVIEW_PASSWORD=PASSWORD,
        BENCH_REVIEW_ACTIONS=str(actions),
        BENCH_REVIEW_METERS=info["meters_file"],
        BENCH_REVIEW_DISTRICTS=",".join(DISTRICTS),
        BENCH_REVIEW_THINK=think,
        BENCH_REVIEW_TODAY=TODAY,
        BENCH_REVIEW_N_USERS=str(size.users),
        BENCH_REVIEW_SECONDS=str(size.seconds),
        BENCH_REVIEW_LOGINS=str(out / "logins.json"),
    )
    prefix = out / "locust"
    # The locustfile resets the statistics when the last user has logged in and
    # stops `seconds` later: the figures are the steady state of browsing and
    # acting; login times (Argon2) are recorded apart. --run-time is a safety net.
    # Officers arrive a few per second (a morning shift, not one synchronised burst).
    spawn_rate = max(1, size.users // 25)
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).with_name("locustfile_review.py")),
        "--headless",
        "--users",
        str(size.users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{size.seconds + 300}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    log(f"  locust: {size.users} users, {size.seconds} s, think time {think} s ...")
    # Exit code 1 means "some requests failed": the figures say how many.
    subprocess.run(_pinned(cmd, cpus), env=env, cwd=out, check=False, timeout=size.seconds + 400)
    return Path(f"{prefix}_stats.csv")


def read_stats(path: Path) -> list[dict]:
    """Locust's per-endpoint stats: name, requests, failures, rps, p50/p95/p99 [ms]."""

    def ms(value: str) -> float:
        return float("nan") if value in ("N/A", "") else float(value)

    rows = []
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if not int(r["Request Count"]) and r["Name"] != "Aggregated":
                continue  # e.g. the logins, whose statistics were reset
            rows.append(
                {
                    "name": r["Name"] if r["Name"] != "Aggregated" else "all requests",
                    "requests": int(r["Request Count"]),
                    "failures": int(r["Failure Count"]),
                    "rps": float(r["Requests/s"]),
                    "p50": ms(r["50%"]),
                    "p95": ms(r["95%"]),
                    "p99": ms(r["99%"]),
                }
            )
    return rows


def check_audit(info: dict, actions_file: Path, first_review_id: int) -> dict:
    """Every action the server accepted is a review with its audit entry; none is extra."""
    import sqlalchemy as sa

    from geoenergy.store import AuditLog, Review, Store

    accepted = set()
    if actions_file.exists():
        for line in actions_file.read_text(encoding="utf-8").splitlines():
            meter, version = line.rsplit(",", 1)
            accepted.add((meter, int(version)))
    with Store(info["db_url"]) as store, store.session() as s:
        reviews = {
            (m, v): rid
            for rid, m, v in s.execute(
                sa.select(Review.id, Review.meter_id, Review.version).where(
                    Review.id > first_review_id
                )
            )
        }
        audited = {
            int(after["review_id"])
            for (after,) in s.execute(
                sa.select(AuditLog.after).where(
                    AuditLog.entity == "cases", AuditLog.action.like("review.%")
                )
            )
        }
    missing_review = accepted - set(reviews)
    missing_audit = [k for k in accepted if k in reviews and reviews[k] not in audited]
    unexpected = set(reviews) - accepted
    return {
        "accepted": len(accepted),
        "reviews": len(reviews),
        "lost": len(missing_review) + len(missing_audit),
        "unexpected": len(unexpected),
    }


def last_review_id(db_url: str) -> int:
    import sqlalchemy as sa

    from geoenergy.store import Review, Store

    with Store(db_url) as store, store.session() as s:
        return s.scalar(sa.select(sa.func.coalesce(sa.func.max(Review.id), 0)))


def direct_latencies(info: dict, n: int = 100) -> dict:
    """p50/p95 [ms] of the queue and case pages computed in process, without HTTP."""
    from geoenergy.config import Workspace
    from geoenergy.store import Store
    from geoenergy.web.cases import case_detail
    from geoenergy.web.profiles import clear_cache, load_profiles
    from geoenergy.web.queue import QueueQuery, queue_page

    ws = Workspace(info["ws"], db_url=info["db_url"])
    meters = Path(info["meters_file"]).read_text(encoding="utf-8").split()
    rng = np.random.default_rng(1)
    out = {"queue": [], "case": []}
    with Store.for_workspace(ws) as store:
        for k in range(n):
            q = QueueQuery(page=int(rng.choice([1, 2, 3, rng.integers(1, 2000)])))
            if k % 3 == 0:
                q = QueueQuery(district=str(rng.choice(list(DISTRICTS))), page=q.page)
            t = time.perf_counter()
            with store.session() as s:
                queue_page(s, q, with_addresses=True)
            out["queue"].append((time.perf_counter() - t) * 1000)
            meter = meters[min(int(rng.pareto(1.2)), len(meters) - 1)]
            clear_cache()  # measure the readings too, not the cache
            t = time.perf_counter()
            with store.session() as s:
                d = case_detail(s, meter, run_id=None, with_addresses=True)
            if d["meter"]["n_readings"]:
                load_profiles(ws, meter, interval_s=d["meter"]["interval_s"], store=store)
            out["case"].append((time.perf_counter() - t) * 1000)
    return {
        k: {"p50": statistics.median(v), "p95": float(np.percentile(v, 95))}
        for k, v in out.items()
    }


# -- the benchmark --------------------------------------------------------------------


def run_load(
    size: Size,
    *,
    admin_url: str,
    work: Path,
    workers: int | None = None,
    think: str = "1,3",
    keep: bool = False,
    log=print,
    cpus: tuple[str | None, str | None] | None = None,
) -> dict:
    """Build (or reuse) the workspace, run the load, check the audit log; returns figures."""
    ws_path = work / f"review-{size.flags}"
    info_path = ws_path / "bench.json"
    created_db = None
    if info_path.exists():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        log(f"  reusing {ws_path} ({info['n_flags']:,} flags)")
    else:
        shutil.rmtree(ws_path, ignore_errors=True)
        created_db = create_database(admin_url)
        log(f"  building the workspace in {ws_path} on a new PostGIS database ...")
        info = build(ws_path, created_db, size, log=log)
    server_cpus, load_cpus = default_cpus() if cpus is None else cpus
    if workers is None:
        workers = len(server_cpus.split(",")) if server_cpus else 2
    host = machine(server_cpus, load_cpus, info["db_url"])
    first_review = last_review_id(info["db_url"])
    direct = direct_latencies(info, n=60 if size.flags < 50_000 else 100)
    proc, url = start_server(info, workers, log=log, cpus=server_cpus)
    try:
        meters = Path(info["meters_file"]).read_text(encoding="utf-8").split()
        first = first_case_pages(url, info["users"][0], meters)
        log(
            f"  first case page after start {first['first_ms']:.0f} ms; the next "
            f"{first['n']}: p50 {first['next_p50_ms']:.0f} ms, max {first['next_max_ms']:.0f} ms"
        )
        t0 = time.perf_counter()
        cpu0 = server_cpu_s(proc)
        stats_csv = run_locust(info, url, size, think, work, log=log, cpus=load_cpus)
        elapsed = time.perf_counter() - t0
        # The server's share of a core over the load (logins included).
        cpu_share = (server_cpu_s(proc) - cpu0) / elapsed
        cpu_ms = cpu_per_page(url, info["users"][1], meters, proc)
        log(
            f"  server CPU per page: queue {cpu_ms['queue']:.1f} ms, case "
            f"{cpu_ms['case']:.1f} ms; CPU share of the server during the load {cpu_share:.0%}"
        )
        peaks = worker_peaks_mib(proc)
    finally:
        stop_server(proc)
    stats = read_stats(stats_csv)
    logins = json.loads((work / "logins.json").read_text(encoding="utf-8"))
    audit = check_audit(info, work / "actions.csv", first_review)
    if created_db and not keep:
        drop_database(admin_url, created_db)
        shutil.rmtree(ws_path, ignore_errors=True)
    return {
        "size": size,
        "workers": workers,
        "think": think,
        "stats": stats,
        "logins_ms": {
            "n": len(logins),
            "p50": float(np.percentile(logins, 50)) if logins else None,
            "p95": float(np.percentile(logins, 95)) if logins else None,
        },
        "audit": audit,
        "direct": direct,
        "elapsed_s": elapsed,
        "worker_peak_mib": peaks,
        "setup_s": info.get("setup_s"),
        "n_hotspots": info.get("n_hotspots"),
        "n_readings": info.get("n_readings"),
        "machine": host,
        "first_case": first,
        "cpu_ms_per_page": cpu_ms,
        "server_cpu_share": cpu_share,
    }


def print_report(fig: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    size = fig["size"]
    table = Table(
        title=(
            f"Review app under load: {size.flags:,} flags in PostGIS, {size.users} users, "
            f"{size.seconds} s, {fig['workers']} uvicorn worker(s), think time {fig['think']} s"
        ),
        caption=escape(
            "latency [ms] of locust over loopback; 'in process' = the same page's queries "
            "without HTTP or concurrency (p50/p95 [ms]); 409 = concurrent action on the same "
            "case version, refused with 'reload' (expected, not an error)."
        ),
    )
    for col in ("endpoint", "requests", "failures", "req/s", "p50", "p95", "p99", "in process"):
        table.add_column(col, justify="left" if col == "endpoint" else "right")
    direct = {"GET /queue": fig["direct"]["queue"], "GET /cases/{id}": fig["direct"]["case"]}
    for r in fig["stats"]:
        d = direct.get(r["name"])
        table.add_row(
            escape(r["name"]),
            f"{r['requests']:,}",
            f"{r['failures']:,}",
            f"{r['rps']:.1f}",
            f"{r['p50']:.0f}",
            f"{r['p95']:.0f}",
            f"{r['p99']:.0f}",
            f"{d['p50']:.0f} / {d['p95']:.0f}" if d else "",
        )
    console = Console(width=max(140, Console().width))
    console.print(table)
    total = next(r for r in fig["stats"] if r["name"] == "all requests")
    pages = [r for r in fig["stats"] if r["name"] in ("GET /queue", "GET /cases/{id}")]
    worst = max((r["p95"] for r in pages), default=float("nan"))
    a = fig["audit"]
    conflicts = sum(r["requests"] for r in fig["stats"] if "409" in r["name"])
    console.print(
        f"throughput {total['rps']:.1f} req/s; errors {total['failures']}; "
        f"p95 of queue and case pages {worst:.0f} ms (target < {TARGET_P95_MS:.0f} ms: "
        f"{'met' if worst < TARGET_P95_MS else 'NOT met'}); "
        f"actions accepted {a['accepted']}, conflicts (409) {conflicts}; "
        f"audit check: {a['reviews']} reviews, lost {a['lost']}, unexpected {a['unexpected']}; "
        f"logins (Argon2, all {fig['logins_ms']['n']} at the start) p50 "
        f"{fig['logins_ms']['p50'] or 0:.0f} ms, p95 {fig['logins_ms']['p95'] or 0:.0f} ms; "
        f"server worker peak RSS "
        f"{', '.join(f'{p:,.0f}' for p in fig['worker_peak_mib']) or '-'} MiB; "
        f"setup {fig['setup_s'] or 0:.0f} s (untimed)."
    )
    f = fig["first_case"]
    console.print(
        f"first case page after start {f['first_ms']:.0f} ms; the {f['n']} next case pages "
        f"p50 {f['next_p50_ms']:.0f} ms, max {f['next_max_ms']:.0f} ms (one officer, no load)."
    )
    c = fig["cpu_ms_per_page"]
    console.print(
        f"server CPU time per page (one at a time): queue {c['queue']:.1f} ms, case "
        f"{c['case']:.1f} ms, i.e. one dedicated core serves about "
        f"{1000 / max((c['queue'] + c['case']) / 2, 1e-9):.0f} pages/s; during the load the "
        f"server process got {fig['server_cpu_share']:.0%} of a core (the rest of its core "
        f"went to other processes of the machine)."
    )
    m = fig["machine"]
    console.print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, load average "
        f"before the run {m['load_average']}; Python {m['python']}, PostgreSQL "
        f"{m['postgresql']}; server on CPUs {m['server_cpus']}, locust on CPUs "
        f"{m['load_cpus']}, PostgreSQL not pinned."
    )


def run(data=None, work: Path | None = None, *, log=print, timeout=None, small=None) -> list[Row]:
    """Entry point for ``python -m bench review``: the full size, or --small for --size small.

    Returns one row per page: ``ours`` = p95 latency under load [s] and the
    largest server worker's peak RSS [MiB], ``baseline`` = p95 of the same
    page's queries in process without HTTP [s]; requests per second, p50, p99,
    failures and the audit check are in the note (the "rows/s" column does not
    apply).
    """
    if small is None:
        small = data is not None and getattr(data, "meters", 0) <= 200
    size = SIZES["small" if small else "full"]
    tmp = None
    if work is None:
        tmp = tempfile.mkdtemp(prefix="geoenergy-bench-review-")
        work = Path(tmp)
    try:
        fig = run_load(size, admin_url=_admin_url(None), work=Path(work), log=log)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print_report(fig)
    rows = []
    direct = {"GET /queue": fig["direct"]["queue"], "GET /cases/{id}": fig["direct"]["case"]}
    for r in fig["stats"]:
        if r["name"] not in direct:
            continue
        rows.append(
            Row(
                f"{r['name']} p95",
                CaseResult(r["p95"] / 1000, max(fig["worker_peak_mib"], default=None)),
                CaseResult(direct[r["name"]]["p95"] / 1000, None),
                note=(
                    f"{size.users} users: {r['rps']:.1f} req/s, p50 {r['p50']:.0f} ms, "
                    f"p99 {r['p99']:.0f} ms, {r['failures']} failures; audit lost "
                    f"{fig['audit']['lost']}"
                ),
            )
        )
    return rows


def _cpus(args) -> tuple[str | None, str | None] | None:
    if args.server_cpus is None and args.load_cpus is None:
        return None
    server, load = default_cpus()
    pick = lambda given, default: default if given is None else (given or None)  # noqa: E731
    return pick(args.server_cpus, server), pick(args.load_cpus, load)


def _admin_url(url: str | None) -> str:
    return url or os.environ.get("GEOENERGY_BENCH_PG_URL") or DEFAULT_PG_URL


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_review", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--small", action="store_true", help="5,000 flags, 10 users, 15 s (smoke run)")
    p.add_argument("--flags", type=int, help="flags (and meters) in the store")
    p.add_argument("--users", type=int, help="concurrent locust users")
    p.add_argument("--seconds", type=int, help="duration of the load [s]")
    p.add_argument(
        "--workers", type=int, help="uvicorn worker processes (default: one per server CPU)"
    )
    p.add_argument("--server-cpus", help="taskset CPU list of the server (default: half)")
    p.add_argument("--load-cpus", help="taskset CPU list of locust (default: the other half)")
    p.add_argument("--think", default="1,3", help="think time between steps, 'LO,HI' [s]")
    p.add_argument("--db", help="admin URL of a PostgreSQL server with PostGIS")
    p.add_argument("--workdir", type=Path, help="workspace and locust files (default: temp)")
    p.add_argument("--keep", action="store_true", help="keep the database and workspace")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    base = SIZES["small" if args.small else "full"]
    size = Size(
        flags=args.flags or base.flags,
        readings_meters=min(base.readings_meters, args.flags or base.flags),
        days=base.days,
        users=args.users or base.users,
        seconds=args.seconds or base.seconds,
    )
    tmp = None
    if args.workdir is None:
        tmp = tempfile.mkdtemp(prefix="geoenergy-bench-review-")
        work = Path(tmp)
    else:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    print(f"GeoEnergy review-app load benchmark; workdir {work}")
    try:
        fig = run_load(
            size,
            admin_url=_admin_url(args.db),
            work=work,
            workers=args.workers,
            think=args.think,
            keep=args.keep or args.workdir is not None,
            cpus=_cpus(args),
        )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print_report(fig)
    if args.json:
        out = {**fig, "size": vars(size)}
        args.json.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    return fig


if __name__ == "__main__":
    main()
