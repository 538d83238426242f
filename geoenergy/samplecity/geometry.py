"""The town's geometry: study area, districts, street grid, buildings and meter sites.

The sample city is a fictional town of about 12.8 km x 8.9 km north-west
of Beijing, laid out in metres on a local plane around (116.275 E,
39.99 N) and turned into WGS 84 degrees only when a layer is written. This
room zones the town (a dense core, an urban ring, villages in the outer
ring and an industrial quarter in the south-east), draws the six
districts, places a building on a 100 m lot for every meter (flats share
apartment blocks), puts each meter well inside its building, gives it a
fictional Chinese street or village address marked ``[示例]``, and
reports about 10 % of the positions in GCJ-02 as AMap geocoding would.
Nothing here knows about loads: the population arrives as archetype and
customer-class arrays.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import shapely

from layers.coords import wgs84_to_gcj02

# Study area: a fictional town of about 12.8 km x 8.9 km north-west of Beijing.
_LON0, _LAT0 = 116.275, 39.99  # centre [deg]
_HALF_X, _HALF_Y = 6400.0, 4450.0  # half extents [m]
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_LAT0))
_M_PER_DEG_LAT = 110_574.0
_LOT = 100.0  # building lot spacing [m]

_SYNTHETIC_PREFIX = "[示例] "

_DISTRICTS = (  # (name, pinyin), left to right, top row then bottom row
    ("西峰区", "Xifeng"),
    ("北城区", "Beicheng"),
    ("东岭区", "Dongling"),
    ("南湖区", "Nanhu"),
    ("中和区", "Zhonghe"),
    ("新河区", "Xinhe"),
)
_ROADS = (
    "和平路",
    "建设路",
    "幸福街",
    "光明路",
    "育才路",
    "文化路",
    "胜利街",
    "康乐路",
    "永安路",
    "兴华街",
    "青年路",
    "长青路",
    "红星路",
    "团结路",
    "振兴路",
    "民主街",
)
_VILLAGES = (
    "王家村",
    "李庄",
    "张各庄",
    "刘家营",
    "马坊村",
    "杨树屯",
    "东沙河村",
    "西沙河村",
    "北辛庄",
    "南辛庄",
    "高家堡",
    "石门村",
    "柳林村",
    "桃园村",
    "前屯村",
    "后屯村",
)


# --------------------------------------------------------------------------
# Zoning, lots and districts


def _placement_kind(rng, arch, cls):
    """Which kind of building each meter sits in."""
    n = len(arch)
    kind = np.empty(n, dtype=object)
    r = rng.random(n)
    res = cls == "residential"
    kind[res] = np.where(r[res] < 0.85, "apartment", "rural_home")
    kind[arch == "coal_to_electricity"] = "rural_home"
    kind[(arch == "large_household") & (r < 0.4)] = "rural_home"
    kind[cls == "commercial"] = "shop"
    kind[cls == "industrial"] = "factory"
    kind[cls == "public"] = "public"
    kind[cls == "agricultural"] = "farm"
    kind[cls == "other"] = "other"
    kind[cls == "data_centre"] = "server_room"
    kind[arch == "street_lighting"] = "cabinet"
    kind[arch == "telecom_base_station"] = "shelter"
    kind[(arch == "mining_rural_farm") & (cls == "other")] = "warehouse"
    return kind


# (use, footprint width range, depth range [m], floors range) per building kind
_BUILDING_KINDS = {
    "apartment": ("residential", (40, 80), (15, 20), (6, 18)),
    "rural_home": ("residential", (15, 22), (15, 18), (1, 2)),
    "shop": ("commercial", (15, 40), (15, 30), (1, 4)),
    "factory": ("industrial", (40, 80), (30, 70), (1, 2)),
    "public": ("public", (25, 70), (20, 50), (2, 5)),
    "farm": ("agricultural", (15, 60), (15, 40), (1, 1)),
    "warehouse": ("other", (30, 70), (20, 50), (1, 1)),
    "other": ("other", (15, 40), (15, 30), (1, 3)),
    "server_room": ("data_centre", (20, 50), (15, 40), (2, 4)),
    "data_centre": ("data_centre", (60, 80), (50, 80), (2, 4)),
    "cabinet": ("public", (15, 15), (15, 15), (1, 1)),
    "shelter": ("other", (15, 15), (15, 15), (1, 1)),
}


def _lots():
    xs = np.arange(-_HALF_X + _LOT / 2, _HALF_X, _LOT)
    ys = np.arange(-_HALF_Y + _LOT / 2, _HALF_Y, _LOT)
    X, Y = np.meshgrid(xs, ys)
    ix, iy = np.meshgrid(np.arange(len(xs)), np.arange(len(ys)))
    return X.ravel(), Y.ravel(), ix.ravel(), iy.ravel()


def _lot_weights(rng, lx, ly):
    """Suitability of every lot for each building kind, from the town's zoning."""
    rho = np.hypot(lx / _HALF_X, ly / _HALF_Y)
    core = rho < 0.35
    urban = (rho >= 0.35) & (rho < 0.65)
    outer = rho >= 0.65
    ang = np.arctan2(ly, lx)
    ind_zone = (ang < -0.3) & (ang > -1.4) & (rho > 0.4) & (rho < 0.85)  # south-east
    # Village clusters in the outer ring.
    va = rng.uniform(-np.pi, np.pi, len(_VILLAGES))
    vr = rng.uniform(0.75, 0.95, len(_VILLAGES))
    vx, vy = vr * np.cos(va) * _HALF_X, vr * np.sin(va) * _HALF_Y
    dv = np.hypot(lx[:, None] - vx[None, :], ly[:, None] - vy[None, :])
    village = np.exp(-0.5 * (dv.min(axis=1) / 350.0) ** 2) * outer
    w = {
        "apartment": 5 * core + 3 * urban + 0.02 * outer,
        "rural_home": 10 * village + 0.01 * outer,
        "shop": 6 * core + 2 * urban + 0.3 * village,
        "factory": 10 * ind_zone + 0.1 * urban,
        "public": 2 * core + 2 * urban + 0.5 * village,
        "farm": 3 * village + 1 * outer,
        "warehouse": 2 * ind_zone + 1 * outer,
        "other": 1.0 + 0 * rho,
        "server_room": 2 * core + 2 * urban + 2 * ind_zone,
        "data_centre": 5 * ind_zone + 1 * urban,
        "cabinet": 2 * core + 2 * urban,
        "shelter": 1.0 + 0 * rho,
    }
    return w, vx, vy


def _pick_lots(rng, weight, taken, k):
    """``k`` distinct free lots drawn with probability ~ weight (Gumbel top-k)."""
    with np.errstate(divide="ignore"):
        key = np.log(np.where(taken, 0.0, weight + 1e-9)) + rng.gumbel(size=len(weight))
    chosen = np.argpartition(-key, k - 1)[:k]
    taken[chosen] = True
    return chosen


def _to_deg(x, y):
    return _LON0 + np.asarray(x) / _M_PER_DEG_LON, _LAT0 + np.asarray(y) / _M_PER_DEG_LAT


def _geom_to_deg(geoms):
    return shapely.transform(
        geoms,
        lambda c: np.column_stack(
            [_LON0 + c[:, 0] / _M_PER_DEG_LON, _LAT0 + c[:, 1] / _M_PER_DEG_LAT]
        ),
    )


def _district_splits(rng):
    xs = np.array([-_HALF_X, -_HALF_X / 3, _HALF_X / 3, _HALF_X])
    xs[1:3] += rng.uniform(-400, 400, 2)
    ysplit = rng.uniform(-500, 500, 3)
    return xs, ysplit


def _district_of(x, y, xs, ysplit):
    col = np.clip(np.searchsorted(xs, x) - 1, 0, 2)
    return col + 3 * (y < ysplit[col])


def _districts_layer(xs, ysplit):
    geoms, names, pinyin = [], [], []
    for i, (name, py) in enumerate(_DISTRICTS):
        col, bottom = i % 3, i >= 3
        y0, y1 = (-_HALF_Y, ysplit[col]) if bottom else (ysplit[col], _HALF_Y)
        geoms.append(shapely.box(xs[col], y0, xs[col + 1], y1))
        names.append(name)
        pinyin.append(py)
    return gpd.GeoDataFrame(
        {"name": names, "name_pinyin": pinyin}, geometry=_geom_to_deg(np.array(geoms)), crs=4326
    )


# --------------------------------------------------------------------------
# Buildings and meter sites


def _place_buildings(rng, kind, n_extra):
    """Lots and rectangles of every building; meters get a building index."""
    lx, ly, lix, liy = _lots()
    weights, vx, vy = _lot_weights(rng, lx, ly)
    taken = np.zeros(len(lx), dtype=bool)
    n = len(kind)
    # Apartment meters share buildings of about 18 flats each.
    apt = np.flatnonzero(kind == "apartment")
    n_apt_b = max(1, math.ceil(len(apt) / 18))
    counts = {k: int((kind == k).sum()) for k in _BUILDING_KINDS}
    counts["apartment"] = n_apt_b
    counts["data_centre"] = 8
    for k, extra in n_extra.items():
        counts[k] += extra
    b_kind, b_lot = [], []
    for k in _BUILDING_KINDS:  # fixed order keeps the result deterministic
        if counts[k] == 0:
            continue
        b_lot.append(_pick_lots(rng, weights[k], taken, counts[k]))
        b_kind += [k] * counts[k]
    b_lot = np.concatenate(b_lot)
    b_kind = np.array(b_kind, dtype=object)
    nb = len(b_kind)
    w = np.empty(nb)
    d = np.empty(nb)
    floors = np.empty(nb, dtype=int)
    for k, (_use, wr, dr, fr) in _BUILDING_KINDS.items():
        m = b_kind == k
        w[m] = rng.uniform(*wr, m.sum())
        d[m] = rng.uniform(*dr, m.sum())
        floors[m] = rng.integers(fr[0], fr[1] + 1, m.sum())
    swap = rng.random(nb) < 0.3  # some buildings run north-south
    w, d = np.where(swap, d, w), np.where(swap, w, d)
    cx = lx[b_lot] + rng.uniform(-1, 1, nb) * (_LOT - w) / 2 * 0.9
    cy = ly[b_lot] + rng.uniform(-1, 1, nb) * (_LOT - d) / 2 * 0.9
    use = np.array([_BUILDING_KINDS[k][0] for k in b_kind], dtype=object)
    # Meter -> building.
    first = {k: int(np.flatnonzero(b_kind == k)[0]) for k in set(b_kind)}
    meter_b = np.empty(n, dtype=int)
    for k in _BUILDING_KINDS:
        rows = np.flatnonzero(kind == k)
        if k == "apartment" or len(rows) == 0:
            continue
        meter_b[rows] = first[k] + np.arange(len(rows))
    meter_b[apt] = first["apartment"] + rng.integers(0, n_apt_b, len(apt))
    buildings = {
        "kind": b_kind,
        "use": use,
        "cx": cx,
        "cy": cy,
        "w": w,
        "d": d,
        "floors": floors,
        "lix": lix[b_lot],
        "liy": liy[b_lot],
    }
    return buildings, meter_b, (vx, vy)


def _addresses(kind, meter_b, b, district, villages):
    """Fictional Chinese street addresses, every one marked synthetic."""
    vx, vy = villages
    lix, liy = b["lix"][meter_b], b["liy"][meter_b]
    ew = (lix + liy) % 2 == 0
    road = np.where(ew, liy // 4, lix // 4 + 7) % len(_ROADS)
    num = np.where(ew, lix * 4 + liy % 4, liy * 4 + lix % 4) + 1
    x, y = b["cx"][meter_b], b["cy"][meter_b]
    vil = np.argmin(np.hypot(x[:, None] - vx[None, :], y[:, None] - vy[None, :]), axis=1)
    # House numbers in a village: rank of the building among the village's buildings.
    key = vil.astype(np.int64) * 1_000_000 + meter_b
    ukey, inv = np.unique(key, return_inverse=True)
    uvil = ukey // 1_000_000
    vstart = np.r_[0, np.flatnonzero(np.diff(uvil)) + 1]
    vrank = np.arange(len(ukey)) - np.repeat(vstart, np.diff(np.r_[vstart, len(ukey)]))
    vnum = (1 + 3 * vrank + ukey % 3)[inv]
    # Flat numbers: rank of the meter within its apartment building.
    order = np.lexsort((np.arange(len(kind)), meter_b))
    sb = meter_b[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sb)) + 1]
    rank = np.empty(len(kind), dtype=int)
    rank[order] = np.arange(len(kind)) - np.repeat(starts, np.diff(np.r_[starts, len(kind)]))
    nf = b["floors"][meter_b]
    unit = rank // (2 * nf) + 1
    floor = (rank // 2) % nf + 1
    flat = rank % 2 + 1
    rural = np.isin(kind, ["rural_home", "farm"]) | (
        (kind == "warehouse") & (np.hypot(x / _HALF_X, y / _HALF_Y) >= 0.65)
    )
    out = []
    for i in range(len(kind)):  # string formatting only, once per meter
        dname = _DISTRICTS[district[i]][0]
        if rural[i]:
            suffix = "号库房" if kind[i] == "warehouse" else "号"
            a = f"{dname}{_VILLAGES[vil[i]]}{vnum[i]}{suffix}"
        elif kind[i] == "apartment":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号{unit[i]}单元{floor[i]}{flat[i]:02d}"
        elif kind[i] == "cabinet":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号路灯箱变"
        elif kind[i] == "shelter":
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号通信基站"
        else:
            a = f"{dname}{_ROADS[road[i]]}{num[i]}号"
        out.append(_SYNTHETIC_PREFIX + a)
    return np.array(out, dtype=object)


def _place_meters(rng, arch, cls, dc_rows):
    """Buildings of the town, and where in them every meter sits.

    Parameters
    ----------
    rng : numpy.random.Generator
        The geography stream; the draws run in a fixed order.
    arch, cls : ndarray of str
        Archetype and customer class of each meter.
    dc_rows : ndarray of int
        Rows of the data-centre meters; the first eight are the listed sites.

    Returns
    -------
    types.SimpleNamespace
        ``b`` (building arrays: kind, use, centre ``cx, cy`` and footprint
        ``w, d`` [m], floors, lot indices), ``meter_b`` (building of each
        meter), ``xs, ysplit`` (district boundaries [m]), ``lon, lat``
        [deg] with ``gcj`` (True where given in GCJ-02), ``address``,
        ``floor_area`` [m2] with ``missing_area`` (True where the registry
        leaves it out) and ``b_floor_area`` (floor area of each building [m2]).
    """
    n = len(arch)
    kind = _placement_kind(rng, arch, cls)
    kind[dc_rows[:8]] = "data_centre"  # the eight listed sites
    n_extra = {
        "apartment": max(1, n // 60),
        "shop": n // 30,
        "public": n // 60,
        "other": n // 60,
        "farm": n // 60,
        "rural_home": n // 30,
    }
    b, meter_b, villages = _place_buildings(rng, kind, n_extra)
    xs, ysplit = _district_splits(rng)
    # Meters sit well inside their building.
    mx = b["cx"][meter_b] + rng.uniform(-0.35, 0.35, n) * b["w"][meter_b]
    my = b["cy"][meter_b] + rng.uniform(-0.35, 0.35, n) * b["d"][meter_b]
    district = _district_of(mx, my, xs, ysplit)
    lon, lat = _to_deg(mx, my)
    gcj = rng.random(n) < 0.1
    glon, glat = wgs84_to_gcj02(lon[gcj], lat[gcj])
    lon, lat = lon.copy(), lat.copy()
    lon[gcj], lat[gcj] = glon, glat
    address = _addresses(kind, meter_b, b, district, villages)
    flat_area = np.where(
        kind == "apartment",
        rng.uniform(50, 140, n),
        np.where(kind == "rural_home", rng.uniform(80, 200, n), 0.0),
    )
    b_floor_area = b["w"] * b["d"] * b["floors"]
    floor_area = np.where(
        flat_area > 0, flat_area, b_floor_area[meter_b] * rng.uniform(0.5, 1.0, n)
    )
    floor_area = np.round(floor_area, 1)
    missing_area = (rng.random(n) < 0.25) | np.isin(kind, ["cabinet", "shelter"])
    return SimpleNamespace(
        b=b,
        meter_b=meter_b,
        xs=xs,
        ysplit=ysplit,
        lon=lon,
        lat=lat,
        gcj=gcj,
        address=address,
        floor_area=floor_area,
        missing_area=missing_area,
        b_floor_area=b_floor_area,
    )


def _buildings_layer(b, b_floor_area):
    """The ``buildings`` layer: one rectangle per building, EPSG:4326."""
    nb = len(b["kind"])
    rect = shapely.box(
        b["cx"] - b["w"] / 2, b["cy"] - b["d"] / 2, b["cx"] + b["w"] / 2, b["cy"] + b["d"] / 2
    )
    return gpd.GeoDataFrame(
        {
            "building_id": [f"B{i:05d}" for i in range(nb)],
            "use": b["use"],
            "floor_area_m2": np.round(b_floor_area, 1),
            "floors": b["floors"].astype(np.int32),
        },
        geometry=_geom_to_deg(rect),
        crs=4326,
    )
