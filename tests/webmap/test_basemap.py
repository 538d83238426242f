"""Basemaps: a configurable tile server, Tianditu with a key, or none."""

from __future__ import annotations

import folium
import pytest

from webmap.basemap import Basemap


def test_intranet_basemap_is_added_with_escaped_attribution():
    b = Basemap("https://tiles.intranet/{z}/{x}/{y}.png", attribution="<b>City GIS</b>")
    m = folium.Map(tiles=None)
    b.add_to(m)
    html = m.get_root().render()
    assert "https://tiles.intranet/{z}/{x}/{y}.png" in html
    # Escaped as HTML text, then transported as JSON with \u0026 for "&".
    assert "<b>City GIS</b>" not in html
    assert "\\u0026lt;b\\u0026gt;City GIS" in html
    assert b.urls == ("https://tiles.intranet/{z}/{x}/{y}.png",)


def test_tianditu_has_base_and_label_layers_with_the_key():
    b = Basemap.tianditu("abc123", kind="img")
    assert b.urls[0].startswith("https://t{s}.tianditu.gov.cn/img_w/wmts?")
    assert "LAYER=cia" in b.labels_url and b.url.endswith("&tk=abc123")
    assert b.subdomains == "01234567"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "https://tiles/{z}/{x}.png", "attribution": "x"}, "not a tile URL template"),
        ({"url": "javascript:alert(1)/{z}/{x}/{y}", "attribution": "x"}, "not a tile URL"),
        ({"url": "https://t/{z}/{x}/{y}.png", "attribution": " "}, "attribution must be"),
        (
            {"url": "https://t/{z}/{x}/{y}.png", "attribution": "x", "attribution_url": "ftp://x"},
            "attribution_url must be an http",
        ),
    ],
)
def test_bad_basemaps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Basemap(**kwargs)


def test_bad_tianditu_key():
    with pytest.raises(ValueError, match="Tianditu browser key"):
        Basemap.tianditu("a key&x=1")
    with pytest.raises(ValueError, match="not a Tianditu layer"):
        Basemap.tianditu("abc", kind="sat")
