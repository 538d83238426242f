"""Alerts of the live monitoring: opened, updated and closed by their rules.

:func:`evaluate` runs the rules of :mod:`geoenergy.monitor.rules` on data
centres and brings the ``monitor_alerts`` table in line with what they find,
in one transaction per data centre:

- a finding with no open alert of the same ``(data centre, rule, key)``
  opens one, with the finding's evidence;
- a finding with an open alert updates its message, evidence and
  ``updated_at``;
- an open alert of an evaluated rule whose finding is gone is closed.

Acknowledging an alert (:func:`acknowledge`) records who, when and a note,
and is written to the audit log with the alert before and after. An
acknowledged alert stays open until its rule closes it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from geoenergy.errors import GeoEnergyError
from geoenergy.monitor.pue import data_centres, hourly_frames, limit_config, periods
from geoenergy.monitor.rules import CLOCK_RULES, RULES, AlertRules, Finding, alert_rules
from geoenergy.store.models import Meter, MonitorAlert, record_audit, utcnow

__all__ = ["AlertError", "acknowledge", "alerts", "evaluate", "sync"]


class AlertError(GeoEnergyError, ValueError):
    """An acknowledgement that cannot be made (no such alert, empty note)."""


def _meters(store, ids) -> dict:
    with store.session() as s:
        rows = s.execute(
            sa.select(Meter.meter_id, Meter.last_reading, Meter.interval_s).where(
                Meter.meter_id.in_(list(ids))
            )
        ).all()
    return {m: (last, iv) for m, last, iv in rows}


def sync(store, data_centre: str, rules_run, findings: list[Finding], *, now=None) -> dict:
    """Open, update and close the alerts of one data centre for the rules that ran.

    Returns
    -------
    dict
        ``opened``, ``updated``, ``closed`` counts.
    """
    now = now or utcnow()
    counts = {"opened": 0, "updated": 0, "closed": 0}
    found = {(f.rule, f.key): f for f in findings}
    with store.session() as s:
        open_ = s.scalars(
            sa.select(MonitorAlert).where(
                MonitorAlert.data_centre == data_centre,
                MonitorAlert.status == "open",
                MonitorAlert.rule.in_(list(rules_run)),
            )
        ).all()
        seen = set()
        for a in open_:
            f = found.get((a.rule, a.key))
            if f is None or (a.rule, a.key) in seen:
                a.status, a.closed_at, a.updated_at = "closed", now, now
                counts["closed"] += 1
            else:
                a.message, a.evidence, a.updated_at = f.message, f.evidence, now
                counts["updated"] += 1
                seen.add((a.rule, a.key))
        for k, f in found.items():
            if k not in seen:
                s.add(
                    MonitorAlert(
                        data_centre=data_centre,
                        rule=f.rule,
                        key=f.key,
                        status="open",
                        message=f.message,
                        evidence=f.evidence,
                        opened_at=now,
                        updated_at=now,
                    )
                )
                counts["opened"] += 1
    return counts


def evaluate(
    ws,
    *,
    names=None,
    now=None,
    store=None,
    rules: AlertRules | None = None,
    clock_only: bool = False,
) -> dict:
    """Run the alert rules on the monitored data centres and sync their alerts.

    Parameters
    ----------
    ws : geoenergy.config.Workspace
    names : collection of str, optional
        Only these data centres (default: all).
    now : datetime, optional
        The current time, aware (default the clock).
    store : geoenergy.store.Store, optional
    rules : AlertRules, optional
        Default: :func:`~geoenergy.monitor.rules.alert_rules` of the workspace.
    clock_only : bool
        Run only the rules that need no readings (``meter_silent``): cheap
        enough to run for every data centre every minute.

    Notes
    -----
    The readings rules look at complete hours (both meters, every interval
    present), read for all data centres at once (:func:`hourly_frames`).

    Returns
    -------
    dict
        ``data_centres`` evaluated and ``opened``, ``updated``, ``closed`` counts.
    """
    store = store or ws.store
    rules = rules or alert_rules(ws)
    cfg = limit_config(ws)
    now = pd.Timestamp(now or dt.datetime.now(dt.UTC)).tz_convert("UTC")
    dcs = [d for d in data_centres(ws, store=store, cfg=cfg) if names is None or d.name in names]
    meters = _meters(store, {m for d in dcs for m in (d.facility_meter, d.it_meter)})
    run = CLOCK_RULES if clock_only else tuple(RULES)
    total = {"data_centres": len(dcs), "opened": 0, "updated": 0, "closed": 0}
    frames = {}
    if not clock_only:
        start = now - pd.Timedelta(hours=rules.lookback_hours)
        frames = hourly_frames(ws, dcs, start, now, store=store)
    for dc in dcs:
        hourly = None if clock_only else periods(frames[dc.name], 3600, "hour", ws.tz, dc, cfg)
        findings = [f for r in run for f in RULES[r][0](dc, hourly, meters, now, rules)]
        c = sync(store, dc.name, run, findings, now=now.to_pydatetime())
        for k in ("opened", "updated", "closed"):
            total[k] += c[k]
    return total


def _as_dict(a: MonitorAlert) -> dict:
    return {
        "id": a.id,
        "data_centre": a.data_centre,
        "rule": a.rule,
        "key": a.key,
        "status": a.status,
        "message": a.message,
        "evidence": a.evidence,
        "opened_at": a.opened_at,
        "updated_at": a.updated_at,
        "closed_at": a.closed_at,
        "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": a.acknowledged_by,
        "ack_note": a.ack_note,
    }


def alerts(store, *, data_centre: str | None = None, limit: int = 200) -> list[dict]:
    """Alerts, open ones first, newest first within each."""
    q = sa.select(MonitorAlert)
    if data_centre is not None:
        q = q.where(MonitorAlert.data_centre == data_centre)
    q = q.order_by(
        sa.case((MonitorAlert.status == "open", 0), else_=1),
        MonitorAlert.updated_at.desc(),
        MonitorAlert.id.desc(),
    ).limit(limit)
    with store.session() as s:
        return [_as_dict(a) for a in s.scalars(q).all()]


def acknowledge(store, alert_id: int, *, user: str, note: str) -> dict:
    """Acknowledge an alert with a note; audit-logged with the state before and after.

    Raises
    ------
    AlertError
        No alert with that id, or an empty note.
    """
    note = (note or "").strip()
    if not note:
        raise AlertError("an acknowledgement needs a note saying what was done or decided.")
    if len(note) > 2000:
        raise AlertError("the note is longer than 2,000 characters; shorten it.")
    with store.session() as s:
        a = s.get(MonitorAlert, int(alert_id))
        if a is None:
            raise AlertError(f"no alert #{alert_id}.")
        before = {"acknowledged_by": a.acknowledged_by, "ack_note": a.ack_note}
        a.acknowledged_at, a.acknowledged_by, a.ack_note = utcnow(), user, note
        record_audit(
            s,
            actor=user,
            action="alert.acknowledge",
            entity="monitor_alerts",
            entity_id=a.id,
            before=before,
            after={"acknowledged_by": user, "ack_note": note, "status": a.status},
        )
        return _as_dict(a)
