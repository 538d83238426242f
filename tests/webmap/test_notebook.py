"""Maps in notebooks: one self-contained page, no script or style from outside, in an iframe."""

from __future__ import annotations

import html
import re

import folium
import pytest

from webmap.assets import OfflineAssetError, external_links
from webmap.notebook import inline_html, save_html, show
from webmap.wasteheat import wasteheat_map

CDN = re.compile(r"cdn\.jsdelivr|cdnjs\.cloudflare|code\.jquery|unpkg\.com|bootstrapcdn")


def _check_self_contained(page: str) -> None:
    assert external_links(page) == []
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    assert not CDN.search(page)


def test_plain_map_is_inlined(web_assets):
    m = folium.Map(location=[40.0, 116.3], zoom_start=12, tiles=None)
    folium.Marker([40.0, 116.3], popup="<b>site</b>").add_to(m)
    page = inline_html(m)
    _check_self_contained(page)
    assert "L.map(" in page  # Leaflet itself is in the page
    assert page.count("<style>") >= 2 and "data:image/png;base64," in page
    # A font is written once even where Font Awesome aliases it.
    assert page.count("data:font/woff2;base64,") <= 4


def test_wasteheat_map_is_inlined_and_shown_in_an_iframe(web_assets, heat_centres, network):
    m = wasteheat_map(heat_centres, network=network)
    frame = show(m, height=300).data
    assert frame.startswith("<iframe srcdoc=") and "height:300px" in frame
    assert "<script" not in frame  # everything is inside the escaped srcdoc attribute
    _check_self_contained(html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)))


def test_save_html(web_assets, tmp_path):
    m = folium.Map(tiles=None)
    path = save_html(m, tmp_path / "maps" / "m.html")
    _check_self_contained(path.read_text(encoding="utf-8"))


def test_an_element_without_a_local_copy_is_refused(web_assets):
    m = folium.Map(tiles=None)
    el = folium.Marker([40, 116])
    el.default_js = [("something_remote", "https://example.org/x.js")]
    el.add_to(m)
    with pytest.raises(OfflineAssetError, match="something_remote"):
        inline_html(m)


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"folium\.Map"):
        inline_html("<html/>")
    with pytest.raises(ValueError, match="height"):
        show(folium.Map(tiles=None), height=10)
