"""Aggregation to districts and grid cells, with small cells suppressed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from layers.aggregate import aggregate_to_districts, aggregate_to_grid, suppress_small

UTM = "EPSG:32650"
X0, Y0 = 450_000.0, 4_420_000.0


def _districts():
    return gpd.GeoDataFrame(
        {"name": ["A", "B", "C", "D"]},
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            box(X0, Y0 + 1000, X0 + 2000, Y0 + 2000),
            box(X0 + 3000, Y0, X0 + 4000, Y0 + 1000),  # no meters
        ],
        crs=UTM,
    ).to_crs(4326)


def _meters():
    # A: 6 meters, 3 flagged (1 confirmed); B: 2 meters; C: 5 meters, all flagged.
    xy = [(100 + 50 * i, 100) for i in range(6)]
    xy += [(1500, 500), (1600, 500)]
    xy += [(100 + 50 * i, 1500) for i in range(5)]
    flagged = [True, True, True, False, False, False] + [False, False] + [True] * 5
    confirmed = [True] + [False] * 7 + [True] * 5
    kwh = np.where(flagged, 1000.0, 0.0)
    return gpd.GeoDataFrame(
        {
            "meter_id": [f"m{i}" for i in range(13)],
            "flagged": flagged,
            "confirmed": confirmed,
            "flagged_kwh": kwh,
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        crs=UTM,
    ).to_crs(4326)


def test_districts_by_hand():
    out = aggregate_to_districts(
        _meters(), _districts(), confirmed_col="confirmed", sum_cols="flagged_kwh"
    )
    assert out.crs.to_epsg() == 4326
    assert out["name"].tolist() == ["A", "B", "C", "D"]
    assert out["suppressed"].tolist() == [True, True, False, False]
    # A has 3 flagged (< 5) and B 2 meters (< 5): every value of both is blanked.
    for col in ("n_meters", "n_flagged", "n_confirmed", "flagged_kwh"):
        assert out[col].iloc[:2].isna().all(), col
    c = out.iloc[2]
    assert (c["n_meters"], c["n_flagged"], c["n_confirmed"], c["flagged_kwh"]) == (
        5,
        5,
        5,
        5000.0,
    )
    d = out.iloc[3]
    assert (d["n_meters"], d["n_flagged"], d["n_confirmed"]) == (0, 0, 0)  # zero is published
    assert out.attrs["n_suppressed"] == 2


def test_min_count_one_publishes_everything_and_district_col_is_used():
    m = _meters()
    out = aggregate_to_districts(m, _districts(), min_count=1)
    assert not out["suppressed"].any()
    assert out["n_meters"].tolist() == [6, 2, 5, 0]
    assert out["n_flagged"].tolist() == [3, 0, 5, 0]
    m["district"] = ["C"] * 13  # a precomputed join wins over geometry
    out = aggregate_to_districts(m, _districts(), district_col="district", min_count=1)
    assert out["n_meters"].tolist() == [0, 0, 13, 0]


@pytest.mark.parametrize(
    ("grid", "kwargs", "prefix"),
    [
        ("square", {"cell_size_m": 1000, "crs": UTM}, "s1000:"),
        ("hex", {"cell_size_m": 2000, "crs": UTM}, "h2000:"),
        ("h3", {"resolution": 5}, "85"),
    ],
)
def test_grids(grid, kwargs, prefix):
    out = aggregate_to_grid(_meters(), grid=grid, min_count=1, sum_cols=["flagged_kwh"], **kwargs)
    assert out.crs.to_epsg() == 4326
    assert out["cell"].str.startswith(prefix).all()
    assert out["n_meters"].sum() == 13
    assert out["n_flagged"].sum() == 8
    assert out["flagged_kwh"].sum() == 8000.0
    # Every meter lies in the polygon of its cell.
    m = _meters()
    joined = gpd.sjoin(m, out[["cell", "geometry"]], predicate="within")
    assert len(joined) == 13
    assert out.attrs["grid"] == grid and out.attrs["cell_area_m2"] > 0


def test_square_cells_by_hand():
    # 1 km squares from the UTM origin: A's and B's meters fall in two cells, C's in two more.
    out = aggregate_to_grid(_meters(), grid="square", cell_size_m=1000, crs=UTM)
    by_cell = out.set_index("cell")
    assert sorted(by_cell.index) == [
        "s1000:450:4420",
        "s1000:450:4421",
        "s1000:451:4420",
    ]
    assert by_cell.loc["s1000:450:4421", "n_flagged"] == 5
    assert by_cell.loc["s1000:450:4421", "suppressed"] == np.False_
    assert by_cell.loc["s1000:450:4420", "suppressed"]  # 3 flagged
    assert np.isnan(by_cell.loc["s1000:451:4420", "n_meters"])  # 2 meters


def test_suppress_small_is_a_copy_and_leaves_zero():
    table = pd.DataFrame({"cell": ["a", "b", "c"], "n_meters": [10, 3, 0], "n_flagged": [0, 0, 0],
                          "kwh": [1.0, 2.0, 3.0]})  # fmt: skip
    out = suppress_small(table, 5)
    assert out["suppressed"].tolist() == [False, True, False]
    assert np.isnan(out.loc[1, "kwh"]) and out.loc[2, "kwh"] == 3.0
    assert table["n_meters"].tolist() == [10, 3, 0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_count": 0}, ValueError, "min_count must be >= 1"),
        ({"min_count": 2.0}, TypeError, "min_count must be an integer"),
        ({"flagged_col": "suspect"}, ValueError, "flagged_col='suspect' is not a column"),
        ({"sum_cols": ["kwh"]}, ValueError, r"sum_cols \['kwh'\] are not columns"),
        ({"grid": "tri"}, ValueError, "grid='tri' is not one of"),
        ({"grid": "h3", "resolution": 16}, ValueError, "resolution must be 0-15"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        aggregate_to_grid(_meters(), **kwargs)
