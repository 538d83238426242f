"""The city's population: meters, customer classes, archetypes, loads and labels.

:data:`ARCHETYPES` lists who lives in the city: plain customers of every
class, the confounders a mining detector must not flag and the eight
mining disguises, each with its share of meters. :func:`_simulate` draws
the meters (archetype, customer class, meter id), the time axis and the
weather, and the hourly loads of every meter from the profiles in
:mod:`~geoenergy.samplecity.loads`; :func:`_gaps` knocks readings out and
:func:`_labels` draws the inspection outcomes. :func:`generate_population`
returns such a population in memory, without geography or files, for
detector work; :func:`~geoenergy.samplecity.write.generate_city` places
the same population in the town and writes it out.

Random streams: one ``SeedSequence(seed)`` spawns six generators
(population, time, loads, geography, gaps, outputs) and every archetype's
loads draw from their own ``default_rng([seed, index])``, so a seed gives
the same city whatever else changes around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from geoenergy.contracts import CUSTOMER_CLASSES
from geoenergy.samplecity.clock import _make_clock
from geoenergy.samplecity.geometry import _DISTRICTS
from geoenergy.samplecity.loads import _GENERATORS, _gen_data_centre, _gen_plain

__all__ = ["ARCHETYPES", "Population", "generate_population"]

_CLASSES = CUSTOMER_CLASSES
# Share of meters per customer class; "other" takes the rest.
_CLASS_SHARE = {
    "residential": 0.75,
    "commercial": 0.12,
    "industrial": 0.04,
    "public": 0.03,
    "agricultural": 0.03,
    "data_centre": 0.01,
}

# name: (role, customer classes it is registered under, share of meters).
# Shares of the plain class archetypes are filled up to _CLASS_SHARE.
ARCHETYPES: dict[str, tuple[str, tuple[str, ...], float]] = {
    "residential": ("normal", ("residential",), 0.0),
    "commercial": ("normal", ("commercial",), 0.0),
    "industrial": ("normal", ("industrial",), 0.0),
    "public": ("normal", ("public",), 0.0),
    "agricultural": ("normal", ("agricultural",), 0.0),
    "other": ("normal", ("other",), 0.0),
    "coal_to_electricity": ("confounder", ("residential",), 0.020),
    "large_household": ("confounder", ("residential",), 0.015),
    "vacant_home": ("confounder", ("residential",), 0.012),
    "shop_24h": ("confounder", ("commercial",), 0.010),
    "telecom_base_station": ("confounder", ("other", "other", "public"), 0.008),
    "street_lighting": ("confounder", ("public",), 0.008),
    "continuous_process": ("confounder", ("industrial",), 0.005),
    "aquaculture": ("confounder", ("agricultural",), 0.006),
    "data_centre": ("confounder", ("data_centre",), 0.010),
    "mining_24x7": ("mining", ("residential", "residential", "commercial"), 0.0027),
    "mining_step_onset": ("mining", ("residential", "commercial"), 0.0023),
    "mining_valley_only": ("mining", ("residential",), 0.0020),
    "mining_price_driven": ("mining", ("residential", "commercial"), 0.0020),
    "mining_small_home": ("mining", ("residential",), 0.0020),
    "mining_converted_shop": ("mining", ("commercial",), 0.0013),
    "mining_hidden_industrial": ("mining", ("industrial",), 0.0013),
    "mining_rural_farm": ("mining", ("agricultural", "other"), 0.0013),
}
"""Load archetypes of the sample city: ``{name: (role, classes, share)}``.

``role`` is normal, confounder or mining; ``classes`` the customer classes a
meter of this archetype is registered under (cycled); ``share`` the fraction
of meters (0 for the plain archetypes that fill each class).
"""

# Contract sizes: the R10 preferred numbers (ISO 3) from 4 kW to 100 MW [kW].
_R10 = np.array([1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0])
_CONTRACT_SIZES = (_R10[None, :] * 10.0 ** np.arange(5)[:, None]).ravel()[6:]


# --------------------------------------------------------------------------
# Checks


def _check_generate_city(out_dir, n_meters, start, end, seed):
    """Arguments of both entry points; ``generate_population`` passes ``out_dir="."``."""
    if not isinstance(out_dir, str | Path):
        raise TypeError(f"out_dir must be a str or Path, got {type(out_dir).__name__}.")
    if isinstance(n_meters, bool) or not isinstance(n_meters, int | np.integer):
        raise TypeError(f"n_meters must be an int, got {type(n_meters).__name__}.")
    if n_meters < 100:
        raise ValueError(
            f"n_meters must be at least 100 so that every archetype occurs, got {n_meters}."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}.")
    try:
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"start and end must be dates like '2023-09-01', got {start!r} and {end!r}."
        ) from exc
    for name, t in (("start", t0), ("end", t1)):
        if t.tzinfo is not None:
            raise ValueError(
                f"{name} must be a naive local date (Asia/Shanghai), got {t}; "
                "drop the time zone, e.g. pd.Timestamp(x).tz_localize(None)."
            )
        if t != t.normalize():
            raise ValueError(f"{name} must be midnight (a whole day), got {t}.")
    if (t1 - t0) < pd.Timedelta(days=14):
        raise ValueError(
            f"end must be at least 14 days after start, got start={t0.date()} end={t1.date()}."
        )
    return Path(out_dir), int(n_meters), t0, t1, int(seed)


# --------------------------------------------------------------------------
# Population


def _allocate(rng, n, archetypes=ARCHETYPES) -> tuple[np.ndarray, np.ndarray]:
    """Archetype and customer class of each meter, in random order."""
    names, classes = [], []
    per_class = dict.fromkeys(_CLASSES, 0)
    for name, (role, cls, share) in archetypes.items():
        if role == "normal":
            continue
        k = max(1, round(share * n))
        cl = [cls[i % len(cls)] for i in range(k)]
        names += [name] * k
        classes += cl
        for c in cl:
            per_class[c] += 1
    fill = {c: max(1, round(s * n) - per_class[c]) for c, s in _CLASS_SHARE.items()}
    fill.pop("data_centre")  # every data_centre meter is a registered data centre
    fill["other"] = n - len(names) - sum(fill.values())
    if fill["other"] < 1:
        fill["residential"] -= 1 - fill["other"]
        fill["other"] = 1
    for c, k in fill.items():
        names += [c] * k
        classes += [c] * k
    order = rng.permutation(n)
    return np.array(names, dtype=object)[order], np.array(classes, dtype=object)[order]


def _allocate_shares(mining_share):
    """Archetype shares, with the mining archetypes rescaled to ``mining_share``."""
    if mining_share is None:
        return ARCHETYPES
    total = sum(sh for role, _, sh in ARCHETYPES.values() if role == "mining")
    return {
        name: (role, cls, sh * mining_share / total if role == "mining" else sh)
        for name, (role, cls, sh) in ARCHETYPES.items()
    }


def _simulate(n, t0, t1, seed, mining_share=None):
    """Population, time axis, weather and hourly loads; shared by both generators."""
    ss = np.random.SeedSequence(seed)
    r_pop, r_time, r_load, r_geo, r_gap, r_out = (np.random.default_rng(s) for s in ss.spawn(6))

    # Population and time axis.
    arch, cls = _allocate(r_pop, n, _allocate_shares(mining_share))
    ids = np.sort(r_pop.choice(np.arange(1, 900_000), n, replace=False))
    meter_ids = np.array([f"M{i:06d}" for i in ids], dtype=object)
    clock, weather = _make_clock(r_time, t0, t1)

    # Loads, one archetype at a time.
    load = np.empty((n, clock.H))
    onset = np.full(n, -1)
    dc_rows = np.flatnonzero(arch == "data_centre")
    n_linked = min(4, len(dc_rows))
    dc_it = r_load.uniform(1.0, 40.0, 8)
    dc_pue = r_load.uniform(1.15, 1.6, 8)
    for name in ARCHETYPES:
        rows = np.flatnonzero(arch == name)
        if len(rows) == 0:
            continue
        rng = np.random.default_rng([seed, list(ARCHETYPES).index(name)])
        if name == "data_centre":
            mean_kw = np.exp(rng.uniform(math.log(200.0), math.log(3000.0), len(rows)))
            k = min(8, len(rows))
            mean_kw[:k] = dc_it[:k] * dc_pue[:k] * 1000.0
            load[rows], onset[rows] = _gen_data_centre(rng, clock, cls[rows], mean_kw)
        else:
            gen = _GENERATORS.get(name, _gen_plain)
            load[rows], onset[rows] = gen(rng, clock, cls[rows])
    np.maximum(load, 0.0, out=load)
    np.round(load, 3, out=load)
    load[load == 0.0] = 0.0  # no negative zeros
    return SimpleNamespace(
        arch=arch,
        cls=cls,
        meter_ids=meter_ids,
        clock=clock,
        weather=weather,
        load=load,
        onset=onset,
        dc_rows=dc_rows,
        n_linked=n_linked,
        dc_it=dc_it,
        dc_pue=dc_pue,
        r_geo=r_geo,
        r_gap=r_gap,
        r_out=r_out,
    )


def _gaps(rng, n, clock):
    """Which readings exist: ~1 % of meters lose 1-10 days, plus isolated missing hours."""
    keep = np.ones((n, clock.H), dtype=bool)
    n_gap = max(1, round(0.01 * n))
    gm = rng.choice(n, n_gap, replace=False)
    glen = rng.integers(24, min(240, clock.H // 3) + 1, n_gap)
    gfirst = (rng.random(n_gap) * (clock.H - glen)).astype(int)
    hours = np.arange(clock.H)[None, :]
    keep[gm] &= ~((hours >= gfirst[:, None]) & (hours < (gfirst + glen)[:, None]))
    n_iso = max(5, round(2e-5 * n * clock.H))
    keep[rng.integers(0, n, n_iso), rng.integers(0, clock.H, n_iso)] = False
    return keep


def _labels(rng, arch, is_mining, onset_day, clock, meter_ids, share=0.6):
    """Inspection outcomes: ``share`` of mining meters, and confounders inspectors visit."""
    n = len(arch)
    role = np.array([ARCHETYPES[a][0] for a in arch])
    mine = np.flatnonzero(is_mining)
    insp_m = mine[rng.random(len(mine)) < share]
    if len(insp_m) == 0:
        insp_m = mine[:1]
    weight = np.where(role == "confounder", 15.0, 1.0)
    weight[is_mining] = 0.0
    k = min(int((~is_mining).sum()), max(2 * len(insp_m), round(0.03 * n)))
    insp_n = rng.choice(n, k, replace=False, p=weight / weight.sum())
    rows = np.r_[insp_m, insp_n]
    first = np.where(onset_day[rows] >= 0, onset_day[rows], 0)
    lo = first + np.maximum(1, np.minimum(7, (clock.D - first) // 3))
    hi = np.full(len(rows), clock.D - 1)
    lo = np.minimum(lo, hi)
    day = lo + (rng.random(len(rows)) * (hi - lo + 1)).astype(int)
    df = pd.DataFrame(
        {
            "meter_id": np.asarray(meter_ids, dtype=object)[rows],
            "label": np.where(is_mining[rows], "mining", "not_mining"),
            "inspected_on": clock.dates[day].strftime("%Y-%m-%d"),
        }
    )
    return df.sort_values(["inspected_on", "meter_id"], ignore_index=True)


def _contracted_kw(rng, peak, cls):
    want = peak * rng.uniform(1.2, 1.8, len(peak))
    want = np.where(cls == "residential", np.maximum(want, 8.0), np.maximum(want, 4.0))
    idx = np.minimum(np.searchsorted(_CONTRACT_SIZES, want), len(_CONTRACT_SIZES) - 1)
    return _CONTRACT_SIZES[idx]


# --------------------------------------------------------------------------
# In-memory population for detector development and evaluation


@dataclass
class Population:
    """A synthetic meter population in memory, from :func:`generate_population`.

    Attributes
    ----------
    readings : xarray.Dataset
        ``kwh`` [kWh per hour] with dims ``("meter", "time")``, NaN where a
        reading is missing; laid out like
        :func:`geoenergy.readings.open_readings` (``time`` in UTC, a
        ``local_time`` coordinate in Asia/Shanghai, ``customer_class`` and
        ``interval_s`` per meter), numpy-backed.
    registry : pandas.DataFrame
        ``meter_id, customer_class, district, contracted_kw [kW],
        floor_area_m2 [m2]`` (floor area missing for about a quarter).
    weather : pandas.DataFrame
        ``date`` (local date) and ``temp_c`` (daily mean [degC]).
    truth : pandas.DataFrame
        ``meter_id, archetype, role (normal|confounder|mining), is_mining,
        onset_date`` -- for evaluation only.
    labels : pandas.DataFrame
        Inspection outcomes in the labels contract (``meter_id, label,
        inspected_on``): a share of the miners, and more non-miners (mostly
        confounders, which inspectors visit more often).
    """

    readings: object
    registry: pd.DataFrame
    weather: pd.DataFrame
    truth: pd.DataFrame
    labels: pd.DataFrame


def generate_population(
    n_meters: int = 1600,
    *,
    start="2023-10-01",
    end="2024-02-01",
    seed: int = 20231115,
    mining_share: float | None = 0.04,
    labelled_share: float = 1 / 3,
    gaps: bool = True,
) -> Population:
    """Simulate a meter population in memory, without geography or files.

    The loads come from the same archetypes as :func:`generate_city`: plain
    customers of every class, every confounder a mining detector must not
    flag and every mining disguise (see :data:`ARCHETYPES`).

    Parameters
    ----------
    n_meters : int, default 1600
        Number of meters (at least 100).
    start, end : str or Timestamp
        Readings cover ``[start, end)``; whole days, naive local time.
    seed : int
        Seed; the result is deterministic for it.
    mining_share : float or None, default 0.04
        Fraction of mining meters, spread over the disguises in the
        proportions of :data:`ARCHETYPES`; None keeps the sample city's
        (about 1.5 %).
    labelled_share : float, default 1/3
        Fraction of the miners that carry an inspection label ``mining``.
    gaps : bool, default True
        Knock out readings as :func:`generate_city` does (days-long gaps for
        about 1 % of meters, plus isolated hours).

    Returns
    -------
    Population

    Examples
    --------
    >>> pop = generate_population(300, start="2023-11-01", end="2023-11-22", seed=1)
    >>> pop.readings.kwh.dims
    ('meter', 'time')
    """
    import xarray as xr

    _, n, t0, t1, seed = _check_generate_city(".", n_meters, start, end, seed)
    if mining_share is not None and not 0.0 < float(mining_share) < 0.5:
        raise ValueError(
            f"mining_share must be between 0 and 0.5 (a fraction), got {mining_share!r}; "
            "use e.g. 0.04 for 4 %."
        )
    if not 0.0 <= float(labelled_share) <= 1.0:
        raise ValueError(f"labelled_share must be between 0 and 1, got {labelled_share!r}.")
    sim = _simulate(n, t0, t1, seed, mining_share)
    clock, load = sim.clock, sim.load
    keep = _gaps(sim.r_gap, n, clock) if gaps else np.ones(load.shape, dtype=bool)
    kwh = np.where(keep, load, np.nan)
    local = pd.date_range(t0, t1, freq="h", inclusive="left")
    utc = local.tz_localize("Asia/Shanghai").tz_convert("UTC").tz_localize(None)
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), kwh)},
        coords={
            "meter": sim.meter_ids.astype(str),
            "time": ("time", utc.to_numpy(), {"timezone": "UTC"}),
            "local_time": ("time", local.to_numpy(), {"timezone": "Asia/Shanghai"}),
            "customer_class": ("meter", sim.cls.astype(str)),
            "interval_s": ("meter", np.full(n, 3600, dtype=np.int64), {"units": "s"}),
        },
        attrs={
            "title": "GeoEnergy synthetic meter population",
            "resolution": "hourly",
            "step_s": 3600,
            "timezone": "Asia/Shanghai",
        },
    )
    ds["kwh"].attrs.update({"units": "kWh", "long_name": "energy consumed in the step"})

    rng = sim.r_geo
    area = np.select(
        [sim.cls == "residential", sim.cls == "commercial", sim.cls == "industrial"],
        [rng.uniform(50, 200, n), rng.uniform(60, 1500, n), rng.uniform(800, 20000, n)],
        rng.uniform(30, 3000, n),
    )
    registry = pd.DataFrame(
        {
            "meter_id": sim.meter_ids,
            "customer_class": sim.cls,
            "district": np.array([d for d, _ in _DISTRICTS], dtype=object)[
                rng.integers(0, len(_DISTRICTS), n)
            ],
            "contracted_kw": _contracted_kw(rng, np.nanmax(load, axis=1), sim.cls),
            "floor_area_m2": pd.array(
                np.where(rng.random(n) < 0.25, np.nan, np.round(area, 1)), dtype="Float64"
            ),
        }
    )
    role = np.array([ARCHETYPES[a][0] for a in sim.arch], dtype=object)
    is_mining = role == "mining"
    onset_day = np.where(sim.onset >= 0, sim.onset // 24, -1)
    truth = pd.DataFrame(
        {
            "meter_id": sim.meter_ids,
            "archetype": sim.arch,
            "role": role,
            "is_mining": is_mining,
            "onset_date": np.where(
                onset_day >= 0,
                clock.dates[np.maximum(onset_day, 0)].strftime("%Y-%m-%d"),
                "",
            ),
        }
    )
    labels = _labels(
        sim.r_out, sim.arch, is_mining, onset_day, clock, sim.meter_ids, float(labelled_share)
    )
    weather = sim.weather.assign(date=pd.to_datetime(sim.weather["date"]))
    return Population(ds, registry, weather, truth, labels)
