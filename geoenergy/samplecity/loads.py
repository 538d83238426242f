"""Load profiles of the city's customers, confounders and mining rigs.

Every function here returns hourly energy of ``n`` meters as an ``(n, H)``
array [kWh] built on a :class:`~geoenergy.samplecity.clock._Clock`: first
the ordinary profiles of each customer class (households with morning and
evening peaks, shops and offices, one- or two-shift industry, public
buildings, farms, small other loads), then the archetype generators in
:data:`_GENERATORS`: the confounders a mining detector must not flag
(coal-to-electricity night heating, large households with electric cars,
vacant homes, 24-hour shops, telecom base stations, street lighting,
continuous-process industry, aquaculture, data centres) and the eight
mining disguises built on near-constant rig power.
"""

from __future__ import annotations

import math

import numpy as np

from geoenergy.samplecity.clock import _sun_times

# --------------------------------------------------------------------------
# Load building blocks; every function returns (n, H) hourly energy [kWh]


def _noise(rng, n, H, sigma):
    """Multiplicative log-normal noise with mean 1."""
    z = rng.standard_normal((n, H), dtype=np.float32)
    return np.exp(sigma * z - 0.5 * sigma * sigma)


def _daily(rng, clock, n, sigma):
    f = np.exp(sigma * rng.standard_normal((n, clock.D)) - 0.5 * sigma * sigma)
    return f[:, clock.day]


def _u(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)[:, None]


_RES_WORK = np.concatenate(
    (
        [0.35, 0.25, 0.2, 0.2, 0.2, 0.25, 0.5, 0.9, 0.8, 0.5, 0.4, 0.45],
        [0.6, 0.5, 0.4, 0.4, 0.5, 0.8, 1.2, 1.5, 1.5, 1.3, 1.0, 0.6],
    )
)
_RES_OFF = np.concatenate(
    (
        [0.4, 0.3, 0.25, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 0.9, 0.9, 0.9],
        [1.0, 0.9, 0.8, 0.8, 0.8, 1.0, 1.3, 1.5, 1.5, 1.3, 1.1, 0.7],
    )
)
_SHOP_TRAFFIC = np.concatenate(
    (
        [0.15, 0.1, 0.08, 0.08, 0.08, 0.15, 0.4, 0.8, 0.9, 0.6, 0.5, 0.8],
        [1.0, 0.8, 0.5, 0.5, 0.6, 0.9, 1.0, 1.0, 0.9, 0.7, 0.4, 0.25],
    )
)


def _household(rng, clock, n, median_kwh_day=8.5, sigma_day=0.3):
    """Ordinary household: morning and evening peaks, weekends, AC, heaters."""
    H = clock.H
    daily = np.clip(rng.lognormal(math.log(median_kwh_day), sigma_day, n), 3.0, 60.0)[:, None]
    base = _u(rng, n, 0.03, 0.08)  # fridge and standby [kW]
    active = np.maximum(daily - 24 * base, 1.0)
    shift = rng.integers(-1, 2, n)[:, None]
    hh = (clock.hod[None, :] - shift) % 24
    shape = np.where(
        clock.off_h[None, :],
        1.1 * _RES_OFF[hh] / _RES_OFF.sum(),
        _RES_WORK[hh] / _RES_WORK.sum(),
    )
    load = base + active * shape * _daily(rng, clock, n, 0.2) * _noise(rng, n, H, 0.45)
    spikes = rng.random((n, H), dtype=np.float32) < 0.02
    load += spikes * rng.uniform(0.5, 2.0, (n, H)).astype(np.float32)
    # Split air conditioners in a warm September.
    has_ac = rng.random(n)[:, None] < 0.7
    occ = np.where((clock.hod >= 12) | (clock.hod <= 1), 1.0, 0.5)
    load += has_ac * _u(rng, n, 0.08, 0.2) * np.maximum(clock.temp_h - 25.0, 0.0) * occ
    # Portable electric heaters in cold evenings, mostly before district heating starts.
    heater = rng.random(n)[:, None] < 0.15
    evening = ((clock.hod >= 18) & (clock.hod <= 23)) | ((clock.hod >= 6) & (clock.hod <= 8))
    season = np.where(clock.heating_d[clock.day], 0.3, 1.0)
    load += (
        heater * _u(rng, n, 0.05, 0.15) * np.maximum(12.0 - clock.temp_h, 0.0) * evening * season
    )
    # Some households travel over the National Day golden week.
    away_d = np.asarray((clock.dates >= "2023-10-01") & (clock.dates <= "2023-10-06"), dtype=bool)
    away = (rng.random(n)[:, None] < 0.25) & away_d[clock.day][None, :]
    load = np.where(away, base * _noise(rng, n, H, 0.1), load)
    return load


def _commercial(rng, clock, n):
    """Shops and offices: opening hours, weekly pattern, AC."""
    H = clock.H
    peak = np.clip(rng.lognormal(math.log(12.0), 0.6, n), 3.0, 150.0)[:, None]
    base = peak * _u(rng, n, 0.1, 0.25)
    open_h = rng.integers(7, 11, n)[:, None]
    close_h = rng.integers(17, 23, n)[:, None]
    is_office = rng.random(n)[:, None] < 0.35
    hod = clock.hod[None, :]
    is_open = (hod >= open_h) & (hod < close_h)
    ramp = np.where((hod == open_h) | (hod == close_h - 1), 0.6, 1.0)
    week = np.where(clock.off_h[None, :], np.where(is_office, 0.15, 1.2), 1.0)
    act = (peak - base) * is_open * ramp * week * _daily(rng, clock, n, 0.1)
    ac = 0.02 * peak * np.maximum(clock.temp_h - 24.0, 0.0) * is_open
    return (base + act + ac) * _noise(rng, n, H, 0.15)


def _industrial(rng, clock, n):
    """Manufacturing on one or two shifts, weekends mostly off."""
    H = clock.H
    peak = np.clip(rng.lognormal(math.log(250.0), 0.6, n), 40.0, 1500.0)[:, None]
    base = peak * _u(rng, n, 0.08, 0.15)
    two = rng.random(n)[:, None] < 0.5
    hod = clock.hod[None, :]
    on = np.where(two, (hod >= 6) & (hod < 22), (hod >= 8) & (hod < 17))
    lunch = np.where(hod == 12, 0.75, 1.0)
    works_sat = rng.random(n)[:, None] < 0.4
    workday = ~clock.off_h[None, :] | (works_sat & clock.sat_h[None, :])
    act = (peak - base) * on * workday * lunch * _daily(rng, clock, n, 0.05)
    return (base + act) * _noise(rng, n, H, 0.07)


def _public(rng, clock, n):
    """Schools and government offices: weekday office hours."""
    peak = _u(rng, n, 10.0, 80.0)
    base = 0.15 * peak
    hod = clock.hod[None, :]
    on = (hod >= 8) & (hod < 18) & ~clock.off_h[None, :]
    ramp = np.where((hod == 8) | (hod == 17), 0.7, 1.0)
    act = (peak - base) * on * ramp * _daily(rng, clock, n, 0.08)
    return (base + act) * _noise(rng, n, clock.H, 0.1)


def _agricultural(rng, clock, n):
    """Farms: daytime pumps and machinery on some days, less in winter."""
    peak = _u(rng, n, 3.0, 30.0)
    hod = clock.hod[None, :]
    active_d = rng.random((n, clock.D)) < 0.6
    season = np.clip(clock.temp_d / 20.0, 0.1, 1.0)[clock.day]
    on = (hod >= 7) & (hod < 17) & active_d[:, clock.day]
    load = peak * (0.05 + 0.95 * on * season[None, :])
    return load * _noise(rng, n, clock.H, 0.2)


def _other(rng, clock, n):
    """Workshops, warehouses, car parks: small daytime loads over a base."""
    peak = _u(rng, n, 2.0, 20.0)
    hod = clock.hod[None, :]
    on = (hod >= 8) & (hod < 18) & ~clock.off_h[None, :]
    load = peak * (0.3 + 0.7 * on * _daily(rng, clock, n, 0.15))
    return load * _noise(rng, n, clock.H, 0.2)


_BASE = {
    "residential": _household,
    "commercial": _commercial,
    "industrial": _industrial,
    "public": _public,
    "agricultural": _agricultural,
    "other": _other,
}


def _base_by_class(rng, clock, classes):
    out = np.empty((len(classes), clock.H))
    for cls in np.unique(classes):
        rows = np.flatnonzero(classes == cls)
        out[rows] = _BASE[str(cls)](rng, clock, len(rows))
    return out


def _rig(rng, clock, kw):
    """Mining rigs: near-constant power, small noise, rare reboots [kWh]."""
    n, H = len(kw), clock.H
    load = kw[:, None] * (1.0 + 0.012 * rng.standard_normal((n, H), dtype=np.float32))
    load *= 1.0 + 0.004 * np.maximum(clock.temp_h - 20.0, 0.0)  # fans
    reboot = rng.random((n, H), dtype=np.float32) < 0.002
    return np.where(reboot, load * rng.uniform(0.0, 0.6, (n, H)), load)


def _asic_kw(rng, n, lo, hi):
    """Power of ``lo``..``hi`` ASIC miners of 3.0-3.5 kW each [kW]."""
    return rng.integers(lo, hi + 1, n) * rng.uniform(3.0, 3.5, n)


def _onset(rng, clock, n):
    """Onset hour index between 20 % and 70 % of the span, 08:00-22:00."""
    d = rng.integers(int(0.2 * clock.D), int(0.7 * clock.D) + 1, n)
    return d * 24 + rng.integers(8, 23, n)


def _after(clock, onset):
    return np.arange(clock.H)[None, :] >= onset[:, None]


# --------------------------------------------------------------------------
# Archetype generators: (rng, clock, classes) -> (load (n, H), onset hour or -1)


def _none(n):
    return np.full(n, -1)


def _gen_plain(rng, clock, classes):
    return _base_by_class(rng, clock, classes), _none(len(classes))


def _gen_coal(rng, clock, classes):
    """煤改电 storage heaters / heat pumps: valley-hour heating from 15 Nov."""
    n = len(classes)
    load = _household(rng, clock, n, median_kwh_day=9.0)
    rated = _u(rng, n, 6.0, 12.0)
    k = _u(rng, n, 0.5, 0.9)  # [kW/K]
    nidx = np.minimum(clock.night, clock.D - 1)
    t_night = clock.temp_d[nidx]
    on = clock.heating_d[clock.night]
    level = np.minimum(rated, k * np.maximum(16.0 - t_night, 0.0)[None, :])
    night_heat = level * (clock.valley & on)[None, :] * _noise(rng, n, clock.H, 0.05)
    day_share = _u(rng, n, 0.05, 0.3)
    day_on = (~clock.valley & clock.heating_d[clock.day])[None, :]
    day_heat = (
        day_share
        * k
        * np.maximum(16.0 - clock.temp_h, 0.0)
        * day_on
        * _noise(rng, n, clock.H, 0.2)
    )
    return load + night_heat + day_heat, _none(n)


def _gen_large_household(rng, clock, classes):
    """Large households, half with an electric car charged in the valley hours."""
    n = len(classes)
    load = _household(rng, clock, n, median_kwh_day=30.0, sigma_day=0.2)
    has_ev = rng.random(n)[:, None] < 0.5
    charge = rng.random((n, clock.D + 1)) < 0.4
    dur = rng.integers(2, 6, (n, clock.D + 1))
    ev = has_ev & charge[:, clock.night] & (clock.night_pos[None, :] < dur[:, clock.night])
    return load + ev * _u(rng, n, 6.6, 7.0), _none(n)


def _gen_vacant(rng, clock, classes):
    """Homes empty for weeks: only a fridge, or nothing at all."""
    n = len(classes)
    load = _household(rng, clock, n)
    length = rng.integers(min(14, clock.D // 2), max(min(60, int(0.6 * clock.D)), 15) + 1, n)
    length = np.minimum(length, clock.D - 1)
    first = (rng.random(n) * (clock.D - length)).astype(int)
    empty = (clock.day[None, :] >= first[:, None]) & (
        clock.day[None, :] < (first + length)[:, None]
    )
    standby = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.02, 0.06, n))[:, None]
    return np.where(empty, standby * _noise(rng, n, clock.H, 0.3), load), _none(n)


def _gen_shop24(rng, clock, classes):
    """24-hour convenience stores: refrigeration base plus customer peaks."""
    n = len(classes)
    fridge = _u(rng, n, 4.0, 15.0) * (1.0 + 0.006 * (clock.temp_h - 15.0))
    traffic = _SHOP_TRAFFIC[clock.hod] * np.where(clock.off_h, 1.15, 1.0)
    cust = fridge * _u(rng, n, 0.4, 0.8) * traffic * _daily(rng, clock, n, 0.1)
    return fridge * _noise(rng, n, clock.H, 0.08) + cust * _noise(rng, n, clock.H, 0.2), _none(n)


def _gen_telecom(rng, clock, classes):
    """Telecom base stations: near-constant 2-5 kW, slight traffic and AC."""
    n = len(classes)
    traffic = 1.0 + 0.04 * np.cos(2 * np.pi * (clock.hod - 20) / 24)
    ac = 1.0 + 0.01 * np.maximum(clock.temp_h - 20.0, 0.0)
    return _u(rng, n, 2.0, 5.0) * traffic * ac * _noise(rng, n, clock.H, 0.02), _none(n)


def _gen_street_lighting(rng, clock, classes):
    """Street lighting: on from dusk to dawn, some dimmed after midnight."""
    n = len(classes)
    sunrise, sunset = _sun_times(clock.dates)
    off_at = (sunrise - 1 / 6)[clock.day]  # lights go off 10 min before sunrise
    on_at = (sunset + 1 / 6)[clock.day]
    h = clock.hod.astype(float)
    lit = np.clip(np.minimum(h + 1, off_at) - h, 0, 1) + np.clip(
        h + 1 - np.maximum(h, on_at), 0, 1
    )
    dim = np.where(rng.random(n)[:, None] < 0.4, 0.5, 1.0)
    level = np.where((clock.hod >= 0) & (clock.hod < 5), dim, 1.0)
    return _u(rng, n, 2.0, 15.0) * lit * level * _noise(rng, n, clock.H, 0.01), _none(n)


def _gen_continuous(rng, clock, classes):
    """Continuous-process industry: flat high load, shifts, maintenance stops."""
    n = len(classes)
    p = _u(rng, n, 300.0, 2000.0)
    shift = np.where(np.isin(clock.hod, (0, 8, 16)), 0.95, 1.0)
    week = np.where(clock.off_h, 0.97, 1.0)
    load = p * shift * week * _daily(rng, clock, n, 0.02) * _noise(rng, n, clock.H, 0.02)
    stop = np.zeros((n, clock.H), dtype=bool)
    for _ in range(2):  # up to two stops of 2-5 days each
        length = rng.integers(2, 6, n) * 24
        first = (rng.random(n) * (clock.H - length)).astype(int)
        used = rng.random(n) < 0.8
        i = np.arange(clock.H)[None, :]
        stop |= used[:, None] & (i >= first[:, None]) & (i < (first + length)[:, None])
    return np.where(stop, load * _u(rng, n, 0.08, 0.15), load), _none(n)


def _gen_aquaculture(rng, clock, classes):
    """Fish-pond aerators and pumps: near-constant, more at night, less in winter."""
    n = len(classes)
    season = np.clip((clock.temp_d[clock.day] - 2.0) / 18.0, 0.25, 1.0)
    night = np.where((clock.hod >= 22) | (clock.hod < 6), 1.15, 1.0)
    load = _u(rng, n, 5.0, 40.0) * season * night * _noise(rng, n, clock.H, 0.03)
    return load, _none(n)


def _gen_data_centre(rng, clock, classes, mean_kw=None):
    """Registered data centres: very high flat load, cooling follows temperature."""
    n = len(classes)
    if mean_kw is None:
        mean_kw = np.exp(rng.uniform(math.log(200.0), math.log(3000.0), n))
    it = 1.0 + 0.03 * np.cos(2 * np.pi * (clock.hod - 21) / 24)
    cooling = 1.0 + 0.006 * (clock.temp_h - 10.0)
    load = mean_kw[:, None] * it * cooling * _noise(rng, n, clock.H, 0.01)
    return load, _none(n)


def _gen_mining_24x7(rng, clock, classes):
    n = len(classes)
    return _base_by_class(rng, clock, classes) + _rig(rng, clock, _asic_kw(rng, n, 1, 9)), _none(n)


def _gen_mining_step(rng, clock, classes):
    n = len(classes)
    onset = _onset(rng, clock, n)
    rig = _rig(rng, clock, _asic_kw(rng, n, 1, 9)) * _after(clock, onset)
    return _base_by_class(rng, clock, classes) + rig, onset


def _gen_mining_valley(rng, clock, classes):
    n = len(classes)
    rig = _rig(rng, clock, _asic_kw(rng, n, 2, 9)) * clock.valley[None, :]
    return _base_by_class(rng, clock, classes) + rig, _none(n)


def _gen_mining_price(rng, clock, classes):
    """Rigs switched off on unprofitable days (two-state Markov chain over days)."""
    n = len(classes)
    on = np.ones((n, clock.D), dtype=bool)
    u = rng.random((n, clock.D))
    for d in range(1, clock.D):  # over days, not hours
        on[:, d] = np.where(on[:, d - 1], u[:, d] >= 0.12, u[:, d] < 0.35)
    rig = _rig(rng, clock, _asic_kw(rng, n, 1, 9)) * on[:, clock.day]
    return _base_by_class(rng, clock, classes) + rig, _none(n)


def _gen_mining_small(rng, clock, classes):
    n = len(classes)
    rig = _rig(rng, clock, rng.uniform(0.8, 1.5, n))
    return _household(rng, clock, n) + rig, _none(n)


def _gen_mining_shop(rng, clock, classes):
    """A shop converted to mining: its pattern is replaced by a flat high load."""
    n = len(classes)
    onset = _onset(rng, clock, n)
    shop = _commercial(rng, clock, n)
    mined = 0.08 * shop.mean(axis=1, keepdims=True) + _rig(rng, clock, _asic_kw(rng, n, 3, 12))
    return np.where(_after(clock, onset), mined, shop), onset


def _gen_mining_industrial(rng, clock, classes):
    n = len(classes)
    onset = _onset(rng, clock, n)
    rig = _rig(rng, clock, _asic_kw(rng, n, 15, 90)) * _after(clock, onset)
    return _industrial(rng, clock, n) + rig, onset


def _gen_mining_farm(rng, clock, classes):
    """Mining in a rural farm building or warehouse, half of them from an onset."""
    n = len(classes)
    onset = np.where(rng.random(n) < 0.5, _onset(rng, clock, n), -1)
    rig = _rig(rng, clock, _asic_kw(rng, n, 20, 100)) * _after(clock, onset)
    return _base_by_class(rng, clock, classes) + rig, onset


_GENERATORS = {
    "coal_to_electricity": _gen_coal,
    "large_household": _gen_large_household,
    "vacant_home": _gen_vacant,
    "shop_24h": _gen_shop24,
    "telecom_base_station": _gen_telecom,
    "street_lighting": _gen_street_lighting,
    "continuous_process": _gen_continuous,
    "aquaculture": _gen_aquaculture,
    "data_centre": _gen_data_centre,
    "mining_24x7": _gen_mining_24x7,
    "mining_step_onset": _gen_mining_step,
    "mining_valley_only": _gen_mining_valley,
    "mining_price_driven": _gen_mining_price,
    "mining_small_home": _gen_mining_small,
    "mining_converted_shop": _gen_mining_shop,
    "mining_hidden_industrial": _gen_mining_industrial,
    "mining_rural_farm": _gen_mining_farm,
}
