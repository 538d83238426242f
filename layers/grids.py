"""Grids for aggregated maps and hotspot statistics: square, hexagonal and H3.

``square`` and ``hex`` cells are laid out in a metric CRS from its origin,
so the same CRS and cell size always give the same cells (maps of two
months line up). ``h3`` uses Uber's global H3 index (the ``h3`` package,
v4 API), whose cells are the same in every CRS. One registry,
:data:`GRIDS`, maps a grid name to its class.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from layers.crs import WGS84

__all__ = ["GRIDS", "H3Grid", "HexGrid", "SquareGrid", "make_grid"]

_SQRT3 = math.sqrt(3.0)


class SquareGrid:
    """Square cells of ``size`` [m] in a metric CRS; labels ``"s<size>:<i>:<j>"``."""

    metric = True

    def __init__(self, size: float):
        self.size = float(size)

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Integer cell coordinates ``(i, j)`` of metric points ``x, y`` [m]."""
        return (
            np.floor(np.asarray(x) / self.size).astype(np.int64),
            np.floor(np.asarray(y) / self.size).astype(np.int64),
        )

    def centres(self, i, j) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres [m]."""
        return (np.asarray(i) + 0.5) * self.size, (np.asarray(j) + 0.5) * self.size

    def polygons(self, i, j) -> np.ndarray:
        """Cell polygons in the metric CRS."""
        x0, y0 = np.asarray(i) * self.size, np.asarray(j) * self.size
        return shapely.box(x0, y0, x0 + self.size, y0 + self.size)

    def cover(self, minx, miny, maxx, maxy) -> tuple[np.ndarray, np.ndarray]:
        """Every cell meeting the metric bounds."""
        i0, j0 = self.index(minx, miny)
        i1, j1 = self.index(maxx, maxy)
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
        return ii.ravel(), jj.ravel()

    @property
    def neighbour_distance(self) -> float:
        """Centre distance [m] reaching the 8 adjacent cells (queen contiguity)."""
        return 1.5 * self.size

    @property
    def cell_area(self) -> float:
        """[m2]"""
        return self.size**2

    def labels(self, i, j) -> np.ndarray:
        return np.array(
            [f"s{self.size:g}:{a}:{b}" for a, b in zip(np.asarray(i), np.asarray(j), strict=True)],
            dtype=object,
        )


class HexGrid:
    """Flat-topped regular hexagons of edge ``size`` [m] in a metric CRS.

    Axial coordinates ``(q, r)``: the centre of cell (q, r) is at
    x = 1.5 size q, y = sqrt(3) size (r + q/2). Labels ``"h<size>:<q>:<r>"``.

    References
    ----------
    .. [1] A. Patel, "Hexagonal Grids", Red Blob Games, 2013,
       https://www.redblobgames.com/grids/hexagons/
    """

    metric = True

    def __init__(self, size: float):
        self.size = float(size)

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Axial cell coordinates of metric points, by cube rounding [1]_."""
        x = np.asarray(x, dtype=float) / self.size
        y = np.asarray(y, dtype=float) / self.size
        qf = 2.0 / 3.0 * x
        rf = -x / 3.0 + y / _SQRT3
        sf = -qf - rf
        q, r, s = np.round(qf), np.round(rf), np.round(sf)
        dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        q = np.where(fix_q, -r - s, q)
        r = np.where(fix_r, -q - s, r)
        return q.astype(np.int64), r.astype(np.int64)

    def centres(self, q, r) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(q, dtype=float)
        r = np.asarray(r, dtype=float)
        return 1.5 * self.size * q, _SQRT3 * self.size * (r + q / 2.0)

    def polygons(self, q, r) -> np.ndarray:
        cx, cy = self.centres(q, r)
        angles = np.radians(np.arange(6) * 60.0)
        xs = cx[:, None] + self.size * np.cos(angles)[None, :]
        ys = cy[:, None] + self.size * np.sin(angles)[None, :]
        return shapely.polygons(np.stack([xs, ys], axis=-1))

    def cover(self, minx, miny, maxx, maxy) -> tuple[np.ndarray, np.ndarray]:
        s = self.size
        q = np.arange(math.floor(minx / (1.5 * s)) - 1, math.ceil(maxx / (1.5 * s)) + 2)
        r_lo = np.floor(miny / (_SQRT3 * s) - q / 2.0) - 1
        r_hi = np.ceil(maxy / (_SQRT3 * s) - q / 2.0) + 1
        qq = np.concatenate(
            [np.full(int(h - lo + 1), a) for a, lo, h in zip(q, r_lo, r_hi, strict=True)]
        )
        rr = np.concatenate([np.arange(lo, h + 1) for lo, h in zip(r_lo, r_hi, strict=True)])
        cx, cy = self.centres(qq, rr)
        # Keep the cells whose hexagon can meet the bounds (centre within one edge).
        keep = (cx >= minx - s) & (cx <= maxx + s) & (cy >= miny - s) & (cy <= maxy + s)
        return qq[keep].astype(np.int64), rr[keep].astype(np.int64)

    @property
    def neighbour_distance(self) -> float:
        """Centre distance [m] reaching the 6 adjacent cells (sqrt(3) size, next ring 3 size)."""
        return 1.1 * _SQRT3 * self.size

    @property
    def cell_area(self) -> float:
        """[m2]"""
        return 1.5 * _SQRT3 * self.size**2

    def labels(self, q, r) -> np.ndarray:
        return np.array(
            [f"h{self.size:g}:{a}:{b}" for a, b in zip(np.asarray(q), np.asarray(r), strict=True)],
            dtype=object,
        )


class H3Grid:
    """Uber H3 cells at ``resolution`` 0-15 (res 8: ~0.74 km2, res 9: ~0.11 km2).

    References
    ----------
    .. [1] Uber Technologies, "H3: a hexagonal hierarchical geospatial
       indexing system", https://h3geo.org/
    """

    metric = False

    def __init__(self, resolution: int):
        try:
            import h3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                f"grid='h3' needs the h3 package ({exc}); pip install 'h3>=4', or use "
                f"grid='hex' (hexagons in the metric CRS)."
            ) from None
        self._h3 = h3
        self.resolution = int(resolution)

    def cells(self, lon, lat) -> np.ndarray:
        """H3 cell ids (str) of WGS84 points; None where a coordinate is NaN."""
        to_cell = self._h3.latlng_to_cell
        res = self.resolution
        out = np.full(len(lon), None, dtype=object)
        ok = np.isfinite(lon) & np.isfinite(lat)
        out[ok] = [to_cell(b, a, res) for a, b in zip(lon[ok], lat[ok], strict=True)]
        return out

    def polygons(self, cells) -> np.ndarray:
        """WGS84 polygons of H3 cells (the boundary comes as lat, lng pairs)."""
        boundary = self._h3.cell_to_boundary
        return np.array(
            [shapely.Polygon([(lng, lat) for lat, lng in boundary(c)]) for c in cells],
            dtype=object,
        )

    @property
    def cell_area(self) -> float:
        """Average cell area at this resolution [m2]."""
        return self._h3.average_hexagon_area(self.resolution, unit="m^2")


#: Grid name -> class. Metric grids take an edge length [m], H3 a resolution.
GRIDS: dict[str, type] = {"square": SquareGrid, "hex": HexGrid, "h3": H3Grid}


def make_grid(grid: str, *, cell_size_m: float = 500.0, resolution: int = 8):
    """Build a grid by name, checking its parameter.

    Parameters
    ----------
    grid : {"square", "hex", "h3"}
    cell_size_m : float, default 500.0
        Edge length of square or hexagonal cells. [m]
    resolution : int, default 8
        H3 resolution, 0-15.

    Raises
    ------
    ValueError
        For an unknown grid or a parameter out of range.
    """
    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r} is not one of {list(GRIDS)}.")
    if grid == "h3":
        if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
            raise TypeError(f"resolution must be an integer 0-15; got {resolution!r}.")
        if not 0 <= resolution <= 15:
            raise ValueError(f"resolution must be 0-15 for H3; got {resolution}.")
        return H3Grid(resolution)
    if isinstance(cell_size_m, bool) or not isinstance(cell_size_m, int | float | np.number):
        raise TypeError(f"cell_size_m must be a number of metres; got {cell_size_m!r}.")
    if not (math.isfinite(cell_size_m) and cell_size_m > 0):
        raise ValueError(f"cell_size_m must be positive and finite [m]; got {cell_size_m!r}.")
    return GRIDS[grid](cell_size_m)


def assign_cells(points_wgs: gpd.GeoSeries, grid, metric) -> np.ndarray:
    """The cell label of every WGS84 point (None for missing points)."""
    n = len(points_wgs)
    present = ~(points_wgs.isna().to_numpy() | points_wgs.is_empty.to_numpy())
    out = np.full(n, None, dtype=object)
    if not present.any():
        return out
    if grid.metric:
        pts = points_wgs[present].to_crs(metric)
        out[present] = grid.labels(*grid.index(pts.x.to_numpy(), pts.y.to_numpy()))
    else:
        pts = points_wgs[present]
        out[present] = grid.cells(pts.x.to_numpy(), pts.y.to_numpy())
    return out


def label_polygons(labels, grid, metric) -> gpd.GeoSeries:
    """WGS84 polygons of cells given by their labels."""
    labels = list(labels)
    if not grid.metric:
        return gpd.GeoSeries(grid.polygons(labels), crs=WGS84)
    ij = np.array([lab.split(":")[1:] for lab in labels], dtype=np.int64).reshape(-1, 2)
    return gpd.GeoSeries(grid.polygons(ij[:, 0], ij[:, 1]), crs=metric).to_crs(WGS84)
