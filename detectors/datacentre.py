"""Registered data centres: evidence of hidden mining, scored among data centres only.

A registered data centre's flat, heavy 24/7 load is its normal business, so
the household features (excess over peers, night/day ratio, flatness) say
nothing about it: every data centre "looks like" a rig to them. Yet mining
hidden in data centres is exactly what the 2021 national clean-up targeted
(NDRC notice on rectifying virtual-currency mining, 2021 [1]_). A data
centre is therefore judged on *data-centre* evidence, in a list of its own,
ranked among data-centre peers only:

**Utilisation and its step-up** (:func:`utilisation_step`). Hosting runs
well below its contracted capacity: provisioned power is sized for peaks
that rarely come (large clusters peak at about 72 % of their aggregate
nameplate, Fan et al. [2]_), and the national plan aims at a rack
utilisation of 60 % [3]_. Rigs run at their nameplate around the clock and a
farm fills its transformer, so mining shows as a base load stepping up
towards ``contracted_kw`` and staying there. Measured on the daily median
load: the largest sustained, abrupt rise (a change point of the medians,
against the day-to-day noise), its onset date, and the recent level as a
share of the contract.

**Absence of a hosting rhythm** (:func:`hosting_rhythm`). Servers draw
about half their peak power when idle, so the daily cycle of the work they
serve shows in the power as a few percent (Barroso et al. [4]_; a cluster's
power follows its diurnal load, [2]_), with a weekday/weekend difference
from enterprise and office-hours work. Rigs have no users: their load is
flat at the hardware limit. The daily cycle is the first 24 h harmonic of
the load relative to its daily level, averaged over days (a real cycle keeps
its phase, noise does not), and counts only when it stands above its own
robust standard error; the weekly one is the weekend/weekday difference of
the daily levels relative to their 7-day rolling median (robust to steps
and to seasonal cooling drift). On a facility meter, part of a daily cycle
can be cooling following the outdoor temperature, so the daily cycle weighs
half as much there as on an IT meter.

**PUE behaviour** (:func:`pue_behaviour`), when the registry names an IT
meter (``it_meter_id``) whose readings exist: the metered PUE (facility over
IT energy), its response to the outdoor temperature, a jump in the IT share
of the facility load, and a PUE below what the declared ``cooling`` can
reach (:data:`PUE_FLOOR`). A mining farm runs a near-constant IT load whose
PUE tracks the outdoor temperature only; the IT meter's rhythm then replaces
the facility meter's. Without an IT meter the PUE evidence is "not
available": nothing is invented in its place.

The components are suspicion values in [0, 1] on physical scales
(:data:`COMPONENTS`), combined as their weighted mean over those available,
the *evidence* (:func:`score_data_centres`), so a data centre's score never
depends on the other data centres in the batch; the list is then ranked
among data centres only, flagged at :data:`FLAG_SCORE`, and every score comes
with its reasons in words. The ``score`` column is the evidence through a
steep logistic (:data:`SCORE_SPREAD`), so a hosting site stays low in any
table of every meter sorted by score. A data-centre-like load on a meter *not* registered as a data
centre is none of this module's business: it stays in the main list, a
suspect like any other (:data:`detectors.flagging.OWN_LIST_CLASSES`).

References
----------
.. [1] National Development and Reform Commission et al. (2021). 关于整治虚拟
   货币"挖矿"活动的通知 (Notice on rectifying virtual-currency "mining"),
   发改运行〔2021〕1283号 (data centres named among the places to clear).
.. [2] Fan, X., Weber, W.-D. and Barroso, L. A. (2007). Power provisioning
   for a warehouse-sized computer. ISCA '07, 13-23 (clusters of thousands
   of servers peak at about 72 % of aggregate nameplate power; power follows
   the diurnal load).
.. [3] MIIT (2021). 新型数据中心发展三年行动计划（2021-2023年） (three-year action
   plan for new data centres: rack utilisation >= 60 %, new large data
   centres PUE <= 1.3).
.. [4] Barroso, L. A., Clidaras, J. and Hölzle, U. (2013). The Datacenter as
   a Computer, 2nd ed., Morgan & Claypool, ch. 5 (servers idle at roughly
   half their peak power; utilisation mostly 10-50 %).
.. [5] GB 40879-2021, 数据中心能效限定值及能效等级 (data-centre energy-efficiency
   limits: PUE grade 1 <= 1.20, grade 2 <= 1.30, limit 1.50).
.. [6] Iglewicz, B. and Hoaglin, D. C. (1993). How to Detect and Handle
   Outliers (1.4826 MAD estimates a normal standard deviation).
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers

import numpy as np
import pandas as pd

__all__ = [
    "COMPONENTS",
    "FLAG_SCORE",
    "MIN_DAYS",
    "PUE_FLOOR",
    "SCORE_SPREAD",
    "datacentre_evidence",
    "evidence_meters",
    "hosting_rhythm",
    "hourly_kw",
    "known_readings",
    "pue_behaviour",
    "score_data_centres",
    "utilisation_step",
]

MIN_DAYS = 14
"""Days with a daily level (at least 20 hours) a data centre needs to be scored: the
step search keeps 7 on each side, and two weekends are the least a weekly rhythm needs."""

MIN_HOURS_PER_DAY = 20
"""Hours of readings a local day needs to give a daily level and a daily cycle."""

HOSTING_UTILISATION = 0.65
"""Recent base load as a share of the contracted capacity at and below which
utilisation gives no suspicion [-]: hosting peaks at about 0.72 of nameplate [2]_
and the national plan aims at 0.60 rack utilisation [3]_."""

MINING_UTILISATION = 0.90
"""Share of the contracted capacity at and above which utilisation gives full suspicion
[-]: rigs run at nameplate and a farm fills its transformer."""

STEP_FULL_OF_CONTRACT = 0.25
"""A sustained rise of the base load by this share of the contracted capacity [-] gives
full step suspicion (a quarter of the contract filled at once is a new installation)."""

STEP_FULL_OF_LEVEL = 0.5
"""Without a contract, a rise by this share of the level before it [-] gives full step
suspicion."""

STEP_MIN_T = 8.0
"""Change-point statistic (rise over its standard error from the day-to-day noise) a
step needs to count [-]; high because the search tries every day."""

STEP_MIN_ABRUPT = 0.5
"""Share of the rise that must happen within a week of the onset [-]: a seasonal cooling
drift of the facility load is slow, a new installation is not."""

DAILY_REFERENCE = 0.01
"""Daily-cycle amplitude (first 24 h harmonic, share of the daily level) [-] at and
above which the daily rhythm gives no suspicion: hosting shows a few percent [2]_ [4]_."""

WEEKLY_REFERENCE = 0.005
"""Weekend/weekday difference of the daily level (share of it) [-] at and above which
the weekly rhythm gives no suspicion."""

MIN_SNR = 3.0
"""A rhythm counts only when its amplitude is at least this many standard errors [-]."""

IT_SHARE_JUMP_FULL = 0.10
"""A sustained rise of the IT share of the facility energy by this much [-] gives full
suspicion (the overhead does not shrink by itself overnight)."""

PUE_FLOOR = {"air": 1.20, "water": 1.10, "liquid": 1.06, "immersion": 1.02}
"""Lowest annual PUE [-] a data centre of each declared ``cooling`` plausibly reaches
in a climate like Beijing's: air cooling at the GB 40879-2021 grade-1 value [5]_,
water with free cooling, liquid and immersion at the best values reported by their
vendors. A metered PUE below it says the IT meter carries load that is not the
declared IT (or the facility meter misses load)."""

FLAG_SCORE = 0.5
"""Data-centre evidence at and above which a registered data centre is flagged in its own
list [-]: at least half of the weighted evidence available points to mining (its score
is then at least 0.5 too)."""

SCORE_SPREAD = 0.05
"""Spread of the logistic that turns the evidence into the ``score`` column [-]: the
score is 0.5 at :data:`FLAG_SCORE`, below 0.02 at 0.3 (a flat cloud site: no weekly
rhythm, nothing else) and above 0.98 at 0.7. The weighted share of evidence is not a
probability, and a flat 0.29 beside the main list's scores would rank a hosting site
above rigs whose probability is lower when a table of every meter is sorted by score;
the ranking among data centres is the same either way."""

COMPONENTS = {
    "utilisation": (1.0, "base load near the contracted capacity"),
    "step_up": (1.0, "a sustained, abrupt rise of the base load"),
    "no_weekly_rhythm": (1.0, "no weekday/weekend difference"),
    "no_daily_rhythm": (1.0, "no daily cycle (0.5 on a facility meter: cooling)"),
    "it_share_jump": (0.5, "the IT share of the facility energy jumped"),
    "pue_too_low": (0.5, "metered PUE below what the declared cooling reaches"),
}
"""``{component: (weight, what it measures)}``: the suspicion values in [0, 1] that
:func:`score_data_centres` combines; one table drives the score and the docs."""

NOT_AVAILABLE = "not available"


def _check_series(x, name: str) -> pd.Series:
    if not isinstance(x, pd.Series) or not isinstance(x.index, pd.DatetimeIndex):
        raise TypeError(
            f"{name} must be a pandas Series on a DatetimeIndex of local hours, got "
            f"{type(x).__name__}; build one with detectors.datacentre.hourly_kw(ds)."
        )
    return x.astype(float)


class _Days:
    """The valid hours of an hourly series grouped by local day, in NumPy.

    ``days`` (the distinct local days, sorted), and per valid hour (NaN hours
    dropped) its ``values``, ``code`` (index into ``days``) and ``hour`` (local
    clock hour); ``hours`` per day and the day's ``median`` (the mean of the
    two middle values for an even count, as pandas' median).
    """

    def __init__(self, kw: pd.Series):
        v = kw.to_numpy(dtype=np.float64)
        ok = ~np.isnan(v)
        idx = pd.DatetimeIndex(kw.index[ok])
        ns = idx.as_unit("ns").asi8 if len(idx) else np.zeros(0, dtype=np.int64)
        day_ns = ns - ns % (86_400 * 10**9)  # naive local time: whole days from the epoch
        uniq, code = np.unique(day_ns, return_inverse=True)
        unit = kw.index.unit if isinstance(kw.index, pd.DatetimeIndex) else "ns"
        self.days = pd.DatetimeIndex(uniq.astype("datetime64[ns]")).as_unit(unit)
        self.values = v[ok]
        self.code = code.astype(np.intp)
        self.hour = ((ns - day_ns) // (3600 * 10**9)).astype(np.intp)
        self.hours = np.bincount(self.code, minlength=len(uniq))
        order = np.lexsort((self.values, self.code))
        srt = self.values[order]
        start = np.concatenate([[0], np.cumsum(self.hours)[:-1]]).astype(np.intp)
        lo = start + (self.hours - 1) // 2
        hi = start + self.hours // 2
        self.median = (srt[lo] + srt[hi]) / 2.0 if len(srt) else np.zeros(0)


def _daily(kw: pd.Series) -> pd.DataFrame:
    """Daily median [kW] and hour count of an hourly series (local days)."""
    d = _Days(kw)
    return pd.DataFrame({"level": d.median, "hours": d.hours}, index=d.days)


def _levels(kw: pd.Series) -> pd.Series:
    """Daily median [kW] of the days with at least :data:`MIN_HOURS_PER_DAY` hours."""
    d = _Days(kw)
    full = d.hours >= MIN_HOURS_PER_DAY
    return pd.Series(d.median[full], index=d.days[full], name="level")


def _noise(levels: np.ndarray) -> float:
    """Day-to-day noise of daily levels [same unit], robust to one step (MAD of diffs)."""
    dif = np.diff(levels)
    if len(dif) < 2:
        return float("nan")
    mad = 1.4826 * np.median(np.abs(dif - np.median(dif)))
    return float(max(mad / np.sqrt(2.0), 1e-9 * max(1.0, np.median(np.abs(levels)))))


_KNOWN: contextvars.ContextVar = contextvars.ContextVar("datacentre_known_rows", default=None)


@contextlib.contextmanager
def known_readings(rows, ds):
    """Inside the block, :func:`hourly_kw` of ``ds`` takes these meters' rows as they are.

    A caller that already read some meters' readings of ``ds`` (the feature
    pass over a lazy, store-backed dataset reads every bucket once) hands
    them over here, so that the data-centre evidence does not read their
    buckets a second time. Meters not in ``rows`` (or another dataset) are
    read from ``ds`` as usual.

    Parameters
    ----------
    rows : Mapping[str, numpy.ndarray]
        Meter id -> its ``kwh`` row of ``ds`` [kWh per step], one value per
        ``ds.time`` (read when :func:`hourly_kw` runs, so it may fill up
        inside the block).
    ds : xarray.Dataset
        The dataset those rows belong to (matched by identity).
    """
    token = _KNOWN.set((rows, ds))
    try:
        yield rows
    finally:
        _KNOWN.reset(token)


def _rows(ds, ids: pd.Index, take: pd.Index) -> np.ndarray:
    """``kwh`` of ``take`` [kWh per step]: rows handed over by :func:`known_readings`,
    the others read from ``ds`` at once (one read of their buckets)."""
    known = _KNOWN.get()
    rows = known[0] if known is not None and known[1] is ds else {}
    n_t = int(ds.sizes["time"])
    got = [rows.get(m) for m in take]
    got = [r if r is not None and np.shape(r) == (n_t,) else None for r in got]
    missing = [i for i, r in enumerate(got) if r is None]
    out = np.empty((len(take), n_t), dtype=float)
    if missing:
        pos = ids.get_indexer(take[missing])
        out[missing] = np.asarray(ds["kwh"].isel(meter=pos).values, dtype=float)
    for i, r in enumerate(got):
        if r is not None:
            out[i] = r
    return out


def hourly_kw(ds, meters=None) -> pd.DataFrame:
    """Mean power per local hour of some meters of a readings dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        ``kwh`` [kWh per step] on dims ``("meter", "time")``, ``time`` naive UTC
        with a ``local_time`` coordinate (naive local time), or ``time`` taken as
        local time without it (as :func:`detectors.features.extract_features`);
        ``attrs["step_s"]`` [s], default 3600.
    meters : sequence of str, optional
        Meter ids to take (default all).

    Returns
    -------
    DataFrame
        Local hour starts (naive local time) x meter id: mean power [kW];
        NaN where an hour has no reading.
    """
    if "kwh" not in getattr(ds, "data_vars", {}):
        raise ValueError("ds must carry a 'kwh' variable [kWh per step] on (meter, time).")
    ids = pd.Index(np.asarray(ds["meter"].values).astype(str))
    take = ids if meters is None else pd.Index([str(m) for m in meters])
    missing = take.difference(ids)
    if len(missing):
        raise ValueError(f"meters {list(missing[:5])} are not in ds; pass meters present in it.")
    kwh = _rows(ds, ids, take)
    if "local_time" in ds.coords and ds["local_time"].dims == ("time",):
        t = pd.DatetimeIndex(np.asarray(ds["local_time"].values))
    else:
        t = pd.DatetimeIndex(np.asarray(ds["time"].values))
    if t.tz is not None:
        t = t.tz_localize(None)
    step_h = float(ds.attrs.get("step_s", 3600)) / 3600.0
    frame = pd.DataFrame(kwh.T / step_h, index=t, columns=take)
    if step_h < 1.0:
        frame = frame.groupby(frame.index.floor("h")).mean()
    return frame


def utilisation_step(kw: pd.Series, contracted_kw: float | None = None) -> dict:
    """Recent utilisation of the contracted capacity and the largest sustained step-up.

    Parameters
    ----------
    kw : Series
        Mean power per local hour [kW] on a DatetimeIndex (naive local time).
    contracted_kw : float, optional
        Contracted capacity [kW]; None or NaN when unknown.

    Returns
    -------
    dict
        ``days`` (days with a level), ``level_kw`` (median of the last 14 daily
        median loads [kW]), ``utilisation`` (``level_kw / contracted_kw`` [-],
        NaN without a contract), ``step_kw`` (rise of the daily median load at
        the change point [kW], 0 when there is no significant, abrupt rise),
        ``step_share`` (that rise over the contract, or over the level before it
        without one [-]), ``step_t`` (rise over its standard error [-]),
        ``before_kw``, ``after_kw`` (median daily load either side [kW]) and
        ``onset_date`` (first local day of the higher level, NaT if none).
    """
    kw = _check_series(kw, "kw")
    lv = _levels(kw)
    out = {
        "days": len(lv),
        "level_kw": float("nan"),
        "utilisation": float("nan"),
        "step_kw": 0.0,
        "step_share": 0.0,
        "step_t": 0.0,
        "before_kw": float("nan"),
        "after_kw": float("nan"),
        "onset_date": pd.NaT,
    }
    if len(lv) < MIN_DAYS:
        return out
    x = lv.to_numpy()
    out["level_kw"] = float(np.median(x[-14:]))
    contract = _contract(contracted_kw)
    if contract is not None:
        out["utilisation"] = out["level_kw"] / contract
    sigma = _noise(x)
    n = len(x)
    best = (0.0, None)
    # The change point of the means (a median's rise barely moves with the split, so
    # its statistic would peak mid-window, not at the step); levels are medians.
    csum = np.cumsum(x)
    for k in range(7, n - 6):
        rise = (csum[-1] - csum[k - 1]) / (n - k) - csum[k - 1] / k
        t = rise / (sigma * np.sqrt(1.0 / k + 1.0 / (n - k)))
        if t > best[0]:
            best = (t, k)
    t, k = best
    if k is None:
        return out
    before, after = float(np.median(x[:k])), float(np.median(x[k:]))
    rise = after - before
    week = float(np.median(x[k : k + 7]) - np.median(x[max(0, k - 7) : k]))
    held = float(np.mean(x[k:] > before + rise / 2))
    out.update(step_t=float(t), before_kw=before, after_kw=after)
    if t >= STEP_MIN_T and week >= STEP_MIN_ABRUPT * rise and held >= 0.8:
        out["step_kw"] = rise
        out["step_share"] = rise / contract if contract else rise / max(before, 1e-9)
        out["onset_date"] = lv.index[k]
    return out


def _contract(v) -> float | None:
    if v is None or not isinstance(v, numbers.Real) or not np.isfinite(v):
        return None
    if v <= 0:
        raise ValueError(
            f"contracted_kw must be a positive capacity [kW], got {v!r}; "
            "leave it empty in the registry when unknown."
        )
    return float(v)


def hosting_rhythm(kw: pd.Series) -> dict:
    """Daily and weekly rhythm of a load, each with its robust signal-to-noise ratio.

    Parameters
    ----------
    kw : Series
        Mean power per local hour [kW] on a DatetimeIndex (naive local time).

    Returns
    -------
    dict
        ``daily_amplitude`` (amplitude of the mean first 24 h harmonic of the
        load relative to its daily median [-]), ``daily_snr`` (that amplitude
        over its standard error from the day-to-day scatter of the daily
        harmonics [-]), ``daily_peak_hour`` (local hour of the harmonic's peak
        [h]), ``weekly_difference`` (weekend minus weekday daily level relative
        to the 7-day rolling median [-], negative when weekends are lower),
        ``weekly_snr`` [-]. NaN when there are too few days (:data:`MIN_DAYS`,
        or two weekends).
    """
    kw = _check_series(kw, "kw")
    out = dict.fromkeys(
        ("daily_amplitude", "daily_snr", "daily_peak_hour", "weekly_difference", "weekly_snr"),
        float("nan"),
    )
    d = _Days(kw)
    if not len(d.values):
        return out
    full = d.hours >= MIN_HOURS_PER_DAY
    if full.sum() < MIN_DAYS:
        return out
    keep = full[d.code]
    code = np.cumsum(full)[d.code[keep]] - 1  # renumbered over the full days
    n_days = int(full.sum())
    level = d.median[full][code]
    rel = d.values[keep] / np.maximum(level, 1e-9) - 1.0
    ang = 2 * np.pi * d.hour[keep] / 24.0
    n = np.bincount(code, minlength=n_days).astype(np.float64)
    c = 2 * np.bincount(code, weights=rel * np.cos(ang), minlength=n_days) / n
    sn = 2 * np.bincount(code, weights=rel * np.sin(ang), minlength=n_days) / n
    mc, ms = float(np.median(c)), float(np.median(sn))
    amp = float(np.hypot(mc, ms))
    spread = np.sqrt(0.5 * (_mad_sd(c) ** 2 + _mad_sd(sn) ** 2))
    # The median of n values has standard error ~1.2533 sd / sqrt(n).
    se = 1.2533 * spread / np.sqrt(n_days)
    out["daily_amplitude"] = amp
    out["daily_snr"] = amp / se if se > 0 else float("inf") if amp > 0 else 0.0
    out["daily_peak_hour"] = float((np.degrees(np.arctan2(ms, mc)) / 15.0) % 24.0)
    lv = pd.Series(d.median[full], index=d.days[full])
    lv = lv.reindex(pd.date_range(lv.index.min(), lv.index.max(), freq="D"))
    base = lv.rolling(7, center=True, min_periods=5).median()
    ratio = (lv / base - 1.0).dropna()
    weekend = ratio.index.day_of_week >= 5
    if weekend.sum() >= 4 and (~weekend).sum() >= 10:
        we, wd = ratio[weekend].to_numpy(), ratio[~weekend].to_numpy()
        diff = float(np.median(we) - np.median(wd))
        se_w = 1.2533 * np.hypot(_mad_sd(we) / np.sqrt(len(we)), _mad_sd(wd) / np.sqrt(len(wd)))
        out["weekly_difference"] = diff
        out["weekly_snr"] = abs(diff) / se_w if se_w > 0 else float("inf") if diff else 0.0
    return out


def _mad_sd(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if len(x) else float("nan")


def pue_behaviour(
    facility_kw: pd.Series,
    it_kw: pd.Series | None = None,
    *,
    temp_c: pd.Series | None = None,
    cooling: str | None = None,
) -> dict:
    """Metered PUE, its temperature response and the IT share of a data centre.

    Parameters
    ----------
    facility_kw : Series
        Facility (whole-site) mean power per local hour [kW].
    it_kw : Series, optional
        IT mean power per local hour [kW]; None when there is no IT meter.
    temp_c : Series, optional
        Daily mean outdoor temperature [degC] indexed by local date.
    cooling : {"air", "water", "liquid", "immersion"}, optional
        Declared cooling (:data:`PUE_FLOOR`).

    Returns
    -------
    dict
        ``available`` (bool; False without IT readings: every other value NaN
        and ``why`` says so), ``pue`` (facility over IT energy over the hours
        both meters have [-]), ``pue_floor`` (of the declared cooling [-], NaN
        if none is declared), ``pue_per_k`` (slope of the daily PUE on the
        outdoor temperature [1/K], NaN without weather), ``it_share_jump``
        (sustained rise of the daily IT share of the facility energy [-], 0 when
        none) and ``it_share_onset`` (local date, NaT if none).
    """
    facility_kw = _check_series(facility_kw, "facility_kw")
    out = {
        "available": False,
        "why": "",
        "pue": float("nan"),
        "pue_floor": float("nan"),
        "pue_per_k": float("nan"),
        "it_share_jump": float("nan"),
        "it_share_onset": pd.NaT,
    }
    if cooling is not None and not (isinstance(cooling, float) and np.isnan(cooling)):
        key = str(cooling).strip().lower()
        if key and key not in PUE_FLOOR:
            raise ValueError(
                f"cooling must be one of {sorted(PUE_FLOOR)}, got {cooling!r}; "
                "fix the data_centres layer or the registry's cooling column."
            )
        if key:
            out["pue_floor"] = PUE_FLOOR[key]
    if it_kw is None:
        out["why"] = "no IT meter"
        return out
    it_kw = _check_series(it_kw, "it_kw")
    both = pd.concat({"f": facility_kw, "it": it_kw}, axis=1).dropna()
    both = both[both["it"] > 0]
    if both.empty:
        out["why"] = "no hour with both facility and IT readings"
        return out
    daily = both.groupby(both.index.normalize()).agg(["sum", "size"])
    daily = daily[daily[("f", "size")] >= MIN_HOURS_PER_DAY]
    if len(daily) < MIN_DAYS:
        out["why"] = f"{len(daily)} complete days with both meters, need {MIN_DAYS}"
        return out
    out["available"] = True
    f_d, it_d = daily[("f", "sum")], daily[("it", "sum")]
    out["pue"] = float(f_d.sum() / it_d.sum())
    pue_d = f_d / it_d
    if temp_c is not None:
        t = pd.Series(temp_c).reindex(pue_d.index)
        ok = t.notna().to_numpy()
        if ok.sum() >= MIN_DAYS and np.ptp(t[ok]) > 0:
            out["pue_per_k"] = float(np.polyfit(t[ok].to_numpy(), pue_d[ok].to_numpy(), 1)[0])
    share = (it_d / f_d).rename("share")
    # The IT share's change point, as the base load's (dimensionless: a share).
    st = utilisation_step(
        pd.Series(np.repeat(share.to_numpy(), 24), index=_hours(share.index)), None
    )
    jump = st["after_kw"] - st["before_kw"] if pd.notna(st["onset_date"]) else 0.0
    out["it_share_jump"] = float(max(jump, 0.0))
    out["it_share_onset"] = st["onset_date"] if jump > 0 else pd.NaT
    return out


def _hours(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(
        (days.to_numpy()[:, None] + np.arange(24) * np.timedelta64(1, "h")).ravel()
    )


def _temperature(weather) -> pd.Series | None:
    if weather is None:
        return None
    if not {"date", "temp_c"} <= set(weather.columns):
        raise ValueError("weather must have columns date (local date) and temp_c [degC].")
    w = weather.assign(date=pd.to_datetime(weather["date"]).dt.normalize())
    return w.drop_duplicates("date", keep="last").set_index("date")["temp_c"].astype(float)


def datacentre_evidence(ds, registry: pd.DataFrame, weather=None, *, meters=None) -> pd.DataFrame:
    """Every data-centre evidence of some meters, one row per meter.

    Parameters
    ----------
    ds : xarray.Dataset
        Readings as :func:`hourly_kw` takes them (the data centres' meters and
        any IT meters the registry names).
    registry : DataFrame
        ``meter_id``; optional ``contracted_kw`` [kW], ``it_meter_id`` (the
        site's IT meter, a meter of ``ds``), ``cooling`` (see
        :data:`PUE_FLOOR`).
    weather : DataFrame, optional
        ``date``, ``temp_c`` [degC].
    meters : sequence of str, optional
        The data centres to assess (default: the registry's
        ``customer_class == "data_centre"`` meters present in ``ds``).

    Returns
    -------
    DataFrame
        Indexed by meter id: the outputs of :func:`utilisation_step`,
        :func:`hosting_rhythm` (measured on the IT meter when there is one,
        column ``rhythm_on`` says which) and :func:`pue_behaviour` (prefixed
        ``pue_`` where needed), plus ``contracted_kw`` [kW].
    """
    if not isinstance(registry, pd.DataFrame) or "meter_id" not in registry.columns:
        raise ValueError("registry must be a DataFrame with a meter_id column.")
    reg = registry.assign(meter_id=registry["meter_id"].astype(str)).drop_duplicates(
        "meter_id", keep="last"
    )
    reg = reg.set_index("meter_id")
    have = set(np.asarray(ds["meter"].values).astype(str))
    if meters is None:
        cls = reg.get("customer_class", pd.Series(index=reg.index, dtype=object))
        meters = [m for m in reg.index[cls == "data_centre"] if m in have]
    meters = [str(m) for m in meters]
    it_of = {}
    if "it_meter_id" in reg.columns:
        for m in meters:
            v = reg.at[m, "it_meter_id"] if m in reg.index else None
            if isinstance(v, str) and v.strip() and v.strip() in have:
                it_of[m] = v.strip()
    kw = hourly_kw(ds, sorted(set(meters) | set(it_of.values())))
    temp = _temperature(weather)
    rows = []
    for m in meters:
        contract = reg.at[m, "contracted_kw"] if "contracted_kw" in reg.columns else None
        contract = float(contract) if contract is not None and pd.notna(contract) else None
        cooling = reg.at[m, "cooling"] if "cooling" in reg.columns else None
        row = {"meter_id": m, "contracted_kw": np.nan if contract is None else contract}
        row.update(utilisation_step(kw[m], contract))
        it = kw[it_of[m]] if m in it_of else None
        # The rhythm of the load as it is now: since the step-up when there is one
        # (a site converted mid-window kept its users' rhythm before).
        load = it if it is not None else kw[m]
        since = row["onset_date"]
        recent = load[load.index >= since] if pd.notna(since) else load
        row["rhythm_since"] = since if _n_days(recent) >= MIN_DAYS else pd.NaT
        row.update(hosting_rhythm(recent if pd.notna(row["rhythm_since"]) else load))
        row["rhythm_on"] = "IT meter" if it is not None else "facility meter"
        pue = pue_behaviour(kw[m], it, temp_c=temp, cooling=cooling)
        row.update(
            pue_available=pue["available"],
            pue_why=pue["why"],
            pue=pue["pue"],
            pue_floor=pue["pue_floor"],
            pue_per_k=pue["pue_per_k"],
            it_share_jump=pue["it_share_jump"],
            it_share_onset=pue["it_share_onset"],
        )
        rows.append(row)
    cols = ["meter_id", "contracted_kw", "days"]
    if not rows:
        return pd.DataFrame(columns=cols).set_index("meter_id")
    return pd.DataFrame(rows).set_index("meter_id")


def _n_days(kw: pd.Series) -> int:
    return len(_levels(kw))


def _components(ev: pd.Series) -> dict:
    """Suspicion in [0, 1] of each :data:`COMPONENTS` entry; NaN when not available."""
    c = dict.fromkeys(COMPONENTS, float("nan"))
    u = ev.get("utilisation", np.nan)
    if pd.notna(u):
        c["utilisation"] = _ramp(u, HOSTING_UTILISATION, MINING_UTILISATION)
    if ev.get("days", 0) >= MIN_DAYS:
        full = STEP_FULL_OF_CONTRACT if pd.notna(ev.get("contracted_kw")) else STEP_FULL_OF_LEVEL
        c["step_up"] = float(np.clip(ev.get("step_share", 0.0) / full, 0.0, 1.0))
    for key, ref in (("daily", DAILY_REFERENCE), ("weekly", WEEKLY_REFERENCE)):
        a, snr = (
            ev.get(f"{key}_amplitude" if key == "daily" else "weekly_difference"),
            ev.get(f"{key}_snr"),
        )
        if pd.notna(a) and pd.notna(snr):
            seen = abs(a) if snr >= MIN_SNR else 0.0
            c[f"no_{key}_rhythm"] = float(np.clip(1.0 - seen / ref, 0.0, 1.0))
    if bool(ev.get("pue_available", False)):
        c["it_share_jump"] = float(np.clip(ev["it_share_jump"] / IT_SHARE_JUMP_FULL, 0, 1))
        if pd.notna(ev.get("pue_floor")):
            c["pue_too_low"] = 1.0 if ev["pue"] < ev["pue_floor"] else 0.0
    return c


def _ramp(x, lo, hi) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _weights(ev: pd.Series) -> dict:
    w = {k: v[0] for k, v in COMPONENTS.items()}
    if ev.get("rhythm_on") != "IT meter":
        w["no_daily_rhythm"] = 0.5  # on a facility meter a daily cycle may be cooling
    return w


def score_data_centres(ds, registry: pd.DataFrame, weather=None, *, meters=None) -> pd.DataFrame:
    """Score, rank among data centres, flag and explain registered data centres.

    Parameters
    ----------
    ds, registry, weather, meters
        As :func:`datacentre_evidence`. A meter the registry names as the
        ``it_meter_id`` of another data centre is a part of that site, not a
        site: it is listed once, under its site (its row has no score, and
        reasons saying whose IT meter it is).

    Returns
    -------
    DataFrame
        One row per data centre, most suspicious first: ``meter_id``, ``score``
        (in [0, 1], the evidence through a logistic centred on
        :data:`FLAG_SCORE`, :data:`SCORE_SPREAD`), ``evidence`` (weighted mean of
        the available :data:`COMPONENTS` suspicions, in [0, 1]; both NaN with
        fewer than :data:`MIN_DAYS` days), ``rank`` (among the data centres
        scored, 1 = most suspicious), ``flagged`` (evidence >=
        :data:`FLAG_SCORE`), ``reasons`` (str, "; "-separated, the evidence in
        words including what is not available), ``onset_date`` (local date of
        the step-up, NaT if none), one ``s_<component>`` column per component
        and the evidence of :func:`datacentre_evidence`.
    """
    it_of_site = _it_meters(registry)
    if meters is None:
        cls = registry.get("customer_class", pd.Series(index=registry.index, dtype=object))
        have = set(np.asarray(ds["meter"].values).astype(str))
        meters = [m for m in registry["meter_id"].astype(str)[cls == "data_centre"] if m in have]
    meters = [str(m) for m in meters]
    parts = [m for m in meters if m in it_of_site]
    ev = datacentre_evidence(
        ds, registry, weather, meters=[m for m in meters if m not in it_of_site]
    )
    rows = []
    for m, e in ev.iterrows():
        comp = _components(e)
        w = _weights(e)
        have = [k for k, v in comp.items() if pd.notna(v)]
        ok = e.get("days", 0) >= MIN_DAYS and have
        score = sum(w[k] * comp[k] for k in have) / sum(w[k] for k in have) if ok else np.nan
        rows.append({"meter_id": m, "evidence": score, **{f"s_{k}": v for k, v in comp.items()}})
    sc = pd.DataFrame(rows, columns=["meter_id", "evidence", *[f"s_{k}" for k in COMPONENTS]])
    sc.insert(1, "score", 1.0 / (1.0 + np.exp(-(sc["evidence"] - FLAG_SCORE) / SCORE_SPREAD)))
    out = sc.merge(ev.reset_index(), on="meter_id", how="left")
    out = out.sort_values(["evidence", "meter_id"], ascending=[False, True], na_position="last")
    out = out.reset_index(drop=True)
    rank = pd.array(np.arange(1, len(out) + 1), dtype="Int64")
    rank[out["score"].isna().to_numpy()] = pd.NA
    out.insert(2, "rank", rank)
    out.insert(3, "flagged", (out["evidence"] >= FLAG_SCORE).to_numpy())
    n = int(out["score"].notna().sum())
    out.insert(4, "reasons", [_reasons(r, n) for r in out.itertuples(index=False)])
    out.insert(5, "onset_date", out.pop("onset_date"))
    if parts:
        part = pd.DataFrame(
            {
                "meter_id": parts,
                "score": np.nan,
                "rank": pd.array([pd.NA] * len(parts), dtype="Int64"),
                "flagged": False,
                "reasons": [
                    f"IT meter of data centre {it_of_site[m]}: its load is assessed in that "
                    "site's evidence (listed once, under the site)"
                    for m in parts
                ],
                "onset_date": pd.NaT,
            }
        )
        out = pd.concat([out, part], ignore_index=True) if len(out) else part
    return out


def evidence_meters(registry: pd.DataFrame) -> list[str]:
    """The meters the data-centre evidence reads: every registered data centre
    (``customer_class == "data_centre"``) and the IT meters named for them, sorted."""
    dc = registry[registry["customer_class"].astype(str) == "data_centre"]
    return sorted(set(dc["meter_id"].astype(str)) | set(_it_meters(dc)))


def _it_meters(registry: pd.DataFrame) -> dict:
    """``{IT meter id: its site's meter id}`` of the registry's ``it_meter_id`` column."""
    if "it_meter_id" not in registry.columns:
        return {}
    out = {}
    for site, it in zip(registry["meter_id"].astype(str), registry["it_meter_id"], strict=True):
        if isinstance(it, str) and it.strip() and it.strip() != site:
            out[it.strip()] = site
    return out


def _pct(x) -> str:
    return f"{100 * x:.0f} %"


def _reasons(r, n_scored: int) -> str:
    """The evidence of one data centre in words, strongest first."""
    if pd.isna(r.score):
        return (
            f"not scored: {int(r.days)} days with {MIN_HOURS_PER_DAY} or more hourly readings, "
            f"the data-centre evidence needs {MIN_DAYS}"
        )
    parts = [
        f"data-centre score {r.score:.2f} (evidence {r.evidence:.2f} of 1, flagged from "
        f"{FLAG_SCORE:g}), rank {r.rank} of {n_scored} data centres"
    ]
    if pd.notna(r.utilisation):
        parts.append(
            f"base load {r.level_kw:,.0f} kW = {_pct(r.utilisation)} of the contracted "
            f"{r.contracted_kw:,.0f} kW (hosting typically stays below {_pct(HOSTING_UTILISATION)})"
        )
    else:
        parts.append(f"utilisation of contract: {NOT_AVAILABLE} (no contracted_kw)")
    if pd.notna(r.onset_date):
        of = "of the contract" if pd.notna(r.contracted_kw) else "of the level before"
        parts.append(
            f"base load stepped up by {r.step_kw:,.0f} kW ({_pct(r.step_share)} {of}) "
            f"from {pd.Timestamp(r.onset_date):%Y-%m-%d} and stayed there"
        )
    else:
        parts.append("no sustained step-up of the base load")
    on = "IT" if r.rhythm_on == "IT meter" else "facility"
    if pd.notna(r.rhythm_since):
        on += f" meter since {pd.Timestamp(r.rhythm_since):%Y-%m-%d}"
    else:
        on += " meter"
    if pd.notna(r.weekly_snr):
        if r.weekly_snr >= MIN_SNR:
            parts.append(
                f"weekend/weekday difference {100 * r.weekly_difference:+.1f} % ({on}): "
                "a hosting rhythm"
            )
        else:
            parts.append(f"no weekday/weekend rhythm ({on})")
    if pd.notna(r.daily_snr):
        if r.daily_snr >= MIN_SNR:
            cool = "" if r.rhythm_on == "IT meter" else ", may be cooling"
            parts.append(
                f"daily cycle {100 * r.daily_amplitude:.1f} % peaking near "
                f"{r.daily_peak_hour:.0f}:00 ({on}{cool})"
            )
        else:
            parts.append(f"no daily cycle ({on}): flat like rigs at their limit")
    if r.pue_available:
        pue = f"metered PUE {r.pue:.2f}"
        if pd.notna(r.pue_floor) and r.pue < r.pue_floor:
            pue += f", below the {r.pue_floor:.2f} the declared cooling reaches"
        if pd.notna(r.pue_per_k):
            pue += f", {r.pue_per_k * 10:+.2f} per 10 K outdoors"
        parts.append(pue)
        if r.it_share_jump > 0:
            parts.append(
                f"IT share of the facility energy jumped by {_pct(r.it_share_jump)} from "
                f"{pd.Timestamp(r.it_share_onset):%Y-%m-%d}"
            )
    else:
        parts.append(f"PUE behaviour: {NOT_AVAILABLE} ({r.pue_why})")
    return "; ".join(parts)
