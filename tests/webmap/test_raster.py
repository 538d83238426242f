"""Grids to north-up lon/lat images with the right bounds."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from webmap.colors import Gradient
from webmap.raster import grid_to_lonlat, grid_to_rgba


def test_lonlat_grid_is_turned_north_up_with_edge_bounds(demand_grid):
    values, bounds = grid_to_lonlat(demand_grid)
    # Cell centres 116.31..116.39 and 39.86..39.92 every 0.02 deg: edges 0.01 further out.
    np.testing.assert_allclose(bounds, [[39.85, 116.30], [39.93, 116.40]])
    assert values.shape == (4, 5)
    # Row 0 of the input is the south row, so its NaN corner ends in the last row.
    assert np.isnan(values[-1, 0]) and not np.isnan(values[0, 0])
    np.testing.assert_array_equal(values[0], [0, 100, 200, 300, 400])


def test_descending_and_transposed_coordinates_give_the_same_image(demand_grid):
    flipped = demand_grid.isel(y=slice(None, None, -1), x=slice(None, None, -1)).T
    a, ba = grid_to_lonlat(demand_grid)
    b, bb = grid_to_lonlat(flipped)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(ba, bb)


def test_projected_grid_is_resampled_to_lonlat():
    pyproj = pytest.importorskip("pyproj")
    # A 1 km UTM 50N grid; value = column index, so the image must rise west to east.
    t = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    x0, y0 = t.transform(116.4, 39.9)
    xs = x0 + 1000 * np.arange(6)
    ys = y0 + 1000 * np.arange(4)
    da = xr.DataArray(
        np.tile(np.arange(6, dtype=float) + 1, (4, 1)),
        dims=("y", "x"),
        coords={"x": xs, "y": ys},
        attrs={"crs": "EPSG:32650"},
    )
    values, ((s, w), (n, e)) = grid_to_lonlat(da)
    assert 116.39 < w < 116.40 < e < 116.47 and 39.89 < s < 39.90 < n < 39.94
    mid = values[values.shape[0] // 2]
    finite = mid[np.isfinite(mid)]
    assert list(finite) == sorted(finite) and finite[0] == 1 and finite[-1] == 6


def test_geographic_crs_attr_is_read_as_lonlat():
    da = xr.DataArray(
        np.ones((2, 2)),
        dims=("y", "x"),
        coords={"x": [116.0, 116.1], "y": [39.0, 39.1]},
        attrs={"crs": "EPSG:4326"},
    )
    _, bounds = grid_to_lonlat(da)
    np.testing.assert_allclose(bounds, [[38.95, 115.95], [39.15, 116.15]])


@pytest.mark.parametrize(
    ("da", "error", "match"),
    [
        (np.ones((2, 2)), TypeError, "must be an xarray.DataArray"),
        (xr.DataArray(np.ones(3), dims="x"), ValueError, "must be 2-D"),
        (xr.DataArray(np.ones((2, 2)), dims=("y", "x")), ValueError, "needs 1-D lon/lat"),
        (
            xr.DataArray(
                np.ones((2, 3)),
                dims=("y", "x"),
                coords={"lon": ("x", [1.0, 2.0, 4.0]), "lat": ("y", [1.0, 2.0])},
            ),
            ValueError,
            "not evenly spaced",
        ),
    ],
)
def test_bad_grids(da, error, match):
    with pytest.raises(error, match=match):
        grid_to_lonlat(da)


def test_rgba_is_transparent_where_missing_or_zero():
    rgba = grid_to_rgba(np.array([[np.nan, 0.0, 5.0, 10.0]]), Gradient("heat", 0, 10))
    assert list(rgba[0, :, 3]) == [0, 0, 255, 255]
    assert tuple(rgba[0, 3, :3]) == (0xA6, 0x36, 0x03)  # the darkest colour at vmax
