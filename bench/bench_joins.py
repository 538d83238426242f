"""Benchmark: joining meters to buildings and districts, geopandas vs PostGIS.

Ours: :func:`layers.joins.join_meters` (geopandas STRtree ``sjoin`` for
point in polygon, ``sjoin_nearest`` with ``max_distance`` in UTM 50N for
the meters in no building, deterministic tie-breaks). Side by side, in the
same run, the same join in PostGIS (what a team whose data lives in the
database would run): :func:`layers.postgis.join_meters_postgis`, i.e.
``ST_Intersects`` and ``ST_DWithin`` + KNN ``<->`` in ``LEFT JOIN
LATERAL`` subqueries on GiST-indexed tables, written server-side into a
result table.

Synthetic city (untimed, GeoParquet in WGS84): a 30 km x 30 km square
around Beijing; ``--buildings`` rectangular footprints 10-45 m wide on a
jittered grid (no overlaps); 16 districts (Voronoi cells of random seeds,
edges densified to 50 m so point in polygon has real work); ``--points``
meters: 80 % inside a random building, 12 % 1-25 m outside one, 8 %
anywhere. Tolerance 20 m.

Cases (each in a fresh subprocess; times [s] cover only the join or load):

- ``load``: geopandas reads the three GeoParquet files; PostGIS loads them
  (reproject to EPSG:32650, ``COPY``, GiST index, ANALYZE) with
  :func:`layers.postgis.write_postgis`.
- ``districts``: point in polygon to the 16 districts.
- ``buildings``: point in polygon to the buildings, nearest within 20 m for
  the misses.
- ``all``: both, as the pipeline runs it.

Peak memory is the client process's peak RSS [MiB]; for PostGIS the
server's own memory is not included. Correctness (untimed): the per-meter
district, building and match of both sides must agree.

Run alone: ``python -m bench.bench_joins`` (1,000,000 points, 200,000
buildings), ``python -m bench.bench_joins --small`` (smoke run),
``--points N --buildings M``, ``--no-postgis``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench._common import CaseResult, Row, run_case

HERE = "bench.bench_joins"
DEFAULT_POINTS = 1_000_000
DEFAULT_BUILDINGS = 200_000
SMALL = (20_000, 4_000)
N_DISTRICTS = 16
TOLERANCE_M = 20.0
EXTENT_M = 30_000.0  # side of the synthetic city [m]
CENTRE = (446_000.0, 4_420_000.0)  # Beijing in UTM 50N [m]
UTM = "EPSG:32650"
DEFAULT_PG_URL = "postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test"
CASES = ("districts", "buildings", "all")


# -- synthetic data (untimed) ---------------------------------------------------------


def generate(workdir: str, points: int, buildings: int, seed: int = 7) -> dict:
    """Write meters, buildings and districts as WGS84 GeoParquet into ``workdir``."""
    import geopandas as gpd
    import shapely

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    x0, y0 = CENTRE[0] - EXTENT_M / 2, CENTRE[1] - EXTENT_M / 2
    # Buildings on a jittered grid: one per cell, never overlapping.
    per_side = int(np.ceil(np.sqrt(buildings)))
    spacing = EXTENT_M / per_side
    cells = rng.choice(per_side * per_side, size=buildings, replace=False)
    ci, cj = np.divmod(cells, per_side)
    size = np.minimum(rng.uniform(10.0, 45.0, (buildings, 2)), spacing * 0.9)
    slack = spacing - size
    bx = x0 + ci * spacing + rng.random(buildings) * slack[:, 0]
    by = y0 + cj * spacing + rng.random(buildings) * slack[:, 1]
    footprints = shapely.box(bx, by, bx + size[:, 0], by + size[:, 1])
    uses = np.array(["residential", "commercial", "industrial", "public", "agricultural"])
    bld = gpd.GeoDataFrame(
        {
            "building_id": np.char.add("B", np.arange(buildings).astype(str)).astype(object),
            "use": uses[rng.integers(0, len(uses), buildings)],
            "floor_area_m2": np.round(size[:, 0] * size[:, 1] * rng.integers(1, 20, buildings)),
        },
        geometry=footprints,
        crs=UTM,
    )
    # Meters: inside a building, just outside one, or anywhere.
    kind = rng.choice(3, size=points, p=[0.80, 0.12, 0.08])
    b = rng.integers(0, buildings, points)
    px = bx[b] + rng.random(points) * size[b, 0]
    py = by[b] + rng.random(points) * size[b, 1]
    near = kind == 1
    side = rng.integers(0, 4, points)
    gap = rng.uniform(1.0, 25.0, points)
    px = np.where(near & (side == 0), bx[b] - gap, px)
    px = np.where(near & (side == 1), bx[b] + size[b, 0] + gap, px)
    py = np.where(near & (side == 2), by[b] - gap, py)
    py = np.where(near & (side == 3), by[b] + size[b, 1] + gap, py)
    anywhere = kind == 2
    px = np.where(anywhere, x0 + rng.random(points) * EXTENT_M, px)
    py = np.where(anywhere, y0 + rng.random(points) * EXTENT_M, py)
    # A few meters beyond the districts, so some match no district.
    outside = rng.random(points) < 0.002
    px = np.where(outside, x0 - 1000.0 - rng.random(points) * 1000.0, px)
    mtr = gpd.GeoDataFrame(
        {"meter_id": np.char.add("M", np.char.zfill(np.arange(points).astype(str), 7))},
        geometry=gpd.points_from_xy(px, py),
        crs=UTM,
    )
    # Districts: Voronoi cells of 16 seeds, clipped to the city, edges densified.
    seeds = shapely.MultiPoint(
        np.column_stack(
            [x0 + rng.random(N_DISTRICTS) * EXTENT_M, y0 + rng.random(N_DISTRICTS) * EXTENT_M]
        )
    )
    city = shapely.box(x0, y0, x0 + EXTENT_M, y0 + EXTENT_M)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=city))
    polys = shapely.segmentize(shapely.intersection(cells, city), 50.0)
    dst = gpd.GeoDataFrame(
        {"name": [f"District {i + 1:02d}" for i in range(len(polys))]}, geometry=polys, crs=UTM
    )
    out = Path(workdir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("meters", mtr), ("buildings", bld), ("districts", dst)):
        frame.to_crs("EPSG:4326").to_parquet(out / f"{name}.parquet")
    return {"seconds": time.perf_counter() - t0, "rows": points}


def _read(workdir: str):
    import geopandas as gpd

    d = Path(workdir)
    return tuple(
        gpd.read_parquet(d / f"{n}.parquet") for n in ("meters", "districts", "buildings")
    )


def _summary(frame) -> dict:
    out = {}
    for col in ("district_match", "building_match"):
        if col in frame:
            out.update({f"{col}:{k}": int(v) for k, v in frame[col].value_counts().items()})
    return out


# -- the timed cases ------------------------------------------------------------------


def load_geopandas(workdir: str) -> dict:
    """Time reading the three GeoParquet files [s]."""
    t0 = time.perf_counter()
    meters, districts, buildings = _read(workdir)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(meters) + len(districts) + len(buildings)}


def join_geopandas(workdir: str, case: str, out: str) -> dict:
    """Time :func:`layers.joins.join_meters` [s] for one case; saves the result."""
    from layers.joins import join_meters

    meters, districts, buildings = _read(workdir)
    kw = {
        "districts": districts if case in ("districts", "all") else None,
        "buildings": buildings if case in ("buildings", "all") else None,
    }
    t0 = time.perf_counter()
    res = join_meters(meters, tolerance_m=TOLERANCE_M, crs=UTM, **kw)
    seconds = time.perf_counter() - t0
    keep = [c for c in res.columns if c != "geometry"]
    res[keep].to_parquet(out, index=False)
    return {"seconds": seconds, "rows": len(meters), **_summary(res)}


def load_postgis(workdir: str, url: str) -> dict:
    """Time loading the three layers into PostGIS (reproject, COPY, GiST, ANALYZE) [s]."""
    from layers.postgis import write_postgis

    meters, districts, buildings = _read(workdir)
    t0 = time.perf_counter()
    for name, frame in (("meters", meters), ("districts", districts), ("buildings", buildings)):
        write_postgis(frame, url, name, srid=32650, if_exists="replace")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(meters) + len(districts) + len(buildings)}


def join_postgis(url: str, case: str, out: str, rows: int) -> dict:
    """Time :func:`layers.postgis.join_meters_postgis` into a table [s]; saves the result."""
    import pandas as pd
    import sqlalchemy as sa

    from layers.postgis import join_meters_postgis

    engine = sa.create_engine(url)
    target = f"result_{case}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{target}"')
    kw = {
        "districts": "districts" if case in ("districts", "all") else None,
        "buildings": "buildings" if case in ("buildings", "all") else None,
    }
    t0 = time.perf_counter()
    n = join_meters_postgis(engine, tolerance_m=TOLERANCE_M, into=target, **kw)
    seconds = time.perf_counter() - t0
    with engine.connect() as conn:
        res = pd.read_sql_query(sa.text(f'SELECT * FROM "{target}"'), conn)
        settings = {
            k: conn.exec_driver_sql(f"SHOW {k}").scalar()
            for k in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather")
        }
    engine.dispose()
    res.to_parquet(out, index=False)
    return {"seconds": seconds, "rows": n, **_summary(res), "server": settings}


# -- comparison (untimed) -------------------------------------------------------------


def compare(ours: str, theirs: str) -> str:
    """How many meters get the same district / building / match from both sides."""
    import pandas as pd

    a = pd.read_parquet(ours).set_index("meter_id")
    b = pd.read_parquet(theirs).set_index("meter_id").reindex(a.index)
    notes = []
    for col in ("district", "building_id", "building_match"):
        if col in a and col in b:
            same = (a[col].astype(object).fillna("-") == b[col].astype(object).fillna("-")).sum()
            notes.append(f"{col} agree {same:,}/{len(a):,}")
    if "building_distance_m" in a:
        diff = np.nanmax(np.abs(a["building_distance_m"] - b["building_distance_m"]))
        notes.append(f"max distance diff {diff:.1e} m")
    return "; ".join(notes)


# -- PostGIS database -----------------------------------------------------------------


def _create_database(admin_url: str):
    """A fresh database with PostGIS, or (None, reason)."""
    import sqlalchemy as sa

    name = f"geoenergy_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = admin.url.set(database=name)
        eng = sa.create_engine(url)
        with eng.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        eng.dispose()
    except Exception as exc:
        admin.dispose()
        return None, None, str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return admin, (name, url.render_as_string(hide_password=False)), None


def _drop_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


# -- the benchmark --------------------------------------------------------------------


def run(
    data=None,
    work: Path | None = None,
    *,
    points: int | None = None,
    buildings: int | None = None,
    postgis: bool = True,
    pg_url: str | None = None,
    log=print,
    timeout: float | None = None,
) -> list[Row]:
    """Run all cases; returns one :class:`bench._common.Row` per case.

    Called as ``run(data, work, ...)`` with a :class:`bench._common.Dataset`: the full size,
    unless ``data.meters`` is the ``small`` preset's (<= 200), then
    :data:`SMALL`. Explicit ``points``/``buildings`` win.
    """
    if points is None or buildings is None:
        small = data is not None and getattr(data, "meters", DEFAULT_POINTS) <= 200
        dp, db = SMALL if small else (DEFAULT_POINTS, DEFAULT_BUILDINGS)
        points, buildings = points or dp, buildings or db
    tmp = None
    if work is None:
        tmp = tempfile.mkdtemp(prefix="geoenergy-bench-joins-")
        work = Path(tmp)
    data_dir = Path(work) / f"joins-{points}p-{buildings}b"
    rows: list[Row] = []
    admin = db = None
    try:
        if not (data_dir / "districts.parquet").exists():
            log(f"  generating {points:,} meters, {buildings:,} buildings ...")
            g = run_case(
                f"{HERE}:generate", timeout=timeout, workdir=str(data_dir), points=points,
                buildings=buildings,
            )  # fmt: skip
            if not g.ok:
                raise RuntimeError(f"generating the synthetic city failed: {g.error}")
            log(f"  done in {g.seconds:.1f} s")
        url = None
        why_not = "--no-postgis" if not postgis else None
        if postgis:
            admin_url = pg_url or os.environ.get("GEOENERGY_TEST_PG_URL", DEFAULT_PG_URL)
            admin, db, why_not = _create_database(admin_url)
            url = db[1] if db else None
            if why_not:
                log(f"  PostGIS not available ({why_not}): geopandas only")

        log("  load ...")
        ours = run_case(f"{HERE}:load_geopandas", timeout=timeout, workdir=str(data_dir))
        base = (
            run_case(f"{HERE}:load_postgis", timeout=timeout, workdir=str(data_dir), url=url)
            if url
            else None
        )
        rows.append(
            Row("load", ours, base, "geopandas: read GeoParquet; PostGIS: COPY + GiST + ANALYZE")
        )
        if base is not None and not base.ok:
            url = None
        for case in CASES:
            log(f"  {case} ...")
            out_ours = data_dir / f"ours-{case}.parquet"
            out_base = data_dir / f"postgis-{case}.parquet"
            ours = run_case(
                f"{HERE}:join_geopandas", timeout=timeout, workdir=str(data_dir), case=case,
                out=str(out_ours),
            )  # fmt: skip
            base = None
            if url:
                base = run_case(
                    f"{HERE}:join_postgis", timeout=timeout, url=url, case=case,
                    out=str(out_base), rows=points,
                )  # fmt: skip
            note = _note(ours, base, out_ours, out_base, why_not)
            rows.append(Row(case, ours, base, note))
    finally:
        if admin is not None and db is not None:
            _drop_database(admin, db[0])
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _note(ours: CaseResult, base: CaseResult | None, out_ours, out_base, why_not) -> str:
    parts = []
    if ours.ok:
        counts = {k.split(":")[1]: v for k, v in ours.extra.items() if k.startswith("building")}
        if counts:
            parts.append("building " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    if base is None:
        parts.append(f"PostGIS skipped ({why_not})" if why_not else "")
    elif base.ok and ours.ok:
        parts.append(compare(str(out_ours), str(out_base)))
    return "; ".join(p for p in parts if p)


# -- command line ---------------------------------------------------------------------


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(rows: list[Row], points: int, buildings: int, elapsed: float) -> None:
    import platform

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=(
            f"Joins: {points:,} meters x {buildings:,} buildings x {N_DISTRICTS} districts, "
            f"tolerance {TOLERANCE_M:g} m - geopandas (layers.joins) vs PostGIS"
        ),
        caption=escape(
            "time: wall-clock of the timed part [s]; ratio = geopandas / PostGIS (<1: geopandas "
            "faster); peak: max RSS of the case's client process (VmHWM) [MiB], the PostGIS "
            f"server's memory not included. {platform.python_implementation()} "
            f"{platform.python_version()}, total {elapsed:.0f} s."
        ),
    )
    for col in ("case", "geopandas [s]", "PostGIS [s]", "ratio", "geopandas peak [MiB]",
                "PostGIS client peak [MiB]"):  # fmt: skip
        table.add_column(escape(col), justify="left" if col == "case" else "right")
    table.add_column("notes", overflow="fold")
    for r in rows:
        b = r.baseline
        notes = [r.note] if r.note else []
        if not r.ours.ok:
            notes.append(f"geopandas failed: {r.ours.error}")
        if b is not None and not b.ok:
            notes.append(f"PostGIS failed: {b.error}")
        table.add_row(
            r.name,
            _fmt(r.ours.seconds, ".2f"),
            _fmt(b and b.seconds, ".2f"),
            _fmt(r.ratio, ".2f"),
            _fmt(r.ours.peak_mib, ",.0f"),
            _fmt(b and b.peak_mib, ",.0f"),
            escape("; ".join(n for n in notes if n)),
        )
    Console(width=max(160, Console().width)).print(table)
    server = next((r.baseline.extra.get("server") for r in rows if r.baseline and r.baseline.ok
                   and "server" in r.baseline.extra), None)  # fmt: skip
    if server:
        print("PostGIS server settings: " + ", ".join(f"{k}={v}" for k, v in server.items()))


def main(argv=None) -> list[Row]:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_joins", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--points", type=int, help=f"meter points (default {DEFAULT_POINTS:,})")
    p.add_argument(
        "--buildings", type=int, help=f"building polygons (default {DEFAULT_BUILDINGS:,})"
    )
    p.add_argument("--small", action="store_true", help=f"smoke size {SMALL[0]:,} x {SMALL[1]:,}")
    p.add_argument("--no-postgis", action="store_true", help="skip the PostGIS side")
    p.add_argument("--pg-url", help="admin URL (default $GEOENERGY_TEST_PG_URL or the local one)")
    p.add_argument("--workdir", type=Path, help="keep the synthetic data here (default: temp)")
    p.add_argument("--timeout", type=float, help="per-case timeout [s]")
    args = p.parse_args(argv)
    points, buildings = SMALL if args.small else (DEFAULT_POINTS, DEFAULT_BUILDINGS)
    points, buildings = args.points or points, args.buildings or buildings
    if points < 1 or buildings < 1:
        p.error("--points and --buildings must be positive")
    work = args.workdir.resolve() if args.workdir else None
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    print(f"GeoEnergy join benchmark: {points:,} meters, {buildings:,} buildings")
    t0 = time.perf_counter()
    rows = run(
        None, work, points=points, buildings=buildings, postgis=not args.no_postgis,
        pg_url=args.pg_url, timeout=args.timeout,
    )  # fmt: skip
    print_table(rows, points, buildings, time.perf_counter() - t0)
    return rows


if __name__ == "__main__":
    main()
