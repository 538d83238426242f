"""The alert rules of the live monitoring, each with its documented setting.

One registry, :data:`RULES` (``{name: (function, what it means)}``), drives
the evaluation, the docs and the page. A rule looks at one data centre and
returns :class:`Finding` s; :mod:`geoenergy.monitor.alerts` opens an alert for
a new finding, updates it while the finding lasts and closes it when the
finding is gone.

===================== ==========================================================
``pue_above_limit``   PUE above its limit for ``pue_hours`` consecutive hours
                      (hours at least ``min_coverage`` metered)
``meter_silent``      a meter without a reading for more than
                      ``silent_intervals`` of its intervals (meter or link down)
``it_load_step``      IT energy of an hour differs from the hour before by more
                      than ``it_step_pct`` % (a load moved, or a meter fault)
``facility_below_it`` facility energy below IT energy in an hour: impossible,
                      so a meter or mapping error (``facility_below_it_pct``
                      tolerance)
===================== ==========================================================

The settings are the ``[monitor.alerts]`` table of ``geoenergy.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import pandas as pd

from geoenergy.errors import ConfigError

__all__ = ["RULES", "AlertRules", "Finding", "alert_rules"]


@dataclass(frozen=True)
class AlertRules:
    """Settings of the alert rules.

    Attributes
    ----------
    pue_hours : int
        Consecutive hours above the limit that open ``pue_above_limit`` (N).
    silent_intervals : int
        Missed intervals that open ``meter_silent`` (M).
    it_step_pct : float
        Hour-on-hour change of IT energy that opens ``it_load_step`` (X) [%].
    facility_below_it_pct : float
        Tolerance of ``facility_below_it``: fires when facility < IT x (1 - tol) [%].
    min_coverage : float
        Share of an hour's steps that must be metered for the hour to count [-].
    lookback_hours : int
        Hours of readings the rules look at [h].
    """

    pue_hours: int = 3
    silent_intervals: int = 5
    it_step_pct: float = 30.0
    facility_below_it_pct: float = 0.0
    min_coverage: float = 0.9
    lookback_hours: int = 48

    @classmethod
    def from_dict(cls, data: dict | None, *, source: str = "[monitor.alerts]") -> AlertRules:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {unknown}; allowed: {sorted(known)}.")
        r = cls(**data)
        for name in ("pue_hours", "silent_intervals", "lookback_hours"):
            v = getattr(r, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"{source}: {name}={v!r}; use a whole number >= 1.")
        if not r.it_step_pct > 0 or not 0 <= r.facility_below_it_pct < 100:
            raise ConfigError(f"{source}: it_step_pct > 0 and 0 <= facility_below_it_pct < 100.")
        if not 0 < r.min_coverage <= 1:
            raise ConfigError(f"{source}: min_coverage={r.min_coverage!r}; use (0, 1].")
        return r


def alert_rules(ws) -> AlertRules:
    """The workspace's ``[monitor.alerts]`` table of ``geoenergy.toml``, else the defaults."""
    extra = (getattr(getattr(ws, "settings", None), "extra", None) or {}).get("monitor") or {}
    return AlertRules.from_dict(extra.get("alerts"), source="geoenergy.toml [monitor.alerts]")


@dataclass(frozen=True)
class Finding:
    """What a rule found: ``key`` says what about (a meter id, or ``"site"``)."""

    rule: str
    key: str
    message: str
    evidence: dict = field(default_factory=dict)


def _hours(hourly: pd.DataFrame, rules: AlertRules) -> pd.DataFrame:
    return hourly[hourly["coverage"] >= rules.min_coverage]


def _iso(t) -> str:
    return pd.Timestamp(t).isoformat()


def pue_above_limit(dc, hourly, meters, now, rules: AlertRules) -> list[Finding]:
    """PUE above its limit for the last ``pue_hours`` consecutive metered hours."""
    h = _hours(hourly, rules)
    if len(h) < rules.pue_hours:
        return []
    last = h.tail(rules.pue_hours)
    starts = pd.DatetimeIndex(last["start"])
    consecutive = (starts[-1] - starts[0]) == pd.Timedelta(hours=rules.pue_hours - 1)
    above = (last["pue"].astype(float) > last["limit"].astype(float)).all()
    if not (consecutive and above):
        return []
    run = 0
    for p, lim in zip(h["pue"][::-1], h["limit"][::-1], strict=True):
        if float(p) > float(lim):
            run += 1
        else:
            break
    return [
        Finding(
            "pue_above_limit",
            "site",
            f"{dc.name}: PUE above its limit {float(last['limit'].iloc[-1]):.2f} for {run} "
            f"consecutive hours (last {float(last['pue'].iloc[-1]):.3f}).",
            {
                "hours": [
                    {"start": _iso(t), "pue": round(float(p), 4), "limit": float(lim)}
                    for t, p, lim in zip(last["start"], last["pue"], last["limit"], strict=True)
                ],
                "consecutive_hours": run,
                "threshold_hours": rules.pue_hours,
            },
        )
    ]


def meter_silent(dc, hourly, meters, now, rules: AlertRules) -> list[Finding]:
    """A meter whose last reading ended more than ``silent_intervals`` intervals ago."""
    out = []
    for role, mid in (("facility", dc.facility_meter), ("IT", dc.it_meter)):
        last, interval = meters.get(mid, (None, None))
        interval = int(interval or 3600)
        if last is None:
            out.append(
                Finding(
                    "meter_silent",
                    mid,
                    f"{dc.name}: {role} meter {mid} has never sent a reading.",
                    {"meter_id": mid, "last_reading": None},
                )
            )
            continue
        end = pd.Timestamp(last) + pd.Timedelta(seconds=interval)
        missed = (pd.Timestamp(now) - end).total_seconds() / interval
        if missed > rules.silent_intervals:
            out.append(
                Finding(
                    "meter_silent",
                    mid,
                    f"{dc.name}: {role} meter {mid} silent for {int(missed)} intervals of "
                    f"{interval // 60} min (last reading {_iso(last)}).",
                    {
                        "meter_id": mid,
                        "last_reading": _iso(last),
                        "interval_s": interval,
                        "missed_intervals": int(missed),
                        "threshold_intervals": rules.silent_intervals,
                    },
                )
            )
    return out


def it_load_step(dc, hourly, meters, now, rules: AlertRules) -> list[Finding]:
    """IT energy of the last metered hour versus the hour before, beyond ``it_step_pct`` %."""
    h = _hours(hourly, rules)
    if len(h) < 2:
        return []
    a, b = h.iloc[-2], h.iloc[-1]
    if pd.Timestamp(b["start"]) - pd.Timestamp(a["start"]) != pd.Timedelta(hours=1):
        return []
    prev, cur = float(a["it_kwh"]), float(b["it_kwh"])
    if prev <= 0:
        return []
    change = (cur - prev) / prev * 100.0
    if abs(change) <= rules.it_step_pct:
        return []
    return [
        Finding(
            "it_load_step",
            "site",
            f"{dc.name}: IT load stepped {'up' if change > 0 else 'down'} {abs(change):.0f} % "
            f"in the hour from {_iso(b['start'])}.",
            {
                "hour": _iso(b["start"]),
                "it_kwh_before": round(prev, 3),
                "it_kwh": round(cur, 3),
                "change_pct": round(change, 1),
                "threshold_pct": rules.it_step_pct,
            },
        )
    ]


def facility_below_it(dc, hourly, meters, now, rules: AlertRules) -> list[Finding]:
    """Hours in which the facility meter read less than the IT meter."""
    h = hourly[hourly["it_kwh"] > 0]
    bad = h[h["facility_kwh"] < h["it_kwh"] * (1 - rules.facility_below_it_pct / 100.0)]
    if bad.empty:
        return []
    last = bad.iloc[-1]
    return [
        Finding(
            "facility_below_it",
            "site",
            f"{dc.name}: facility energy below IT energy in {len(bad)} hour(s), last "
            f"{_iso(last['start'])} ({float(last['facility_kwh']):.1f} < "
            f"{float(last['it_kwh']):.1f} kWh): check meters {dc.facility_meter} "
            f"(facility) and {dc.it_meter} (IT).",
            {
                "hours": [
                    {"start": _iso(r.start), "facility_kwh": r.facility_kwh, "it_kwh": r.it_kwh}
                    for r in bad.tail(24).itertuples(index=False)
                ],
                "n_hours": len(bad),
            },
        )
    ]


RULES: dict[str, tuple[Callable, str]] = {
    "pue_above_limit": (pue_above_limit, "PUE above its limit for N consecutive hours"),
    "meter_silent": (meter_silent, "a meter silent for more than M intervals"),
    "it_load_step": (it_load_step, "IT load stepping up or down by more than X %"),
    "facility_below_it": (facility_below_it, "facility energy below IT energy"),
}
"""``{rule: (function, meaning)}``; the functions take ``(dc, hourly, meters, now, rules)``."""

#: Rules that need only the registry's last-reading times, not the readings.
CLOCK_RULES = ("meter_silent",)
