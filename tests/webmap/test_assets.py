"""Offline assets: every link points at a local copy, or publishing fails."""

from __future__ import annotations

import folium
import pytest
from folium.plugins import Draw, Fullscreen, MarkerCluster

from webmap.assets import ASSETS, OfflineAssetError, copy_assets, external_links, localize


def test_plain_folium_map_with_plugins_is_localized():
    m = folium.Map(tiles=None)
    MarkerCluster().add_to(m)
    Fullscreen().add_to(m)
    folium.Marker([39.9, 116.4], icon=folium.Icon(icon="info-sign")).add_to(m)
    needed = localize(m, prefix="assets")
    html = m.get_root().render()
    assert external_links(html) == []
    assert 'src="assets/leaflet/dist/leaflet.js"' in html
    assert 'href="assets/@fortawesome/fontawesome-free/css/all.min.css"' in html
    assert {"leaflet", "jquery", "markerclusterjs", "Control.Fullscreen.js"} <= needed
    # Only this map changed: folium's classes still link the CDNs.
    assert folium.Map.default_js[0][1].startswith("https://")


def test_a_map_rendered_before_is_cleaned_of_cdn_links():
    m = folium.Map(tiles=None)
    m._repr_html_()  # as a notebook would
    localize(m)
    assert external_links(m.get_root().render()) == []


def test_element_without_offline_copy_is_refused():
    m = folium.Map(tiles=None)
    Draw().add_to(m)
    with pytest.raises(OfflineAssetError, match="leaflet_draw_js"):
        localize(m)


def test_bad_prefix():
    with pytest.raises(ValueError, match="relative URL"):
        localize(folium.Map(tiles=None), prefix="https://cdn.example/")
    with pytest.raises(TypeError, match=r"folium\.Map"):
        localize("map")


def test_external_links_finds_loads_but_not_plain_links():
    html = (
        '<script src="https://cdn/x.js"></script><link rel="stylesheet" href="//cdn/x.css">'
        '<img src="http://tiles/1/2/3.png"><img src="data:image/png;base64,AA">'
        '<script src="assets/leaflet.js"></script><a href="https://www.tianditu.gov.cn/">x</a>'
    )
    assert external_links(html) == [
        ("script", "src", "https://cdn/x.js"),
        ("link", "href", "//cdn/x.css"),
        ("img", "src", "http://tiles/1/2/3.png"),
    ]
    assert len(external_links(html, allow=["http://tiles/"])) == 2


def test_copy_assets_copies_files_and_their_images(web_assets, tmp_path):
    files = copy_assets(["leaflet", "leaflet_css", "leaflet_measure_css"], tmp_path)
    rel = {p.relative_to(tmp_path).as_posix() for p in files}
    assert "leaflet/dist/leaflet.js" in rel
    assert "leaflet/dist/images/layers.png" in rel
    assert "leaflet-measure/dist/images/rulers.png" in rel
    assert (tmp_path / "leaflet/dist/leaflet.js").stat().st_size > 100_000


def test_every_registered_asset_is_installed(web_assets):
    for name, asset in ASSETS.items():
        for rel in (asset.path, *asset.extra):
            assert (web_assets / asset.package / rel).exists(), f"{name}: {asset.package}/{rel}"


def _fake_assets(root):
    (root / "leaflet" / "dist").mkdir(parents=True)
    (root / "leaflet" / "dist" / "leaflet.js").write_text("/* Leaflet */")
    return root


def test_assets_come_from_the_package_first_then_the_checkout(tmp_path, monkeypatch):
    from webmap import assets

    vendor, checkout = tmp_path / "vendor", tmp_path / "node_modules"
    monkeypatch.delenv(assets.ASSETS_ENV, raising=False)
    monkeypatch.setattr(assets, "VENDOR_DIR", vendor)
    monkeypatch.setattr(assets, "CHECKOUT_DIR", checkout)
    with pytest.raises(assets.AssetsMissingError, match=r"install-web\.sh.*rebuild"):
        assets.node_modules()
    _fake_assets(checkout)
    assert assets.node_modules() == checkout  # a checkout: node_modules
    _fake_assets(vendor)
    assert assets.node_modules() == vendor  # an installed wheel: inside the package
    other = _fake_assets(tmp_path / "elsewhere")
    monkeypatch.setenv(assets.ASSETS_ENV, str(other))
    assert assets.node_modules() == other
    monkeypatch.setenv(assets.ASSETS_ENV, str(tmp_path / "empty"))
    with pytest.raises(assets.AssetsMissingError, match="WEBMAP_ASSETS_DIR"):
        assets.node_modules()


def test_copy_assets_copies_each_packages_licence(web_assets, tmp_path):
    files = copy_assets(["leaflet", "markerclusterjs", "Control.Fullscreen.js"], tmp_path)
    rel = {p.relative_to(tmp_path).as_posix() for p in files}
    assert {
        "leaflet/LICENSE",
        "leaflet.markercluster/MIT-LICENCE.txt",
        "leaflet.fullscreen/LICENSE",
    } <= rel
    assert "BSD 2-Clause" in (tmp_path / "leaflet/LICENSE").read_text()
