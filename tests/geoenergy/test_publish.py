"""``geoenergy publish``: aggregates for everyone, addresses only on request."""

from __future__ import annotations

import json

import pandas as pd

from geoenergy.cli import main
from geoenergy.detection import run_detection


def test_publish_keeps_addresses_out_unless_asked(city_ws, city, tmp_path, capsys):
    run_detection(city_ws, detector="rule")
    out = tmp_path / "site"
    assert main(["-w", str(city_ws.path), "publish", "--out", str(out)]) == 0
    assert "Open" in capsys.readouterr().out
    pages = {p.name for p in out.glob("*.html")}
    assert {"index.html", "officials.html", "wasteheat.html"} <= pages
    assert "enforcement.html" not in pages
    addresses = pd.read_csv(city.registry)["address"]
    text = " ".join(
        p.read_text(encoding="utf-8")
        for p in out.rglob("*")
        if p.suffix in {".html", ".csv", ".geojson"}
    )
    assert not any(a in text for a in addresses.head(200))
    # Aggregated downloads: districts with suppression, never a meter id.
    d = pd.read_csv(out / "downloads" / "districts.csv", encoding="utf-8-sig")
    assert {"name", "n_meters", "n_flagged", "suppressed"} <= set(d.columns)
    assert "meter_id" not in d.columns
    # Counts of 1-4 are suppressed (layers.aggregate.suppress_small); 0 and 5+ may show.
    shown = d.loc[~d["suppressed"], "n_flagged"].dropna()
    assert ((shown == 0) | (shown >= 5)).all()
    gj = json.loads((out / "downloads" / "districts.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == len(d)
    # The enforcement map only with --include-addresses.
    out2 = tmp_path / "site2"
    assert (
        main(["-w", str(city_ws.path), "publish", "--out", str(out2), "--include-addresses"]) == 0
    )
    html = (out2 / "enforcement.html").read_text(encoding="utf-8")
    flagged = pd.read_csv(city.registry).set_index("meter_id")
    assert any(
        json.dumps(a, ensure_ascii=False)[1:-1] in html or a in html for a in flagged["address"]
    )


def test_publish_rejects_conflicting_tiles(city_ws, capsys):
    assert main(["-w", str(city_ws.path), "publish", "--tiles", "https://t/{z}/{x}/{y}.png"]) == 1
    assert "--tiles needs --tiles-attribution" in capsys.readouterr().err


def test_published_site_names_no_server_path_and_suppresses_linked_tables(city_ws, tmp_path):
    from geoenergy.publish import publish_workspace

    run_detection(city_ws, detector="rule")
    out = tmp_path / "site"
    result = publish_workspace(city_ws, out, include_addresses=True)
    pages = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    assert {"index.html", "enforcement-index.html", "enforcement.html"} <= set(pages)
    for name, html in pages.items():
        assert str(city_ws.path) not in html, name  # "Data sources" names the workspace
    index = pages["index.html"]
    assert "enforcement.html" not in index  # the restricted card is not on the index
    assert f"workspace: {city_ws.path.name}" in index
    assert city_ws.settings.timezone in index  # the time is labelled with the zone
    assert result.index.name == "enforcement-index.html"
    # Districts and cells are suppressed together: the cells of a district whose
    # count is published never leave a single small count to subtract.
    d = pd.read_csv(out / "downloads" / "districts.csv", encoding="utf-8-sig")
    c = pd.read_csv(out / "downloads" / "h3_cells.csv", encoding="utf-8-sig")
    for table in (d, c):
        shown = table.loc[~table["suppressed"], ["n_meters", "n_flagged", "n_confirmed"]]
        assert ((shown == 0) | (shown >= 5)).all().all()
        assert table.loc[table["suppressed"], "n_flagged"].isna().all()


def test_publish_counts_classified_rectification_with_suppression(city_ws, tmp_path):
    import datetime as dt

    from geoenergy.publish import publish_workspace
    from geoenergy.web.actions import record_action

    res = run_detection(city_ws, detector="rule")
    meters = res.scores["meter_id"].head(8).tolist()
    cases = [("household", "power_cut")] * 6 + [("shop_office", "punitive_tariff")]
    day = dt.date(2026, 11, 30)
    for meter, (kind, measure) in zip(meters, cases, strict=False):
        record_action(
            city_ws.store,
            meter_id=meter,
            action="outcome",
            version=0,
            actor="eve",
            today=day,
            date=day,
            outcome="mining",
            site_kind=kind,
            measure=measure,
        )
    publish_workspace(city_ws, tmp_path / "site")
    table = pd.read_csv(
        tmp_path / "site" / "downloads" / "rectification.csv", encoding="utf-8-sig"
    )
    assert list(table.columns) == ["table", "code", "label", "cases"]
    assert set(table["table"]) == {"kind", "measure", "total"}
    shown = table["cases"].dropna()
    # Nothing between 1 and 4 is shown, and the lone shop cannot be had by subtraction:
    # 6 households + 1 shop = 7 confirmed, so the households or the total go too.
    assert not ((shown >= 1) & (shown < 5)).any()
    kinds = table[table["table"] == "kind"].set_index("code")["cases"]
    total = table.loc[table["table"] == "total", "cases"].iloc[0]
    assert pd.isna(kinds["shop_office"])
    assert pd.isna(kinds["household"]) or pd.isna(total)
    assert set(kinds.index) >= {"household", "shop_office", "industrial_agricultural"}
    assert "meter_id" not in table.columns
