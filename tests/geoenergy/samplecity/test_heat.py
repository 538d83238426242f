"""The heat layers: district-heating network, heat-demand grid and data centres."""

from __future__ import annotations

import geopandas as gpd
import shapely


def test_heating_network_layer(city):
    net = gpd.read_file(city.layers["heating_network"])
    assert set(net["kind"]) == {"primary", "secondary"}
    primary, secondary = net[net["kind"] == "primary"], net[net["kind"] == "secondary"]
    assert primary["supply_temp_c"].between(105, 121).all()
    assert secondary["supply_temp_c"].between(60, 75).all()
    assert (net["return_temp_c"] < net["supply_temp_c"]).all()
    trunk = shapely.union_all(primary.geometry.values)
    assert all(trunk.distance(shapely.Point(g.coords[0])) < 1e-9 for g in secondary.geometry)


def test_heat_demand_layer(city):
    demand = gpd.read_file(city.layers["heat_demand"])
    assert (demand["demand_mwh"] >= 0).all() and demand["demand_mwh"].max() > 0


def test_data_centres_layer(city, registry):
    dc = gpd.read_file(city.layers["data_centres"])
    assert len(dc) == 8 and set(dc.geom_type) == {"Point"}
    assert dc["it_load_mw"].between(1, 40).all()
    assert dc["pue"].between(1.15, 1.6).all()
    assert set(dc["cooling"]) <= {"air", "water", "liquid", "immersion"}
    linked = dc["meter_id"].dropna()
    assert 1 <= len(linked) <= 4
    classes = registry.set_index("meter_id")["customer_class"]
    assert (linked.map(classes) == "data_centre").all()
