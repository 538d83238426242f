"""``geoenergy demo``: the whole product on a synthetic sample city.

The demo builds a workspace, generates a SYNTHETIC sample city (clearly
labelled as such in every file it writes), ingests it through exactly the
code path that users' files take, then runs every pipeline step in
:data:`DEMO_STEPS` and prints what each produced and where. Later
capabilities add their step to :data:`DEMO_STEPS`.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from geoenergy.config import Workspace
from geoenergy.store import Store, upgrade


@dataclass
class DemoContext:
    """What the steps share."""

    ws: Workspace
    store: Store
    city: object = None
    console: Console = field(default_factory=Console)
    results: dict = field(default_factory=dict)


def _step_generate(ctx: DemoContext, n_meters: int, seed: int) -> list[str]:
    from geoenergy.samplecity import generate_city

    out = ctx.ws.path / "sample-city"
    ctx.city = generate_city(out, n_meters=n_meters, seed=seed)
    return [f"synthetic sample city ({n_meters:,} meters, seed {seed}) written to {out}"]


def _step_ingest(ctx: DemoContext) -> list[str]:
    from geoenergy.ingest import (
        ingest_labels,
        ingest_layer,
        ingest_readings,
        ingest_registry,
        ingest_weather,
    )

    c, ws, lines = ctx.city, ctx.ws, []
    for fn, path in (
        (ingest_registry, c.registry),
        (ingest_readings, c.readings),
        (ingest_readings, c.readings_csv_extra),
        (ingest_weather, c.weather),
        (ingest_labels, c.labels),
    ):
        if path is None:
            continue
        report = fn(ws, path, store=ctx.store)
        lines.append(f"{report.kind:<9} {report.summary()} [{report.seconds:.1f} s]")
        for problem, (n, example) in report.problems.items():
            lines.append(f"            rejected {n} x {problem}: {example}")
    for kind, path in c.layers.items():
        report = ingest_layer(ws, kind, path, store=ctx.store)
        lines.append(f"layer     {kind}: {report.summary()}")
    return lines


def _step_readings(ctx: DemoContext) -> list[str]:
    from geoenergy.readings import open_readings

    ds = open_readings(ctx.ws, resolution="daily", store=ctx.store)
    kwh = ds["kwh"]
    total = float(kwh.sum().compute())
    missing = float(kwh.isnull().mean().compute())
    ctx.results["daily"] = ds
    return [
        f"opened readings as xarray: {dict(ds.sizes)} daily, {kwh.data.numblocks[0]} dask chunks",
        f"total energy {total / 1e6:,.2f} GWh; {missing:.1%} of meter-days missing (gaps kept as NaN)",
    ]


def _precision_lines(ctx: DemoContext, scores, label: str, exclude=()) -> list[str]:
    """precision@k against the sample city's ground truth (synthetic data only)."""
    import pandas as pd

    from detectors.evaluate import average_precision, precision_at_k

    truth = pd.read_csv(ctx.city.truth)
    s = scores.merge(truth[["meter_id", "is_mining"]], on="meter_id")
    s = s[~s["meter_id"].isin(set(exclude))]
    y, sc = s["is_mining"].to_numpy(), s["score"].fillna(0.0).to_numpy()
    ks = ", ".join(f"precision@{k} {precision_at_k(y, sc, k):.2f}" for k in (20, 50))
    return [
        f"{label}: {ks}; average precision {average_precision(y, sc):.2f} "
        f"({int(y.sum())} miners among {len(y):,} meters, checked against truth.csv)"
    ]


def _step_detect(ctx: DemoContext) -> list[str]:
    from geoenergy.detection import run_detection

    res = run_detection(ctx.ws, detector="unsupervised", store=ctx.store, actor="demo")
    ctx.results["detection"] = res
    top = res.scores.iloc[0]
    return [
        f"detection run {res.run_id}: {len(res.scores):,} meters scored, {res.n_flagged} "
        f"flagged, {len(res.hotspots)} hotspot(s) [{res.seconds:.1f} s]",
        *_precision_lines(ctx, res.scores, "unsupervised detector"),
        f"top meter {top.meter_id}: {top.reasons}",
    ]


def _step_train(ctx: DemoContext) -> list[str]:
    from geoenergy.detection import (
        TrainingError,
        load_labels,
        register_model,
        run_detection,
        train_model,
    )

    try:
        model, metrics = train_model(ctx.ws, store=ctx.store)
    except TrainingError as exc:  # a very small demo city has too few inspections
        return [f"skipped: {exc}"]
    path = ctx.ws.path / "models" / "mining-supervised.joblib"
    model.save(path)
    register_model(ctx.ws, path, store=ctx.store, actor="demo")
    res = run_detection(ctx.ws, detector="auto", store=ctx.store, actor="demo")
    ctx.results["detection"] = res
    labelled = load_labels(ctx.ws, store=ctx.store)["meter_id"]
    lines = [f"trained the supervised detector on {len(labelled)} inspection labels -> {path}"]
    if metrics:
        lines.append(
            f"time-based hold-out ({metrics['n_test']} latest inspections): average precision "
            f"{metrics['average_precision']:.2f}"
        )
    return [
        *lines,
        f"registered it; detection run {res.run_id} with it flagged {res.n_flagged}",
        *_precision_lines(ctx, res.scores, "supervised, on meters without a label", labelled),
    ]


def _step_heat(ctx: DemoContext) -> list[str]:
    from geoenergy.heat import analyse_workspace, write_result

    res = analyse_workspace(ctx.ws, store=ctx.store)
    ctx.results["heat"] = res
    out = ctx.ws.path / "heat"
    paths = write_result(res, out / "heat_opportunities.gpkg", grid=out / "heat_density.nc")
    nets = res.networks.sort_values("demand_mwh_per_yr", ascending=False).head(3)
    balance = [
        f"network {nid}: demand in reach {r['demand_mwh_per_yr']:,.0f} MWh/yr, used heat "
        f"{r['used_heat_mwh_th_per_yr']:,.0f} MWh_th/yr ({r['demand_covered_share']:.0%}), "
        f"cost of the used heat {r['lcoh_cny_per_mwh']:,.0f} CNY/MWh"
        for nid, r in nets.iterrows()
        if r["demand_mwh_per_yr"] > 0
    ]
    return [res.summary(), *balance, *(f"wrote {p}" for p in paths)]


def _step_publish(ctx: DemoContext) -> list[str]:
    from geoenergy.publish import publish_workspace

    res = publish_workspace(ctx.ws, ctx.ws.path / "published", store=ctx.store)
    ctx.results["published"] = res.index
    return [
        f"published {', '.join(res.maps)} (aggregates only; the enforcement map needs "
        f"`geoenergy publish --include-addresses`)",
        f"open {res.index}",
    ]


def _http(method: str, url: str, *, body=None, headers=None, timeout: float = 60):
    """One HTTP request to the demo's own app on loopback: ``(status, parsed JSON or None)``.

    The standard library's client, so the demo needs nothing beyond the
    package's dependencies; HTTP error statuses are returned, not raised.
    """
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def _step_live(ctx: DemoContext) -> list[str]:
    """One data centre streams its facility and IT meters into the city over HTTP."""
    import os
    import socket
    import subprocess
    from urllib.parse import urlencode

    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa
    from shapely.geometry import Point

    from geoenergy.ingest import ingest_layer, ingest_readings, ingest_registry
    from geoenergy.layerstore import load_layer
    from geoenergy.monitor.tokens import add_token
    from geoenergy.store import Layer

    ws, store = ctx.ws, ctx.store
    name, fac, it = "实时示范数据中心（示例）", "LIVE-DC-F", "LIVE-DC-IT"
    dc = load_layer(ws, "data_centres", store=store)
    here = dc.geometry.iloc[0].representative_point()
    lon, lat = here.x + 0.002, here.y + 0.002
    folder = ws.path / "sample-city"
    reg = folder / "registry_live.csv"
    pd.DataFrame(
        {
            "meter_id": [fac, it],
            "address": ["[示例] 实时示范数据中心 总表", "[示例] 实时示范数据中心 IT 表"],
            "customer_class": "data_centre",
            "lon": lon,
            "lat": lat,
        }
    ).to_csv(reg, index=False)
    ingest_registry(ws, reg, store=store)
    if name not in set(dc["name"]):
        row = {c: None for c in dc.columns if c != "geometry"}
        row.update(
            name=name, it_load_mw=3.0, pue=1.32, cooling="water", meter_id=fac, status="existing"
        )
        row["it_meter_id"] = it
        live = pd.concat(
            [dc, gpd.GeoDataFrame([row], geometry=[Point(lon, lat)], crs=dc.crs)],
            ignore_index=True,
        )
        with store.session() as s:
            layer_name = s.scalars(
                sa.select(Layer.name)
                .where(Layer.kind == "data_centres")
                .order_by(Layer.loaded_at.desc(), Layer.id.desc())
            ).first()
        path = folder / "data_centres_live.geojson"
        live.to_file(path, driver="GeoJSON")
        ingest_layer(ws, "data_centres", path, name=layer_name, store=store)

    # The operator's history first, by file (15 complete days at 1 min, so the detectors
    # have the 14 days they need to score the new meters), then the live stream.
    today = pd.Timestamp.now(tz=ws.tz).normalize()
    steps = pd.date_range(today - pd.Timedelta(days=15), today, freq="min", inclusive="left")
    it_kwh = 50.0 + 2.0 * np.sin(2 * np.pi * (steps.hour * 60 + steps.minute) / 1440.0)
    history = folder / "live_history.csv"
    pd.DataFrame(
        {
            "meter_id": np.repeat([fac, it], len(steps)),
            "timestamp": np.tile(steps.strftime("%Y-%m-%dT%H:%M:%S%z"), 2),
            "kwh": np.concatenate([np.round(it_kwh * 1.32, 3), np.round(it_kwh, 3)]),
        }
    ).to_csv(history, index=False)
    ingest_readings(ws, history, store=store)

    token, _ = add_token(store, f"demo-live-{pd.Timestamp.now():%Y%m%d%H%M%S}", [fac, it])
    # The app in its own process, as in production (the library does not import the web layer).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, GEOENERGY_WORKSPACE=str(ws.path), GEOENERGY_DB=ws.db_url)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geoenergy.web.app:app_from_env"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"]
    server = subprocess.Popen([*cmd, "--log-level", "warning"], env=env)
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    end = pd.Timestamp.now(tz=ws.tz).floor("min")
    minutes = [end - pd.Timedelta(minutes=30 - k) for k in range(30)]
    lines, ms, body = [], [], []
    try:
        for _ in range(300):  # bounded: 60 s to start
            try:
                if _http("GET", f"{url}/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("the review app did not start") from None
            time.sleep(0.2)
        for b in range(6):  # six batches of five 1-minute readings per meter
            body = [
                {"meter_id": m, "timestamp": t.isoformat(), "kwh": round(v * k, 3)}
                for t in minutes[5 * b : 5 * b + 5]
                for v in [50.0 + 2.0 * np.sin(2 * np.pi * (t.hour * 60 + t.minute) / 1440.0)]
                for m, k in ((fac, 1.32), (it, 1.0))
            ]
            t0 = time.perf_counter()
            status, _ = _http("POST", f"{url}/api/v1/readings", body=body, headers=headers)
            ms.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"the live readings API answered {status} to batch {b + 1}")
        again = _http("POST", f"{url}/api/v1/readings", body=body, headers=headers)[1]
        query = urlencode({"data_centre": name, "resolution": "hour"})
        pue = _http("GET", f"{url}/api/v1/pue?{query}", headers=headers)[1]
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    roll = pue["rolling_30d"]
    lines.append(
        f"{name}: 15 days of history ingested from a file, then 60 one-minute readings of its "
        f"facility and IT meters sent in 6 batches to "
        f"POST /api/v1/readings (median {sorted(ms)[len(ms) // 2]:.0f} ms per batch); the "
        f"last batch sent again: {again['accepted']} accepted, {again['duplicates']} duplicates"
    )
    lines.append(
        f"GET /api/v1/pue: PUE {roll['pue']:.3f} against the {roll['limit']:.2f} limit "
        f"({'compliant' if roll['compliant'] else 'above the limit'}); see the monitoring page "
        f"/monitor of `geoenergy serve` (role monitor or admin)"
    )
    return lines


DEMO_STEPS: list[tuple[str, Callable]] = [
    ("ingest the sample city through the user path", _step_ingest),
    ("open the readings as an xarray Dataset", _step_readings),
    ("detect mining (unsupervised, peer groups by class and district)", _step_detect),
    ("train the supervised detector on the inspection labels", _step_train),
    ("waste heat and PUE of the data centres", _step_heat),
    ("publish the officials' and waste-heat maps as an offline site", _step_publish),
    ("one data centre streams live readings through the ingest API", _step_live),
]
"""``(title, step)``: every pipeline step the demo runs, in order."""


def run_demo(
    path,
    *,
    n_meters: int = 3000,
    seed: int = 20231115,
    db_url: str | None = None,
    console: Console | None = None,
) -> DemoContext:
    """Build the demo workspace at ``path`` and run every step.

    Parameters
    ----------
    path : str or Path
        Workspace folder (created if needed; re-running is idempotent).
    n_meters : int
        Meters of the synthetic city.
    seed : int
        Random seed of the synthetic city.
    db_url : str, optional
        Store URL (default: SpatiaLite inside the workspace).
    """
    console = console or Console()
    t0 = time.perf_counter()
    ws = Workspace.create(Path(path))
    if db_url:
        ws = Workspace(ws.path, db_url=db_url)
    upgrade(ws.db_url)
    store = ws.store
    ctx = DemoContext(ws=ws, store=store, console=console)
    console.rule("[bold]GeoEnergy demo on a SYNTHETIC sample city")
    steps = [("generate the synthetic sample city", lambda c: _step_generate(c, n_meters, seed))]
    for title, step in [*steps, *DEMO_STEPS]:
        t = time.perf_counter()
        with console.status(title):
            lines = step(ctx)
        console.print(f"[bold green]✓[/] {title} [dim]({time.perf_counter() - t:.1f} s)[/]")
        for line in lines:
            console.print(f"    {line}", highlight=False, markup=False)
    from geoenergy.summary import workspace_summary

    table = Table(title="What the workspace holds", show_header=False)
    for k, v in workspace_summary(ws, store).items():
        table.add_row(k, str(v))
    console.print(table)
    exe = "geoenergy" if shutil.which("geoenergy") else sys.argv[0]
    console.print(
        f"Done in {time.perf_counter() - t0:.0f} s. Workspace: {ws.path}\n"
        f"Open the published site: {ctx.results.get('published', '(not published)')}\n"
        f"Next: `{exe} -w {ws.path} status`, `{exe} -w {ws.path} rejected`, "
        f"`{exe} -w {ws.path} serve` (review app; add a user first with "
        f"`{exe} -w {ws.path} users add NAME --role enforcement`).",
        highlight=False,
        markup=False,
    )
    ws.close()
    return ctx
