"""PUE limits by year, the differential price, and the calendar-year assessment."""

from __future__ import annotations

import pandas as pd
import pytest

from geoenergy.heat.pue import pue_limit
from geoenergy.monitor.limits import LimitConfig, limit_for, surcharge, surcharge_rate
from geoenergy.monitor.pue import annual_assessment, find_data_centre
from tests.geoenergy.monitor.conftest import DC_NAME

CFG = LimitConfig()


def test_pue_limit_selects_the_2026_limit_by_assessment_year():
    assert pue_limit("existing", 0.0).tolist() == 1.40  # no year: as before
    assert float(pue_limit("existing", 0.0, year=2025)) == 1.40
    assert float(pue_limit("existing", 0.0, year=2026)) == 1.35
    assert float(pue_limit("new", 5_000.0, year=2026)) == 1.30


def test_limit_sources_are_marked():
    a = limit_for("existing", 2025, 1e7, CFG)
    b = limit_for("existing", 2026, 1e7, CFG)
    assert (a["value"], a["name"], a["source"]) == (1.40, "beijing_existing", "verified")
    assert (b["value"], b["name"], b["source"]) == (1.35, "beijing_existing_2026", "verified")
    new = limit_for("new", 2026, 1e6, CFG)  # 1e6 kWh = 300.7 tce: first band
    assert (new["value"], new["source"]) == (1.30, "unverified")
    big = limit_for("new", 2026, 2e8, CFG)  # 60,140 tce: above the bands
    assert (big["value"], big["source"]) == (1.15, "unverified")


@pytest.mark.parametrize(
    ("pue", "rate"),
    [(1.30, 0.0), (1.35, 0.0), (1.5, 0.2), (2.70, 0.2), (2.71, 0.5), (float("nan"), 0.0)],
)
def test_surcharge_rate_bands(pue, rate):
    # Above the limit by up to one time the limit (PUE <= 2 x 1.35 = 2.70): 0.2 CNY/kWh.
    assert surcharge_rate(pue, 1.35, CFG) == rate


def test_surcharge_is_on_the_electricity_above_the_limit():
    s = surcharge(1500.0, 1000.0, 1.35, CFG)
    assert s["energy_above_limit_kwh"] == pytest.approx(150.0)
    assert s["surcharge_cny"] == pytest.approx(30.0)
    assert surcharge(1300.0, 1000.0, 1.35, CFG)["surcharge_cny"] == 0.0


def _ingest(ws, kwh_it, pue, hours=4):
    from geoenergy.ingest import ingest_readings

    t0 = pd.Timestamp("2026-03-02 00:00", tz="Asia/Shanghai")
    rows = []
    for k in range(hours * 12):
        t = (t0 + pd.Timedelta(minutes=5 * k)).isoformat()
        rows += [("F1", t, kwh_it * pue), ("I1", t, kwh_it)]
    path = ws.path / "year.csv"
    pd.DataFrame(rows, columns=["meter_id", "timestamp", "kwh"]).to_csv(path, index=False)
    ingest_readings(ws, path)


def test_annual_assessment_partial_scope_and_live_estimate(monitor_ws):
    _ingest(monitor_ws, 100.0, 1.6)  # 1,200 kWh/h IT, 1,920 kWh/h facility
    dc = find_data_centre(monitor_ws, DC_NAME)
    now = pd.Timestamp("2026-12-07 00:00", tz="UTC")
    y = annual_assessment(monitor_ws, dc, 2026, now=now)
    assert y["partial"] and y["coverage"] == pytest.approx(4 / 8760)
    assert y["pue"] == pytest.approx(1.6) and y["limit"]["value"] == 1.35
    assert y["in_scope"]  # 1,920 kWh/h projects to 16.8 GWh/yr >= 5 GWh
    above = 4 * (1920 - 1.35 * 1200)
    assert y["energy_above_limit_mwh"] == pytest.approx(above / 1000)
    assert y["rate_cny_per_kwh"] == 0.2
    assert y["surcharge_cny"] == pytest.approx(above * 0.2)
    assert y["projected_surcharge_cny"] == pytest.approx(above * 0.2 * 8760 / 4)
    empty = annual_assessment(monitor_ws, dc, 2025, now=now)
    assert empty["partial"] and empty["pue"] is None and not empty["in_scope"]


def test_small_sites_are_out_of_scope(monitor_ws):
    _ingest(monitor_ws, 10.0, 1.6)  # 192 kWh/h facility: 1.7 GWh/yr
    dc = find_data_centre(monitor_ws, DC_NAME)
    y = annual_assessment(monitor_ws, dc, 2026, now=pd.Timestamp("2026-12-07", tz="UTC"))
    assert not y["in_scope"] and y["surcharge_cny"] == 0.0 and y["rate_cny_per_kwh"] == 0.2
