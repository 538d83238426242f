"""Network matching, routes, demand around sites and the heat-density grid.

Every fixture is in UTM 50N (EPSG:32650) metres around a local origin so
the expected distances can be worked out on paper.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from layers.network import (
    connect_sites,
    demand_within,
    heat_density_grid,
    nearest_segments,
    route_lengths,
)
from layers.schemas import LayerError

CRS = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0


def pt(x, y):
    return Point(X0 + x, Y0 + y)


def ln(*pts):
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


@pytest.fixture
def site():
    return gpd.GeoDataFrame({"name": ["DC"]}, geometry=[pt(0, 0)], crs=CRS)


@pytest.fixture
def network():
    # A secondary pipe 100 m north, a primary pipe 400 m south, and a hot
    # secondary pipe only 50 m east that a heat pump (max 90 degC) cannot feed.
    return gpd.GeoDataFrame(
        {
            "kind": ["secondary", "primary", "secondary"],
            "supply_temp_c": [70.0, 85.0, 95.0],
            "return_temp_c": [45.0, 55.0, 60.0],
            "operator": ["Sec Co", "Prim Co", "Hot Co"],
            "diameter_mm": [200, 600, 150],
        },
        geometry=[
            ln((-500, 100), (500, 100)),
            ln((-500, -400), (500, -400)),
            ln((50, -30), (50, 30)),
        ],
        crs=CRS,
    )


def test_nearest_by_kind_with_temperature_limit(site, network):
    near = nearest_segments(site, network, max_supply_temp_c=90.0)
    by_kind = near.set_index("kind")
    assert by_kind.loc["secondary", "distance_m"] == pytest.approx(100.0)  # hot pipe skipped
    assert by_kind.loc["secondary", "operator"] == "Sec Co"
    assert by_kind.loc["primary", "distance_m"] == pytest.approx(400.0)
    assert by_kind.loc["secondary", "pipe_x"] == pytest.approx(X0)
    assert by_kind.loc["secondary", "pipe_y"] == pytest.approx(Y0 + 100)


def test_without_a_limit_the_hot_pipe_is_nearest(site, network):
    near = nearest_segments(site, network).set_index("kind")
    assert near.loc["secondary", "distance_m"] == pytest.approx(50.0)
    assert near.loc["secondary", "operator"] == "Hot Co"


def test_incompatible_kind_is_skipped(site, network):
    near = nearest_segments(site, network, max_supply_temp_c=80.0).set_index("kind")
    assert np.isnan(near.loc["primary", "distance_m"])
    assert near.loc["primary", "segment"] is None


def test_connect_nearest_and_by_kind(site, network):
    con = connect_sites(site, network, max_supply_temp_c=90.0, detour_factor=1.3)
    row = con.iloc[0]
    assert row["connected"] and row["network_kind"] == "secondary"
    assert row["distance_m"] == pytest.approx(100.0)
    assert row["route_length_m"] == pytest.approx(130.0)
    assert row["route_method"] == "detour"
    assert row["secondary_distance_m"] == pytest.approx(100.0)
    assert row["primary_distance_m"] == pytest.approx(400.0)
    assert row["supply_temp_c"] == 70.0 and row["operator"] == "Sec Co"
    assert con.crs.to_epsg() == 4326
    prim = connect_sites(site, network, max_supply_temp_c=90.0, connect_to="primary").iloc[0]
    assert prim["network_kind"] == "primary" and prim["distance_m"] == pytest.approx(400.0)


def test_search_radius_leaves_a_site_unconnected(site, network):
    con = connect_sites(site, network, max_supply_temp_c=90.0, search_radius_m=90.0)
    assert not con.iloc[0]["connected"]
    assert con.iloc[0].geometry is None


def test_route_along_an_l_shaped_street():
    # Street: (0,0) -> (1000,0) -> (1000,1000). From (0,-20) to (1020,1000):
    # 20 m to the street, 2,000 m along the L, 20 m off it = 2,040 m.
    streets = gpd.GeoDataFrame(geometry=[ln((0, 0), (1000, 0), (1000, 1000))], crs=CRS)
    length, geoms, method = route_lengths([pt(0, -20)], [pt(1020, 1000)], streets=streets, crs=CRS)
    assert method[0] == "streets"
    assert length[0] == pytest.approx(2040.0)
    assert geoms[0].length == pytest.approx(2040.0)
    straight = math.hypot(1020, 1020)
    det, _, m = route_lengths([pt(0, -20)], [pt(1020, 1000)], detour_factor=1.3)
    assert m[0] == "detour" and det[0] == pytest.approx(1.3 * straight)


def test_two_points_on_one_street_piece_route_directly():
    streets = gpd.GeoDataFrame(geometry=[ln((0, 0), (1000, 0))], crs=CRS)
    length, _, method = route_lengths([pt(100, 10)], [pt(300, -10)], streets=streets, crs=CRS)
    assert method[0] == "streets" and length[0] == pytest.approx(10 + 200 + 10)


def test_unconnected_streets_fall_back_to_the_detour():
    streets = gpd.GeoDataFrame(geometry=[ln((0, 0), (100, 0)), ln((0, 500), (100, 500))], crs=CRS)
    length, _, method = route_lengths(
        [pt(0, -5)], [pt(0, 505)], streets=streets, crs=CRS, detour_factor=1.5
    )
    assert method[0] == "detour_disconnected"
    assert length[0] == pytest.approx(1.5 * 510)


def test_connect_sites_routes_along_streets(site, network):
    streets = gpd.GeoDataFrame(geometry=[ln((0, -50), (0, 150))], crs=CRS)
    con = connect_sites(site, network, max_supply_temp_c=90.0, streets=streets, crs=CRS)
    assert con.iloc[0]["route_method"] == "streets"
    assert con.iloc[0]["route_length_m"] == pytest.approx(100.0)


def test_demand_within_from_polygons_is_area_weighted(site):
    # A 2,000 m x 2 m strip through the site holding 100 MWh: a 500 m circle
    # covers 1,000 m of it (half), a 2,000 m circle all of it; a 100 m square
    # 1.5 km away only counts in the large circle.
    demand = gpd.GeoDataFrame(
        {"demand_mwh": [100.0, 40.0]},
        geometry=[
            box(X0 - 1000, Y0 - 1, X0 + 1000, Y0 + 1),
            box(X0 + 1500, Y0, X0 + 1600, Y0 + 100),
        ],
        crs=CRS,
    )
    out = demand_within(site, [500, 2000], heat_demand=demand)
    assert out["heat_demand_within_500m_mwh_per_yr"].iloc[0] == pytest.approx(50.0, abs=0.01)
    assert out["heat_demand_within_2000m_mwh_per_yr"].iloc[0] == pytest.approx(140.0, abs=0.01)
    assert out.attrs["source"] == "heat_demand"


def test_demand_within_from_buildings(site):
    buildings = gpd.GeoDataFrame(
        {
            "use": ["residential", "commercial", "residential"],
            "floor_area_m2": [1000.0, 500.0, np.nan],
            "floors": [1, 1, 2],
        },
        geometry=[
            box(X0 + 100, Y0, X0 + 110, Y0 + 10),
            box(X0 - 300, Y0, X0 - 290, Y0 + 10),
            box(X0 + 900, Y0, X0 + 910, Y0 + 10),
        ],
        crs=CRS,
    )
    inten = {"residential": 0.1, "commercial": 0.2}
    out = demand_within(site, [200, 1000], buildings=buildings, intensity_mwh_per_m2=inten)
    # 200 m: only the first (1,000 m2 x 0.1); 1,000 m: + 500 x 0.2 + (10x10x2 floors) x 0.1.
    assert out.iloc[0, 0] == pytest.approx(100.0)
    assert out.iloc[0, 1] == pytest.approx(100.0 + 100.0 + 20.0)


def test_heat_density_grid_conserves_energy():
    demand = gpd.GeoDataFrame(
        {"demand_mwh": [50.0, 300.0]},
        geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 500, Y0 + 100)],
        crs=CRS,
    )
    grid = heat_density_grid(heat_demand=demand, cell_m=100.0)
    assert grid.dims == ("y", "x")
    assert grid.attrs["units"] == "MWh/ha/yr" and grid.attrs["crs"] == "EPSG:32650"
    assert float(grid.sum()) * 1.0 == pytest.approx(350.0)  # 1 ha cells
    assert float(grid.max()) == pytest.approx(100.0)  # 300 MWh over three cells
    assert float(grid.isel(y=0, x=0)) == pytest.approx(50.0)
    assert {"lon", "lat"} <= set(grid.coords)
    assert 116 < float(grid["lon"].mean()) < 118


def test_heat_density_from_buildings():
    buildings = gpd.GeoDataFrame(
        {"use": ["residential"], "floor_area_m2": [2000.0]},
        geometry=[box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)],
        crs=CRS,
    )
    grid = heat_density_grid(
        buildings=buildings, intensity_mwh_per_m2={"residential": 0.1}, cell_m=200.0
    )
    assert float(grid.sum()) * 4.0 == pytest.approx(200.0)  # 200 m cells are 4 ha


def test_bad_input(site, network):
    with pytest.raises(TypeError, match="sites must be a geopandas GeoDataFrame"):
        nearest_segments(site.drop(columns="geometry"), network)
    with pytest.raises(ValueError, match="network is missing column"):
        nearest_segments(site, network.drop(columns="supply_temp_c"))
    with pytest.raises(LayerError, match="no CRS"):
        nearest_segments(site.set_crs(None, allow_override=True), network)
    with pytest.raises(ValueError, match="connect_to must be"):
        connect_sites(site, network, connect_to="tertiary")
    with pytest.raises(ValueError, match="give heat_demand"):
        demand_within(site, [100])
    with pytest.raises(ValueError, match="radii_m must be positive"):
        demand_within(site, [-1], heat_demand=network)
    with pytest.raises(ValueError, match="detour_factor must be a number >= 1"):
        route_lengths([pt(0, 0)], [pt(1, 1)], detour_factor=0.5)
    with pytest.raises(ValueError, match="needs crs="):
        route_lengths(
            [pt(0, 0)],
            [pt(1, 1)],
            streets=gpd.GeoDataFrame(geometry=[ln((0, 0), (1, 0))], crs=CRS),
        )
