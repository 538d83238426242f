"""The published maps in real (headless) Chromium, with the internet blocked.

Every page is opened with all requests aborted except to the local server
(or file://); the tests fail on any blocked or failed request, console error,
uncaught exception or dialog. Screenshots go to build/test-artifacts/webmap.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import threading

import geopandas as gpd
import numpy as np
import pytest

from webmap import Basemap, MapSpec, publish_site
from webmap.enforcement import CLUSTER_AUTO_ABOVE
from webmap.officials import officials_map

GENERATED = dt.datetime(2024, 4, 1, 8, 30, tzinfo=dt.UTC)
REVIEW = "https://review.example/cases/{meter_id}"


@pytest.fixture(scope="module")
def site(
    tmp_path_factory,
    flags,
    profiles,
    hotspots,
    districts,
    hexagons,
    pue_centres,
    heat_centres,
    network,
    demand_grid,
    connections,
):
    out = tmp_path_factory.mktemp("published") / "site"
    publish_site(
        out,
        {
            "officials": MapSpec(
                "officials",
                {
                    "districts": districts,
                    "hexagons": hexagons,
                    "data_centres": pue_centres,
                    "data_date": "2024-03-31",
                    "attribution": "Beijing DRC <test>",
                },
            ),
            "wasteheat": MapSpec(
                "wasteheat",
                {
                    "data_centres": heat_centres,
                    "network": network,
                    "demand_grid": demand_grid,
                    "connections": connections,
                    "data_date": "2024-03-31",
                },
            ),
            "enforcement": MapSpec(
                "enforcement",
                {
                    "flags": flags,
                    "profiles": profiles,
                    "hotspots": hotspots,
                    "review_url": REVIEW,
                    "data_date": "2024-03-31",
                },
            ),
        },
        downloads={"hexagons": hexagons},
        generated_at=GENERATED,
        data_sources=["test fixtures"],
        include_enforcement=True,
    )
    return out


def assert_clean(p):
    assert p.dialogs == [], f"a script from the data ran: {p.dialogs}"
    assert p.errors == [], p.errors
    assert p.blocked == [], f"requests left the site: {p.blocked}"
    assert p.failed == [], p.failed
    assert p.page.evaluate("typeof window.__xss") == "undefined"


def count_paths(page) -> int:
    return page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length")


# Per map: {layer name: features}, visible vector paths when it opens.
EXPECTED = {
    "officials": (
        {
            "Districts: Flagged meters": 3,
            "Grid cells: flagged meters": 4,
            "Data centres: PUE compliance": 2,
        },
        3 + 2,
    ),
    "wasteheat": (
        {
            "Heating network": 2,
            "Candidate connections": 1,
            "Data centres: recoverable heat": 2,
            "Distance rings (1, 2, 5 km)": 6,
        },
        2 + 1 + 2,
    ),
    "enforcement": ({"Flagged meters": 5, "Hotspots": 1}, 5 + 1),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_map_renders_offline_from_a_local_server(name, site, serve, probe, artifacts):
    base = serve(site)
    p = probe(base)
    page = p.open_map(f"{base}{name}.html")
    assert page.evaluate("typeof window.L") == "object"
    assert page.locator(".leaflet-container").count() == 1
    counts, paths = EXPECTED[name]
    for layer, n in counts.items():
        assert page.evaluate(f"webmap.layers[{layer!r}].getLayers().length") == n, layer
    assert count_paths(page) == paths
    assert page.locator(".wm-title h1").inner_text() != ""
    assert "Data as of 2024-03-31" in page.locator(".wm-title").inner_text()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".wm-legend").count() == 1
    if name == "wasteheat":
        assert page.locator(".leaflet-image-layer").count() == 1
        assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
        assert page.locator(".leaflet-control-measure").count() == 1
    if name == "officials":
        assert "Beijing DRC <test>" in page.locator(".leaflet-control-attribution").inner_text()
    # The view fits the data: every feature's bounds are inside the map view.
    assert page.evaluate(
        """Object.values(webmap.layers).every(l => !webmap.map.hasLayer(l) || !l.getBounds
             || !l.getBounds().isValid() || webmap.map.getBounds().contains(l.getBounds()))"""
    )
    page.screenshot(path=str(artifacts / f"{name}.png"))
    assert_clean(p)


def test_layer_control_hides_and_shows_a_layer(site, serve, probe):
    base = serve(site)
    p = probe(base)
    page = p.open_map(f"{base}officials.html")
    box = page.locator(".leaflet-control-layers label", has_text="Data centres: PUE compliance")
    before = count_paths(page)
    box.locator("input").uncheck()
    assert count_paths(page) == before - 2
    assert not page.evaluate("webmap.map.hasLayer(webmap.layers['Data centres: PUE compliance'])")
    # A layer that starts hidden comes on, with its legend section.
    page.locator(".leaflet-control-layers label", has_text="Grid cells").locator("input").check()
    assert count_paths(page) == before - 2 + 4
    assert "Flagged meters per grid cell" in page.locator(".wm-legend").inner_text()
    assert_clean(p)


def click_marker(page, i: int) -> None:
    """A click on flagged meter ``i`` (what a tap on its circle does)."""
    page.evaluate(
        f"(() => {{ const m = webmap.layers['Flagged meters'].getLayers()[{i}]; "
        "m.fire('click', {latlng: m.getLatLng()}, true); })()"
    )


def popup_text(page) -> str:
    # The previous popup fades out for 200 ms before it leaves the page.
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 1")
    return page.locator(".leaflet-popup-content").inner_text()


def test_popups_show_data_text_verbatim_and_run_no_script(site, serve, probe, artifacts, xss):
    XSS_IMG, XSS_SCRIPT, XSS_ATTR = xss["img"], xss["script"], xss["attr"]
    base = serve(site)
    p = probe(base)
    page = p.open_map(f"{base}enforcement.html")
    click_marker(page, 0)
    text = popup_text(page)
    assert XSS_IMG in text and XSS_SCRIPT in text  # address, district and reason: verbatim
    assert "Score\t0.97" in text and "Rank\t1 of 5" in text
    content = page.locator(".leaflet-popup-content")
    assert content.locator("img").count() == 0 and content.locator("script").count() == 0
    assert content.locator("svg.wm-chart").count() == 1  # the load-profile chart
    assert content.locator("a").get_attribute("href") == "https://review.example/cases/M1"
    page.screenshot(path=str(artifacts / "enforcement-popup.png"))
    click_marker(page, 2)
    assert XSS_ATTR in popup_text(page)
    page.evaluate("webmap.layers['Hotspots'].getLayers()[0].openPopup()")
    assert XSS_IMG in popup_text(page)
    assert_clean(p)

    page = p.open_map(f"{base}officials.html")
    # A real click in the middle of the second district (whose name is the XSS text).
    point = page.evaluate(
        "(() => { const c = webmap.map.latLngToContainerPoint([39.9, 116.45]); "
        "const r = webmap.map.getContainer().getBoundingClientRect(); "
        "return [r.left + c.x, r.top + c.y]; })()"
    )
    page.mouse.move(*point)
    assert XSS_IMG in page.locator(".leaflet-tooltip").inner_text()
    page.mouse.click(*point)
    text = popup_text(page)
    assert XSS_IMG in text and "suppressed (< 5)" in text
    page.evaluate("webmap.layers['Data centres: PUE compliance'].getLayers()[1].openPopup()")
    assert XSS_SCRIPT in popup_text(page)
    assert_clean(p)

    page = p.open_map(f"{base}wasteheat.html")
    page.evaluate("webmap.layers['Data centres: recoverable heat'].getLayers()[0].openPopup()")
    assert XSS_IMG in popup_text(page)
    page.evaluate("webmap.layers['Heating network'].getLayers()[1].openPopup()")
    assert XSS_SCRIPT in popup_text(page)
    assert_clean(p)


def test_site_opens_from_files_with_all_http_blocked(site, probe):
    p = probe("file://")
    page = p.page
    # index.html (what every reader gets) lists no restricted map; the page of every
    # map, restricted ones included, is the enforcement teams' (issue 19).
    page.goto((site / "index.html").as_uri())
    assert page.locator("a", has_text="Flagged meters").count() == 0
    page.goto((site / "enforcement-index.html").as_uri())
    assert page.locator("a", has_text="Flagged meters").count() == 1
    page.locator("a.open").first.click()
    page.wait_for_function("window.webmap && window.webmap.ready")
    assert page.evaluate("typeof window.L") == "object"
    assert page.evaluate("Object.keys(webmap.layers).length") > 0
    assert_clean(p)


def test_many_flags_are_clustered_and_all_counted(tmp_path, serve, probe, artifacts):
    n = CLUSTER_AUTO_ABOVE * 2
    rng = np.random.default_rng(7)
    many = gpd.GeoDataFrame(
        {
            "meter_id": [f"M{i}" for i in range(n)],
            "address": [f"{i} 建国路" for i in range(n)],
            "customer_class": "residential",
            "district": "朝阳区",
            "score": rng.uniform(0.5, 1, n).round(3),
            "rank": np.arange(1, n + 1),
            "reasons": "flat load",
        },
        geometry=gpd.points_from_xy(116.3 + rng.random(n) * 0.3, 39.8 + rng.random(n) * 0.2),
        crs=4326,
    )
    site = publish_site(
        tmp_path / "s",
        {"enforcement": MapSpec("enforcement", {"flags": many})},
        include_enforcement=True,
        generated_at=GENERATED,
    )
    base = serve(site.out_dir)
    p = probe(base)
    page = p.open_map(f"{base}enforcement.html")
    assert page.evaluate("webmap.layers['Flagged meters'].wmCount") == n
    clusters = page.locator(".wm-cluster").all_inner_texts()
    assert clusters and sum(int(c) for c in clusters) + singles(page) == n
    page.screenshot(path=str(artifacts / "enforcement-clustered.png"))
    # A click on a cluster zooms in to where it splits.
    zoom = page.evaluate("webmap.map.getZoom()")
    page.locator(".wm-cluster").first.click()
    page.wait_for_function(f"webmap.map.getZoom() > {zoom}")
    assert_clean(p)


def singles(page) -> int:
    return page.evaluate(
        "document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length"
    )


def test_meters_of_one_building_are_listed_at_the_highest_zoom(tmp_path, serve, probe, xss):
    # 400 meters spread out, and 12 of them in one building (same coordinates).
    n = CLUSTER_AUTO_ABOVE + 100
    rng = np.random.default_rng(3)
    lon = 116.3 + rng.random(n) * 0.3
    lat = 39.8 + rng.random(n) * 0.2
    lon[:12], lat[:12] = 116.45, 39.9
    flags = gpd.GeoDataFrame(
        {
            "meter_id": [f"M{i}" for i in range(n)],
            "address": [xss["img"] if i == 5 else f"建国路88号 {i}室" for i in range(n)],
            "customer_class": "residential",
            "district": "朝阳区",
            "score": 0.6,
            "rank": np.arange(1, n + 1),
            "reasons": "flat load",
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    site = publish_site(
        tmp_path / "s",
        {"enforcement": MapSpec("enforcement", {"flags": flags})},
        include_enforcement=True,
        generated_at=GENERATED,
    )
    base = serve(site.out_dir)
    p = probe(base)
    page = p.open_map(f"{base}enforcement.html")
    page.evaluate("webmap.map.setView([39.9, 116.45], webmap.map.getMaxZoom(), {animate: false})")
    building = page.locator(".wm-cluster", has_text="12")
    building.click()
    text = popup_text(page)
    assert "12 flagged meters at this location" in text and xss["img"] in text
    page.locator(".leaflet-popup-content a", has_text=xss["img"]).click()
    text = popup_text(page)
    assert "Meter\tM5" in text and xss["img"] in text
    assert_clean(p)


_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


class _TileHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(_PNG)

    def log_message(self, *args):
        pass


def test_intranet_tile_server_is_used(tmp_path, districts, serve, probe):
    tiles = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TileHandler)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    tile_base = f"http://127.0.0.1:{tiles.server_address[1]}/"
    try:
        basemap = Basemap(f"{tile_base}{{z}}/{{x}}/{{y}}.png", attribution="City tiles")
        site = publish_site(
            tmp_path / "s",
            {"officials": officials_map(districts, basemap=basemap)},
            generated_at=GENERATED,
        )
        base = serve(site.out_dir)
        p = probe(base, tile_base)
        page = p.open_map(f"{base}officials.html")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 0")
        assert "City tiles" in page.locator(".leaflet-control-attribution").inner_text()
        assert_clean(p)
    finally:
        tiles.shutdown()
        tiles.server_close()
