"""Fixtures of the webmap tests: small hand-checkable layers, Chromium, a local server."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

# ---------------------------------------------------------------------------------
# BEGIN browser fixtures (owner: webmap): headless Chromium via Playwright
# ---------------------------------------------------------------------------------

#: Debian's Chromium (scripts/install-web.sh); Playwright's own browser downloads are
#: not used (no internet for them).
CHROMIUM = os.environ.get("GEOENERGY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]
#: Screenshots of the maps land here (build/ is git-ignored).
ARTIFACTS = Path(
    os.environ.get(
        "GEOENERGY_TEST_ARTIFACTS",
        Path(__file__).resolve().parents[2] / "build" / "test-artifacts",
    )
)


def _skip_or_fail(what: str, reason: str):
    """Skip locally, fail in CI: a broken install must not pass as a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(f"{what} not available: {reason}")


@pytest.fixture(scope="session")
def _chromium_browser(_playwright):
    """A launched headless Chromium, or the reason there is none."""
    pw, reason = _playwright
    if pw is None:
        yield None, reason
        return
    if not Path(CHROMIUM).exists():
        yield None, f"{CHROMIUM} is missing (run scripts/install-web.sh)"
        return
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        yield None, f"cannot launch {CHROMIUM}: {str(exc).splitlines()[0]}"
        return
    yield browser, None
    browser.close()


@pytest.fixture
def chromium(_chromium_browser):
    """A Playwright ``Browser`` on Debian's headless Chromium."""
    browser, reason = _chromium_browser
    if browser is None:
        _skip_or_fail("Chromium", reason)
    return browser


class Probe:
    """A page whose requests leaving ``allowed`` origins are aborted and recorded.

    Attributes: ``page``; ``errors`` (console errors and uncaught exceptions),
    ``blocked`` (URLs of aborted requests), ``failed`` (requests that failed),
    ``dialogs`` (messages of alert/confirm/prompt dialogs: a script ran).
    """

    def __init__(self, context, allowed: tuple[str, ...]):
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("dialog", self._dialog)

        def route(r):
            if r.request.url.startswith(allowed):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open_map(self, url: str, timeout_ms: float = 20_000):
        """Go to ``url`` and wait until ``window.webmap.ready`` (all data layers drawn)."""
        self.page.goto(url)
        self.page.wait_for_function("window.webmap && window.webmap.ready", timeout=timeout_ms)
        return self.page


@pytest.fixture
def probe(chromium):
    """Factory: ``probe(*allowed_prefixes, viewport=(w, h))`` -> :class:`Probe` in a fresh
    context (default viewport 1200 x 800; a phone's, e.g. (390, 844), is a touch screen)."""
    contexts = []

    def make(*allowed: str, viewport: tuple[int, int] = (1200, 800)) -> Probe:
        w, h = viewport
        phone = w < 700
        ctx = chromium.new_context(
            viewport={"width": w, "height": h}, has_touch=phone, is_mobile=phone
        )
        contexts.append(ctx)
        return Probe(ctx, tuple(allowed) or ("file://",))

    yield make
    for ctx in contexts:
        ctx.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Factory: ``serve(folder)`` -> base URL of a local HTTP server for that folder."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (``$GEOENERGY_TEST_ARTIFACTS`` or build/test-artifacts)."""
    folder = ARTIFACTS / "webmap"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def web_assets():
    """The npm assets folder (scripts/install-web.sh); skip locally, fail in CI."""
    from webmap.assets import AssetsMissingError, node_modules

    try:
        return node_modules()
    except AssetsMissingError as exc:
        _skip_or_fail("The web-map npm assets", str(exc))


# ---------------------------------------------------------------------------------
# END browser fixtures
# ---------------------------------------------------------------------------------

#: Texts that would run a script if any page put them into HTML unescaped.
XSS_IMG = "<img src=x onerror=\"window.__xss=1;alert('img')\">"
XSS_SCRIPT = "</script><script>window.__xss=2;alert('script')</script>"
XSS_ATTR = '" onmouseover="window.__xss=3" x="&amp;<b>bold</b>'


@pytest.fixture(scope="session")
def xss() -> dict[str, str]:
    """The texts above by name (test modules cannot import conftest)."""
    return {"img": XSS_IMG, "script": XSS_SCRIPT, "attr": XSS_ATTR}


@pytest.fixture(scope="session")
def flags() -> gpd.GeoDataFrame:
    """Five flagged meters on a 0.01 deg line east of 116.40 E, 39.90 N; meter 1 has XSS text."""
    return gpd.GeoDataFrame(
        {
            "meter_id": ["M1", "M2", "M3", "M4", "M5"],
            "address": [XSS_IMG, "长安街1号", XSS_ATTR, "建国路88号", "朝阳路5号"],
            "customer_class": [
                "residential",
                "residential",
                "commercial",
                "industrial",
                "residential",
            ],
            "district": [XSS_SCRIPT, "东城区", "东城区", "朝阳区", "朝阳区"],
            "score": [0.97, 0.91, 0.84, 0.72, 0.55],
            "rank": [1, 2, 3, 4, 5],
            "reasons": [
                f"flat load day and night; {XSS_SCRIPT}",
                "24/7 load of 8 kW",
                "no weekly cycle",
                "step up on onset date",
                "night/day ratio 0.97",
            ],
            "onset_date": pd.to_datetime(
                ["2024-01-03", None, "2024-01-10", "2024-01-11", "2024-01-12"]
            ),
        },
        geometry=gpd.points_from_xy([116.40, 116.41, 116.42, 116.43, 116.44], [39.90] * 5),
        crs=4326,
    )


@pytest.fixture(scope="session")
def profiles() -> dict:
    """A flat 8 kWh/h profile for M1 (4 weeks) and a daytime profile for M2."""
    idx = pd.date_range("2024-01-01", periods=24 * 28, freq="h", tz="Asia/Shanghai")
    day = 1.0 + 0.8 * np.sin((idx.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    return {
        "M1": {"hourly": pd.Series(8.0, index=idx), "avg_day": [8.0] * 24},
        "M2": {"hourly": pd.Series(day, index=idx), "avg_day": day[:24]},
    }


@pytest.fixture(scope="session")
def hotspots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"n_flagged": [3], "name": [XSS_IMG], "total_score": [2.72]},
        geometry=[shapely.box(116.395, 39.895, 116.425, 39.905)],
        crs=4326,
    )


@pytest.fixture(scope="session")
def districts() -> gpd.GeoDataFrame:
    """Three districts side by side: shown, below min_count (3 flagged), flagged suppressed."""
    return gpd.GeoDataFrame(
        {
            "name": ["东城区", XSS_IMG, "朝阳区"],
            "n_meters": [1200, 800, 40],
            "n_flagged": [12, 3, 7],
            "n_confirmed": [6, 1, 0],
            "flagged_mwh": [410.0, 97.0, 120.0],
            "suppressed": [False, False, True],
            # Columns the map must never read:
            "address": ["SECRET-ADDRESS-1", "SECRET-ADDRESS-2", "SECRET-ADDRESS-3"],
            "meter_id": ["SECRET-M-1", "SECRET-M-2", "SECRET-M-3"],
        },
        geometry=[
            shapely.box(116.30, 39.85, 116.40, 39.95),
            shapely.box(116.40, 39.85, 116.50, 39.95),
            shapely.box(116.50, 39.85, 116.60, 39.95),
        ],
        crs=4326,
    )


@pytest.fixture(scope="session")
def hexagons() -> gpd.GeoDataFrame:
    """Four grid cells (squares stand in for hexagons): 9 flagged, 2, 5, and 0."""
    cells = [shapely.box(116.40 + i * 0.02, 39.90, 116.42 + i * 0.02, 39.92) for i in range(4)]
    return gpd.GeoDataFrame(
        {
            "n_meters": [50, 30, 60, 3],
            "n_flagged": [9, 2, 5, 0],
            "n_confirmed": [5, 0, 1, 0],
            "flagged_mwh": [80.0, 15.0, 40.0, 0.0],
            "suppressed": [False, False, False, False],
        },
        geometry=cells,
        crs=4326,
    )


@pytest.fixture(scope="session")
def pue_centres() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["DC North", XSS_SCRIPT],
            "pue": [1.25, 1.52],
            "pue_limit": [1.3, 1.3],
            "compliant": [True, False],
            "excess_mwh": [0.0, 5200.0],
        },
        geometry=gpd.points_from_xy([116.35, 116.55], [39.93, 39.87]),
        crs=4326,
    )


@pytest.fixture(scope="session")
def heat_centres() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["DC North", "DC South"],
            "operator": [XSS_IMG, "Cloud Co."],
            "recoverable_heat_mw_th": [16.0, 4.0],
            "source_temp_c": [35.0, 60.0],
            "usable_heat_mwh_th": [60000.0, 15000.0],
            "lcoh_cny_per_mwh": [120.0, 180.0],
        },
        geometry=gpd.points_from_xy([116.35, 116.45], [39.93, 39.87]),
        crs=4326,
    )


@pytest.fixture(scope="session")
def network() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "kind": ["primary", "secondary"],
            "supply_temp_c": [110.0, 70.0],
            "return_temp_c": [60.0, 45.0],
            "operator": ["Beijing District Heating", XSS_SCRIPT],
        },
        geometry=[
            shapely.LineString([(116.30, 39.90), (116.50, 39.90)]),
            shapely.LineString([(116.40, 39.85), (116.40, 39.95)]),
        ],
        crs=4326,
    )


@pytest.fixture(scope="session")
def connections() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["DC North to primary"],
            "distance_m": [3300.0],
            "route_m": [4100.0],
            "capex_cny": [12.5e6],
            "lcoh_cny_per_mwh": [120.0],
            "usable_heat_mwh_th": [60000.0],
        },
        geometry=[shapely.LineString([(116.35, 39.93), (116.35, 39.90)])],
        crs=4326,
    )


@pytest.fixture(scope="session")
def demand_grid() -> xr.DataArray:
    """4 x 5 cells of 0.02 deg; density rises to the east, row 0 is the south row."""
    lon = 116.31 + 0.02 * np.arange(5)
    lat = 39.86 + 0.02 * np.arange(4)
    values = np.tile(np.arange(5, dtype=float) * 100, (4, 1))
    values[0, 0] = np.nan
    return xr.DataArray(
        values, dims=("y", "x"), coords={"lon": ("x", lon), "lat": ("y", lat)}, name="heat"
    )
