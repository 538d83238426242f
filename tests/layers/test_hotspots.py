"""DBSCAN hotspots and Getis-Ord Gi*, on layouts worked out by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from layers.hotspots import benjamini_hochberg, dbscan_hotspots, getis_ord_gi_star, gi_star
from layers.schemas import LayerError

UTM = "EPSG:32650"
X0, Y0 = 450_000.0, 4_420_000.0


def _meters(xy, flagged, **cols):
    return gpd.GeoDataFrame(
        {"meter_id": [f"m{i:02d}" for i in range(len(xy))], "flagged": flagged, **cols},
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        crs=UTM,
    ).to_crs("EPSG:4326")


def _village():
    # Five flagged meters in a 100 m square (corners + centre): one hotspot.
    village = [(0, 0), (100, 0), (0, 100), (100, 100), (50, 50)]
    # Two lone flagged meters 2 km away from everything and from each other.
    lone = [(2000, 0), (0, 2000)]
    # Ten unflagged meters packed together: not flagged, so no hotspot.
    dense = [(1000 + 5 * i, 1000) for i in range(10)]
    xy = village + lone + dense
    flagged = [True] * 7 + [False] * 10
    energy = [1000.0] * 5 + [50.0, 50.0] + [1.0] * 10
    return _meters(xy, flagged, energy_kwh=energy, score=[0.5] * 17)


def test_five_flagged_meters_in_one_village():
    out = dbscan_hotspots(
        _village(), eps_m=300, min_samples=5, energy_col="energy_kwh", score_col="score"
    )
    assert len(out) == 1
    spot = out.iloc[0]
    assert spot["hotspot"] == 1
    assert spot["n_flagged"] == 5
    assert spot["meter_ids"] == ["m00", "m01", "m02", "m03", "m04"]
    assert spot["energy_total_kwh"] == 5000.0
    assert spot["score_total"] == 2.5
    # Hull: the 100 m square; buffered by 50 m: 100^2 + 4*100*50 + (a 64-gon of r=50).
    circle = 32 * 50**2 * math.sin(2 * math.pi / 64)
    assert spot["area_m2"] == pytest.approx(100**2 + 4 * 100 * 50 + circle, rel=1e-6)
    centre = gpd.GeoSeries([Point(X0 + 50, Y0 + 50)], crs=UTM).to_crs(4326).iloc[0]
    assert (spot["centroid_lon"], spot["centroid_lat"]) == pytest.approx((centre.x, centre.y))
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].contains(centre)
    assert out.attrs["n_noise"] == 2 and out.attrs["n_flagged"] == 7


def test_eps_and_min_samples_decide():
    # With eps 50 m no village meter has 4 others within reach.
    assert len(dbscan_hotspots(_village(), eps_m=50, min_samples=5)) == 0
    # Counting every meter as flagged, the dense row of ten is a second, larger hotspot.
    out = dbscan_hotspots(_village(), eps_m=300, min_samples=5, flagged_col=None)
    assert out["n_flagged"].tolist() == [10, 5]
    assert out["hotspot"].tolist() == [1, 2]


def test_no_flagged_meters_gives_an_empty_frame():
    m = _village().assign(flagged=False)
    out = dbscan_hotspots(m, energy_col="energy_kwh")
    assert len(out) == 0
    assert {"hotspot", "n_flagged", "meter_ids", "energy_total_kwh", "area_m2"} <= set(out)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"eps_m": 0}, ValueError, "eps_m must be > 0"),
        ({"min_samples": 2.5}, TypeError, "min_samples must be an integer"),
        ({"buffer_m": -1}, ValueError, "buffer_m must be >= 0"),
        ({"flagged_col": "suspect"}, ValueError, "flagged_col='suspect' is not a column"),
        ({"energy_col": "kwh"}, ValueError, "energy_col='kwh' is not a column"),
    ],
)
def test_dbscan_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        dbscan_hotspots(_village(), **kwargs)


def test_dbscan_needs_crs_and_points():
    with pytest.raises(LayerError, match="no CRS"):
        dbscan_hotspots(_village().set_crs(None, allow_override=True))
    polys = _village().assign(geometry=lambda d: d.to_crs(UTM).buffer(5).to_crs(4326))
    with pytest.raises(LayerError, match="geometries must be points"):
        dbscan_hotspots(polys)


# --------------------------------------------------------------------------
# Gi*
# --------------------------------------------------------------------------
def test_gi_star_by_hand():
    # Three cells in a row, each its own and its neighbours' neighbour; x = 0, 0, 3.
    # mean 1, S = sqrt(3 - 1) = sqrt(2).
    # cell 0: W=2, sum w x = 0: (0 - 2) / (sqrt2 * sqrt((3*2 - 4) / 2)) = -sqrt(2)
    # cell 1: W=3 = n: the denominator is 0, Gi* undefined (NaN)
    # cell 2: W=2, sum w x = 3: (3 - 2) / sqrt(2) = 1/sqrt(2)
    w = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float))
    z, p = gi_star(np.array([0.0, 0.0, 3.0]), w)
    np.testing.assert_allclose(z, [-math.sqrt(2), np.nan, 1 / math.sqrt(2)])
    assert p[0] == pytest.approx(0.157299, abs=1e-6)  # 2 * (1 - Phi(1.4142))
    assert np.isnan(p[1])


def test_gi_star_matches_a_direct_loop():
    rng = np.random.default_rng(1)
    n = 30
    x = rng.poisson(2.0, n).astype(float)
    dense = (rng.random((n, n)) < 0.2).astype(float)
    dense = np.maximum(dense, dense.T)
    np.fill_diagonal(dense, 1.0)
    z, _ = gi_star(x, sp.csr_matrix(dense))
    mean, s = x.mean(), math.sqrt((x**2).mean() - x.mean() ** 2)
    for i in range(n):
        w = dense[i]
        expected = (w @ x - mean * w.sum()) / (
            s * math.sqrt((n * (w**2).sum() - w.sum() ** 2) / (n - 1))
        )
        assert z[i] == pytest.approx(expected)


def test_constant_values_give_nan():
    z, p = gi_star(np.ones(4), sp.identity(4, format="csr"))
    assert np.isnan(z).all() and np.isnan(p).all()


def _grid_meters():
    # One meter at the centre of each 100 m cell of a 7 x 7 block, plus five extra
    # flagged meters in the centre cell (3, 3).
    xy = [(100 * i + 50, 100 * j + 50) for i in range(7) for j in range(7)]
    xy += [(350 + d, 350 + d) for d in (-20, -10, 0, 10, 20)]
    flagged = [False] * 49 + [True] * 5
    return _meters(xy, flagged, kwh=[1.0] * 49 + [100.0] * 5)


def test_square_grid_hotspot():
    out = getis_ord_gi_star(_grid_meters(), cell_size_m=100, crs=UTM)
    assert len(out) == 49  # the cover of the meters' bounds: 7 x 7 cells
    assert out.crs.to_epsg() == 4326
    hot = out[out["spot"] == "hot"]
    centre = out.loc[out["n_flagged"] == 5].iloc[0]
    assert centre["cell"] == "s100:4503:44203"
    assert centre["n_neighbours"] == 9
    assert centre["gi_z"] == out["gi_z"].max()
    assert centre["spot"] == "hot"
    assert set(hot["cell"]) >= {centre["cell"]}
    assert out["n_meters"].sum() == 54
    # The star includes the cell itself: the 3 x 3 block around the centre shares
    # the centre's neighbourhood sum, so all nine have the top z; the rest less.
    top = np.isclose(out["gi_z"], centre["gi_z"])
    assert top.sum() == 9
    assert (out.loc[~top, "gi_z"] < centre["gi_z"]).all()


def test_hex_grid_and_other_values():
    out = getis_ord_gi_star(_grid_meters(), cell_size_m=60, grid="hex", crs=UTM)
    assert out["n_neighbours"].max() == 7
    assert out["cell"].str.startswith("h60:").all()
    top = out.sort_values("gi_z", ascending=False).iloc[0]
    assert top["n_flagged"] == 5
    summed = getis_ord_gi_star(_grid_meters(), cell_size_m=100, values="kwh", crs=UTM)
    assert summed["value"].max() == 500.0
    rate = getis_ord_gi_star(_grid_meters(), cell_size_m=100, values="rate", crs=UTM)
    assert len(rate) == 49  # only cells with meters
    assert rate["value"].max() == pytest.approx(5 / 6)
    wide = getis_ord_gi_star(_grid_meters(), cell_size_m=100, distance_m=250, crs=UTM)
    assert wide["n_neighbours"].max() == 21  # centres within 250 m: 1 + 4 + 4 + 4 + 8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grid": "h3"}, ValueError, "'square' or 'hex'"),
        ({"values": "energy"}, ValueError, "values='energy' is neither"),
        ({"alpha": 1.5}, ValueError, "alpha must be between 0 and 1"),
        ({"cell_size_m": -5}, ValueError, "cell_size_m must be positive"),
        ({"distance_m": 0}, ValueError, "distance_m must be > 0"),
    ],
)
def test_gi_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        getis_ord_gi_star(_grid_meters(), **kwargs)


def test_gi_study_area_sets_the_grid():
    m = _grid_meters()
    area = gpd.GeoSeries(
        [Point(X0 + 350, Y0 + 350).buffer(1000)], crs=UTM
    ).to_crs(4326).iloc[0]  # fmt: skip
    out = getis_ord_gi_star(m, cell_size_m=100, study_area=area, crs=UTM)
    assert len(out) > 200  # a 2 km square of 100 m cells
    assert pd.Series(out["n_meters"]).sum() == 54


def test_benjamini_hochberg_by_hand():
    # Sorted p: 0.01, 0.03, 0.04, 0.5 with m = 4 -> 0.04, 0.06, 0.0533, 0.5; the running
    # minimum from the largest gives 0.04, 0.0533, 0.0533, 0.5 (back in input order).
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    with_nan = benjamini_hochberg([0.01, np.nan, 0.04])  # NaN is not a test: m = 2
    assert with_nan[0] == pytest.approx(0.02) and np.isnan(with_nan[1])
    assert with_nan[2] == pytest.approx(0.04)
    assert (benjamini_hochberg([0.9, 0.95]) <= 1).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.5, 1.5])


def test_gi_fdr_correction_calls_fewer_cells_and_counts_the_tests():
    raw = getis_ord_gi_star(_grid_meters(), cell_size_m=100, crs=UTM)
    fdr = getis_ord_gi_star(_grid_meters(), cell_size_m=100, crs=UTM, correction="fdr_bh")
    assert (raw["gi_q"] >= raw["gi_p"] - 1e-12).all()
    assert ((fdr["spot"] != "ns") <= (raw["spot"] != "ns")).all()
    assert (fdr["spot"] != "ns").equals(fdr["gi_q"] < 0.05)
    assert fdr.attrs["correction"] == "fdr_bh" and raw.attrs["correction"] is None
    n = int(np.isfinite(raw["gi_p"]).sum())
    assert raw.attrs["n_tests"] == n
    assert raw.attrs["expected_by_chance"] == pytest.approx(0.05 * n)
    with pytest.raises(ValueError, match="correction"):
        getis_ord_gi_star(_grid_meters(), cell_size_m=100, crs=UTM, correction="bonferroni")
