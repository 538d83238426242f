"""Benchmark: web-map size and opening time, against the plain folium approach.

Ours: :func:`webmap.enforcement_map` (column arrays in a JSON block,
clustered in the browser with Supercluster, only what is in view drawn,
popups built on opening) and
:func:`webmap.officials_map`, each published offline with
:func:`webmap.publish_site`. Baseline: what a folium user writes without
them::

    m = folium.Map(tiles=None)
    cluster = MarkerCluster().add_to(m)
    for row in flags.itertuples():
        folium.Marker([row.lat, row.lon], popup=folium.Popup(html)).add_to(cluster)

and, for the officials' map, ``folium.GeoJson`` with a ``GeoJsonTooltip``.
Both sides are published with the same offline assets and opened in the
same headless Chromium with every http(s) request aborted (tiles off).

Figures per case (each side in a fresh subprocess):

- time [s]: building the map and writing the site (Python);
- HTML [MB]: size of the map page;
- open [s]: from navigation start to the data layers drawn in headless
  Chromium (``webmap.ready`` and the clusters in the page for ours;
  the first clusters, or all polygons, for the baseline), then two frames;
- peak [MiB]: peak RSS of the Python process (Chromium not included).

The enforcement map gets ``min(100_000, max(1_000, 50 * meters))`` flagged
meters (100,000 at the default size; 10,000 with ``--size small``), 500 of
them with a four-week load-profile chart; the officials' map 16 districts
and ``max(500, 2 * meters)`` grid cells (4,000 at the default size).

Run alone: ``python -m bench.bench_webmap --meters 2000``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from bench._common import Dataset, Row, print_table, run_case

HERE = "bench.bench_webmap"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
N_PROFILES = 500


def n_flags(meters: int) -> int:
    return min(100_000, max(1_000, 50 * meters))


def n_cells(meters: int) -> int:
    return max(500, 2 * meters)


# -- synthetic inputs (untimed) -------------------------------------------------------


def flags_frame(n: int, seed: int = 42):
    """``n`` flagged meters over Beijing with Chinese addresses, and profiles for the top 500."""
    import geopandas as gpd
    import pandas as pd

    rng = np.random.default_rng(seed)
    districts = np.array(
        [
            "东城区",
            "西城区",
            "朝阳区",
            "丰台区",
            "石景山区",
            "海淀区",
            "门头沟区",
            "房山区",
            "通州区",
            "顺义区",
            "昌平区",
            "大兴区",
            "怀柔区",
            "平谷区",
            "密云区",
            "延庆区",
        ]
    )
    reasons = np.array(
        [
            "Flat load day and night (night/day ratio 0.97); no weekly cycle",
            "Load near the contracted capacity 24/7 for 6 weeks",
            "Step up of 8.2 kW on the onset date; flat since",
            "Winter load without heating pattern; constant 5 kW",
        ]
    )
    flags = gpd.GeoDataFrame(
        {
            "meter_id": [f"M{i:07d}" for i in range(1, n + 1)],
            "address": [
                f"北京市{districts[i % 16]}建国路{i % 997 + 1}号院{i // 997 % 40 + 1}号楼"
                f"{i % 6 + 1}单元{i % 30 + 101}室"
                for i in range(n)
            ],
            "customer_class": rng.choice(["residential", "commercial", "industrial"], n),
            "district": districts[rng.integers(0, 16, n)],
            "score": np.round(rng.uniform(0.5, 1.0, n), 4),
            "rank": np.arange(1, n + 1),
            "reasons": reasons[rng.integers(0, len(reasons), n)],
            "onset_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        },
        geometry=gpd.points_from_xy(116.1 + rng.random(n) * 0.6, 39.7 + rng.random(n) * 0.5),
        crs=4326,
    )
    idx = pd.date_range("2024-03-04", periods=24 * 28, freq="h", tz="Asia/Shanghai")
    profiles = {
        mid: {
            "hourly": pd.Series(8.0 + rng.normal(0, 0.25, len(idx)), index=idx),
            "avg_day": np.full(24, 8.0),
        }
        for mid in flags["meter_id"][:N_PROFILES]
    }
    return flags, profiles


def area_frames(cells: int, seed: int = 42):
    """16 district rectangles and ``cells`` hexagons (~1 km) with counts, and 50 data centres."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    d = [
        shapely.box(
            116.0 + 0.2 * (i % 4),
            39.6 + 0.2 * (i // 4),
            116.2 + 0.2 * (i % 4),
            39.8 + 0.2 * (i // 4),
        )
        for i in range(16)
    ]

    def counts(k):
        flagged = rng.poisson(6, k)
        return {
            "n_meters": rng.poisson(400, k) + 20,
            "n_flagged": flagged,
            "n_confirmed": rng.binomial(flagged, 0.5),
            "flagged_mwh": np.round(flagged * rng.uniform(40, 80, k), 1),
            "suppressed": flagged < 5,
        }

    districts = gpd.GeoDataFrame(
        {"name": [f"区{i}" for i in range(16)], **counts(16)}, geometry=d, crs=4326
    )
    side = int(np.ceil(np.sqrt(cells)))
    r = 0.8 / side / 2
    angles = np.linspace(0, 2 * np.pi, 7)[:-1]
    hexes = [
        shapely.Polygon(
            np.column_stack(
                [
                    116.0 + (k % side + 0.5 * (k // side % 2)) * 2 * r + r * np.cos(angles),
                    39.6 + (k // side) * 1.5 * r + r * np.sin(angles),
                ]
            )
        )
        for k in range(cells)
    ]
    hexagons = gpd.GeoDataFrame(counts(cells), geometry=hexes, crs=4326)
    pue = np.round(rng.uniform(1.15, 1.6, 50), 2)
    centres = gpd.GeoDataFrame(
        {
            "name": [f"数据中心{i}" for i in range(50)],
            "pue": pue,
            "pue_limit": 1.3,
            "compliant": pue <= 1.3,
            "excess_mwh": np.round(np.clip(pue - 1.3, 0, None) * 40_000, 0),
        },
        geometry=gpd.points_from_xy(116.0 + rng.random(50) * 0.8, 39.6 + rng.random(50) * 0.8),
        crs=4326,
    )
    return districts, hexagons, centres


# -- Chromium -------------------------------------------------------------------------


def open_seconds(page_path: str, ready_js: str, timeout_s: float = 180.0) -> float:
    """Seconds [s] from navigation start until ``ready_js`` holds and two frames are drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.route("http*://**", lambda route: route.abort())  # tiles off, no internet
            # A script error would leave the page never "ready": stop at once instead.
            page.add_init_script(
                "window.addEventListener('error', e => { window.__benchError = e.message; });"
            )
            page.goto(Path(page_path).as_uri(), wait_until="commit", timeout=timeout_s * 1000)
            page.wait_for_function(
                f"window.__benchError || ({ready_js})", polling="raf", timeout=timeout_s * 1000
            )
            error = page.evaluate("window.__benchError || null")
            if error:
                raise RuntimeError(f"the page failed: {error}")
            page.evaluate(
                "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            return page.evaluate("performance.now()") / 1000.0
        finally:
            browser.close()


# -- the timed cases (run in a fresh subprocess by run_case) --------------------------


def ours_enforcement(n: int, out: str) -> dict:
    """Build + publish our enforcement map [s], its HTML size [MB] and opening time [s]."""
    from webmap import enforcement_map, publish_site

    flags, profiles = flags_frame(n)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    m = enforcement_map(flags, profiles=profiles, data_date="2024-03-31")
    site = publish_site(out, {"enforcement": m}, include_enforcement=True)
    seconds = time.perf_counter() - t0
    page = site.maps["enforcement"]
    return {
        "seconds": seconds,
        "rows": n,
        "html_mb": page.stat().st_size / 1e6,
        "open_s": _open(
            str(page),
            "window.webmap && webmap.ready && document.querySelector('.wm-cluster') !== null",
        ),
    }


def naive_enforcement(n: int, out: str) -> dict:
    """The folium way: one Marker with a Popup per meter in a MarkerCluster."""
    import folium
    from folium.plugins import MarkerCluster

    from webmap import publish_site
    from webmap.markup import escape

    flags, _ = flags_frame(n)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    m = folium.Map(location=[39.9, 116.4], zoom_start=10, tiles=None)
    m.options["max_zoom"] = 18  # MarkerCluster needs it; a tile layer would set it
    cluster = MarkerCluster().add_to(m)
    for r in flags.itertuples():
        html = (
            f"<b>{escape(r.address)}</b><br>Meter {escape(r.meter_id)}<br>"
            f"{escape(r.customer_class)}, {escape(r.district)}<br>"
            f"Score {r.score:.2f}, rank {r.rank}<br>{escape(r.reasons)}"
        )
        folium.Marker([r.geometry.y, r.geometry.x], popup=folium.Popup(html)).add_to(cluster)
    m.fit_bounds([[39.7, 116.1], [40.2, 116.7]])
    site = publish_site(out, {"naive": m})
    seconds = time.perf_counter() - t0
    page = site.maps["naive"]
    return {
        "seconds": seconds,
        "rows": n,
        "html_mb": page.stat().st_size / 1e6,
        "open_s": _open(str(page), "document.querySelector('.marker-cluster') !== null"),
    }


def ours_officials(cells: int, out: str) -> dict:
    """Build + publish our officials' map [s], HTML size [MB] and opening time [s]."""
    from webmap import officials_map, publish_site

    districts, hexagons, centres = area_frames(cells)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    m = officials_map(districts, hexagons=hexagons, data_centres=centres)
    site = publish_site(out, {"officials": m})
    seconds = time.perf_counter() - t0
    page = site.maps["officials"]
    return {
        "seconds": seconds,
        "rows": len(districts) + cells,
        "html_mb": page.stat().st_size / 1e6,
        "open_s": _open(str(page), "window.webmap && webmap.ready"),
    }


def naive_officials(cells: int, out: str) -> dict:
    """The folium way: GeoJson layers with style functions and GeoJsonTooltips."""
    import folium

    from webmap import publish_site

    districts, hexagons, centres = area_frames(cells)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    m = folium.Map(location=[39.9, 116.4], zoom_start=10, tiles=None)
    fields = ["n_meters", "n_flagged", "n_confirmed", "flagged_mwh"]
    for name, gdf in (("districts", districts), ("hexagons", hexagons)):
        folium.GeoJson(
            gdf,
            name=name,
            style_function=lambda f: {
                "fillColor": "#f03b20" if f["properties"]["n_flagged"] >= 8 else "#ffffb2",
                "color": "#555",
                "weight": 0.5,
                "fillOpacity": 0.7,
            },
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
    for r in centres.itertuples():
        folium.CircleMarker(
            [r.geometry.y, r.geometry.x], radius=8, popup=folium.Popup(f"{r.name} PUE {r.pue}")
        ).add_to(m)
    folium.LayerControl().add_to(m)
    site = publish_site(out, {"naive": m})
    seconds = time.perf_counter() - t0
    page = site.maps["naive"]
    n_paths = len(districts) + cells + len(centres)
    return {
        "seconds": seconds,
        "rows": n_paths - len(centres),
        "html_mb": page.stat().st_size / 1e6,
        "open_s": _open(
            str(page),
            f"document.querySelectorAll('.leaflet-overlay-pane path').length >= {n_paths}",
        ),
    }


def _open(page: str, ready_js: str) -> float | None:
    if not Path(CHROMIUM).exists():
        return None
    return open_seconds(page, ready_js)


# -- the benchmark --------------------------------------------------------------------


def run(data: Dataset, work: Path, *, log=print, timeout: float | None = None) -> list[Row]:
    """Enforcement and officials' maps, ours against plain folium (see the module doc)."""
    rows = []
    n, cells = n_flags(data.meters), n_cells(data.meters)
    out = work / "webmap"
    out.mkdir(parents=True, exist_ok=True)
    for label, ours, base, size, limit in (
        (f"enforcement map, {n:,} flags", "ours_enforcement", "naive_enforcement", n, 15.0),
        (f"officials' map, {cells:,} cells", "ours_officials", "naive_officials", cells, 2.0),
    ):
        log(f"  {label} ...")
        kw = {"n": size} if ours.endswith("enforcement") else {"cells": size}
        o = run_case(f"{HERE}:{ours}", timeout=timeout, out=str(out / ours), **kw)
        b = run_case(f"{HERE}:{base}", timeout=timeout, out=str(out / base), **kw)
        rows.append(Row(label, o, b, _note(o, b, limit)))
    shutil.rmtree(out, ignore_errors=True)
    return rows


def _note(o, b, limit_mb: float) -> str:
    def part(c, who):
        if not c.ok:
            return f"{who}: -"
        mb, op = c.extra.get("html_mb"), c.extra.get("open_s")
        opened = "not opened (no Chromium)" if op is None else f"opens in {op:.2f} s"
        return f"{who}: HTML {mb:.1f} MB, {opened}"

    verdict = ""
    if o.ok:
        verdict = f" (limit {limit_mb:g} MB: {'ok' if o.extra['html_mb'] < limit_mb else 'OVER'})"
    return f"{part(o, 'ours')}{verdict}; {part(b, 'folium')}"


def main(argv=None) -> list[Row]:
    """``python -m bench.bench_webmap [--meters N] [--timeout S]``: run and print the table."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(prog="python -m bench.bench_webmap", description=__doc__)
    p.add_argument(
        "--meters", type=int, default=2000, help="number of meters, as in the readings suite"
    )
    p.add_argument("--timeout", type=float, help="per-case timeout [s]")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="geoenergy-bench-webmap-") as tmp:
        data = Dataset(Path(tmp), args.meters, 1)
        t0 = time.perf_counter()
        rows = run(data, Path(tmp), timeout=args.timeout)
        print_table({"webmap": rows}, data, time.perf_counter() - t0)
    return rows


if __name__ == "__main__":
    main()
