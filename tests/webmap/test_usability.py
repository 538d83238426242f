"""The published maps in real Chromium at a desktop's and a phone's size (issue 19).

Each test runs at 1440 x 900 and at 390 x 844 (a phone, touch screen) with
the internet blocked, and fails on any console error or blocked request.
Screenshots go to build/test-artifacts/webmap/usability-*.png.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pytest
import shapely

from webmap import MapSpec, publish_site
from webmap.colors import RAMPS, SUPPRESSED_COLOR, hex_to_rgb

VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
GENERATED = dt.datetime(2024, 4, 1, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def cells() -> gpd.GeoDataFrame:
    """Five grid cells: 9 of 50 flagged, 2 of 30, 5 of 60, 0 of 11, 0 of 3."""
    boxes = [shapely.box(116.40 + i * 0.02, 39.90, 116.42 + i * 0.02, 39.92) for i in range(5)]
    return gpd.GeoDataFrame(
        {
            "n_meters": [50, 30, 60, 11, 3],
            "n_flagged": [9, 2, 5, 0, 0],
            "n_confirmed": [5, 0, 1, 0, 0],
            "flagged_mwh": [80.0, 15.0, 40.0, 0.0, 0.0],
            "suppressed": [False] * 5,
        },
        geometry=boxes,
        crs=4326,
    )


@pytest.fixture(scope="module")
def many() -> gpd.GeoDataFrame:
    """412 flagged meters: 400 spread out and 12 in one building at 116.45 E, 39.90 N."""
    n = 412
    rng = np.random.default_rng(3)
    lon = 116.3 + rng.random(n) * 0.3
    lat = 39.85 + rng.random(n) * 0.1
    lon[:12], lat[:12] = 116.45, 39.90
    return gpd.GeoDataFrame(
        {
            "meter_id": [f"M{i}" for i in range(n)],
            "address": [f"建国路88号 {i}室" for i in range(n)],
            "customer_class": "residential",
            "district": "朝阳区",
            "score": rng.uniform(0.5, 1.0, n).round(3),
            "rank": np.arange(1, n + 1),
            "reasons": "flat load",
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory, flags, profiles, hotspots, districts, cells, pue_centres, many):
    out = tmp_path_factory.mktemp("usability") / "site"
    outlines = districts[["name", "geometry"]]
    publish_site(
        out,
        {
            "officials": MapSpec(
                "officials",
                {
                    "districts": districts,
                    "hexagons": cells,
                    "data_centres": pue_centres,
                    "data_date": "2024-03-31",
                },
            ),
            "enforcement": MapSpec(
                "enforcement",
                {
                    "flags": flags,
                    "profiles": profiles,
                    "hotspots": hotspots,
                    "districts": outlines,
                    "review_url": "https://review.example/cases/{meter_id}",
                    "data_date": "2024-03-31",
                },
            ),
            "enforcement_city": MapSpec(
                "enforcement",
                {"flags": many, "hotspots": hotspots, "districts": outlines},
            ),
        },
        downloads={"cells": cells},
        generated_at=GENERATED,
        data_sources=[("workspace", "beijing-2024")],
        include_enforcement=True,
    )
    return out


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


def open_map(probe, site, serve, viewport, name):
    base = serve(site)
    p = probe(base, viewport=VIEWPORTS[viewport])
    return p, p.open_map(f"{base}{name}.html")


def assert_clean(p):
    assert p.dialogs == [] and p.errors == [], (p.dialogs, p.errors)
    assert p.blocked == [] and p.failed == [], (p.blocked, p.failed)


def wait_popup(page):
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 1")
    page.wait_for_timeout(350)  # the autopan and the fade-in
    return page.locator(".leaflet-popup-content").inner_text()


def click_at(page, lat, lon, dy=0.0):
    """A real mouse click at a map position (``dy`` pixels below it)."""
    x, y = page.evaluate(
        f"(() => {{ const c = webmap.map.latLngToContainerPoint([{lat}, {lon}]); "
        "const r = webmap.map.getContainer().getBoundingClientRect(); "
        "return [r.left + c.x, r.top + c.y]; })()"
    )
    page.mouse.click(x, y + dy)


def assert_popup_on_top(page):
    """Every point of the open popup shows the popup: nothing covers it, nothing is cut off."""
    hidden = page.evaluate(
        """(() => {
        const box = document.querySelector('.leaflet-popup-content-wrapper').getBoundingClientRect();
        const bad = [];
        for (let i = 1; i < 8; i++) for (let j = 1; j < 8; j++) {
            const x = box.left + box.width * i / 8, y = box.top + box.height * j / 8;
            const e = document.elementFromPoint(x, y);
            if (!e || !e.closest('.leaflet-popup')) {
                bad.push([Math.round(x), Math.round(y), e ? e.className || e.tagName : null]);
            }
        }
        return bad;
    })()"""
    )
    assert hidden == [], f"popup covered or off screen at {hidden}"


# -- 1. popups above the title and the controls -----------------------------------------


def test_enforcement_popup_is_above_title_and_controls(site, serve, probe, viewport, artifacts):
    p, page = open_map(probe, site, serve, viewport, "enforcement")
    page.evaluate(
        "(() => { const m = webmap.layers['Flagged meters'].getLayers()[0]; "
        "m.fire('click', {latlng: m.getLatLng()}, true); })()"
    )
    text = wait_popup(page)
    assert "Meter\tM1" in text and "Rank\t1 of 5" in text  # the address rows
    assert_popup_on_top(page)
    page.screenshot(path=str(artifacts / f"usability-enforcement-popup-{viewport}.png"))
    # Closed, the title and controls are back.
    page.locator(".leaflet-popup-close-button").click()
    page.wait_for_function("!document.querySelector('.wm-covered')")
    assert page.locator(".wm-title").is_visible()
    assert_clean(p)


def test_officials_popup_is_above_everything_and_hides_tooltips(
    site, serve, probe, viewport, artifacts
):
    p, page = open_map(probe, site, serve, viewport, "officials")
    click_at(page, 39.90, 116.45)  # the middle district
    text = wait_popup(page)
    assert "Meters\t800" in text
    assert_popup_on_top(page)
    # A tooltip never sits over an open popup.
    x, y = page.evaluate(
        "(() => { const c = webmap.map.latLngToContainerPoint([39.87, 116.33]); "
        "const r = webmap.map.getContainer().getBoundingClientRect(); "
        "return [r.left + c.x, r.top + c.y]; })()"
    )
    page.mouse.move(x, y)
    page.wait_for_timeout(100)
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.leaflet-tooltip-pane')).display"
    ) == ("none")
    page.screenshot(path=str(artifacts / f"usability-officials-popup-{viewport}.png"))
    assert_clean(p)


# -- 2. phones: folded controls, collapsible legend, pinch zoom ------------------------------


def open_layers(page):
    """Tap the folded layer control open (a phone)."""
    page.locator(".leaflet-control-layers-toggle").tap()
    page.wait_for_selector(".leaflet-control-layers-expanded")


def rect(page, selector):
    return page.locator(selector).first.bounding_box()


def overlap(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("name", ["officials", "enforcement"])
def test_controls_fold_on_a_phone_and_pinch_zoom_is_allowed(
    name, site, serve, probe, viewport, artifacts
):
    p, page = open_map(probe, site, serve, viewport, name)
    meta = page.locator("meta[name=viewport]").get_attribute("content")
    assert "user-scalable=no" not in meta and "maximum-scale" not in meta
    assert page.locator("meta[name=viewport]").count() == 1
    phone = viewport == "phone"
    expanded = page.locator(".leaflet-control-layers-expanded").count() == 1
    legend_open = page.evaluate("document.querySelector('details.wm-legend-box').open")
    title_open = page.evaluate("document.querySelector('details.wm-title').open")
    assert (expanded, legend_open, title_open) == (not phone,) * 3
    # The title, the zoom buttons and the layer control do not cover each other.
    title = rect(page, ".wm-title")
    for other in (".leaflet-control-zoom", ".leaflet-control-layers"):
        assert not overlap(title, rect(page, other)), other
    page.screenshot(path=str(artifacts / f"usability-{name}-{viewport}.png"))
    if phone:
        legend = rect(page, ".wm-legend")
        assert legend["height"] < 60  # folded: one line, not a quarter of the screen
        page.locator(".wm-legend summary").click()
        assert page.evaluate("document.querySelector('details.wm-legend-box').open")
        open_layers(page)
    assert_clean(p)


# -- 6. the officials' map: grid colours, suppression, one choropleth, classes ------------------


def fills(page, layer):
    return page.evaluate(
        f"webmap.layers[{layer!r}].getLayers().map(l => l.getElement().getAttribute('fill'))"
    )


def legend_section(page, title):
    """``[(swatch colour, label)]`` of the legend section headed ``title``."""
    return page.evaluate(
        """(title) => {
        const h = [...document.querySelectorAll('.wm-legend h4')].find(e => e.textContent === title);
        return [...h.parentElement.querySelectorAll('.wm-item')].map(i => [
            getComputedStyle(i.querySelector('span')).backgroundColor, i.innerText.trim()]);
    }""",
        title,
    )


def rgb(color: str) -> str:
    r, g, b = hex_to_rgb(color)
    return f"rgb({r}, {g}, {b})"


def test_officials_grid_colours_and_suppression(site, serve, probe, viewport, artifacts):
    p, page = open_map(probe, site, serve, viewport, "officials")
    if viewport == "phone":
        open_layers(page)
        page.locator(".wm-legend summary").click()
    page.locator(".leaflet-control-layers label", has_text="Grid cells").locator("input").check()
    grid = "Grid cells: flagged meters"
    used = fills(page, grid)
    ramp = RAMPS["YlOrRd"]
    # 9 flagged: the darkest class; 5: a lighter one; 0 of 11: the "0" class; 2 flagged
    # and 3 meters: suppressed.
    assert used == [ramp[-1], SUPPRESSED_COLOR, used[2], ramp[0], SUPPRESSED_COLOR]
    assert used[2] not in (ramp[0], ramp[-1], SUPPRESSED_COLOR)
    section = legend_section(page, "Flagged meters per grid cell")
    labels = [label for _, label in section]
    assert labels[0] == "0" and labels[-1] == "suppressed (< 5)"
    # Every colour on the map has its swatch (the dark red one too), and no other.
    assert {c for c, _ in section} == {rgb(c) for c in used}
    # Integer classes that share no end: each starts after the previous one ends.
    spans = [[int(x) for x in re.findall(r"\d+", label)] for label in labels[:-1] if label != "0"]
    for a, b in itertools.pairwise(spans):
        assert b[0] == a[-1] + 1, labels
    # The cell with 0 flagged among 11 meters says 0, not "suppressed".
    page.evaluate(f"webmap.layers[{grid!r}].getLayers()[3].openPopup()")
    text = wait_popup(page)
    assert "Flagged meters\t0" in text and "suppressed" not in text
    assert_popup_on_top(page)
    page.locator(".leaflet-popup-close-button").click()
    # Over the grid, the district choropleth is drawn as outlines only.
    assert set(fills(page, "Districts: Flagged meters")) == {"none"}
    page.screenshot(path=str(artifacts / f"usability-officials-grid-{viewport}.png"))
    assert_clean(p)


def test_one_district_choropleth_at_a_time(site, serve, probe, viewport):
    p, page = open_map(probe, site, serve, viewport, "officials")
    if viewport == "phone":
        open_layers(page)
    names = ["Districts: Flagged meters", "Districts: Confirmed mining"]
    radios = page.locator(".leaflet-control-layers-base input[type=radio]")
    assert radios.count() == 3
    on = "(n) => n.filter(k => webmap.map.hasLayer(webmap.layers[k])).length"
    every = [*names, "Districts: Flagged energy [MWh]"]
    assert page.evaluate(on, every) == 1
    page.locator(".leaflet-control-layers label", has_text=names[1]).locator("input").check()
    assert page.evaluate(on, every) == 1
    assert page.evaluate(f"webmap.map.hasLayer(webmap.layers[{names[1]!r}])")
    shown = page.evaluate(
        "[...document.querySelectorAll('.wm-legend h4')]"
        ".filter(h => h.parentElement.style.display !== 'none').map(h => h.textContent)"
    )
    assert "Confirmed mining by district" in shown and "Flagged meters by district" not in shown
    assert_clean(p)


# -- 7. the index: no restricted card, no server path, a labelled time zone ---------------------


def test_index_has_no_restricted_card_and_no_server_path(site, probe, viewport, artifacts):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "enforcement.html" not in index and "enforcement_city" not in index
    assert "Restricted" not in index and "Flagged meters (restricted" not in index
    assert "Asia/Shanghai (UTC+08:00)" in index and "2024-04-01 08:30" in index
    manifest = json.loads((site / ".webmap-site.json").read_text(encoding="utf-8"))
    assert manifest["restricted"] == ["enforcement", "enforcement_city"]
    assert [c["name"] for c in manifest["restricted_cards"]] == manifest["restricted"]
    assert manifest["restricted_index"] == "enforcement-index.html"
    full = (site / "enforcement-index.html").read_text(encoding="utf-8")
    assert "enforcement.html" in full and "Restricted: personal data" in full
    for page_file in site.glob("*.html"):
        assert str(site) not in page_file.read_text(encoding="utf-8"), page_file.name
    p = probe("file://", viewport=VIEWPORTS[viewport])
    p.page.goto((site / "index.html").as_uri())
    assert p.page.locator("section.map a.open").all_inner_texts() == [
        "Crypto-mining enforcement and data-centre PUE"
    ]
    # No sideways scrolling on a phone.
    assert p.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    p.page.screenshot(path=str(artifacts / f"usability-index-{viewport}.png"), full_page=True)
    assert_clean(p)


# -- 8. the enforcement map: districts, hotspots, clusters ------------------------------------


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(...)`` colours, computed here from scratch."""

    def lum(c):
        v = np.array([int(x) for x in re.findall(r"\d+", c)[:3]]) / 255.0
        v = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
        return float(v @ [0.2126, 0.7152, 0.0722])

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_enforcement_districts_and_hotspot_clicks(site, serve, probe, viewport, artifacts):
    p, page = open_map(probe, site, serve, viewport, "enforcement")
    outlines = page.evaluate(
        "webmap.layers['District outlines'].getLayers().map(l => "
        "[l.getElement().getAttribute('fill'), l.getElement().classList.contains("
        "'leaflet-interactive')])"
    )
    assert outlines == [["none", False]] * 3  # drawn, and never in the way of a click
    ring = page.locator(".wm-hotspot-icon")
    assert ring.count() == 1 and ring.get_attribute("aria-label").startswith("Hotspot: ")
    box = ring.bounding_box()
    # The ring's stroke (its top) opens the hotspot, above everything...
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 4)
    text = wait_popup(page)
    assert "Flagged meters\t3" in text and "Meter\t" not in text
    assert_popup_on_top(page)
    page.locator(".leaflet-popup-close-button").click()
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    # ... and its inside lets a click through to the meter there (M2).
    box = ring.bounding_box()  # the popup's autopan moved the map
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert "Meter\tM2" in wait_popup(page)
    page.screenshot(path=str(artifacts / f"usability-enforcement-{viewport}-hotspot.png"))
    # Features with a tooltip are tab stops: each has a name.
    unnamed = page.evaluate(
        '[...document.querySelectorAll(\'path[tabindex="0"], .leaflet-marker-icon[tabindex="0"]\')]'
        ".filter(e => !e.getAttribute('aria-label') && !e.getAttribute('title')).length"
    )
    assert unnamed == 0
    assert_clean(p)


def test_clusters_read_well_zoom_to_their_bounds_and_fan_out(
    site, serve, probe, viewport, artifacts
):
    p, page = open_map(probe, site, serve, viewport, "enforcement_city")
    colours = page.evaluate(
        "[...document.querySelectorAll('.wm-cluster')].map(e => "
        "[getComputedStyle(e).color, getComputedStyle(e).backgroundColor])"
    )
    assert len(colours) > 3
    ratios = [contrast(fg, bg) for fg, bg in colours]
    assert min(ratios) >= 4.5, list(zip(colours, ratios, strict=True))
    assert len({bg for _, bg in colours}) >= 1
    page.screenshot(path=str(artifacts / f"usability-clusters-{viewport}.png"))
    # A click on the biggest cluster shows all of its meters.
    target = page.evaluate(
        """(() => {
        const g = webmap.layers['Flagged meters'];
        const c = g.getLayers().filter(l => l.wmCluster !== undefined)
            .sort((a, b) => b.wmCount - a.wmCount)[0];
        const b = c.wmBounds;
        return [c.wmCount, [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()], webmap.map.getZoom()];
    })()"""
    )
    count, (s, w, n, e), zoom = target
    page.locator(".wm-cluster", has_text=str(count)).first.click()
    page.wait_for_function(f"webmap.map.getZoom() > {zoom}")
    page.wait_for_timeout(400)
    assert page.evaluate(
        f"webmap.map.getBounds().pad(0.02).contains(L.latLngBounds([{s}, {w}], [{n}, {e}]))"
    )
    # At the highest zoom the 12 meters of one building fan out, each clickable.
    page.evaluate("webmap.map.setView([39.9, 116.45], webmap.map.getMaxZoom(), {animate: false})")
    page.locator(".wm-cluster", has_text="12").click()
    assert "12 flagged meters at this location" in wait_popup(page)
    spider = page.evaluate(
        "webmap.layers['Flagged meters'].wmSpider.getLayers().filter(l => l.wmIndex !== undefined)"
        ".length"
    )
    assert spider == 12
    page.screenshot(path=str(artifacts / f"usability-spider-{viewport}.png"))
    assert_clean(p)


# -- also: grid values on hover, a size key ----------------------------------------------------


def test_grid_value_on_hover_and_a_size_key(tmp_path, demand_grid, serve, probe, viewport):
    from folium.raster_layers import ImageOverlay

    from webmap.colors import Gradient
    from webmap.frame import LegendSection, finish, new_map
    from webmap.raster import GridHover, grid_to_lonlat, grid_to_rgba

    values, bounds = grid_to_lonlat(demand_grid)
    m = new_map(kind="wasteheat", title="Heat demand")
    overlay = ImageOverlay(
        grid_to_rgba(values, Gradient("heat", 0, 400)),
        bounds=bounds,
        mercator_project=True,
        name="Heat-demand density",
    )
    m.add_child(overlay)
    m.add_child(GridHover(overlay, values, bounds, unit="MWh/ha/yr", label="Heat demand"))
    key = [("#222", f"{mw:g} MW_th", f"circle:{5 + 4 * mw**0.5:g}") for mw in (1, 9, 25)]
    finish(m, bounds=bounds, legend=[LegendSection("Recoverable heat", items=key)])
    site = publish_site(tmp_path / "s", {"heat": m}, generated_at=GENERATED)
    base = serve(site.out_dir)
    p = probe(base, viewport=VIEWPORTS[viewport])
    page = p.open_map(f"{base}heat.html")
    # The cell centred at 116.37 E, 39.88 N (4th column: 300 MWh/ha/yr).
    x, y = page.evaluate(
        "(() => { const c = webmap.map.latLngToContainerPoint([39.88, 116.37]); "
        "const r = webmap.map.getContainer().getBoundingClientRect(); "
        "return [r.left + c.x, r.top + c.y]; })()"
    )
    if viewport == "phone":
        page.mouse.click(x, y)  # a tap
    else:
        page.mouse.move(x, y)
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for()
    assert tip.inner_text() == "Heat demand: 300 MWh/ha/yr"
    # The size key draws the circles at their map size (diameter = 2 x radius).
    if viewport == "phone":
        page.locator(".wm-legend summary").click()
    sizes = page.evaluate(
        "[...document.querySelectorAll('.wm-legend .wm-size')].map(e => e.offsetWidth)"
    )
    assert [round(s) for s in sizes] == [18, 34, 50]
    assert_clean(p)


# -- 5. find a meter on the enforcement map ---------------------------------------------


def test_enforcement_map_finds_a_meter_by_id_or_address(site, serve, probe, viewport, artifacts):
    p, page = open_map(probe, site, serve, viewport, "enforcement")
    box = page.get_by_role("searchbox", name="Find a flagged meter by id or address")
    box.fill("建国路")  # part of M4's address
    box.press("Enter")
    text = wait_popup(page)
    assert "Meter\tM4" in text and "建国路88号" in text
    assert_popup_on_top(page)
    page.screenshot(path=str(artifacts / f"usability-enforcement-search-{viewport}.png"))
    box.fill("m2")  # a meter id, any case
    box.press("Enter")
    assert "Meter\tM2" in wait_popup(page)
    box.fill("no such meter")
    box.press("Enter")
    page.wait_for_function("document.querySelector('.wm-search-note').textContent === 'not found'")
    assert_clean(p)
