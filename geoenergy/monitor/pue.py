"""Live PUE of the data centres with a facility meter and an IT meter.

A data centre is monitored when its row of the ``data_centres`` layer names
both a facility meter (``meter_id``) and an IT meter (``it_meter_id``), as
:mod:`geoenergy.heat.pue` reads them for the annual analysis. PUE is
facility energy over IT energy over the steps where *both* meters have a
reading, so a gap in one meter never biases the ratio; each period says how
much of it was covered (``coverage``, 0-1).

Periods are local (workspace time zone): hours, days, months; plus a rolling
30-day PUE and the calendar-year assessment with the differential price
(:mod:`geoenergy.monitor.limits`). A year not yet over, or not fully
metered, is labelled ``partial`` and its annual electricity projected from
the covered hours for the scope test and the live surcharge estimate.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoenergy.errors import ConfigError
from geoenergy.monitor.limits import LimitConfig, limit_for, surcharge

__all__ = [
    "RESOLUTIONS",
    "DataCentre",
    "annual_assessment",
    "data_centres",
    "find_data_centre",
    "fleet_status",
    "hourly_frames",
    "limit_config",
    "meter_frame",
    "periods",
    "pue_report",
    "rolling",
]

RESOLUTIONS = {"hour": "h", "day": "D", "month": "M"}
"""Period names of :func:`periods` -> pandas period frequency."""

DEFAULT_WINDOW = {"hour": pd.Timedelta(hours=48), "day": pd.Timedelta(days=30)}
"""Default look-back of :func:`pue_report` per resolution; months: this year and last."""


@dataclass(frozen=True)
class DataCentre:
    """A monitored data centre: its two meters, status and location (WGS84)."""

    name: str
    facility_meter: str
    it_meter: str
    status: str
    lon: float
    lat: float
    operator: str | None = None


def _clean(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def limit_config(ws) -> LimitConfig:
    """The workspace's ``[monitor.limits]`` table of ``geoenergy.toml``, else the defaults."""
    extra = (getattr(getattr(ws, "settings", None), "extra", None) or {}).get("monitor") or {}
    return LimitConfig.from_dict(extra.get("limits"), source="geoenergy.toml [monitor.limits]")


def data_centres(ws, *, store=None, cfg: LimitConfig | None = None) -> list[DataCentre]:
    """Data centres of the ``data_centres`` layer that have a facility and an IT meter.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    store : geoenergy.store.Store, optional
        The store the caller holds (default ``ws.store``).
    cfg : LimitConfig, optional
        For the default status (default :func:`limit_config`).

    Returns
    -------
    list of DataCentre
        Empty when the workspace has no such layer.
    """
    from geoenergy.layerstore import load_layer

    cfg = cfg or limit_config(ws)
    dc = load_layer(ws, "data_centres", store=store or ws.store, required=False)
    if dc is None or dc.empty:
        return []
    out = []
    pts = dc.geometry.representative_point()
    for i, row in enumerate(dc.itertuples(index=False)):
        f = _clean(getattr(row, "meter_id", None))
        it = _clean(getattr(row, "it_meter_id", None))
        if not f or not it:
            continue
        status = (_clean(getattr(row, "status", None)) or cfg.default_status).lower()
        out.append(
            DataCentre(
                name=str(row.name),
                facility_meter=f,
                it_meter=it,
                status=status if status in ("existing", "new") else cfg.default_status,
                lon=float(pts.iloc[i].x),
                lat=float(pts.iloc[i].y),
                operator=_clean(getattr(row, "operator", None)),
            )
        )
    return out


def find_data_centre(ws, name: str, *, store=None) -> DataCentre | None:
    """The monitored data centre called ``name``, or None."""
    for dc in data_centres(ws, store=store):
        if dc.name == name:
            return dc
    return None


def _open_readings(ws, **kwargs):
    """:func:`geoenergy.readings.open_readings`, waiting out an ingestion's commit.

    Between an ingestion's commit and the publication of its files the
    readings store is locked, and a reader that finds it so gets a
    ``ConfigError``; a live page must wait (up to 5 s), not show no data.
    """
    from geoenergy.readings import open_readings

    for attempt in range(100):
        try:
            return open_readings(ws, **kwargs)
        except ConfigError:
            if attempt == 99:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _series(ws, meter: str, start, end, store) -> pd.Series:
    try:
        ds = _open_readings(
            ws, resolution="native", meters=[meter], start=start, end=end, store=store
        )
        s = ds.kwh.sel(meter=meter).to_series()
    except ConfigError:  # the store stayed locked: say so, do not show "no data"
        raise
    except (ValueError, IndexError, KeyError):  # no readings (in the window)
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    s.index = pd.DatetimeIndex(s.index).tz_localize("UTC")
    return s.dropna()


def meter_frame(ws, dc: DataCentre, start, end, *, store=None) -> tuple[pd.DataFrame, int]:
    """Facility and IT energy per step where both meters have a reading.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    dc : DataCentre
    start, end : pandas.Timestamp
        Window ``[start, end)``, timezone-aware.
    store : geoenergy.store.Store, optional

    Returns
    -------
    frame : pandas.DataFrame
        ``facility_kwh``, ``it_kwh`` [kWh] on a UTC DatetimeIndex of step starts.
        When the meters' intervals differ, the finer one is summed into the
        coarser one's steps (a step counts only when complete).
    step_s : int
        Step of the frame [s] (3600 when there is no reading).
    """
    store = store or ws.store
    f = _series(ws, dc.facility_meter, start, end, store)
    i = _series(ws, dc.it_meter, start, end, store)
    steps = [int(np.median(np.diff(s.index.asi8)) // 10**9) for s in (f, i) if len(s) > 1]
    step = max(steps) if steps else 3600
    out = []
    for s in (f, i):
        own = int(np.median(np.diff(s.index.asi8)) // 10**9) if len(s) > 1 else step
        if own < step and len(s):
            g = s.groupby(s.index.floor(f"{step}s"))
            s = g.sum()[g.count() == step // max(own, 1)]
        out.append(s)
    frame = pd.concat({"facility_kwh": out[0], "it_kwh": out[1]}, axis=1, join="inner").dropna()
    return frame.sort_index(), step


def periods(
    frame: pd.DataFrame, step_s: int, resolution: str, tz, dc: DataCentre, cfg: LimitConfig
) -> pd.DataFrame:
    """PUE per local hour, day or month against the limit of the period's year.

    Returns
    -------
    pandas.DataFrame
        ``start`` (local, aware), ``facility_kwh``, ``it_kwh`` [kWh], ``pue``
        [-], ``limit`` [-], ``limit_source``, ``compliant``,
        ``energy_above_limit_mwh`` [MWh] (facility - limit x IT, >= 0) and
        ``coverage`` (share of the period's steps with both readings, 0-1).
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {sorted(RESOLUTIONS)}, got {resolution!r}.")
    cols = [
        "start",
        "facility_kwh",
        "it_kwh",
        "pue",
        "limit",
        "limit_source",
        "compliant",
        "energy_above_limit_mwh",
        "coverage",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    local = frame.index.tz_convert(tz)
    key = local.tz_localize(None).to_period(RESOLUTIONS[resolution])
    g = frame.groupby(np.asarray(key))
    agg = g.sum()
    n = g.size()
    starts = pd.PeriodIndex(agg.index)
    start_local = starts.to_timestamp().tz_localize(
        tz, ambiguous="NaT", nonexistent="shift_forward"
    )
    end_local = (
        (starts + 1).to_timestamp().tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    )
    expected = ((end_local - start_local).total_seconds() / step_s).to_numpy()
    annual_kwh = _annual_rate(frame, step_s)
    limits = {y: limit_for(dc.status, int(y), annual_kwh, cfg) for y in sorted(set(starts.year))}
    fac = agg["facility_kwh"].to_numpy()
    it = agg["it_kwh"].to_numpy()
    lim = np.array([limits[y]["value"] for y in starts.year])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(it > 0, fac / np.where(it > 0, it, 1.0), np.nan)
    above = np.where(it > 0, np.maximum(fac - lim * it, 0.0), 0.0) / 1000.0
    return pd.DataFrame(
        {
            "start": start_local,
            "facility_kwh": fac,
            "it_kwh": it,
            "pue": p,
            "limit": lim,
            "limit_source": [limits[y]["source"] for y in starts.year],
            "compliant": np.where(np.isfinite(p), p <= lim + 1e-12, None),
            "energy_above_limit_mwh": above,
            "coverage": np.minimum(n.to_numpy() / expected, 1.0),
        }
    )[cols]


def _annual_rate(frame: pd.DataFrame, step_s: int) -> float:
    """Facility electricity projected to a year from the covered steps [kWh/yr]."""
    if frame.empty:
        return 0.0
    return float(frame["facility_kwh"].sum()) / (len(frame) * step_s) * 365.0 * 86400.0


def rolling(frame: pd.DataFrame, step_s: int, now, dc: DataCentre, cfg, days: int = 30) -> dict:
    """PUE over the ``days`` days before ``now`` (rolling window), against this year's limit."""
    now = pd.Timestamp(now)
    w = frame[frame.index >= now - pd.Timedelta(days=days)]
    fac, it = float(w["facility_kwh"].sum()), float(w["it_kwh"].sum())
    lim = limit_for(dc.status, now.year, _annual_rate(frame, step_s), cfg)
    p = fac / it if it > 0 else None
    return {
        "days": days,
        "pue": p,
        "facility_mwh": fac / 1000.0,
        "it_mwh": it / 1000.0,
        "limit": lim["value"],
        "limit_source": lim["source"],
        "compliant": None if p is None else bool(p <= lim["value"] + 1e-12),
        "energy_above_limit_mwh": max(fac - lim["value"] * it, 0.0) / 1000.0 if it > 0 else 0.0,
        "coverage": min(len(w) * step_s / (days * 86400.0), 1.0),
    }


def annual_assessment(ws, dc: DataCentre, year: int, *, now=None, store=None, cfg=None) -> dict:
    """The calendar-year assessment of one data centre and its differential price.

    The annual PUE is facility over IT electricity over the calendar year
    (local), not an average of whatever periods exist. A year that is not
    over, or not fully metered, is ``partial``: its figures are what was
    metered, and ``projected_*`` scale them to the whole year (the live
    estimate of the current year).

    Returns
    -------
    dict
        ``year``, ``partial``, ``coverage`` (0-1), ``facility_mwh``, ``it_mwh``,
        ``pue``, ``limit`` (see :func:`~geoenergy.monitor.limits.limit_for`),
        ``in_scope`` (existing site with >= ``scope_min_kwh_per_yr``, on the
        projected figure), ``energy_above_limit_mwh``, ``rate_cny_per_kwh``,
        ``surcharge_cny`` (on the metered electricity, 0 out of scope),
        ``projected_facility_mwh``, ``projected_surcharge_cny``.
    """
    cfg = cfg or limit_config(ws)
    tz = ws.tz
    now = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    y0 = pd.Timestamp(year=year, month=1, day=1).tz_localize(tz)
    y1 = pd.Timestamp(year=year + 1, month=1, day=1).tz_localize(tz)
    frame, step = meter_frame(ws, dc, y0, y1, store=store)
    year_s = (y1 - y0).total_seconds()
    covered_s = len(frame) * step
    coverage = min(covered_s / year_s, 1.0)
    fac, it = float(frame["facility_kwh"].sum()), float(frame["it_kwh"].sum())
    scale = year_s / covered_s if covered_s else float("nan")
    projected_fac = fac * scale if covered_s else 0.0
    lim = limit_for(dc.status, year, projected_fac, cfg)
    s = surcharge(fac, it, lim["value"], cfg)
    in_scope = dc.status == "existing" and projected_fac >= cfg.scope_min_kwh_per_yr
    partial = bool(coverage < 0.999 or now < y1)
    return {
        "year": int(year),
        "partial": partial,
        "coverage": coverage,
        "facility_mwh": fac / 1000.0,
        "it_mwh": it / 1000.0,
        "pue": None if not math.isfinite(s["pue"]) else s["pue"],
        "limit": lim,
        "in_scope": bool(in_scope),
        "scope_min_kwh_per_yr": cfg.scope_min_kwh_per_yr,
        "energy_above_limit_mwh": s["energy_above_limit_kwh"] / 1000.0,
        "rate_cny_per_kwh": s["rate_cny_per_kwh"],
        "surcharge_cny": s["surcharge_cny"] if in_scope else 0.0,
        "projected_facility_mwh": projected_fac / 1000.0,
        "projected_surcharge_cny": (s["surcharge_cny"] * scale if in_scope and covered_s else 0.0),
    }


def _iso(t) -> str | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).isoformat()


def _num(v, nd: int = 6):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, nd) if math.isfinite(f) else None


def pue_report(
    ws,
    dc: DataCentre,
    resolution: str = "hour",
    *,
    start=None,
    end=None,
    now=None,
    store=None,
    cfg: LimitConfig | None = None,
) -> dict:
    """PUE of one data centre as JSON-ready data (``GET /api/v1/pue``).

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    dc : DataCentre
    resolution : {"hour", "day", "month"}
    start, end : str or Timestamp, optional
        Window ``[start, end)``; naive values are local time. Default: the
        last 48 hours (hour), 30 days (day), or last year and this (month).
    now : Timestamp, optional
        The current time (tests); default the clock.

    Returns
    -------
    dict
        ``data_centre``, meters, ``status``, ``timezone``, ``resolution``,
        ``window``, ``periods`` (see :func:`periods`; energy in MWh),
        ``rolling_30d`` (see :func:`rolling`), ``last_reading`` (UTC, both
        meters), ``limits_note``.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution={resolution!r}; use one of {', '.join(RESOLUTIONS)}.")
    cfg = cfg or limit_config(ws)
    tz = ws.tz
    now = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")

    def _ts(v):
        t = pd.Timestamp(v)
        return t.tz_localize(tz) if t.tz is None else t

    t1 = _ts(end) if end is not None else now + pd.Timedelta(minutes=1)
    if start is not None:
        t0 = _ts(start)
    elif resolution == "month":
        t0 = pd.Timestamp(year=now.tz_convert(tz).year - 1, month=1, day=1).tz_localize(tz)
    else:
        t0 = t1 - DEFAULT_WINDOW[resolution]
    r0 = min(t0, now - pd.Timedelta(days=30))
    frame, step = meter_frame(ws, dc, r0, t1, store=store)
    window = frame[(frame.index >= t0) & (frame.index < t1)]
    table = periods(window, step, resolution, tz, dc, cfg)
    rows = [
        {
            "start": _iso(r.start),
            "facility_mwh": _num(r.facility_kwh / 1000.0),
            "it_mwh": _num(r.it_kwh / 1000.0),
            "pue": _num(r.pue, 4),
            "limit": _num(r.limit, 3),
            "limit_source": r.limit_source,
            "compliant": None if r.compliant is None else bool(r.compliant),
            "energy_above_limit_mwh": _num(r.energy_above_limit_mwh),
            "coverage": _num(r.coverage, 4),
        }
        for r in table.itertuples(index=False)
    ]
    roll = rolling(frame, step, now, dc, cfg)
    return {
        "data_centre": dc.name,
        "facility_meter": dc.facility_meter,
        "it_meter": dc.it_meter,
        "status": dc.status,
        "timezone": str(tz),
        "resolution": resolution,
        "step_s": step,
        "window": {"start": _iso(t0), "end": _iso(t1)},
        "last_reading": _iso(frame.index.max()) if len(frame) else None,
        "periods": rows,
        "rolling_30d": {k: (_num(v, 4) if isinstance(v, float) else v) for k, v in roll.items()},
        "limits_note": (
            "limits marked 'unverified' could not be confirmed from DB11/T 1139 (2023); "
            "see geoenergy.monitor.limits."
        ),
    }


def hourly_frames(ws, dcs, start, end, *, store=None) -> dict[str, pd.DataFrame]:
    """Complete hours of facility and IT energy of many data centres, in one read.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    dcs : list of DataCentre
    start, end : pandas.Timestamp
        Window ``[start, end)``, aware.
    store : geoenergy.store.Store, optional

    Returns
    -------
    dict
        ``{name: frame}`` with ``facility_kwh``, ``it_kwh`` [kWh] on a UTC
        DatetimeIndex of hour starts, only hours complete in both meters (an
        hour with a missing reading is left out, as
        :func:`geoenergy.readings.open_readings` gives it NaN); empty frames
        for data centres without such hours.
    """
    import sqlalchemy as sa

    from geoenergy.store.models import Meter

    store = store or ws.store
    ids = sorted({m for d in dcs for m in (d.facility_meter, d.it_meter)})
    have: set[str] = set()
    with store.session() as s:
        for k in range(0, len(ids), 1000):
            have |= set(
                s.scalars(
                    sa.select(Meter.meter_id).where(
                        Meter.meter_id.in_(ids[k : k + 1000]), Meter.n_readings > 0
                    )
                )
            )
    hourly = None
    if have:
        try:
            ds = _open_readings(
                ws, resolution="hourly", meters=sorted(have), start=start, end=end, store=store
            )
            hourly = ds.kwh.to_pandas().T  # time x meter
            hourly.index = pd.DatetimeIndex(hourly.index).tz_localize("UTC")
        except ConfigError:
            raise
        except ValueError:  # nothing in the window
            hourly = None
    empty = pd.DataFrame(
        {"facility_kwh": [], "it_kwh": []}, index=pd.DatetimeIndex([], tz="UTC"), dtype=float
    )
    out = {}
    for d in dcs:
        if hourly is not None and d.facility_meter in hourly and d.it_meter in hourly:
            out[d.name] = pd.concat(
                {"facility_kwh": hourly[d.facility_meter], "it_kwh": hourly[d.it_meter]},
                axis=1,
            ).dropna()
        else:
            out[d.name] = empty
    return out


def fleet_status(ws, *, now=None, store=None, cfg: LimitConfig | None = None) -> list[dict]:
    """Current compliance of every monitored data centre, from complete hours.

    One read of the last 30 days' hours of all the fleet's meters
    (:func:`hourly_frames`), cheap enough for a page of hundreds of sites.

    Returns
    -------
    list of dict
        Per data centre: ``name``, ``lon``, ``lat``, ``status``,
        ``pue_30d`` and ``pue_24h`` [-] (None without common hours), ``limit``
        [-], ``limit_source``, ``compliant`` (on 30 days; None when unknown),
        ``energy_above_limit_mwh_30d`` [MWh], ``hours_30d``.
    """
    store = store or ws.store
    cfg = cfg or limit_config(ws)
    now = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
    dcs = data_centres(ws, store=store, cfg=cfg)
    frames = hourly_frames(ws, dcs, now - pd.Timedelta(days=30), now, store=store)
    out = []
    for d in dcs:
        pair = frames[d.name]
        roll = rolling(pair, 3600, now, d, cfg)
        day = pair[pair.index >= now - pd.Timedelta(hours=24)]
        it24 = float(day["it_kwh"].sum())
        out.append(
            {
                "name": d.name,
                "lon": d.lon,
                "lat": d.lat,
                "status": d.status,
                "facility_meter": d.facility_meter,
                "it_meter": d.it_meter,
                "pue_30d": roll["pue"],
                "pue_24h": float(day["facility_kwh"].sum()) / it24 if it24 > 0 else None,
                "limit": roll["limit"],
                "limit_source": roll["limit_source"],
                "compliant": roll["compliant"],
                "energy_above_limit_mwh_30d": roll["energy_above_limit_mwh"],
                "hours_30d": len(pair),
            }
        )
    return out
