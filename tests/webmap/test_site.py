"""The published site: index, maps, downloads; offline; no personal data by default."""

from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser

import folium
import pandas as pd
import pytest

from webmap import MapSpec, publish_site
from webmap.assets import external_links
from webmap.enforcement import enforcement_map
from webmap.officials import officials_map

GENERATED = dt.datetime(2024, 4, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def maps(
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
    return {
        "officials": officials_map(districts, hexagons=hexagons, data_centres=pue_centres),
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
            "enforcement", {"flags": flags, "profiles": profiles, "hotspots": hotspots}
        ),
    }


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.links += [(tag, k, v) for k, v in attrs if k in ("href", "src")]

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_default_site_has_no_enforcement_map_and_loads_nothing_from_outside(
    tmp_path, maps, districts
):
    out = tmp_path / "site"
    site = publish_site(
        out,
        maps,
        downloads={"districts": districts.drop(columns=["address", "meter_id"])},
        generated_at=GENERATED,
        data_sources=["Meter readings, Jan-Mar 2024", ("Districts", "<b>city GIS</b>")],
    )
    assert sorted(site.maps) == ["officials", "wasteheat"] and site.withheld == ["enforcement"]
    assert not (out / "enforcement.html").exists()
    index = parse(site.index)
    hrefs = [v for tag, k, v in index.links if tag == "a"]
    assert "officials.html" in hrefs and "wasteheat.html" in hrefs
    assert not any("enforcement" in h for h in hrefs)
    text = "".join(index.text)
    assert "2024-04-01 08:30" in text and "Meter readings, Jan-Mar 2024" in text
    assert "<b>city GIS</b>" in text  # shown as text: the parser saw it as data
    assert "Flagged meters (districts shown)" in text  # the officials map's summary
    # Every page: no script, style or image from outside the site.
    for page in out.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert external_links(html) == [], page.name
        for tag, _key, url in parse(page).links:
            if tag != "a":
                assert not url.startswith(("http://", "https://", "//")), (page.name, url)
                if not url.startswith("data:"):
                    assert (out / url).exists(), (page.name, url)
    assert (out / "assets/leaflet/dist/leaflet.js").exists()
    assert (out / "downloads/districts.csv").exists()


def test_enforcement_map_only_when_asked_and_removed_when_not(tmp_path, maps):
    out = tmp_path / "site"
    site = publish_site(out, maps, include_enforcement=True, generated_at=GENERATED)
    assert (out / "enforcement.html").exists() and site.withheld == []
    assert "Restricted: personal data" in site.index.read_text(encoding="utf-8")
    # 5 flags are not clustered: no clustering script is shipped.
    assert not (out / "assets/supercluster").exists()
    # Publishing again without it removes the old copy with its addresses.
    publish_site(out, maps, generated_at=GENERATED)
    assert not (out / "enforcement.html").exists()
    assert json.loads((out / ".webmap-site.json").read_text())["withheld"] == ["enforcement"]


def test_a_map_built_by_enforcement_map_is_recognised_under_any_name(tmp_path, flags):
    site = publish_site(tmp_path / "s", {"list": enforcement_map(flags)}, generated_at=GENERATED)
    assert site.withheld == ["list"] and site.maps == {}


def test_downloads_geojson_and_csv(tmp_path, hexagons, districts):
    frame = pd.DataFrame(
        {"district": ["东城区"], "n_flagged": [12], "day": pd.to_datetime(["2024-03-31"])}
    )
    site = publish_site(
        tmp_path / "s",
        {"officials": officials_map(districts)},
        downloads={"hexagons": hexagons, "by_district": frame},
        generated_at=GENERATED,
    )
    csv, geo = site.downloads["hexagons"]
    gj = json.loads(geo.read_text(encoding="utf-8"))
    assert len(gj["features"]) == 4 and gj["features"][0]["properties"]["n_flagged"] == 9
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(table.columns) == [
        "n_meters",
        "n_flagged",
        "n_confirmed",
        "flagged_mwh",
        "suppressed",
        "lon",
        "lat",
    ]
    assert table.lon[0] == pytest.approx(116.41) and table.lat[0] == pytest.approx(39.91)
    (only,) = site.downloads["by_district"]
    assert only.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the Chinese
    assert "东城区" in only.read_text(encoding="utf-8-sig")


def test_downloads_with_personal_columns_are_refused(tmp_path, districts, flags):
    with pytest.raises(ValueError, match=r"columns \['address', 'meter_id'\] that identify"):
        publish_site(tmp_path / "s", {"o": officials_map(districts)}, downloads={"d": districts})


def test_refuses_a_folder_that_is_not_a_publication(tmp_path, districts):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty and holds no earlier publication"):
        publish_site(tmp_path, {"o": officials_map(districts)})
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("maps", "error", "match"),
    [
        ({}, ValueError, "maps must be a non-empty dict"),
        ({"Bad Name": folium.Map()}, ValueError, "is not allowed"),
        ({"index": folium.Map()}, ValueError, "is not allowed"),
        ({"m": "not a map"}, TypeError, "must be a folium.Map or a webmap.MapSpec"),
    ],
)
def test_bad_maps(tmp_path, maps, error, match):
    with pytest.raises(error, match=match):
        publish_site(tmp_path / "s", maps)


def test_bad_map_spec():
    with pytest.raises(ValueError, match="kind='heat' is unknown"):
        MapSpec("heat", {})


def test_plain_folium_map_is_published_offline(tmp_path):
    m = folium.Map(tiles=None)
    folium.Marker([39.9, 116.4], popup="x").add_to(m)
    site = publish_site(tmp_path / "s", {"custom": m}, generated_at=GENERATED)
    assert external_links(site.maps["custom"].read_text(encoding="utf-8")) == []
    assert (tmp_path / "s/assets/jquery/dist/jquery.min.js").exists()


def test_summaries_override_and_escape(tmp_path, districts):
    site = publish_site(
        tmp_path / "s",
        {"officials": officials_map(districts)},
        summaries={"officials": pd.DataFrame({"<th>": ["<td>"]})},
        generated_at=GENERATED,
    )
    html = site.index.read_text(encoding="utf-8")
    assert "&lt;th&gt;" in html and "&lt;td&gt;" in html and "<th><th>" not in html


def test_manifest_lists_restricted_pages_for_the_review_app(tmp_path):
    """A page with addresses is listed as restricted whatever its name."""
    import json

    import geopandas as gpd
    import shapely

    from webmap import MapSpec, publish_site

    flags = gpd.GeoDataFrame(
        {
            "meter_id": ["M1"],
            "address": ["北京市某路1号"],
            "customer_class": ["residential"],
            "district": ["西区"],
            "score": [0.9],
            "rank": [1],
            "reasons": ["flat load"],
        },
        geometry=[shapely.Point(116.3, 39.9)],
        crs=4326,
    )
    site = publish_site(
        tmp_path / "site",
        {"cases_week_48": MapSpec("enforcement", {"flags": flags})},
        include_enforcement=True,
    )
    manifest = json.loads((site.out_dir / ".webmap-site.json").read_text(encoding="utf-8"))
    assert manifest["restricted"] == ["cases_week_48"]
