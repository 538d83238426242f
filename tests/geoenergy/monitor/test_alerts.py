"""Alert rules on hand-made hours, and alerts opened, updated, closed and acknowledged."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from geoenergy.monitor.alerts import AlertError, acknowledge, alerts, evaluate
from geoenergy.monitor.pue import DataCentre
from geoenergy.monitor.rules import RULES, AlertRules
from geoenergy.store.models import AuditLog
from tests.geoenergy.monitor.conftest import DC_NAME

DC = DataCentre(DC_NAME, "F1", "I1", "existing", 116.5, 39.79)
T0 = pd.Timestamp("2026-12-01 00:00", tz="Asia/Shanghai")


def _hours(pues, it=100.0, limit=1.35):
    starts = [T0 + pd.Timedelta(hours=h) for h in range(len(pues))]
    its = it if isinstance(it, list) else [it] * len(pues)
    return pd.DataFrame(
        {
            "start": starts,
            "facility_kwh": [p * i for p, i in zip(pues, its, strict=True)],
            "it_kwh": its,
            "pue": pues,
            "limit": limit,
            "coverage": 1.0,
        }
    )


def _run(rule, hourly, meters=None, now=None, **settings):
    fn = RULES[rule][0]
    return fn(DC, hourly, meters or {}, now or T0 + pd.Timedelta(hours=6), AlertRules(**settings))


def test_pue_above_limit_needs_n_consecutive_hours():
    assert _run("pue_above_limit", _hours([1.5, 1.5, 1.3, 1.5, 1.5])) == []
    (f,) = _run("pue_above_limit", _hours([1.3, 1.5, 1.5, 1.5]))
    assert f.key == "site" and f.evidence["consecutive_hours"] == 3
    assert _run("pue_above_limit", _hours([1.3, 1.5, 1.5, 1.5]), pue_hours=4) == []


def test_meter_silent_after_m_intervals():
    last = T0.tz_convert("UTC")
    meters = {"F1": (last, 300), "I1": (last + pd.Timedelta(minutes=20), 300)}
    now = last + pd.Timedelta(minutes=35)  # F1: 35 - 5 = 30 min = 6 intervals; I1: 2
    found = _run("meter_silent", None, meters, now, silent_intervals=5)
    assert [f.key for f in found] == ["F1"]
    assert found[0].evidence["missed_intervals"] == 6
    assert [f.key for f in _run("meter_silent", None, {}, now)] == ["F1", "I1"]


def test_it_load_step_and_facility_below_it():
    assert _run("it_load_step", _hours([1.2, 1.2], it=[100.0, 125.0])) == []
    (f,) = _run("it_load_step", _hours([1.2, 1.2], it=[100.0, 140.0]))
    assert f.evidence["change_pct"] == 40.0
    (f,) = _run("it_load_step", _hours([1.2, 1.2], it=[100.0, 50.0]))
    assert "down" in f.message
    (f,) = _run("facility_below_it", _hours([1.2, 0.9, 1.2]))
    assert f.evidence["n_hours"] == 1 and "F1" in f.message


def test_rule_settings_are_checked():
    with pytest.raises(ValueError, match="pue_hours"):
        AlertRules.from_dict({"pue_hours": 0})
    with pytest.raises(ValueError, match="unknown keys"):
        AlertRules.from_dict({"hours": 3})


def _ingest(ws, hours, pue, it_kwh_per_5min=10.0, tmp=None):
    from geoenergy.ingest import ingest_readings

    rows = []
    for h in hours:
        for m in range(0, 60, 5):
            t = (T0 + pd.Timedelta(hours=h, minutes=m)).isoformat()
            rows.append(("F1", t, pue * it_kwh_per_5min))
            rows.append(("I1", t, it_kwh_per_5min))
    path = ws.path / f"r{hours[0]}.csv"
    pd.DataFrame(rows, columns=["meter_id", "timestamp", "kwh"]).to_csv(path, index=False)
    ingest_readings(ws, path)


def test_alerts_open_update_close_and_acknowledge(monitor_ws):
    ws = monitor_ws
    _ingest(ws, range(0, 4), 1.6)
    now = (T0 + pd.Timedelta(hours=4)).tz_convert("UTC")
    c = evaluate(ws, now=now)
    assert c["opened"] == 1, alerts(ws.store)
    (a,) = [x for x in alerts(ws.store) if x["rule"] == "pue_above_limit"]
    assert a["status"] == "open" and len(a["evidence"]["hours"]) == 3
    assert evaluate(ws, now=now)["updated"] == 1

    # Silent meters: an hour later with no new readings; the clock rules only.
    later = now + pd.Timedelta(hours=1)
    c = evaluate(ws, now=later, clock_only=True)
    assert c["opened"] == 2
    assert {x["key"] for x in alerts(ws.store) if x["rule"] == "meter_silent"} == {"F1", "I1"}

    with pytest.raises(AlertError, match="needs a note"):
        acknowledge(ws.store, a["id"], user="mo", note="  ")
    acknowledge(ws.store, a["id"], user="mo", note="operator called; chiller 2 down")
    with ws.store.session() as s:
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.action == "alert.acknowledge")).one()
        assert audit.actor == "mo" and audit.entity_id == str(a["id"])

    _ingest(ws, range(4, 8), 1.2)
    c = evaluate(ws, now=(T0 + pd.Timedelta(hours=8)).tz_convert("UTC"))
    assert c["closed"] == 3  # PUE back under the limit, both meters speak again
    rows = alerts(ws.store)
    assert all(x["status"] == "closed" for x in rows)
    closed = next(x for x in rows if x["id"] == a["id"])
    assert closed["ack_note"] == "operator called; chiller 2 down" and closed["closed_at"]
