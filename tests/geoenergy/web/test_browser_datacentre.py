"""Registered data centres in real Chromium: their own list, out of the household queue,
their data-centre evidence on the case page; payloads in their data do not run (any
dialog or JavaScript error fails the test, see ``browser_page``)."""

from __future__ import annotations

import re

REASONS = [
    "data-centre score 0.95, rank 1 of 3 data centres",
    "base load 901 kW = 90 % of the contracted 1,000 kW",
    "base load stepped up by 500 kW (50 % of the contract) from 2023-11-10 and stayed there",
    'no daily cycle (facility meter) <img src=x onerror="window.__xss=3">',
    "PUE behaviour: not available (no IT meter)",
]


def _add_data_centre(ws, tmp_path, kit):
    from geoenergy.store import DetectionRun, Store

    lists = {
        "main": {"n_scored": 6, "n_flagged": 5, "expected_precision": 0.96},
        "data_centre": {
            "n_scored": 1,
            "n_flagged": 1,
            "expected_precision": None,
            "method": "data-centre evidence score >= 0.5, ranked among data centres",
        },
    }
    card = {"flagged_list": {"method": "bh", "fdr": 0.05, "n_scored": 6, "n_flagged": 5}}
    card["flagged_list"].update(expected_precision=0.96, lists=lists)
    with Store.for_workspace(ws) as store, store.session() as s:
        s.get(DetectionRun, 2).model_card = card
    kit.flag_data_centre(ws, tmp_path, "<script>window.__xss=4</script>数据中心", REASONS)


def test_data_centres_are_a_list_of_their_own(live_server, browser_page, kit, web_ws, tmp_path):
    _add_data_centre(web_ws, tmp_path, kit)
    page = browser_page
    page.goto(live_server.url + "/queue")
    page.fill("input[name=name]", "eve")
    page.fill("input[name=password]", kit.PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(re.compile(r".*/queue$"))
    # The household and shop queue: the five flagged meters, no data centre.
    assert page.inner_text("#total") == "5"
    assert "DC1" not in page.locator("#queue a.case-link").all_inner_texts()
    # The data-centre list, from the flagged-list line.
    page.click("#flagged-list a.own-list")
    page.wait_for_url(re.compile(r".*class=data_centre.*"))
    assert page.inner_text("#total") == "1"
    assert page.locator("#queue a.case-link").all_inner_texts() == ["DC1"]
    assert "data-centre evidence" in page.inner_text("#own-list-note")
    # The case page: the evidence in words, payloads shown as text.
    page.click("#queue a.case-link:has-text('DC1')")
    page.wait_for_selector("#meter-id")
    reasons = page.inner_text("#reasons")
    assert "90 % of the contracted 1,000 kW" in reasons
    assert "PUE behaviour: not available (no IT meter)" in reasons
    assert 'onerror="window.__xss=3"' in reasons
    assert page.inner_text("#address").startswith("<script>")
    assert page.evaluate("window.__xss") is None
