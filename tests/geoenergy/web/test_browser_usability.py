"""Everyday use of the review app in real Chromium, on a desktop (1440x900) and a
phone (390x844): work kept between screens (issue 19, item 3), the phone layout
(4), search, row hover and the score legend (5), the app header on map pages and
no restricted cards for officials (7), and one labelled time zone.

Any JavaScript error, CSP violation or dialog fails the test (``browser_page``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

SIZES = [pytest.param((1440, 900), id="desktop"), pytest.param((390, 844), id="phone")]
ZONE = "Asia/Shanghai (UTC+8)"


def _login(page, server, kit, name="eve", start="/queue"):
    page.goto(server.url + start)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", kit.PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(re.compile(".*" + re.escape(start) + "$"))


def _no_sideways_scroll(page, width):
    got = page.evaluate("document.scrollingElement.scrollWidth")
    assert got <= width, f"{page.url}: the page is {got} px wide in a {width} px window"


def _query(url: str):
    """The queue query a URL names (the form sends empty and default fields too)."""
    from geoenergy.web.queue import parse_queue_query

    return parse_queue_query({k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()})


@pytest.mark.parametrize("size", SIZES)
def test_queue_state_next_case_and_closed_cases(live_server, browser_page, kit, size):
    width, height = size
    page = browser_page
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server, kit)
    _no_sideways_scroll(page, width)

    # Filter, sort by score (descending): the state is in the URL.
    page.select_option("select[name=district]", "朝阳区")
    page.select_option("select[name=status]", "open")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r".*district=.*"))
    if width >= 700:  # column headers sort on a desktop
        page.click("#queue thead a:has-text('score')")  # ascending
        page.wait_for_url(re.compile(r".*sort=score.*"))
        page.click("#queue thead a:has-text('score')")  # descending
    else:  # the sort control (the cards have no column headers)
        page.select_option("#sort", "score")
        page.select_option("#desc", "1")
        page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r".*desc=1.*"))
    queue_url = page.url
    state = _query(queue_url)
    assert (state.district, state.status, state.sort, state.descending) == (
        "朝阳区",
        "open",
        "score",
        True,
    )
    assert page.locator("#queue a.case-link").all_inner_texts() == ["M1", "M2", "M3"]

    # Open M1 and come back: the same queue, same URL.
    page.click("#queue a.case-link:has-text('M1')")
    page.wait_for_selector("#meter-id")
    _no_sideways_scroll(page, width)
    assert ZONE in page.inner_text("#history thead")
    page.click("#back-to-queue")
    page.wait_for_selector("#queue")
    assert _query(page.url) == state
    assert page.locator("#queue a.case-link").all_inner_texts() == ["M1", "M2", "M3"]

    # Record an outcome on M1: the page comes back at the actions, with the result.
    page.click("#queue a.case-link:has-text('M1')")
    page.wait_for_selector("#form-outcome")
    form = page.locator("#form-outcome")
    form.locator("input[value=mining]").check()
    form.locator("select[name=site_kind]").select_option("household")
    form.locator("select[name=measure]").select_option("equipment_seized")
    form.locator("input[name=date]").fill("2023-11-25")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#actions .flash")
    assert urlsplit(page.url).fragment == "actions"
    assert page.evaluate("window.scrollY") > 0
    top = page.evaluate("document.querySelector('#actions').getBoundingClientRect().top")
    assert 0 <= top < height / 2, top
    assert "Saved: record outcome" in page.inner_text("#actions .flash")
    assert page.inner_text("#case-status") == "confirmed"
    assert page.inner_text("#site-kind") == "household"
    assert page.inner_text("#measure") == "equipment seized"
    # A confirmed case offers notes only.
    for form_id in ("form-assign", "form-schedule", "form-outcome"):
        assert page.locator(f"#{form_id}").count() == 0
    assert page.locator("#form-note").count() == 1
    assert ZONE in page.inner_text("#reviews thead")

    # M1 has left the "open" queue: the next case is the one now in its place.
    assert page.inner_text("#next-case").startswith("Next case: M2")
    page.click("#next-case")
    page.wait_for_selector("#meter-id")
    assert page.inner_text("#meter-id") == "M2"
    page.click("#next-case")
    page.wait_for_selector("#meter-id:has-text('M3')")
    assert page.locator("#next-case").count() == 0  # the last of this queue
    page.click("#back-to-queue")
    page.wait_for_selector("#queue")
    assert _query(page.url) == state
    assert page.locator("#queue a.case-link").all_inner_texts() == ["M2", "M3"]


@pytest.mark.parametrize("size", SIZES)
def test_phone_layout_search_hover_and_legend(live_server, browser_page, kit, size):
    width, height = size
    page = browser_page
    page.set_viewport_size({"width": width, "height": height})
    _login(page, live_server, kit)
    page.wait_for_selector("#queue-map[data-ready='1']")
    _no_sideways_scroll(page, width)
    display = page.evaluate("getComputedStyle(document.querySelector('#queue tbody tr')).display")
    assert display == ("block" if width < 700 else "table-row")  # cards on a phone

    # The legend: every class, and the top scores in distinguishable colours.
    assert page.locator("#score-legend li").count() == 7
    fills = {
        m: page.get_attribute(f"#queue-map path[data-meter='{m}']", "fill")
        for m in ("M1", "M2", "M3", "M4", "M5")
    }
    assert len(set(fills.values())) == 5, fills

    # Hovering a row highlights its marker, and leaving it restores it.
    marker = page.locator("#queue-map path[data-meter='M2']")
    assert marker.get_attribute("stroke-width") == "1"
    page.hover("#queue tr[data-meter='M2'] td[data-label='district']")
    assert marker.get_attribute("stroke-width") == "4"
    assert "highlighted" in (marker.get_attribute("class") or "")
    page.hover("#search")
    assert marker.get_attribute("stroke-width") == "1"

    # Search by address, then by meter id; the search stays in the URL.
    page.fill("#search", "中关村")
    page.press("#search", "Enter")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator("#queue a.case-link").all_inner_texts() == ["M4"]
    assert page.input_value("#search") == "中关村"
    page.fill("#search", "m5")
    page.press("#search", "Enter")
    page.wait_for_url(re.compile(r".*q=m5.*"))
    assert page.locator("#queue a.case-link").all_inner_texts() == ["M5"]
    page.click("#queue a.case-link:has-text('M5')")
    page.wait_for_selector("#meter-id")
    page.click("#back-to-queue")
    page.wait_for_selector("#queue")
    assert page.input_value("#search") == "m5"

    # The case page on a phone: no sideways scroll, the map with its legend.
    page.goto(live_server.url + "/cases/M1")
    page.wait_for_selector("#case-map[data-ready='1']")
    _no_sideways_scroll(page, width)
    assert page.locator("#score-legend").is_visible()


def _site_with_cards(root):
    """A published site whose index has a public and a restricted card (the shape of
    webmap's index page), as an older publish without a separate restricted index."""
    import json

    root.mkdir(parents=True, exist_ok=True)
    card = (
        '<section class="map" id="map-{n}"><h2><a class="open" href="{n}.html">{t}</a>'
        "</h2><p>{p}</p></section>\n"
    )
    (root / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>maps</title></head><body><main>"
        + card.format(n="officials", t="Mining hotspots by district", p="12 districts")
        + card.format(n="enforcement", t="Flagged meters", p="41 flagged, top score 0.97")
        + '<p>See also <a href="enforcement.html#m">the enforcement map</a>.</p>'
        "</main></body></html>",
        "utf-8",
    )
    (root / "officials.html").write_text(
        "<!DOCTYPE html><html><head></head><body><div id='m'>officials map</div></body></html>",
        "utf-8",
    )
    (root / "enforcement.html").write_text("<html><body>addresses</body></html>", "utf-8")
    (root / ".webmap-site.json").write_text(json.dumps({"restricted": ["enforcement"]}))
    return root


@pytest.mark.parametrize("size", SIZES)
def test_map_pages_have_the_app_header_and_officials_no_restricted_cards(
    web_ws, kit, browser_page, serve_app, tmp_path, size
):
    from geoenergy.store import Store
    from geoenergy.web import create_app

    width, height = size
    site = _site_with_cards(tmp_path / "published")
    store = Store.for_workspace(web_ws)
    app = create_app(
        web_ws, store=store, published_dir=site, tile_url=None, password_hasher=kit.cheap_hasher()
    )
    page = browser_page
    page.set_viewport_size({"width": width, "height": height})
    with serve_app(app) as server:
        _login(page, server, kit, name="ola", start="/overview")  # an official
        assert page.locator("a:has-text('Case queue')").count() == 0
        page.click("header a:has-text('Published maps')")
        page.wait_for_selector("#app-header")
        text = page.inner_text("body")
        assert "Mining hotspots by district" in text
        assert "Flagged meters" not in text and "41 flagged" not in text
        assert page.locator("a[href^='enforcement']").count() == 0
        assert "the enforcement map" in text  # the words stay, the link goes
        _no_sideways_scroll(page, width)
        # Every link an official is shown opens.
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            if href.startswith(server.url):
                assert page.request.get(href).status == 200, href
        page.click("a.open:has-text('Mining hotspots')")
        page.wait_for_selector("#app-header")
        box = page.locator("#app-header").bounding_box()
        assert box["y"] == 0 and box["width"] == width
        assert page.locator("#m").bounding_box()["y"] >= box["height"]
        page.click("#app-header a.ge-brand")
        page.wait_for_url(re.compile(r".*/overview$"))

        # Enforcement still sees the card and opens the restricted map.
        page.click("header button:has-text('Log out')")
        _login(page, server, kit, name="eve", start="/maps/")
        assert "41 flagged" in page.inner_text("body")
        page.click("a.open:has-text('Flagged meters')")
        page.wait_for_selector("#app-header")
        assert "addresses" in page.inner_text("body")
    store.dispose()


@pytest.mark.parametrize("size", SIZES)
def test_a_real_folium_page_fills_the_window_under_the_header(
    web_ws, kit, browser_page, serve_app, tmp_path, size
):
    """A site from webmap.publish_site: the map sits below the app header and fills
    the rest of the window, without a scroll bar."""
    import folium

    from geoenergy.store import Store
    from geoenergy.web import create_app
    from webmap import publish_site

    width, height = size
    site = tmp_path / "published"
    m = folium.Map(location=[39.9, 116.4], zoom_start=10, tiles=None)
    folium.CircleMarker([39.9, 116.4], radius=5, tooltip="海淀区: 12 flagged").add_to(m)
    try:
        publish_site(site, {"officials": m}, data_sources=["synthetic test"])
    except FileNotFoundError as exc:  # webmap's npm assets are not installed
        kit.skip_or_fail("webmap assets", str(exc))
    store = Store.for_workspace(web_ws)
    app = create_app(
        web_ws, store=store, published_dir=site, tile_url=None, password_hasher=kit.cheap_hasher()
    )
    page = browser_page
    page.set_viewport_size({"width": width, "height": height})
    with serve_app(app) as server:
        _login(page, server, kit, name="ola", start="/overview")
        page.goto(server.url + "/maps/officials.html")
        page.wait_for_selector("path.leaflet-interactive")
        bar = page.locator("#app-header").bounding_box()
        box = page.locator(".folium-map").bounding_box()
        assert box["y"] >= bar["height"] - 0.5
        assert abs(box["y"] + box["height"] - height) <= 1
        assert page.evaluate("document.scrollingElement.scrollHeight") <= height
        _no_sideways_scroll(page, width)
    store.dispose()
