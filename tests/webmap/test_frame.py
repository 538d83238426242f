"""What every map shares: title, data date, attribution, legend, fit to data."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
import shapely

from webmap.basemap import Basemap
from webmap.colors import Classes, Gradient
from webmap.frame import LegendSection, finish, format_date, new_map, total_bounds


def test_title_date_and_attribution_are_escaped():
    m = new_map(
        kind="officials",
        title="<b>T</b>",
        data_date=dt.date(2024, 3, 31),
        attribution="Beijing <DRC>",
        subtitle="s & t",
    )
    html = finish(m, bounds=None).get_root().render()
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in html
    assert "<h1>&lt;b&gt;T&lt;/b&gt;</h1>" in html
    assert "Data as of 2024-03-31" in html and "s &amp; t" in html
    assert "Beijing \\u0026lt;DRC\\u0026gt;" in html  # escaped, then JSON-encoded
    assert "<b>T</b>" not in html and "<DRC>" not in html
    assert m.tile_urls == () and "tileLayer" not in html  # no basemap: plain background


def test_basemap_tiles_and_max_zoom():
    b = Basemap("https://tiles.intranet/{z}/{x}/{y}.png", attribution="City GIS", max_zoom=17)
    m = new_map(kind="officials", title="T", basemap=b)
    assert m.tile_urls == (b.url,)
    assert m.options["max_zoom"] == 17
    assert "https://tiles.intranet/{z}/{x}/{y}.png" in m.get_root().render()


def test_total_bounds_and_a_single_point_is_padded():
    a = gpd.GeoDataFrame(geometry=[shapely.Point(116.4, 39.9)], crs=4326)
    b = gpd.GeoDataFrame(geometry=[shapely.box(116.0, 39.5, 116.1, 39.6)], crs=4326)
    assert total_bounds([a, None, b]) == [[39.5, 116.0], [39.9, 116.4]]
    assert total_bounds([None, a.iloc[:0]]) is None
    m = finish(new_map(kind="x", title="T"), bounds=total_bounds([a]))
    fit = next(iter(m._children.values()))  # first child: fitted before any layer
    assert fit._name == "FitView"
    assert fit.bounds == [
        [pytest.approx(39.89), pytest.approx(116.39)],
        [pytest.approx(39.91), pytest.approx(116.41)],
    ]
    assert "animate: false" in m.get_root().render()


def test_legend_sections_escape_and_follow_their_layers():
    classes = Classes.from_ramp([5], "YlOrRd", unit="<u>")
    sec = LegendSection("<h>", classes=classes, items=[("#000", "<i>", "line:3")], note="<n>")
    html = sec.html()
    assert "&lt;h&gt;" in html and "&lt;i&gt;" in html and "&lt;n&gt;" in html
    assert "< 5 &lt;u&gt;" not in html and "&lt; 5 &lt;u&gt;" in html
    g = LegendSection("g", classes=Gradient("heat", 0, 300, "MWh/ha/yr")).html()
    assert "linear-gradient" in g and "300 MWh/ha/yr" in g


def test_format_date():
    assert format_date(None) == ""
    assert format_date(dt.datetime(2024, 3, 31)) == "2024-03-31"
    assert format_date(dt.datetime(2024, 3, 31, 8, 0)) == "2024-03-31T08:00:00"
    assert format_date("Q1 2024") == "Q1 2024"


def test_bad_frame_arguments():
    with pytest.raises(ValueError, match="title must be non-empty"):
        new_map(kind="x", title=" ")
    with pytest.raises(TypeError, match=r"basemap must be a webmap\.Basemap"):
        new_map(kind="x", title="T", basemap="https://t/{z}/{x}/{y}.png")
