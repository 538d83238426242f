"""Live PUE from two meters: common steps, mixed intervals, periods and coverage."""

from __future__ import annotations

import pandas as pd
import pytest

from geoenergy.monitor.limits import LimitConfig
from geoenergy.monitor.pue import find_data_centre, meter_frame, periods, pue_report
from tests.geoenergy.monitor.conftest import DC_NAME

T0 = pd.Timestamp("2026-12-01 08:00", tz="Asia/Shanghai")


def _ingest(ws, rows, name):
    from geoenergy.ingest import ingest_readings

    path = ws.path / name
    pd.DataFrame(rows, columns=["meter_id", "timestamp", "kwh"]).to_csv(path, index=False)
    ingest_readings(ws, path)


def test_mixed_intervals_meet_on_the_coarser_step(monitor_ws):
    # Facility every minute (2 kWh) for 90 min; IT every 5 minutes (8 kWh) for 60 min.
    fac = [("F1", (T0 + pd.Timedelta(minutes=k)).isoformat(), 2.0) for k in range(90)]
    it = [("I1", (T0 + pd.Timedelta(minutes=5 * k)).isoformat(), 8.0) for k in range(12)]
    _ingest(monitor_ws, fac + it, "mixed.csv")
    dc = find_data_centre(monitor_ws, DC_NAME)
    frame, step = meter_frame(monitor_ws, dc, T0, T0 + pd.Timedelta(hours=3))
    assert step == 300 and len(frame) == 12  # only the steps both meters cover
    assert (frame["facility_kwh"] == 10.0).all() and (frame["it_kwh"] == 8.0).all()
    hours = periods(frame, step, "hour", monitor_ws.tz, dc, LimitConfig())
    assert len(hours) == 1 and hours["pue"].iloc[0] == pytest.approx(1.25)
    assert hours["coverage"].iloc[0] == 1.0 and hours["limit"].iloc[0] == 1.35
    assert hours["start"].iloc[0] == T0


def test_report_counts_partial_hours_and_energy_above_the_limit(monitor_ws):
    rows = []
    for k in range(30):  # half an hour at PUE 1.5
        t = (T0 + pd.Timedelta(minutes=k)).isoformat()
        rows += [("F1", t, 1.5), ("I1", t, 1.0)]
    _ingest(monitor_ws, rows, "half.csv")
    dc = find_data_centre(monitor_ws, DC_NAME)
    rep = pue_report(monitor_ws, dc, "hour", now=T0 + pd.Timedelta(hours=1))
    (p,) = rep["periods"]
    assert p["coverage"] == 0.5 and p["pue"] == 1.5 and p["compliant"] is False
    assert p["energy_above_limit_mwh"] == pytest.approx((45.0 - 1.35 * 30.0) / 1000)
    assert p["limit_source"] == "verified" and rep["last_reading"].startswith("2026-12-01T00:29")
    with pytest.raises(ValueError, match="resolution"):
        pue_report(monitor_ws, dc, "week")
