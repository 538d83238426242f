"""The review app in real Chromium: log in, filter, open a case, record an outcome,
see it in the history and in the labels export. Any JavaScript error, CSP
violation or dialog (a payload that ran) fails the test (see ``browser_page``)."""

from __future__ import annotations

import re


def _login(page, server, name="eve", password=None, kit=None, start="/queue"):
    page.goto(server.url + start)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password or kit.PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(re.compile(".*" + re.escape(start) + "$"))


def test_enforcement_workflow(live_server, browser_page, kit, tmp_path):
    page = browser_page
    _login(page, live_server, kit=kit)
    assert page.inner_text("#total") == "5"
    # The map of the page: Leaflet loaded from the app, one marker per row.
    page.wait_for_selector("#queue-map[data-ready='1']")
    assert page.evaluate("typeof window.L") == "object"
    assert page.locator("#queue-map path.leaflet-interactive").count() == 5

    # Filter the queue.
    page.select_option("select[name=district]", "朝阳区")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r".*district=.*"))
    assert page.inner_text("#total") == "3"
    meters = page.locator("#queue a.case-link").all_inner_texts()
    assert meters == ["M1", "M2", "M3"]

    # Open a case.
    page.click("#queue a.case-link:has-text('M1')")
    page.wait_for_selector("#meter-id")
    assert page.inner_text("#meter-id") == "M1"
    assert page.inner_text("#address") == "北京市朝阳区建国路1号"
    assert page.locator("svg.chart").count() == 3
    page.wait_for_selector("#case-map[data-ready='1']")
    assert "flat load day and night" in page.inner_text("#reasons")

    # Record an outcome, with a note that would run if it were not escaped.
    note = 'Six rigs. <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'
    form = page.locator("#form-outcome")
    form.locator("input[value=mining]").check()
    form.locator("input[name=date]").fill("2023-11-25")
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert "Saved: record outcome" in page.inner_text(".flash")
    assert page.inner_text("#case-status") == "confirmed"

    # The history shows it verbatim, and nothing ran.
    row = page.locator("#reviews tbody tr").first
    assert row.locator("td.note").inner_text() == note
    assert "confirmed mining" in row.inner_text() and "eve" in row.inner_text()
    assert page.evaluate("window.__xss") is None

    # The labels export has it, in the data-contract format.
    with page.expect_download() as info:
        page.click("a:has-text('Labels (CSV)')")
    path = tmp_path / "labels.csv"
    info.value.save_as(path)
    assert path.read_text("utf-8").splitlines() == [
        "meter_id,label,inspected_on",
        "M1,mining,2023-11-25",
    ]

    # Log out: back to the login page, and the queue needs a login again.
    page.click("header button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(live_server.url + "/queue")
    assert "/login" in page.url


def test_payloads_in_data_do_not_run(live_server, browser_page, kit):
    page = browser_page
    _login(page, live_server, name="ada", kit=kit)
    for path in ("/queue", "/cases/M2", "/cases/M3", "/cases/M5", "/overview"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None
    page.goto(live_server.url + "/cases/M2")
    assert page.inner_text("#address") == kit.XSS  # shown as text
    assert page.inner_text("#reasons") == kit.XSS_IMG
    # Tooltips of the map are built with textContent.
    page.wait_for_selector("#case-map[data-ready='1']")


def test_analyst_sees_no_address_and_cannot_act(live_server, browser_page, kit):
    page = browser_page
    _login(page, live_server, name="ana", kit=kit)
    assert page.locator("#queue-map").count() == 0
    assert "北京市" not in page.content()
    page.click("#queue a.case-link:has-text('M1')")
    page.wait_for_selector("#meter-id")
    assert page.locator("#address").count() == 0
    assert page.locator("#form-outcome").count() == 0
    assert page.locator("svg.chart").count() == 3


def test_published_site_is_served_and_works_under_its_policy(
    web_ws, kit, browser_page, serve_app, tmp_path
):
    """A real site from webmap.publish_site (folium, inline scripts) runs under /maps/."""
    import folium

    from geoenergy.store import Store
    from geoenergy.web import create_app
    from webmap import publish_site

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
    with serve_app(app) as server:
        _login(page, server, name="ola", kit=kit, start="/overview")  # an official
        page.goto(server.url + "/maps/")
        assert "/maps/" in page.url and page.locator("a[href='officials.html']").count() == 1
        page.goto(server.url + "/maps/officials.html")
        page.wait_for_function("typeof window.L === 'object'")
        page.wait_for_selector("path.leaflet-interactive")
        r = page.request.get(server.url + "/maps/enforcement.html")
        assert r.status == 404  # not published by default
    store.dispose()
