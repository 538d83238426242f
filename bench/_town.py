"""A second synthetic generator, written apart from the sample city: a county town and its villages.

The quality benchmark never judges the detectors on one generator alone.
This one shares no code, shape or parameter with
:mod:`geoenergy.samplecity`: its loads are built here from their own
physics (occupancy, opening hours, shifts, pumps, heaters, cooling), with
their own noise, and it carries the confounders and disguises of issue 20 as
named cases:

- rigs on agricultural and village meters (``mining_village``) among
  irrigation pumps, greenhouses and fish-pond aerators;
- valley-only rigs in homes (``mining_valley_home``) among night storage
  heating and electric heating;
- rigs hidden in industrial load (``mining_in_factory``: a step in the base
  load of a shift factory) among continuous-process plants;
- rigs in homes and shops around the clock (``mining_home``,
  ``mining_shop``, off on 10-20 % of days);
- registered data centres (their own list): ordinary hosting
  (``data_centre``: a daily cycle of 1-5 %, a weekday/weekend difference in
  three of four, a PUE following the outdoor temperature, 35-75 % of the
  contracted capacity) and mining hidden in registered data centres
  (``mining_in_dc``: flat rigs filling the site to 85-97 % of its contract,
  from an onset in the window or before it); and a data-centre-like load on a
  meter registered as commercial (``mining_unregistered_dc``), a suspect like
  any other.

Hourly, local time, a daily weather table (a cold season with day-to-day
noise). This module imports neither :mod:`detectors` nor :mod:`geoenergy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CASES", "TownPopulation", "town_population"]

# case: (customer class, role, count per 1,000 meters)
CASES = {
    "home": ("residential", "normal", 560),
    "storage_heating": ("residential", "confounder", 30),
    "electric_heating": ("residential", "confounder", 30),
    "shop": ("commercial", "normal", 90),
    "office": ("commercial", "normal", 40),
    "factory_shifts": ("industrial", "normal", 30),
    "continuous_process": ("industrial", "confounder", 12),
    "irrigation_pump": ("agricultural", "confounder", 25),
    "greenhouse": ("agricultural", "confounder", 15),
    "fish_pond": ("agricultural", "confounder", 15),
    "village_home": ("agricultural", "normal", 40),
    "data_centre": ("data_centre", "confounder", 12),
    "mining_home": ("residential", "mining", 14),
    "mining_valley_home": ("residential", "mining", 12),
    "mining_shop": ("commercial", "mining", 8),
    "mining_in_factory": ("industrial", "mining", 6),
    "mining_village": ("agricultural", "mining", 10),
    "mining_unregistered_dc": ("commercial", "mining", 4),
}
"""Every kind of meter the town has, with its registered class, role and frequency."""

DC_CASES = {"mining_in_dc": ("data_centre", "mining", 4)}
"""Data-centre cases added after the others, from their own random stream, so adding
them left every other meter's readings, registry row and label as they were."""


@dataclass
class TownPopulation:
    """Readings, registry, weather, truth and inspection labels of one town.

    ``truth`` has ``meter_id, case, role, is_mining, power_kw`` (the rig's
    power [kW], NaN for other meters); ``case`` names the disguise or the
    confounder.
    """

    readings: object
    registry: pd.DataFrame
    weather: pd.DataFrame
    truth: pd.DataFrame
    labels: pd.DataFrame


def _weather(rng, days: pd.DatetimeIndex) -> np.ndarray:
    """Daily mean temperature [degC]: a cold season around mid-January plus AR(1) noise."""
    doy = days.day_of_year.to_numpy()
    base = 12.0 - 14.0 * np.cos(2 * np.pi * (doy - 15) / 365.0)
    noise = np.zeros(len(days))
    for i in range(1, len(days)):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 2.2)
    return base + noise


def _profile(hours, peaks):
    """A smooth daily shape: a sum of Gaussian bumps ``(hour, width, height)``."""
    h = hours[None, :]
    out = np.zeros((1, len(hours)))
    for c, w, a in peaks:
        d = np.minimum(np.abs(h - c), 24 - np.abs(h - c))
        out = out + a * np.exp(-0.5 * (d / w) ** 2)
    return out[0]


def _load(case, rng, n_days, temp, weekday, hour24, dc_rng=None):
    """Hourly load [kW] of one meter of ``case`` and its rig power [kW] (NaN if none).

    A data centre also returns its contracted capacity [kW] (see :func:`_data_centre`).
    """
    t = np.repeat(temp, 24)
    wk = np.repeat(weekday, 24)
    cold = np.clip(14.0 - t, 0, None)  # heating degree [K]
    warm = np.clip(t - 20.0, 0, None)
    day_noise = np.repeat(rng.lognormal(0, 0.15, n_days), 24)
    hnoise = rng.lognormal(0, 0.25, n_days * 24)
    rig = np.nan

    def home(scale):
        prof = _profile(np.arange(24), [(7.5, 1.2, 0.6), (19.5, 2.0, 1.0), (13, 2.5, 0.25)])
        base = 0.08 + 0.12 * rng.random()
        return scale * (base + 0.5 * prof[hour24] * day_noise * hnoise)

    if case in (
        "home",
        "mining_home",
        "mining_valley_home",
        "storage_heating",
        "electric_heating",
        "village_home",
    ):
        x = home(rng.lognormal(np.log(0.9), 0.45))
        if case == "storage_heating":
            kw = rng.uniform(4, 9)
            # charges in the cheap night hours, for as long as the cold needs
            need = np.clip(cold / 14.0, 0, 1) * 7.0  # hours of charge
            night = (hour24 >= 23) | (hour24 < 7)
            pos = np.where(hour24 >= 23, hour24 - 23, hour24 + 1)
            x = x + np.where(night & (pos <= need), kw, 0.0)
        elif case == "electric_heating":
            x = x + cold * rng.uniform(0.08, 0.2) * (0.6 + 0.4 * (hour24 >= 6)) * hnoise
        elif case.startswith("mining"):
            rig = rng.uniform(0.8, 4.0)
            on = _rig_days(rng, n_days)
            if case == "mining_valley_home":
                on = on & ((hour24 >= 23) | (hour24 < 7))
            x = x + on * rig * (1 + 0.01 * rng.standard_normal(len(x)))
        return x, rig
    if case in ("shop", "office", "mining_shop", "mining_unregistered_dc"):
        size = rng.lognormal(np.log(8 if case != "office" else 15), 0.5)
        open_h = (hour24 >= 9) & (hour24 < (21 if case != "office" else 18))
        open_d = wk < (7 if case != "office" else 5)
        x = size * (0.12 + 0.88 * (open_h & open_d) * day_noise) * rng.lognormal(0, 0.08, len(wk))
        x = x + size * 0.03 * warm  # air conditioning
        if case == "mining_shop":
            rig = rng.uniform(5, 30)
            x = x + _rig_days(rng, n_days) * rig
        elif case == "mining_unregistered_dc":
            rig = rng.uniform(40, 200)
            x = 0.2 * x + rig * (1 + 0.005 * rng.standard_normal(len(x))) + 0.01 * rig * warm
        return x, rig
    if case in ("factory_shifts", "mining_in_factory", "continuous_process"):
        size = rng.lognormal(np.log(150), 0.6)
        if case == "continuous_process":
            # furnaces and kilns: flat, with maintenance stops and slow drifts
            stop = np.repeat(rng.random(n_days) < 0.03, 24)
            drift = np.repeat(1 + 0.05 * np.sin(np.arange(n_days) / rng.uniform(5, 20)), 24)
            x = size * drift * np.where(stop, 0.15, 1.0) * rng.lognormal(0, 0.03, len(wk))
            return x, rig
        shift = (hour24 >= 6) & (hour24 < 22) & (wk < 6)
        x = size * (0.2 + 0.8 * shift * day_noise) * rng.lognormal(0, 0.1, len(wk))
        if case == "mining_in_factory":
            rig = size * rng.uniform(0.3, 1.2)
            onset = int(rng.integers(n_days // 5, n_days // 2))
            on = np.repeat(np.arange(n_days) >= onset, 24) & _rig_days(rng, n_days)
            x = x + on * rig
        return x, rig
    if case in ("irrigation_pump", "greenhouse", "fish_pond", "mining_village"):
        size = rng.lognormal(np.log(12), 0.5)
        if case == "irrigation_pump":
            # daytime pumping on dry warm days, idle in the cold
            dry = np.repeat(rng.random(n_days) < np.clip((temp - 8) / 15, 0.05, 0.9), 24)
            x = size * (0.03 + dry * ((hour24 >= 6) & (hour24 < 18)) * rng.uniform(0.6, 1.0))
        elif case == "greenhouse":
            light = (hour24 >= 18) | (hour24 < 2)
            x = size * (0.2 + 0.5 * light + 0.06 * cold) * day_noise
        elif case == "fish_pond":
            # aerators around the clock, more in warm water
            x = size * (0.5 + 0.04 * np.clip(t, 0, None)) * rng.lognormal(0, 0.05, len(wk))
        else:
            x = home(rng.lognormal(np.log(1.2), 0.4))
            rig = rng.uniform(3, 20)
            x = x + _rig_days(rng, n_days) * rig
        return x, rig
    if case in ("data_centre", "mining_in_dc"):
        return _data_centre(case, rng, dc_rng, n_days, t, wk, hour24)
    raise ValueError(f"unknown case {case!r}")


def _data_centre(case, rng, dc_rng, n_days, t, wk, hour24):
    """Hourly facility load [kW] of a registered data centre, its rig power [kW] and contract.

    Hosting IT load has users: a daily cycle of 1-5 % of the load (servers idle at
    about half their peak power, so the work's daily cycle shows damped: Barroso,
    Clidaras and Hoelzle 2013, ch. 5; Fan, Weber and Barroso 2007) peaking in the
    afternoon or evening, and in three of four sites (enterprise and office-hours
    work) weekends 0.5-5 % lower; the others (public cloud) have no weekly
    difference. PUE follows the outdoor temperature (1.2 in the cold, +0.015 per K
    above 0 degC; China's limits are 1.3-1.5, GB 40879-2021). Hosting uses 35-75 %
    of its contracted capacity [kW] (clusters peak near 72 % of nameplate, Fan et
    al. 2007; the 2021 national plan aims at 60 % rack utilisation). Mining hidden
    in a data centre: flat rigs (0.8-1.2 times the former IT load) beside 10-40 %
    of the hosting, the contract sized so the rigs fill the site to 85-97 % of it,
    from an onset in the window (two in three) or since before it.

    ``rng`` draws what the town drew for a data centre before the hidden-mining
    case existed (so other meters keep their readings); ``dc_rng`` the rest.
    """
    it = rng.lognormal(np.log(300), 0.5)
    noise = rng.lognormal(0, 0.01, len(wk))
    pue = 1.2 + 0.015 * np.clip(t, 0, None)
    amp = dc_rng.uniform(0.01, 0.05)
    peak_h = dc_rng.uniform(14, 22)
    weekly = dc_rng.uniform(0.005, 0.05) if dc_rng.random() < 0.75 else 0.0
    hosting = it * (1 + amp * np.cos(2 * np.pi * (hour24 - peak_h) / 24)) * noise
    hosting = hosting * (1 - weekly * (wk >= 5))
    if case == "data_centre":
        x = hosting * pue
        return x, np.nan, float(np.median(x) / dc_rng.uniform(0.35, 0.75))
    hosting = hosting * dc_rng.uniform(0.1, 0.4)
    early = dc_rng.random() < 2 / 3
    onset = int(dc_rng.integers(n_days // 6, 2 * n_days // 3)) if early else 0
    on = np.repeat(np.arange(n_days) >= onset, 24)
    rig = it * dc_rng.uniform(0.8, 1.2)
    x = (hosting + on * rig * (1 + 0.003 * dc_rng.standard_normal(len(wk)))) * pue
    return x, rig, float(np.median(x[on]) / dc_rng.uniform(0.85, 0.97))


def _rig_days(rng, n_days):
    """Hourly on/off of a rig: from a random onset in the first half, off 10-20 % of days."""
    onset = int(rng.integers(0, n_days // 2)) if rng.random() < 0.7 else 0
    on = np.arange(n_days) >= onset
    off = rng.random(n_days) < rng.uniform(0.10, 0.20)
    return np.repeat(on & ~off, 24)


def town_population(
    seed: int = 0,
    n_meters: int = 1000,
    start: str = "2023-11-01",
    days: int = 120,
    labelled_share: float = 1 / 3,
) -> TownPopulation:
    """One town: ``n_meters`` meters of :data:`CASES`, hourly over ``days`` local days.

    Parameters
    ----------
    seed : int
    n_meters : int, default 1000
    start : str, default "2023-11-01"
        First local day.
    days : int, default 120
    labelled_share : float, default 1/3
        Share of the rigs with a "mining" label; as many confounders and
        ordinary meters (the most suspicious-looking ones are visited too)
        carry "not_mining".
    """
    import xarray as xr

    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    temp = _weather(rng, dates)
    weekday = dates.day_of_week.to_numpy()
    hour24 = np.tile(np.arange(24), days)
    cases = []
    for case, (_, _, per_1000) in CASES.items():
        cases += [case] * max(1, round(per_1000 * n_meters / 1000))
    rng.shuffle(cases)
    dc_rng = np.random.default_rng([seed, 20])
    loads, rigs, contracts = [], [], []

    def add(case, r):
        x, rig, *contract = _load(case, r, days, temp, weekday, hour24, dc_rng)
        loads.append(np.round(np.maximum(x, 0.0), 3))
        rigs.append(rig)
        contracts.append(contract[0] if contract else np.nan)

    for case in cases:
        add(case, rng)
    n_main = len(cases)
    for case, (_, _, per_1000) in DC_CASES.items():
        for _ in range(max(1, round(per_1000 * n_meters / 1000))):
            cases.append(case)
            add(case, dc_rng)
    kwh = np.vstack(loads)
    # gaps: a few meters lose a few days
    gappy = rng.random(n_main) < 0.05
    for i in np.flatnonzero(gappy):
        a = int(rng.integers(0, days - 3)) * 24
        kwh[i, a : a + int(rng.integers(24, 72))] = np.nan
    ids = np.array([f"T{seed:02d}{i:05d}" for i in range(len(cases))])
    every = {**CASES, **DC_CASES}
    cls = np.array([every[c][0] for c in cases])
    role = np.array([every[c][1] for c in cases])
    time = pd.date_range(start, periods=days * 24, freq="h")
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), kwh, {"units": "kWh"})},
        coords={
            "meter": ids,
            "time": time.to_numpy(),
            "local_time": ("time", time.to_numpy()),
            "customer_class": ("meter", cls),
            "interval_s": ("meter", np.full(len(ids), 3600)),
        },
        attrs={"timezone": "UTC", "step_s": 3600, "resolution": "hourly", "title": "town"},
    )
    peak = np.nanmax(kwh, axis=1)
    n_dc = len(ids) - n_main
    contracted = np.round(
        peak * np.r_[rng.uniform(1.1, 1.6, n_main), dc_rng.uniform(1.1, 1.6, n_dc)] + 2, 1
    )
    # A data centre's contract is sized by its site (see _data_centre), not its peak.
    own = np.isfinite(np.asarray(contracts, dtype=float))
    contracted[own] = np.round(np.asarray(contracts, dtype=float)[own], 1)
    districts = ["east", "west", "hills"]
    registry = pd.DataFrame(
        {
            "meter_id": ids,
            "customer_class": cls,
            "district": np.r_[rng.choice(districts, n_main), dc_rng.choice(districts, n_dc)],
            "contracted_kw": contracted,
        }
    )
    truth = pd.DataFrame(
        {
            "meter_id": ids,
            "case": cases,
            "role": role,
            "is_mining": role == "mining",
            "power_kw": np.array(rigs, dtype=float),
        }
    )
    weather = pd.DataFrame({"date": dates, "temp_c": np.round(temp, 1)})
    labels = _labels(rng, truth.iloc[:n_main], labelled_share, days, dates)
    dc_miners = truth.loc[truth["is_mining"].to_numpy() & (np.arange(len(ids)) >= n_main)]
    seen = dc_miners["meter_id"].to_numpy()[dc_rng.random(len(dc_miners)) < labelled_share]
    labels = pd.concat(
        [labels, pd.DataFrame({"meter_id": seen, "label": "mining", "inspected_on": dates[-1]})],
        ignore_index=True,
    )
    return TownPopulation(ds, registry, weather, truth, labels)


def _labels(rng, truth, share, days, dates) -> pd.DataFrame:
    miners = truth.loc[truth["is_mining"], "meter_id"].to_numpy()
    pos = rng.choice(miners, size=max(2, round(share * len(miners))), replace=False)
    conf = truth.loc[truth["role"] == "confounder", "meter_id"].to_numpy()
    normal = truth.loc[truth["role"] == "normal", "meter_id"].to_numpy()
    neg = np.r_[
        rng.choice(conf, size=min(len(conf), len(pos)), replace=False),
        rng.choice(normal, size=min(len(normal), len(pos)), replace=False),
    ]
    when = dates[-1]
    return pd.DataFrame(
        {
            "meter_id": np.r_[pos, neg],
            "label": ["mining"] * len(pos) + ["not_mining"] * len(neg),
            "inspected_on": when,
        }
    )
