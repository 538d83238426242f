"""Real households with injected rigs: a benchmark population nobody on the team generated.

The 53 London households of the Low Carbon London trial (hourly, 2013; see
``shared/data/README.md``) are real residential loads with their real quirks
(night storage heating, holidays, gaps, appliances). :func:`lcl_population`
copies some of them and adds a mining rig to each copy, and keeps every
original household untouched as the control. The rows are never committed:
they are read from ``../shared/data/lcl/`` beside the repository (CI lays a
copy of ``shared/`` there), and :func:`lcl_path` returns None when the file
is absent so that a benchmark or test can skip with a clear message.

A rig is a constant draw ``power_kw`` [kW] (hour-to-hour noise 1 %) from its
onset day to the end of the window, switched off on whole days (10-20 % of
days, in blocks of one to three days, as price-driven miners do). Disguises:

- ``24x7``: on around the clock from a random onset in the first 60 % of the window;
- ``from_start``: already running on the first day (no step to see);
- ``valley_only``: on only in the valley hours 23:00-07:00 (local clock);
- ``partial``: visible only in the last 20-35 % of the window (a late onset).

This module imports neither :mod:`detectors` nor :mod:`geoenergy`: the
population does not depend on the code it judges.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DISGUISES",
    "LCL_FILE",
    "POWER_BINS",
    "RealPopulation",
    "lcl_path",
    "lcl_population",
    "load_households",
]

LCL_FILE = Path("shared") / "data" / "lcl" / "lcl_households_2013_hourly.parquet"
"""Where the households are, relative to the folder that holds the repository."""

DISGUISES = ("24x7", "from_start", "valley_only", "partial")
"""The ways a rig is injected (see the module docstring)."""

POWER_BINS = (0.3, 0.6, 1.0, 2.0, 3.5)
"""Edges of the power bins the benchmark reports [kW]."""

VALLEY_HOURS = (23, 7)
"""Local clock hours ``[start, end)`` of a valley-only rig."""


def lcl_path() -> Path | None:
    """The households file, or None when it is not there.

    ``GEOENERGY_LCL`` (a file path) overrides the default
    ``<folder of the repository>/shared/data/lcl/lcl_households_2013_hourly.parquet``.
    """
    env = os.environ.get("GEOENERGY_LCL")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / LCL_FILE
    return path if path.is_file() else None


def load_households(path=None) -> pd.DataFrame:
    """Hourly energy [kWh] of every household on the full local-clock grid.

    Returns
    -------
    DataFrame
        Index: naive local hours (Europe/London clock, as recorded); one
        column per household id; NaN where a reading is missing (duplicate
        hours of the autumn clock change are summed).
    """
    path = lcl_path() if path is None else Path(path)
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(
            f"the Low Carbon London households are not at {LCL_FILE} beside the repository; "
            "see shared/data/README.md (the rows are not committed to the project)."
        )
    long = pd.read_parquet(path)
    wide = long.pivot_table(index="timestamp", columns="meter_id", values="kwh", aggfunc="sum")
    grid = pd.date_range(wide.index.min().floor("D"), wide.index.max().ceil("D"), freq="h")
    grid = grid[grid < wide.index.max().floor("D") + pd.Timedelta(days=1)]
    return wide.reindex(grid).sort_index(axis=1)


@dataclass
class RealPopulation:
    """A benchmark population of real households, some with a rig.

    Attributes
    ----------
    readings : xarray.Dataset
        ``kwh`` [kWh per hour], dims ``("meter", "time")``; ``time`` and
        ``local_time`` the local clock hours, ``attrs["timezone"] = "UTC"``
        (London's clock, which is UTC in winter; the clock change only moves
        the hours by one for seven months) and ``attrs["step_s"] = 3600``.
    registry : DataFrame
        ``meter_id, customer_class`` ("residential"), ``district`` (None).
    truth : DataFrame
        ``meter_id, is_mining, household, power_kw, disguise, onset_date,
        off_share, archetype`` (``"untouched"`` or ``"mining_<disguise>"``).
    labels : DataFrame
        Inspection labels (``meter_id, label, inspected_on``): a third of the
        rigs, plus untouched households visited (a random few and the largest).
    """

    readings: object
    registry: pd.DataFrame
    truth: pd.DataFrame
    labels: pd.DataFrame


def _off_days(rng, n_days: int, share: float) -> np.ndarray:
    """Boolean per day: switched off, in blocks of 1-3 days, about ``share`` of the days."""
    off = np.zeros(n_days, dtype=bool)
    target = round(share * n_days)
    while off.sum() < target:
        start = int(rng.integers(0, n_days))
        off[start : start + int(rng.integers(1, 4))] = True
    return off


def _rig(rng, n_days: int, disguise: str, power_kw: float, hours: np.ndarray):
    """Hourly rig energy [kWh], shape (n_days * 24,), its onset day and off share."""
    if disguise == "from_start":
        onset = 0
    elif disguise == "partial":
        onset = int(n_days * (1.0 - rng.uniform(0.20, 0.35)))
    else:
        onset = int(rng.integers(int(0.05 * n_days), int(0.6 * n_days)))
    off_share = float(rng.uniform(0.10, 0.20))
    on_day = ~_off_days(rng, n_days, off_share)
    on_day[:onset] = False
    on = np.repeat(on_day, 24)
    if disguise == "valley_only":
        a, b = VALLEY_HOURS
        on &= (hours >= a) | (hours < b)
    noise = 1.0 + 0.01 * rng.standard_normal(n_days * 24)
    return np.where(on, power_kw * noise, 0.0), onset, off_share


def lcl_population(
    seed: int = 0,
    *,
    n_rigs: int = 12,
    start: str | None = None,
    end: str | None = None,
    powers: tuple[float, float] = (0.3, 3.5),
    disguises: tuple[str, ...] = DISGUISES,
    households: pd.DataFrame | None = None,
    labelled_share: float = 1 / 3,
) -> RealPopulation:
    """Every household untouched, plus ``n_rigs`` copies of households with a rig added.

    Parameters
    ----------
    seed : int
        Which households get a rig, its power, onset, off days and disguise.
    n_rigs : int, default 12
        Rigged copies (12 among 53 households: 18 % of the population).
    start, end : str, optional
        Local window ``[start, end)``; default the whole of 2013.
    powers : (float, float), default (0.3, 3.5)
        Range of the rig power, drawn uniformly. [kW]
    disguises : tuple of str
        Drawn in turn (so every disguise occurs), from :data:`DISGUISES`.
    households : DataFrame, optional
        :func:`load_households` output (read once and pass it to build many seeds).
    labelled_share : float, default 1/3
        Share of the rigs whose inspection label is known.

    Returns
    -------
    RealPopulation
    """
    import xarray as xr

    bad = sorted(set(disguises) - set(DISGUISES))
    if bad:
        raise ValueError(f"disguises must be among {DISGUISES}, got {bad}.")
    wide = load_households() if households is None else households
    if start is not None or end is not None:
        lo = pd.Timestamp(start) if start else wide.index[0]
        hi = pd.Timestamp(end) if end else wide.index[-1] + pd.Timedelta(hours=1)
        wide = wide[(wide.index >= lo) & (wide.index < hi)]
    n_days = len(wide) // 24
    wide = wide.iloc[: n_days * 24]
    rng = np.random.default_rng(seed)
    ids = list(wide.columns)
    hosts = rng.choice(ids, size=n_rigs, replace=n_rigs > len(ids))
    hours = np.tile(np.arange(24), n_days)
    days = wide.index[::24]
    cols = {str(h): wide[h].to_numpy(float) for h in ids}
    rows = [
        {
            "meter_id": str(h),
            "is_mining": False,
            "household": str(h),
            "power_kw": 0.0,
            "disguise": "",
            "onset_date": pd.NaT,
            "off_share": 0.0,
            "archetype": "untouched",
        }
        for h in ids
    ]
    for i, host in enumerate(hosts):
        disguise = disguises[(i + seed) % len(disguises)]
        power = float(rng.uniform(*powers))
        rig, onset, off_share = _rig(rng, n_days, disguise, power, hours)
        mid = f"RIG{seed:03d}-{i:02d}"
        base = wide[host].to_numpy(float)
        cols[mid] = np.where(np.isnan(base), np.nan, base + rig)
        rows.append(
            {
                "meter_id": mid,
                "is_mining": True,
                "household": str(host),
                "power_kw": round(power, 3),
                "disguise": disguise,
                "onset_date": days[min(onset, n_days - 1)],
                "off_share": round(off_share, 3),
                "archetype": f"mining_{disguise}",
            }
        )
    truth = pd.DataFrame(rows)
    meters = truth["meter_id"].to_numpy()
    kwh = np.vstack([cols[m] for m in meters])
    t = wide.index.to_numpy()
    ds = xr.Dataset(
        {"kwh": (("meter", "time"), kwh, {"units": "kWh"})},
        coords={
            "meter": meters.astype(str),
            "time": t,
            "local_time": ("time", t),
            "customer_class": ("meter", np.full(len(meters), "residential")),
            "interval_s": ("meter", np.full(len(meters), 3600)),
        },
        attrs={"timezone": "UTC", "step_s": 3600, "resolution": "hourly", "title": "LCL + rigs"},
    )
    registry = pd.DataFrame(
        {"meter_id": meters.astype(str), "customer_class": "residential", "district": None}
    )
    labels = _labels(rng, truth, wide, days, labelled_share)
    return RealPopulation(ds, registry, truth, labels)


def _labels(rng, truth, wide, days, labelled_share) -> pd.DataFrame:
    """A third of the rigs as mining; untouched households visited, found not mining.

    The visited households are a random eighth of them and the three largest
    (an inspection campaign visits what looks suspicious, and a large
    household does).
    """
    rigs = truth.loc[truth["is_mining"], "meter_id"].to_numpy()
    n_lab = max(1, round(labelled_share * len(rigs))) if len(rigs) else 0
    pos = rng.choice(rigs, size=n_lab, replace=False) if n_lab else np.array([], dtype=str)
    hh = truth.loc[~truth["is_mining"], "meter_id"].to_numpy()
    mean = wide.mean().reindex(hh).to_numpy()
    largest = hh[np.argsort(-mean, kind="stable")[:3]]
    rest = np.setdiff1d(hh, largest)
    visited = rng.choice(rest, size=max(1, len(hh) // 8), replace=False)
    neg = np.r_[largest, visited]
    when = days[-1]
    return pd.DataFrame(
        {
            "meter_id": np.r_[pos, neg].astype(str),
            "label": ["mining"] * len(pos) + ["not_mining"] * len(neg),
            "inspected_on": when,
        }
    )
