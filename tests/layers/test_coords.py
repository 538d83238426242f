"""Tests for layers.coords: WGS84 / GCJ-02 / BD-09 conversions."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from layers.coords import (
    COORD_SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
DEG_TOL = 1e-5  # tolerance against published vectors [deg]


def distance_m(lon1, lat1, lon2, lat2):
    """Geodesic distance on WGS84. [m]"""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# --------------------------------------------------------------------------
# published test vectors
# --------------------------------------------------------------------------
# googollee/eviltransform, go/transform_test.go and python/test.py:
# (wgs_lon, wgs_lat, gcj_lon, gcj_lat).
EVILTRANSFORM_VECTORS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]

# hujiulong/gcoord, test/unit/crs/{WGS84,GCJ02,BD09}.spec.ts: every conversion
# applied to the point (123, 45).
GCOORD_VECTORS = [
    (wgs84_to_gcj02, (123.00607541, 45.00197815)),
    (wgs84_to_bd09, (123.0124491, 45.0083293)),
    (gcj02_to_wgs84, (122.99395597, 44.99804071)),
    (gcj02_to_bd09, (123.00636499, 45.00636899)),
    (bd09_to_gcj02, (122.99363304, 44.99365430)),
    (bd09_to_wgs84, (122.98762210, 44.99171540)),
]


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_VECTORS)
def test_wgs84_to_gcj02_matches_eviltransform(wgs_lon, wgs_lat, gcj_lon, gcj_lat):
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=DEG_TOL)
    assert lat == pytest.approx(gcj_lat, abs=DEG_TOL)


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_VECTORS)
def test_gcj02_to_wgs84_inverts_eviltransform(wgs_lon, wgs_lat, gcj_lon, gcj_lat):
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert lon == pytest.approx(wgs_lon, abs=DEG_TOL)
    assert lat == pytest.approx(wgs_lat, abs=DEG_TOL)
    assert distance_m(lon, lat, wgs_lon, wgs_lat) < 0.01


@pytest.mark.parametrize(
    ("convert", "expected"), GCOORD_VECTORS, ids=lambda v: getattr(v, "__name__", "")
)
def test_matches_gcoord(convert, expected):
    lon, lat = convert(123.0, 45.0)
    assert lon == pytest.approx(expected[0], abs=DEG_TOL)
    assert lat == pytest.approx(expected[1], abs=DEG_TOL)


def test_vectorised_matches_scalar_vectors():
    wgs = np.array([v[:2] for v in EVILTRANSFORM_VECTORS])
    gcj = np.array([v[2:] for v in EVILTRANSFORM_VECTORS])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(lon, gcj[:, 0], atol=DEG_TOL, rtol=0)
    np.testing.assert_allclose(lat, gcj[:, 1], atol=DEG_TOL, rtol=0)


def test_tiananmen_example():
    lon, lat = wgs84_to_gcj02(116.397128, 39.916527)
    assert lon == pytest.approx(116.403373, abs=DEG_TOL)
    assert lat == pytest.approx(39.917927, abs=DEG_TOL)


def test_offset_in_beijing_is_hundreds_of_metres():
    lons = np.array([116.30, 116.397128, 116.48, 116.60])
    lats = np.array([39.85, 39.916527, 39.99, 40.05])
    gcj_lon, gcj_lat = wgs84_to_gcj02(lons, lats)
    offset = distance_m(lons, lats, gcj_lon, gcj_lat)
    assert np.all((offset > 300) & (offset < 700)), offset
    # BD-09 adds a further shift of a few hundred metres on top of GCJ-02.
    bd_lon, bd_lat = wgs84_to_bd09(lons, lats)
    assert np.all(distance_m(lons, lats, bd_lon, bd_lat) > 700)


# --------------------------------------------------------------------------
# round trips (property-based) over mainland China
# --------------------------------------------------------------------------
china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)
ROUND_TRIP_M = 0.01  # contract is < 0.5 m; the implementation does far better


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_wgs84_gcj02_round_trip(lon, lat):
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert distance_m(lon, lat, *back) < ROUND_TRIP_M


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_wgs84_gcj02_wgs84_round_trip(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert distance_m(lon, lat, *back) < ROUND_TRIP_M


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_gcj02_round_trips(lon, lat):
    assert distance_m(lon, lat, *gcj02_to_bd09(*bd09_to_gcj02(lon, lat))) < ROUND_TRIP_M
    assert distance_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))) < ROUND_TRIP_M


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_wgs84_round_trips(lon, lat):
    assert distance_m(lon, lat, *wgs84_to_bd09(*bd09_to_wgs84(lon, lat))) < ROUND_TRIP_M
    assert distance_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))) < ROUND_TRIP_M


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20))
def test_array_round_trip_matches_elementwise(points):
    lon, lat = np.array(points).T
    wgs_lon, wgs_lat = gcj02_to_wgs84(lon, lat)
    for i, (p_lon, p_lat) in enumerate(points):
        one = gcj02_to_wgs84(p_lon, p_lat)
        assert distance_m(wgs_lon[i], wgs_lat[i], *one) < ROUND_TRIP_M


# --------------------------------------------------------------------------
# outside China
# --------------------------------------------------------------------------
def test_out_of_china_box():
    lon = [116.4, 72.0, 72.004, 137.8347, 137.84, 116.4, 116.4, 2.35, -74.0]
    lat = [39.9, 30.0, 30.0, 30.0, 30.0, 0.8, 55.83, 48.85, 40.7]
    expected = [False, True, False, False, True, True, True, True, True]
    np.testing.assert_array_equal(out_of_china(lon, lat), expected)
    assert out_of_china(2.35, 48.85) is True
    assert out_of_china(116.4, 39.9) is False


@pytest.mark.parametrize("convert", [wgs84_to_gcj02, gcj02_to_wgs84])
def test_outside_china_unchanged(convert):
    lon = np.array([2.3522, -74.006, 151.2093, 183.0])  # Paris, New York, Sydney, off-range
    lat = np.array([48.8566, 40.7128, -33.8688, 45.0])
    out_lon, out_lat = convert(lon, lat)
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)


def test_bd09_shift_applies_everywhere():
    # Baidu has no China box: only the GCJ-02 step is skipped outside it.
    lon, lat = gcj02_to_bd09(2.3522, 48.8566)
    assert distance_m(2.3522, 48.8566, lon, lat) > 100
    assert wgs84_to_bd09(2.3522, 48.8566) == gcj02_to_bd09(2.3522, 48.8566)


# --------------------------------------------------------------------------
# input and output types
# --------------------------------------------------------------------------
ALL_CONVERSIONS = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


@pytest.mark.parametrize("convert", ALL_CONVERSIONS)
def test_scalar_in_float_out(convert):
    lon, lat = convert(116.4, 39.9)
    assert type(lon) is float
    assert type(lat) is float
    lon, lat = convert(np.float32(116.4), 39)
    assert type(lon) is float


@pytest.mark.parametrize("convert", ALL_CONVERSIONS)
def test_list_series_and_2d_give_arrays(convert):
    expected = np.array([convert(116.4, 39.9), convert(121.47, 31.23)]).T
    for lon, lat in [
        ([116.4, 121.47], [39.9, 31.23]),
        (pd.Series([116.4, 121.47], index=[10, 20]), pd.Series([39.9, 31.23], index=[10, 20])),
        (np.array([116.4, 121.47]), np.array([39.9, 31.23])),
    ]:
        out_lon, out_lat = convert(lon, lat)
        assert isinstance(out_lon, np.ndarray)
        np.testing.assert_allclose(out_lon, expected[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(out_lat, expected[1], rtol=0, atol=1e-12)
    out_lon, out_lat = convert(np.full((2, 3), 116.4), np.full((2, 3), 39.9))
    assert out_lon.shape == out_lat.shape == (2, 3)


def test_scalar_broadcasts_against_array():
    lon, lat = wgs84_to_gcj02([116.3, 116.4, 116.5], 39.9)
    assert lon.shape == lat.shape == (3,)
    assert lat[1] == pytest.approx(wgs84_to_gcj02(116.4, 39.9)[1])


def test_inputs_not_mutated():
    lon = np.array([116.4, 121.47])
    lat = np.array([39.9, 31.23])
    gcj02_to_wgs84(lon, lat)
    to_wgs84(lon, lat, ["bd09", "gcj02"])
    np.testing.assert_array_equal(lon, [116.4, 121.47])
    np.testing.assert_array_equal(lat, [39.9, 31.23])


@pytest.mark.parametrize("convert", [*ALL_CONVERSIONS, out_of_china])
def test_not_broadcastable_raises(convert):
    with pytest.raises(ValueError, match=r"lon with shape \(3,\) and lat with shape \(2,\)"):
        convert([116.3, 116.4, 116.5], [39.9, 40.0])


def test_non_numeric_raises_type_error():
    with pytest.raises(TypeError, match="lat must be numeric degrees"):
        wgs84_to_gcj02(116.4, "north")


@pytest.mark.parametrize("convert", [*ALL_CONVERSIONS, to_wgs84])
def test_nan_passes_through_without_warnings(convert):
    args = ("gcj02",) if convert is to_wgs84 else ()
    lon = np.array([116.4, np.nan, 116.4, np.nan])
    lat = np.array([39.9, 39.9, np.nan, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_lon, out_lat = convert(lon, lat, *args)
        scalar = convert(np.nan, 39.9, *args)
    np.testing.assert_array_equal(np.isnan(out_lon), [False, True, True, True])
    np.testing.assert_array_equal(np.isnan(out_lat), [False, True, True, True])
    assert np.isnan(scalar[0]) and np.isnan(scalar[1])


# --------------------------------------------------------------------------
# iteration options
# --------------------------------------------------------------------------
@pytest.mark.parametrize("convert", [gcj02_to_wgs84, bd09_to_gcj02, bd09_to_wgs84])
def test_non_convergence_warns(convert):
    with pytest.warns(RuntimeWarning, match="did not converge.*raise max_iter"):
        convert(116.4, 39.9, tol=1e-15, max_iter=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tol": 0.0}, ValueError, "tol must be a positive"),
        ({"tol": np.nan}, ValueError, "tol must be a positive"),
        ({"tol": "small"}, TypeError, "tol must be a positive number"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer; got 0"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be a positive integer; got 2.5"),
    ],
)
def test_bad_iteration_options_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        gcj02_to_wgs84(116.4, 39.9, **kwargs)


# --------------------------------------------------------------------------
# to_wgs84 dispatch
# --------------------------------------------------------------------------
def test_coord_systems_registry():
    assert COORD_SYSTEMS == ("wgs84", "gcj02", "bd09")


@pytest.mark.parametrize(
    ("name", "convert"),
    [("wgs84", None), ("GCJ02", gcj02_to_wgs84), (" Bd09 ", bd09_to_wgs84)],
)
def test_to_wgs84_single_name(name, convert):
    out = to_wgs84(116.4, 39.9, name)
    expected = (116.4, 39.9) if convert is None else convert(116.4, 39.9)
    assert out == expected
    assert type(out[0]) is float


def test_to_wgs84_mixed_per_point():
    lon = pd.Series([116.4, 116.4, 116.4, 121.47])
    lat = pd.Series([39.9, 39.9, 39.9, 31.23])
    systems = pd.Series(["WGS84", "gcj02", "bd09", "GCJ02"])
    out_lon, out_lat = to_wgs84(lon, lat, systems)
    expected = [
        (116.4, 39.9),
        gcj02_to_wgs84(116.4, 39.9),
        bd09_to_wgs84(116.4, 39.9),
        gcj02_to_wgs84(121.47, 31.23),
    ]
    np.testing.assert_allclose(np.c_[out_lon, out_lat], expected, rtol=0, atol=1e-12)


def test_to_wgs84_names_broadcast_against_scalar_point():
    out_lon, _ = to_wgs84(116.4, 39.9, ["wgs84", "gcj02"])
    assert out_lon.shape == (2,)
    assert out_lon[0] == 116.4
    assert out_lon[1] == pytest.approx(gcj02_to_wgs84(116.4, 39.9)[0])


@pytest.mark.parametrize(
    ("coord_system", "match"),
    [
        (
            "utm",
            r"unknown value\(s\) 'utm'; allowed \(case-insensitive\): "
            r"'wgs84', 'gcj02', 'bd09'",
        ),
        (["wgs84", "gcj-02", None], r"unknown value\(s\) 'gcj-02', None; allowed"),
        (["wgs84", np.nan], r"unknown value\(s\) nan; allowed"),
    ],
)
def test_to_wgs84_bad_name_raises(coord_system, match):
    with pytest.raises(ValueError, match=match):
        to_wgs84([116.4, 116.5], [39.9, 39.8], coord_system)


def test_to_wgs84_names_not_broadcastable_raises():
    with pytest.raises(ValueError, match=r"coord_system with shape \(3,\) cannot be broadcast"):
        to_wgs84([116.4, 116.5], [39.9, 39.8], ["wgs84", "gcj02", "bd09"])
