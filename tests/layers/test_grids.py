"""Square, hexagonal and H3 grids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.grids import GRIDS, HexGrid, SquareGrid, make_grid

coord = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(coord, coord, st.sampled_from([1.0, 37.5, 500.0]))
def test_hex_cell_holds_its_point(x, y, size):
    g = HexGrid(size)
    q, r = g.index([x], [y])
    poly = g.polygons(q, r)[0]
    assert poly.distance(shapely.Point(x, y)) < 1e-6 * size + 1e-6


@settings(max_examples=100, deadline=None)
@given(coord, coord)
def test_square_cell_holds_its_point(x, y):
    g = SquareGrid(250.0)
    i, j = g.index([x], [y])
    assert g.polygons(i, j)[0].covers(shapely.Point(x, y))


def test_hex_geometry_by_hand():
    g = HexGrid(100.0)
    # Centre of (1, 0): x = 1.5 * 100, y = sqrt(3) * 100 * 0.5.
    cx, cy = g.centres([1], [0])
    assert (cx[0], cy[0]) == pytest.approx((150.0, 50 * math.sqrt(3)))
    assert g.polygons([0], [0])[0].area == pytest.approx(g.cell_area)
    assert g.cell_area == pytest.approx(1.5 * math.sqrt(3) * 100**2)
    # The six neighbours are sqrt(3) * size away; the next ring 3 * size.
    q, r = np.array([1, 1, 0, -1, -1, 0]), np.array([0, -1, -1, 0, 1, 1])
    nx, ny = g.centres(q, r)
    np.testing.assert_allclose(np.hypot(nx, ny), math.sqrt(3) * 100)
    assert math.sqrt(3) * 100 < g.neighbour_distance < 3 * 100


def test_covers_the_bounds_without_gaps():
    for g in (HexGrid(100.0), SquareGrid(100.0)):
        cells = g.cover(-1037.0, -1000.0, 1000.0, 1210.0)
        union = shapely.union_all(g.polygons(*cells))
        assert shapely.box(-1037, -1000, 1000, 1210).difference(union).area < 1e-6


def test_make_grid_registry():
    assert set(GRIDS) == {"square", "hex", "h3"}
    assert isinstance(make_grid("hex", cell_size_m=10), HexGrid)
    h3 = make_grid("h3", resolution=8)
    assert h3.cells(np.array([116.4]), np.array([39.9]))[0] == "8831aa4287fffff"
    assert 700_000 < h3.cell_area < 800_000  # res 8: ~0.74 km2
    with pytest.raises(ValueError, match="cell_size_m must be positive"):
        make_grid("square", cell_size_m=0)
    with pytest.raises(TypeError, match="resolution must be an integer"):
        make_grid("h3", resolution=8.0)
