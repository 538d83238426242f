"""Chinese map coordinate systems: WGS84, GCJ-02 and BD-09, vectorised.

Coordinates taken from Chinese web maps are usually *not* WGS84, and joining
them to WGS84 layers without conversion puts every point several hundred
metres off, often on the wrong building.

``wgs84``
    The GPS datum (EPSG:4326). Raw GNSS receivers, OpenStreetMap, most
    international data and our own layers.
``gcj02``
    "Mars coordinates", the legally mandated obfuscated datum for maps
    published in mainland China. Used by AMap (Gaode), Tencent Maps, Google
    Maps and Apple Maps *inside China*, and by WeChat location sharing. The
    offset from WGS84 is a smooth, deliberately non-linear function of
    position, typically 300-700 m in eastern China.
``bd09``
    Baidu Maps' datum: GCJ-02 with a further small rotation and shift
    (another ~200-500 m). Any coordinate copied from Baidu (its geocoder,
    POI search, ``api.map.baidu.com`` links) is BD-09 unless the request asked
    for ``coordtype=wgs84ll``.

Outside the rough bounding box of China (:func:`out_of_china`) the published
GCJ-02 algorithm leaves coordinates unchanged, and so do these functions.
BD-09 has no such box: Baidu applies its shift everywhere.

All functions accept scalars, lists, numpy arrays or pandas Series, return
numpy arrays (or Python floats for scalar input) and pass NaN through as NaN.
Longitudes and latitudes are in decimal degrees, longitude first.

References
----------
.. [1] googollee et al., "eviltransform: transform coordinates between
   WGS-84 and GCJ-02 in China", https://github.com/googollee/eviltransform
.. [2] "Restrictions on geographic data in China", Wikipedia,
   https://en.wikipedia.org/wiki/Restrictions_on_geographic_data_in_China
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = [
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm [1].
_KRASOVSKY_A = 6378245.0  # semi-major axis [m]
_KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared [-]

# Baidu's constant: pi scaled by 3000/180, and the BD-09 shift [deg].
_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# The rough bounding box of the published algorithm [deg].
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------
def _as_float_array(value, name: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be numeric degrees (scalar, list, numpy array or pandas Series); "
            f"got {type(value).__name__} that cannot be converted to float: {exc}"
        ) from None


def _check_lonlat(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return broadcast float arrays and whether both inputs were scalars."""
    lon_arr = _as_float_array(lon, "lon")
    lat_arr = _as_float_array(lat, "lat")
    try:
        lon_b, lat_b = np.broadcast_arrays(lon_arr, lat_arr)
    except ValueError:
        raise ValueError(
            f"lon with shape {lon_arr.shape} and lat with shape {lat_arr.shape} cannot be "
            "broadcast together; pass lon and lat of the same length (or one scalar)."
        ) from None
    scalar = lon_arr.ndim == 0 and lat_arr.ndim == 0
    # Copies: broadcast views are read-only and may alias the caller's data.
    return np.array(lon_b, dtype=float), np.array(lat_b, dtype=float), scalar


def _finish(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


# --------------------------------------------------------------------------
# the formulas
# --------------------------------------------------------------------------
def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 position, ignoring the China box [deg]."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    # The shared high-frequency term of both axes.
    ripple = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0

    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    north += ripple
    north += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    north += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    east += ripple
    east += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    east += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    # The polynomial gives metres on the Krasovsky ellipsoid; convert to degrees
    # with the meridian (M) and prime-vertical (N) radii of curvature.
    phi = np.radians(lat)
    w2 = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    w = np.sqrt(w2)
    m_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w2 * w)
    n_radius = _KRASOVSKY_A / w
    d_lat = np.degrees(north / m_radius)
    d_lon = np.degrees(east / (n_radius * np.cos(phi)))
    return d_lon, d_lat


def _wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d_lon, d_lat = _gcj02_offset(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + d_lon), np.where(outside, lat, lat + d_lat)


def _gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def _fixed_point_inverse(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
    tol: float,
    max_iter: int,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) == (lon, lat)`` for x by x += target - forward(x).

    Converges because both forward maps are the identity plus a term whose
    gradient is ~1e-3: each step shrinks the error about a thousand-fold.
    """
    x_lon = np.array(start[0], dtype=float)
    x_lat = np.array(start[1], dtype=float)
    for _ in range(max_iter):
        f_lon, f_lat = forward(x_lon, x_lat)
        step_lon = lon - f_lon
        step_lat = lat - f_lat
        x_lon += step_lon
        x_lat += step_lat
        # NaN compares False, so NaN points count as converged.
        if not np.any((np.abs(step_lon) > tol) | (np.abs(step_lat) > tol)):
            return x_lon, x_lat
    warnings.warn(
        f"{name} did not converge to tol={tol} deg in max_iter={max_iter} iterations; "
        "raise max_iter or tol.",
        RuntimeWarning,
        stacklevel=4,
    )
    return x_lon, x_lat


def _bd09_to_gcj02(
    lon: np.ndarray, lat: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    # The published closed-form inverse is only good to ~0.2 m; use it as the
    # starting point and refine it against the forward formula.
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    r = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    start = (r * np.cos(theta), r * np.sin(theta))
    return _fixed_point_inverse(_gcj02_to_bd09, lon, lat, start, tol, max_iter, "bd09_to_gcj02")


def _gcj02_forward_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d_lon, d_lat = _gcj02_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    # Iterate on the unmasked offset so points near the box edge still invert
    # smoothly; the box decision is taken on the GCJ-02 input, as published.
    wgs_lon, wgs_lat = _fixed_point_inverse(
        _gcj02_forward_raw, lon, lat, (lon, lat), tol, max_iter, "gcj02_to_wgs84"
    )
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, wgs_lon), np.where(outside, lat, wgs_lat)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def out_of_china(lon, lat) -> np.ndarray | bool:
    """Whether points lie outside the rough China box of the GCJ-02 algorithm.

    The box is deliberately coarse (it includes parts of Mongolia, Korea,
    Japan and South-East Asia); it is the one the published algorithm uses,
    so that conversions stay compatible with every other implementation.

    Parameters
    ----------
    lon : float or array_like
        Longitude. [deg]
    lat : float or array_like
        Latitude. [deg]

    Returns
    -------
    numpy.ndarray of bool, or bool
        True where ``lon`` is outside 72.004..137.8347 or ``lat`` is outside
        0.8293..55.8271. NaN is not outside (False). A bool for scalar input.

    Raises
    ------
    TypeError
        If ``lon`` or ``lat`` is not numeric.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``outOfChina``,
       https://github.com/googollee/eviltransform
    """
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    outside = (
        (lon_arr < _CHINA_LON[0])
        | (lon_arr > _CHINA_LON[1])
        | (lat_arr < _CHINA_LAT[0])
        | (lat_arr > _CHINA_LAT[1])
    )
    return bool(outside) if scalar else outside


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 to GCJ-02 ("Mars") coordinates.

    Uses the public "eviltransform" form of the GCJ-02 algorithm: a fixed
    polynomial-plus-sines offset in metres on the Krasovsky 1940 ellipsoid
    (a = 6378245.0 m, e^2 = 0.00669342162296594323), converted to degrees.
    Points outside :func:`out_of_china`'s box are returned unchanged.

    Parameters
    ----------
    lon : float or array_like
        WGS84 longitude. [deg]
    lat : float or array_like
        WGS84 latitude. [deg]

    Returns
    -------
    lon, lat : numpy.ndarray or float
        GCJ-02 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon`` or ``lat`` is not numeric.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together.

    See Also
    --------
    gcj02_to_wgs84 : the inverse.

    References
    ----------
    .. [1] googollee et al., "eviltransform",
       https://github.com/googollee/eviltransform
    .. [2] "Restrictions on geographic data in China", Wikipedia,
       https://en.wikipedia.org/wiki/Restrictions_on_geographic_data_in_China

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.397128, 39.916527)
    >>> round(lon, 5), round(lat, 5)
    (116.40337, 39.91793)
    """
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    return _finish(*_wgs84_to_gcj02(lon_arr, lat_arr), scalar)


def _check_inverse_options(tol, max_iter) -> None:
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating | np.integer):
        raise TypeError(f"tol must be a positive number of degrees; got {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive, finite number of degrees; got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer):
        raise TypeError(f"max_iter must be a positive integer; got {max_iter!r}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}.")


def gcj02_to_wgs84(lon, lat, *, tol: float = 1e-7, max_iter: int = 30):
    """Convert GCJ-02 ("Mars") to WGS84 coordinates by fixed-point iteration.

    GCJ-02 has no closed-form inverse. Starting from the GCJ-02 position,
    the WGS84 estimate is repeatedly corrected by the forward offset at the
    current estimate until the correction is at most ``tol`` on both axes.
    The offset's gradient is tiny, so this converges in 3-4 steps to a
    round-trip error far below 1 cm (the default ``tol`` is ~1 cm). Points
    outside :func:`out_of_china`'s box are returned unchanged.

    Parameters
    ----------
    lon : float or array_like
        GCJ-02 longitude. [deg]
    lat : float or array_like
        GCJ-02 latitude. [deg]
    tol : float, default 1e-7
        Stop when the last correction is at most this on both axes. [deg]
    max_iter : int, default 30
        Maximum number of iterations; a ``RuntimeWarning`` is issued if the
        iteration has not converged by then.

    Returns
    -------
    lon, lat : numpy.ndarray or float
        WGS84 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon``, ``lat``, ``tol`` or ``max_iter`` has the wrong type.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together, or ``tol`` /
        ``max_iter`` is not positive.

    See Also
    --------
    wgs84_to_gcj02 : the forward conversion.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``gcj2wgs_exact``,
       https://github.com/googollee/eviltransform
    """
    _check_inverse_options(tol, max_iter)
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    return _finish(*_gcj02_to_wgs84(lon_arr, lat_arr, float(tol), int(max_iter)), scalar)


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 to Baidu BD-09 coordinates.

    Baidu's published formula: a small radius and angle perturbation with
    ``x_pi = pi * 3000 / 180``, then a shift of +0.0065 deg in longitude and
    +0.006 deg in latitude. Applied everywhere (there is no China box).

    Parameters
    ----------
    lon : float or array_like
        GCJ-02 longitude. [deg]
    lat : float or array_like
        GCJ-02 latitude. [deg]

    Returns
    -------
    lon, lat : numpy.ndarray or float
        BD-09 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon`` or ``lat`` is not numeric.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``gcj2bd``,
       https://github.com/googollee/eviltransform
    .. [2] "Restrictions on geographic data in China", Wikipedia,
       https://en.wikipedia.org/wiki/Restrictions_on_geographic_data_in_China
    """
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    return _finish(*_gcj02_to_bd09(lon_arr, lat_arr), scalar)


def bd09_to_gcj02(lon, lat, *, tol: float = 1e-7, max_iter: int = 30):
    """Convert Baidu BD-09 to GCJ-02 coordinates.

    Starts from the published closed-form approximate inverse of
    :func:`gcj02_to_bd09` (undo the 0.0065/0.006 deg shift, then subtract the
    perturbations evaluated at the BD-09 position), which alone is off by up
    to ~0.2 m, and refines it by fixed-point iteration against the forward
    formula until the correction is at most ``tol``. It differs from the
    closed form by at most ~2e-6 deg and round-trips to far below 1 cm.

    Parameters
    ----------
    lon : float or array_like
        BD-09 longitude. [deg]
    lat : float or array_like
        BD-09 latitude. [deg]
    tol : float, default 1e-7
        Stop when the last correction is at most this on both axes. [deg]
    max_iter : int, default 30
        Maximum number of iterations; a ``RuntimeWarning`` is issued if the
        iteration has not converged by then.

    Returns
    -------
    lon, lat : numpy.ndarray or float
        GCJ-02 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon``, ``lat``, ``tol`` or ``max_iter`` has the wrong type.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together, or ``tol`` /
        ``max_iter`` is not positive.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``bd2gcj``,
       https://github.com/googollee/eviltransform
    """
    _check_inverse_options(tol, max_iter)
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    return _finish(*_bd09_to_gcj02(lon_arr, lat_arr, float(tol), int(max_iter)), scalar)


def wgs84_to_bd09(lon, lat):
    """Convert WGS84 to Baidu BD-09 coordinates (via GCJ-02).

    Parameters
    ----------
    lon : float or array_like
        WGS84 longitude. [deg]
    lat : float or array_like
        WGS84 latitude. [deg]

    Returns
    -------
    lon, lat : numpy.ndarray or float
        BD-09 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon`` or ``lat`` is not numeric.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``wgs2bd``,
       https://github.com/googollee/eviltransform
    """
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    return _finish(*_gcj02_to_bd09(*_wgs84_to_gcj02(lon_arr, lat_arr)), scalar)


def bd09_to_wgs84(lon, lat, *, tol: float = 1e-7, max_iter: int = 30):
    """Convert Baidu BD-09 to WGS84 coordinates (via GCJ-02).

    Composes :func:`bd09_to_gcj02` and :func:`gcj02_to_wgs84`; the GCJ-02
    step leaves points outside :func:`out_of_china`'s box unchanged.

    Parameters
    ----------
    lon : float or array_like
        BD-09 longitude. [deg]
    lat : float or array_like
        BD-09 latitude. [deg]
    tol : float, default 1e-7
        Convergence tolerance of both inverses, see :func:`bd09_to_gcj02`
        and :func:`gcj02_to_wgs84`. [deg]
    max_iter : int, default 30
        Maximum iterations of each inverse.

    Returns
    -------
    lon, lat : numpy.ndarray or float
        WGS84 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon``, ``lat``, ``tol`` or ``max_iter`` has the wrong type.
    ValueError
        If ``lon`` and ``lat`` cannot be broadcast together, or ``tol`` /
        ``max_iter`` is not positive.

    References
    ----------
    .. [1] googollee et al., "eviltransform", ``bd2wgs``,
       https://github.com/googollee/eviltransform
    """
    _check_inverse_options(tol, max_iter)
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    gcj_lon, gcj_lat = _bd09_to_gcj02(lon_arr, lat_arr, float(tol), int(max_iter))
    return _finish(*_gcj02_to_wgs84(gcj_lon, gcj_lat, float(tol), int(max_iter)), scalar)


def _wgs84_identity(lon: np.ndarray, lat: np.ndarray):
    return lon, lat


# The one registry: coordinate system name -> conversion to WGS84. It drives
# both to_wgs84's dispatch and COORD_SYSTEMS.
_TO_WGS84: dict[str, Callable] = {
    "wgs84": _wgs84_identity,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}

COORD_SYSTEMS: tuple[str, ...] = tuple(_TO_WGS84)
"""Names accepted by :func:`to_wgs84` (case-insensitive)."""


def _normalise_name(value) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _check_coord_system(coord_system) -> np.ndarray | str:
    """Return one lower-case name, or an object array of lower-case names."""
    if isinstance(coord_system, str):
        names = np.asarray(_normalise_name(coord_system), dtype=object)
    else:
        raw = np.asarray(coord_system, dtype=object)
        names = np.asarray(np.frompyfunc(_normalise_name, 1, 1)(raw), dtype=object)
    bad = sorted({repr(v) for v in names.ravel().tolist() if v not in _TO_WGS84})
    if bad:
        raise ValueError(
            f"coord_system has unknown value(s) {', '.join(bad)}; allowed (case-insensitive): "
            f"{', '.join(repr(name) for name in COORD_SYSTEMS)}."
        )
    return str(names[()]) if names.ndim == 0 else names


def to_wgs84(lon, lat, coord_system):
    """Convert coordinates from a named system, or a per-point mix, to WGS84.

    Parameters
    ----------
    lon : float or array_like
        Longitude in ``coord_system``. [deg]
    lat : float or array_like
        Latitude in ``coord_system``. [deg]
    coord_system : str or array_like of str
        One of :data:`COORD_SYSTEMS` (``"wgs84"``, ``"gcj02"``, ``"bd09"``,
        case-insensitive) for all points, or one such name per point for a
        file that mixes sources.

    Returns
    -------
    lon, lat : numpy.ndarray or float
        WGS84 longitude and latitude [deg]; floats for scalar input.

    Raises
    ------
    TypeError
        If ``lon`` or ``lat`` is not numeric.
    ValueError
        If ``coord_system`` holds a name not in :data:`COORD_SYSTEMS`, or the
        inputs cannot be broadcast together.

    Examples
    --------
    >>> lon, lat = to_wgs84([116.403373, 116.39], [39.917927, 39.91], ["GCJ02", "wgs84"])
    >>> lon.round(4).tolist(), lat.round(4).tolist()
    ([116.3971, 116.39], [39.9165, 39.91])
    """
    lon_arr, lat_arr, scalar = _check_lonlat(lon, lat)
    names = _check_coord_system(coord_system)
    if isinstance(names, str):
        return _finish(*_TO_WGS84[names](lon_arr, lat_arr), scalar)
    try:
        lon_arr, lat_arr, names = np.broadcast_arrays(lon_arr, lat_arr, names)
    except ValueError:
        raise ValueError(
            f"coord_system with shape {names.shape} cannot be broadcast to the shape of "
            f"lon/lat {lon_arr.shape}; pass one name, or one name per point."
        ) from None
    out_lon = np.full(lon_arr.shape, np.nan)
    out_lat = np.full(lat_arr.shape, np.nan)
    for name, convert in _TO_WGS84.items():
        mask = names == name
        if mask.any():
            out_lon[mask], out_lat[mask] = convert(lon_arr[mask], lat_arr[mask])
    return out_lon, out_lat
