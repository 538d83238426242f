"""Networks as connected sets of segments, their service areas and demand."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from layers.heatnets import heating_networks, network_demand

CRS = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0


def _net():
    # Two touching segments (one network) and a separate one 5 km away.
    return gpd.GeoDataFrame(
        {
            "kind": ["secondary", "secondary", "secondary"],
            "supply_temp_c": [70.0, 65.0, 60.0],
            "return_temp_c": [45.0, 40.0, 40.0],
            "operator": ["A", "A", "B"],
        },
        geometry=[
            LineString([(X0, Y0), (X0 + 1000, Y0)]),
            LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)]),
            LineString([(X0 + 6000, Y0), (X0 + 6500, Y0)]),
        ],
        crs=CRS,
    )


def test_components_and_operator_grouping():
    nets, seg = heating_networks(_net())
    assert list(seg) == ["N1", "N1", "N2"]
    assert nets.loc["N1", "n_segments"] == 2 and nets.loc["N1", "supply_temp_c"] == 70.0
    assert nets.loc["N1", "length_m"] == pytest.approx(2000.0)
    assert nets.crs.to_epsg() == 4326
    by_op, seg_op = heating_networks(_net(), by="operator")
    assert list(seg_op) == ["N1", "N1", "N2"] and list(by_op["operator"]) == ["A", "B"]


def test_demand_counts_once_for_the_nearest_network():
    nets, _ = heating_networks(_net())
    demand = gpd.GeoDataFrame(
        {"demand_mwh": [1000.0, 2000.0, 4000.0]},
        geometry=[
            box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300),  # near N1
            box(X0 + 6100, Y0 - 200, X0 + 6300, Y0 - 100),  # near N2
            box(X0 + 3000, Y0 + 3000, X0 + 3200, Y0 + 3200),  # beyond both
        ],
        crs=CRS,
    )
    q, areas = network_demand(nets, heat_demand=demand, buffer_m=500)
    assert q.to_dict() == pytest.approx({"N1": 1000.0, "N2": 2000.0})
    assert q.sum() <= demand["demand_mwh"].sum()
    assert set(areas.index) == {"N1", "N2"}
    half, _ = network_demand(
        nets,
        heat_demand=gpd.GeoDataFrame(
            {"demand_mwh": [1000.0]},
            geometry=[box(X0 + 100, Y0 - 300, X0 + 300, Y0 - 600)],
            crs=CRS,
        ),
        buffer_m=500,
    )
    assert half["N1"] == pytest.approx(2000.0 / 3)  # 200 of its 300 m inside the 500 m area


def test_bad_demand_values():
    nets, _ = heating_networks(_net())
    bad = gpd.GeoDataFrame(
        {"demand_mwh": [float("nan")]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], crs=CRS
    )
    with pytest.raises(ValueError, match="demand_mwh"):
        network_demand(nets, heat_demand=bad)
