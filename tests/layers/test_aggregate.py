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


# -- tables published together: the attacker's linear programme --------------------------


def _city(seed: int, n: int = 500):
    """Four 2 km districts in a square, meters spread unevenly, about 3 % flagged."""
    rng = np.random.default_rng(seed)
    districts = gpd.GeoDataFrame(
        {"name": ["NW", "NE", "SW", "SE"]},
        geometry=[
            box(X0, Y0 + 2000, X0 + 2000, Y0 + 4000),
            box(X0 + 2000, Y0 + 2000, X0 + 4000, Y0 + 4000),
            box(X0, Y0, X0 + 2000, Y0 + 2000),
            box(X0 + 2000, Y0, X0 + 4000, Y0 + 2000),
        ],
        crs=UTM,
    )
    xy = rng.uniform(1, 3999, (n, 2)) ** np.array([1.0, 1.0])
    xy[: n // 3] = rng.normal(1000, 300, (n // 3, 2)).clip(1, 3999)  # a dense quarter
    flagged = rng.random(n) < 0.03
    confirmed = (flagged & (rng.random(n) < 0.6)) | (rng.random(n) < 0.004)
    meters = gpd.GeoDataFrame(
        {
            "flagged": flagged,
            "confirmed": confirmed,
            "flagged_kwh": np.where(flagged, rng.uniform(1e3, 9e3, n), 0.0),
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        crs=UTM,
    )
    return meters.to_crs(4326), districts.to_crs(4326)


def _pieces(meters, districts, cell_size_m=700):
    """District and cell of each meter, as the attacker knows them from the geometry."""
    from layers.grids import assign_cells, make_grid
    from layers.joins import join_meters

    d = join_meters(meters, districts, name_col="name")["district"].to_numpy(object)
    c = assign_cells(meters.geometry, make_grid("square", cell_size_m=cell_size_m), UTM)
    return pd.DataFrame({"district": d, "cell": c}).drop_duplicates().reset_index(drop=True)


def _attack(published: dict, pieces: pd.DataFrame, column: str):
    """Min and max of every suppressed value, solving the published sums (scipy linprog).

    ``published`` maps a table to ``(frame, key column, piece column)``; a piece
    column None is the total (every piece). Returns ``[(table, key, true?, lo, hi)]``.
    """
    from scipy.optimize import linprog

    n = len(pieces)
    rows, eqs, hidden = [], [], []
    for table, (frame, key, piece_col) in published.items():
        for _, r in frame.iterrows():
            member = (
                np.ones(n, bool) if piece_col is None else (pieces[piece_col] == r[key]).to_numpy()
            )
            if not member.any():
                continue
            if r["suppressed"]:
                hidden.append((table, r[key], member))
            else:
                rows.append(member.astype(float))
                eqs.append(float(r[column]))
    out = []
    for table, key, member in hidden:
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(
                sign * member.astype(float),
                A_eq=np.array(rows) if rows else None,
                b_eq=np.array(eqs) if eqs else None,
                bounds=(0, None),
                method="highs",
            )
            assert res.status in (0, 3), res.message
            bounds.append(np.inf if res.status == 3 else sign * res.fun)
        out.append((table, key, bounds[0], bounds[1]))
    return out


def _published(agg_districts, agg_cells, total):
    return {
        "districts": (agg_districts, "name", "district"),
        "cells": (agg_cells, "cell", "cell"),
        "total": (total, "area", None),
    }


def _truth(meters, districts, column):
    from layers.grids import assign_cells, make_grid
    from layers.joins import join_meters

    col = {"n_meters": None, "n_flagged": "flagged", "n_confirmed": "confirmed"}[column]
    v = np.ones(len(meters)) if col is None else meters[col].astype(float).to_numpy()
    d = join_meters(meters, districts, name_col="name")["district"].to_numpy(object)
    c = assign_cells(meters.geometry, make_grid("square", cell_size_m=700), UTM)
    return {
        "districts": pd.Series(v).groupby(d).sum().to_dict(),
        "cells": pd.Series(v).groupby(c).sum().to_dict(),
        "total": {"total": v.sum()},
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_attacker_cannot_pin_a_small_count_from_all_published_tables(seed):
    from layers.aggregate import aggregate_linked

    meters, districts = _city(seed)
    linked = aggregate_linked(
        meters,
        districts,
        grid="square",
        cell_size_m=700,
        crs=UTM,
        confirmed_col="confirmed",
        sum_cols=["flagged_kwh"],
    )
    pieces = _pieces(meters, districts)
    published = _published(linked.districts, linked.cells, linked.total)
    n_small = 0
    for column in ("n_meters", "n_flagged", "n_confirmed"):
        truth = _truth(meters, districts, column)
        for table, key, lo, hi in _attack(published, pieces, column):
            true = truth[table][key]
            assert lo - 1e-6 <= true <= hi + 1e-6, (table, key, column)  # the LP is right
            if 1 <= true < 5:
                n_small += 1
                # The attacker cannot tell the count from one that may be published...
                assert hi >= 5 - 1e-6, (table, key, column, true, lo, hi)
            # ... and no suppressed count is pinned to one value below the threshold.
            assert not (hi - lo < 1e-6 and 0 < hi < 5), (table, key, column, lo, hi)
    assert n_small > 0  # the city has small counts to protect
    # The published numbers are the true ones; zero is published.
    shown = linked.cells[~linked.cells["suppressed"]]
    assert ((shown["n_flagged"] == 0) | (shown["n_flagged"] >= 5)).all()
    primary = aggregate_to_grid(
        meters, grid="square", cell_size_m=700, crs=UTM, confirmed_col="confirmed"
    )
    # Every primary suppression is kept (the complements come on top).
    assert not (primary["suppressed"].to_numpy() & ~linked.cells["suppressed"].to_numpy()).any()


def test_cell_suppression_alone_is_undone_by_subtraction():
    # Why the linked tables: suppressing each table on its own leaves counts the
    # attacker recovers exactly from a district (or the total) minus its published cells.
    meters, districts = _city(1)
    kw = {"confirmed_col": "confirmed", "sum_cols": ["flagged_kwh"]}
    d = aggregate_to_districts(meters, districts, **kw)
    cells = aggregate_to_grid(meters, grid="square", cell_size_m=700, crs=UTM, **kw)
    total = suppress_small(
        pd.DataFrame(
            {
                "area": ["total"],
                "n_meters": [len(meters)],
                "n_flagged": [int(meters["flagged"].sum())],
                "n_confirmed": [int(meters["confirmed"].sum())],
            }
        ),
        5,
    )
    pinned = [
        (table, key, lo)
        for column in ("n_flagged", "n_confirmed")
        for table, key, lo, hi in _attack(
            _published(d, cells, total), _pieces(meters, districts), column
        )
        if hi < 5 - 1e-6
    ]
    assert pinned


def test_suppress_linked_on_paper():
    # Two districts of two cells each, and the total. Cell a1 has 2 flagged (small):
    # with A (8) and a2 (6) published, a1 = 8 - 6; a2 is hidden too. Then A's
    # cells sum to 8 -> each up to 8; and B is untouched.
    from layers.aggregate import suppress_linked

    counts = pd.DataFrame({"n_flagged": [2, 6, 9, 7]})
    out = suppress_linked(
        counts,
        {"cells": ["a1", "a2", "b1", "b2"], "districts": ["A", "A", "B", "B"], "total": ["t"] * 4},
        min_count=5,
    )
    assert out["cells"].to_dict() == {"a1": True, "a2": True, "b1": False, "b2": False}
    assert not out["districts"].any() and not out["total"].any()
    # A small district: its complement is the other district, since the total is published.
    counts = pd.DataFrame({"n_flagged": [1, 2, 9, 7]})
    out = suppress_linked(
        counts,
        {"cells": ["a1", "a2", "b1", "b2"], "districts": ["A", "A", "B", "B"], "total": ["t"] * 4},
        min_count=5,
    )
    assert out["cells"][["a1", "a2"]].all() and out["districts"]["A"]
    assert out["districts"]["B"] or out["total"]["t"]


@pytest.mark.parametrize(
    ("counts", "memberships", "match"),
    [
        (pd.DataFrame({"n": [-1]}), {"t": ["x"]}, "must be >= 0"),
        (pd.DataFrame({"n": ["a"]}), {"t": ["x"]}, "only numeric count columns"),
        (pd.DataFrame({"n": [1, 2]}), {"t": ["x"]}, "has 1 labels for 2 pieces"),
        (pd.DataFrame({"n": [1]}), {}, "non-empty dict"),
    ],
)
def test_suppress_linked_bad_input(counts, memberships, match):
    from layers.aggregate import suppress_linked

    with pytest.raises(ValueError, match=match):
        suppress_linked(counts, memberships)
