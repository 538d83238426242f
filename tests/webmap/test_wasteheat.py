"""The heating planners' map: heat, network, demand raster, connections, rings."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely
from folium.plugins import Fullscreen, MeasureControl
from folium.raster_layers import ImageOverlay

from webmap.features import FeatureLayer
from webmap.wasteheat import wasteheat_map


def test_all_layers_and_controls(heat_centres, network, demand_grid, connections):
    m = wasteheat_map(
        heat_centres, network=network, demand_grid=demand_grid, connections=connections
    )
    kids = list(m._children.values())
    feats = {c.layer_name: c for c in kids if isinstance(c, FeatureLayer)}
    assert list(feats) == [
        "Heating network",
        "Candidate connections",
        "Distance rings (1, 2, 5 km)",
        "Data centres: recoverable heat",
    ]
    assert not feats["Distance rings (1, 2, 5 km)"].show  # on demand
    assert any(isinstance(c, ImageOverlay) for c in kids)
    assert any(isinstance(c, Fullscreen) for c in kids)
    assert any(isinstance(c, MeasureControl) for c in kids)
    rings = json.loads(feats["Distance rings (1, 2, 5 km)"].data_json)["features"]
    assert [f["properties"]["r"] for f in rings] == [1000, 2000, 5000] * 2
    dcs = json.loads(feats["Data centres: recoverable heat"].data_json)["features"]
    # Radius 5 + 4 sqrt(MW) [px]: 16 MW -> 21, 4 MW -> 13.
    assert [f["properties"]["pr"] for f in dcs] == [21, 13]
    title, con = feats["Candidate connections"].rows(0)
    assert title == "DC North to primary"
    assert con["Straight-line distance"] == "3,300 m" and con["Route length"] == "4,100 m"
    assert con["Investment"] == "12.5 million CNY" and con["Used heat"] == "60,000 MWh_th/yr"
    assert feats["Data centres: recoverable heat"].rows(1)[1]["Source temperature"] == "60 °C"
    html = m.get_root().render()
    assert "data:image/png;base64," in html
    assert "<img src=x" not in html and "</script><script>window" not in html
    assert m.summary["Recoverable heat"] == "20.0 MW_th"
    assert m.summary["Candidate connections"] == "1"


def test_network_is_styled_by_kind_and_temperature(heat_centres, network):
    m = wasteheat_map(heat_centres, network=network, rings_km=())
    layer = next(
        c for c in m._children.values() if getattr(c, "layer_name", "") == "Heating network"
    )
    styles = json.loads(layer.styles_json)
    feats = json.loads(layer.data_json)["features"]
    primary, secondary = (styles[f["properties"]["s"]] for f in feats)
    assert primary["weight"] == 5 and secondary["weight"] == 2.5
    assert primary["color"] != secondary["color"]  # 110 vs 70 degC
    assert not any(
        getattr(c, "layer_name", "").startswith("Distance") for c in m._children.values()
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rings_km": (1, -2)}, ValueError, "rings_km must be positive"),
        ({"temp_range": (90, 20)}, ValueError, "temp_range must be"),
        ({"demand_grid": [[1, 2]]}, TypeError, "demand_grid must be an xarray"),
    ],
)
def test_bad_options(heat_centres, kwargs, error, match):
    with pytest.raises(error, match=match):
        wasteheat_map(heat_centres, **kwargs)


def test_bad_network(heat_centres, network):
    with pytest.raises(ValueError, match=r"network.kind must be one of"):
        wasteheat_map(heat_centres, network=network.assign(kind=["primary", "tertiary"]))
    with pytest.raises(ValueError, match="lacks columns"):
        wasteheat_map(heat_centres.drop(columns="operator"))


def test_data_centre_outlines_are_drawn_at_a_point_inside(heat_centres):
    outlines = heat_centres.copy()
    outlines["geometry"] = [
        shapely.box(116.34, 39.92, 116.36, 39.94),
        shapely.box(116.44, 39.86, 116.46, 39.88),
    ]
    m = wasteheat_map(outlines, rings_km=(1,))
    layer = next(
        c
        for c in m._children.values()
        if getattr(c, "layer_name", "") == "Data centres: recoverable heat"
    )
    geoms = [f["geometry"] for f in json.loads(layer.data_json)["features"]]
    assert [g["type"] for g in geoms] == ["Point", "Point"]
    assert geoms[0]["coordinates"] == pytest.approx([116.35, 39.93])


def test_a_map_shows_in_a_notebook(heat_centres):
    html = wasteheat_map(heat_centres)._repr_html_()
    assert "iframe" in html  # folium's notebook display, with CDN links (not published)


def _networks():
    import geopandas as gpd
    from shapely.geometry import LineString

    row = {
        "demand_mwh_per_yr": 5000.0,
        "used_heat_mwh_th_per_yr": 4500.0,
        "demand_covered_share": 0.9,
        "investment_cny": 12.5e6,
        "lcoh_cny_per_mwh": 310.0,
    }
    for m in range(1, 13):
        winter = m in (1, 2, 3, 11, 12)
        row[f"demand_mwh_m{m:02d}"] = 1000.0 if winter else 0.0
        row[f"supply_mwh_m{m:02d}"] = 2000.0
        row[f"used_mwh_m{m:02d}"] = 900.0 if winter else 0.0
    return gpd.GeoDataFrame(
        [row],
        index=pd.Index(["N1"], name="network_id"),
        geometry=[LineString([(116.30, 39.90), (116.32, 39.90)])],
        crs=4326,
    )


def test_network_popup_has_its_balance_and_a_monthly_chart(heat_centres):
    from webmap.wasteheat import NetworkBalance

    m = wasteheat_map(heat_centres, networks=_networks(), rings_km=())
    layer = next(c for c in m._children.values() if isinstance(c, NetworkBalance))
    data = json.loads(layer.data_json)
    assert data["title"] == ["Heating network N1"]
    assert data["values"][0][:3] == ["5,000 MWh/yr", "4,500 MWh_th/yr", "90 %"]
    svg = data["svg"][0]
    assert svg.startswith("<svg") and svg.count("<rect") == 36  # 3 bars x 12 months
    html = m.get_root().render()
    assert "cdn" not in svg.lower() and "Heating networks: demand and waste heat" in html
    assert m.summary["Network demand in reach"] == "5.0 GWh/yr"


def test_data_centre_popup_sets_used_beside_available(heat_centres):
    dc = heat_centres.assign(available_heat_mwh_th_per_yr=[120_000.0, 30_000.0])
    m = wasteheat_map(dc, rings_km=())
    feats = {c.layer_name: c for c in m._children.values() if isinstance(c, FeatureLayer)}
    _title, row = feats["Data centres: recoverable heat"].rows(0)
    assert row["Available heat"] == "120,000 MWh_th/yr"
    assert row["Used heat"] == "60,000 MWh_th/yr (50% of available)"
    assert "Used heat" in m.summary
    # A dark disc per site on the same scale: 60,000 MWh/yr = 6.85 MW -> 4 sqrt(6.85) = 10 px.
    used = json.loads(feats["Data centres: used heat"].data_json)["features"]
    assert used[0]["properties"]["pr"] == pytest.approx(10.5, abs=0.6)


def test_demand_cells_give_their_value_on_hover_and_circles_have_a_size_key(
    heat_centres, demand_grid
):
    from webmap.raster import GridHover

    m = wasteheat_map(heat_centres, demand_grid=demand_grid)
    hovers = [c for c in m._children.values() if isinstance(c, GridHover)]
    assert len(hovers) == 1
    grid = json.loads(hovers[0].grid_json)
    assert grid["label"] == "Heat demand" and grid["unit"] == "MWh/ha/yr"
    html = m.get_root().render()
    # Recoverable heat 16 and 4 MW: keys for 1, 5 and 10 MW.
    assert "1 MW_th" in html and "5 MW_th" in html and "10 MW_th" in html
    # The 1 MW key is drawn at the map's radius, 5 + 4 sqrt(1) = 9 px: 18 px across.
    assert "width:18px;height:18px" in html
