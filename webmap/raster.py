"""Gridded data (an xarray DataArray) to a coloured image for an ImageOverlay.

Accepted grids (dims ``(y, x)`` in either order of names):

- geographic: 1-D ``lon``/``lat`` (or ``longitude``/``latitude``)
  coordinates along the two dims, cell centres [deg], or ``x``/``y``
  coordinates with ``attrs["crs"]`` EPSG:4326 / OGC:CRS84;
- projected: 1-D ``x``/``y`` coordinates [m] with ``attrs["crs"]`` (any
  pyproj-readable CRS, e.g. ``"EPSG:32650"``); the grid is resampled
  (nearest cell) onto a regular lon/lat grid of the same size.

The image is RGBA with transparent cells where the value is missing or
not above zero, and its bounds are the outer cell edges. Folium turns it
into an embedded PNG (a ``data:`` URL), so the site needs no image file.
An image says nothing on hover, so :class:`GridHover` carries the values
too and shows the one under the pointer (or finger) in a tooltip.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from branca.element import MacroElement
from folium.template import Template

from webmap.colors import Gradient
from webmap.markup import script_json

_LON = ("lon", "longitude")
_LAT = ("lat", "latitude")
_GEOGRAPHIC = {"EPSG:4326", "OGC:CRS84", "WGS84", "EPSG:4490"}  # 4490: CGCS2000


def _coord(da: xr.DataArray, names) -> xr.DataArray | None:
    for n in names:
        if n in da.coords and da.coords[n].ndim == 1:
            return da.coords[n]
    return None


def _check_grid(da) -> tuple[str, str, str | None]:
    """Return (lon/x coord name, lat/y coord name, projected CRS or None)."""
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"demand_grid must be an xarray.DataArray, got {type(da).__name__}; "
            "select the variable of a Dataset, e.g. ds['heat_density']."
        )
    if da.ndim != 2:
        raise ValueError(
            f"demand_grid must be 2-D (y, x), got dims {da.dims}; select or average "
            "the other dims first."
        )
    lon, lat = _coord(da, _LON), _coord(da, _LAT)
    if lon is not None and lat is not None:
        _check_axes(da, lon, lat)
        return lon.name, lat.name, None
    x, y = _coord(da, ("x",)), _coord(da, ("y",))
    crs = da.attrs.get("crs")
    if x is None or y is None or crs is None:
        raise ValueError(
            f"demand_grid needs 1-D lon/lat coordinates, or x/y coordinates with "
            f"attrs['crs']; got coords {list(da.coords)} and attrs {sorted(da.attrs)}. "
            "Add them with da.assign_coords(lon=('x', lons), lat=('y', lats))."
        )
    _check_axes(da, x, y)
    text = str(crs).upper()
    return "x", "y", None if text in _GEOGRAPHIC else str(crs)


def _check_axes(da, xc, yc) -> None:
    if xc.dims[0] == yc.dims[0]:
        raise ValueError(
            f"demand_grid coordinates {xc.name!r} and {yc.name!r} run along the same dim "
            f"{xc.dims[0]!r}; they must run along the two dims of the grid."
        )
    for c in (xc, yc):
        v = np.asarray(c.values, dtype=float)
        if v.size < 2:
            raise ValueError(f"demand_grid needs at least 2 cells along {c.name!r}.")
        step = np.diff(v)
        if not (np.all(step > 0) or np.all(step < 0)):
            raise ValueError(f"demand_grid coordinate {c.name!r} must be strictly monotonic.")
        if not np.allclose(step, step[0], rtol=0.01, atol=0):
            raise ValueError(
                f"demand_grid coordinate {c.name!r} is not evenly spaced (steps "
                f"{step.min():g}..{step.max():g}); resample to a regular grid first."
            )


def _edges(centres: np.ndarray) -> tuple[float, float]:
    step = abs(float(centres[1] - centres[0]))
    return float(centres.min()) - step / 2, float(centres.max()) + step / 2


def grid_to_lonlat(da: xr.DataArray) -> tuple[np.ndarray, list[list[float]]]:
    """Values of ``da`` north-up on a regular lon/lat grid, with its bounds.

    Returns
    -------
    values : ndarray of float, shape (rows, cols)
        Row 0 is the northernmost row, column 0 the westernmost.
    bounds : list
        ``[[south, west], [north, east]]`` of the outer cell edges [deg].
    """
    xname, yname, crs = _check_grid(da)
    ydim, xdim = da.coords[yname].dims[0], da.coords[xname].dims[0]
    grid = da.transpose(ydim, xdim)
    xs = np.asarray(grid.coords[xname].values, dtype=float)
    ys = np.asarray(grid.coords[yname].values, dtype=float)
    vals = np.asarray(grid.values, dtype=float)
    if crs is None:
        vals = vals[np.argsort(-ys)][:, np.argsort(xs)]
        w, e = _edges(xs)
        s, n = _edges(ys)
        return vals, [[s, w], [n, e]]
    return _reproject_nearest(vals, xs, ys, crs)


def _reproject_nearest(vals, xs, ys, crs) -> tuple[np.ndarray, list[list[float]]]:
    from pyproj import CRS, Transformer

    fwd = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    x0, x1 = _edges(xs)
    y0, y1 = _edges(ys)
    w, s, e, n = fwd.transform_bounds(x0, y0, x1, y1, densify_pts=21)
    rows, cols = vals.shape
    lon = w + (np.arange(cols) + 0.5) * (e - w) / cols
    lat = n - (np.arange(rows) + 0.5) * (n - s) / rows
    glon, glat = np.meshgrid(lon, lat)
    inv = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True)
    px, py = inv.transform(glon, glat)
    # Nearest source cell by its index along each (evenly spaced) axis.
    ix = np.round((px - xs[0]) / (xs[1] - xs[0])).astype(np.int64)
    iy = np.round((py - ys[0]) / (ys[1] - ys[0])).astype(np.int64)
    inside = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
    out = np.full((rows, cols), np.nan)
    out[inside] = vals[iy[inside], ix[inside]]
    return out, [[s, w], [n, e]]


def grid_to_rgba(values: np.ndarray, gradient: Gradient, alpha: int = 255) -> np.ndarray:
    """RGBA image [0..255] of ``values``; missing or non-positive cells are transparent."""
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = gradient.rgb(values)
    show = np.isfinite(values) & (values > 0)
    rgba[..., 3] = np.where(show, alpha, 0).astype(np.uint8)
    return rgba


class GridHover(MacroElement):
    """The value of the grid cell under the pointer, in a tooltip, while ``layer`` is on.

    Parameters
    ----------
    layer : folium Layer
        The image overlay of the grid; no tooltip while it is off.
    values : ndarray, shape (rows, cols)
        North-up values as :func:`grid_to_lonlat` returns them.
    bounds : list
        ``[[south, west], [north, east]]`` [deg] of the outer cell edges.
    unit : str
        Shown after the value, e.g. ``"MWh/ha/yr"``.
    digits : int
        Decimals shown.
    label : str
        Text before the value, e.g. ``"Heat demand"``.

    Cells that are missing or not above zero (transparent in the image) show
    nothing. A tap shows the value too (phones have no hover); an open popup
    hides it (``webmap.guard``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer_name }};
            var g = {{ this.grid_json }}, tip = L.tooltip({direction: "top", offset: [0, -6]});
            function show(e) {
                var ll = e.latlng, rows = g.v.length, cols = rows ? g.v[0].length : 0;
                var r = Math.floor((g.n - ll.lat) / (g.n - g.s) * rows);
                var c = Math.floor((ll.lng - g.w) / (g.e - g.w) * cols);
                var v = (map.hasLayer(layer) && r >= 0 && r < rows && c >= 0 && c < cols)
                    ? g.v[r][c] : null;
                if (v === null || v <= 0) { map.closeTooltip(tip); return; }
                tip.setLatLng(ll).setContent(g.label + ": " + v.toFixed(g.digits) + " " + g.unit);
                if (!map.hasLayer(tip)) { map.openTooltip(tip); }
            }
            map.on("mousemove click", show);
            map.on("mouseout", function () { map.closeTooltip(tip); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer, values, bounds, *, unit: str = "", digits: int = 0, label: str = ""):
        super().__init__()
        self._name = "GridHover"
        self.layer = layer
        v = np.asarray(values, dtype=float)
        if v.ndim != 2:
            raise ValueError(f"values must be a 2-D grid (rows, cols), got shape {v.shape}.")
        (s, w), (n, e) = bounds
        if not (n > s and e > w):
            raise ValueError(f"bounds must be [[south, west], [north, east]], got {bounds}.")
        self.grid_json = script_json(
            {
                "v": np.where(np.isfinite(v), np.round(v, digits), np.nan),
                "s": s,
                "w": w,
                "n": n,
                "e": e,
                "unit": unit,
                "digits": int(digits),
                "label": label or "Value",
            }
        )

    def render(self, **kwargs):
        self.layer_name = self.layer.get_name()
        super().render(**kwargs)
